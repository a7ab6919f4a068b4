"""The ledger: one assignment and every tally the hard rules read, kept up to date move by move.

Repair, the large engine's local search, the contiguity pass and `explain` all hold one: its loads per rep and
balanced metric, customers per rep and team (counted with `need_sizes`), moved needs and their value, each rep's
committed zone per boundary kind, and each capped customer's needs. Whether a move is allowed is the rules' answer
(`rules.RULES`), asked through `allows`; the ledger itself knows no rule.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..model.problem import Problem
from .rules import Rule, active_rules, capped_customers, eligible
from .scaling import minute_units, off_target_growth, rep_targets


def committed_zones(problem: Problem, assign: np.ndarray) -> np.ndarray:
    """(K, R) each rep's zone per boundary kind: its pin, else the zone holding most of its work (lowest zone on a
    tie; by number of needs when its needs there take no time), else -1 (free: no needs in any zone)."""
    zone = np.full((problem.n_zone_kinds, problem.n_reps), -1, dtype=np.int64)
    for k in range(problem.n_zone_kinds):
        z = problem.need_zone[k]
        bound = np.flatnonzero(z >= 0)
        shape = (problem.n_reps, max(len(problem.zone_names[k]), 1))
        work, needs = np.zeros(shape), np.zeros(shape, dtype=np.int64)
        np.add.at(work, (assign[bound], z[bound]), problem.workload(bound, assign[bound]))
        np.add.at(needs, (assign[bound], z[bound]), 1)
        pinned = problem.rep_zone[k]
        most = np.where(work.max(axis=1) > 0, np.argmax(work, axis=1), np.argmax(needs, axis=1))
        chosen = np.where(needs.sum(axis=1) > 0, most, -1)
        zone[k] = np.where(pinned >= 0, pinned, chosen)
    return zone


class Ledger:
    """An assignment (`assign[need]` = rep index) with its tallies. `assign` is the caller's array when
    `copy=False`, so a caller's view follows the moves."""

    def __init__(self, problem: Problem, assignment: np.ndarray, *, copy: bool = True) -> None:
        self.problem = problem
        self.assign = np.array(assignment, dtype=np.int64, copy=True) if copy else assignment
        self.load = problem.rep_totals(self.assign)  # (Q, R): workload seconds first, then the extra metrics
        moving = problem.moving(np.arange(problem.n_needs), self.assign)
        self.moved = int(moving.sum())
        self.moved_value = int(problem.need_value[moving].sum()) if problem.need_value is not None else 0
        self.zone = committed_zones(problem, self.assign)
        self.customers = np.zeros((problem.n_reps, len(problem.team_names)), dtype=np.int64)  # (R, T) need_sizes
        np.add.at(self.customers, (self.assign, problem.need_team), problem.need_sizes)
        self.capped_mask = np.zeros(problem.n_customers, dtype=bool)
        self.capped_mask[capped_customers(problem)] = True
        self._customer_needs: tuple[np.ndarray, np.ndarray] | None = None
        self.rules = active_rules(problem)
        self.move_rules = tuple(piece for piece in self.rules if piece.moves)
        self.state: dict[str, object] = {}  # the rules' own tallies (Rule.start / Rule.moved)
        for piece in self.move_rules:
            piece.start(self)

    # -- tallies -----------------------------------------------------------------------------------------------

    def breach(self) -> float:
        """How far the reps lie outside their bands in all, each metric in units of its band's width (the border
        search's and the ejection chains' measure of progress)."""
        low, high = self.problem.band_min, self.problem.band_max
        width = np.maximum(high - low, 1).astype(float)
        over = np.maximum(self.load - high, 0) + np.maximum(low - self.load, 0)
        return float((over / width).sum())

    def amounts(self, need: int, rep: int) -> np.ndarray:
        """(Q,) what `need` adds to every balanced metric of `rep`."""
        return self.problem.amounts(np.array([need]), np.array([rep]))[:, 0]

    def is_capped(self, customer: int) -> bool:
        return bool(self.capped_mask[customer])

    def needs_of_customer(self, customer: int) -> np.ndarray:
        """Every need of one customer (an index built on first use)."""
        if self._customer_needs is None:
            order = np.argsort(self.problem.need_customer, kind="stable")
            bounds = np.searchsorted(self.problem.need_customer[order], np.arange(self.problem.n_customers + 1))
            self._customer_needs = (order, bounds)
        order, bounds = self._customer_needs
        return order[bounds[customer]:bounds[customer + 1]]

    def move(self, need: int, target: int) -> None:
        """Give `need` to `target`, updating every tally."""
        p, source = self.problem, int(self.assign[need])
        self.load[:, source] -= self.amounts(need, source)
        self.load[:, target] += self.amounts(need, target)
        current = int(p.need_current_rep[need])
        if current >= 0:
            change = int(current != target) - int(current != source)
            self.moved += change
            if p.need_value is not None:
                self.moved_value += change * int(p.need_value[need])
        team, size = int(p.need_team[need]), int(p.need_sizes[need])
        self.customers[source, team] -= size
        self.customers[target, team] += size
        for k in range(p.n_zone_kinds):
            if p.need_zone[k, need] >= 0 and self.zone[k, target] < 0:
                self.zone[k, target] = p.need_zone[k, need]
        self.assign[need] = target
        for piece in self.move_rules:
            piece.moved(self, need, source, target)

    # -- the rules' answers ------------------------------------------------------------------------------------

    def _moving_rules(self, skip: Iterable[str], only: Iterable[str] | None) -> tuple[Rule, ...]:
        skipped, wanted = set(skip), None if only is None else set(only)
        return tuple(piece for piece in self.move_rules
                     if piece.name not in skipped and (wanted is None or piece.name in wanted))

    def keeps_rules(self, need: int, target: int, *, skip: Iterable[str] = (),
                    only: Iterable[str] | None = None) -> bool:
        """Whether moving `need` to `target` (an eligible pair) keeps every rule the move can break (or only the
        rules named in `only`, or all but those in `skip`)."""
        return all(piece.allows_move(self, need, target) for piece in self._moving_rules(skip, only))

    def keeps_rules_many(self, need: np.ndarray, target: np.ndarray, *, skip: Iterable[str] = (),
                         only: Iterable[str] | None = None) -> np.ndarray:
        """`keeps_rules` for many single moves, each judged against the current state on its own."""
        ok = np.ones(len(need), dtype=bool)
        for piece in self._moving_rules(skip, only):
            if not ok.any():
                break
            ok &= piece.allows_moves(self, need, target)
        return ok

    def allows(self, need: int, target: int) -> bool:
        """Whether `target` may take `need` now: eligible for it, and every rule still holding after the move."""
        return bool(eligible(self.problem, np.array([need]), np.array([target]))[0]) and self.keeps_rules(need, target)

    def why_not(self, need: int, rep: int) -> list[str]:
        """Every rule's reason why `rep` cannot take `need` as things stand ([] when it could, or holds it)."""
        if rep == int(self.assign[need]):
            return []
        return [reason for piece in self.rules for reason in piece.why_not(self, need, rep)]

    # -- the soft objective ------------------------------------------------------------------------------------

    def balance_growth(self, need: int, target: int) -> float:
        """What the move adds to the soft balance term, visit-km (0 without one)."""
        units = minute_units(self.problem)
        if units == 0:
            return 0.0
        source = int(self.assign[need])
        out_of = int(self.problem.workload(np.array([need]), np.array([source]))[0])
        into = int(self.problem.workload(np.array([need]), np.array([target]))[0])
        return off_target_growth(self.load[0], {source: -out_of, target: into}, rep_targets(self.problem), units)
