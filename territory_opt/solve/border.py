"""The moves along territory borders, found with arrays: a rep's needs in one unit, handed to a rep that holds a
neighbouring unit of the same team.

The border search (`contiguous.py`) and its CP-SAT windows (`contiguous_cpsat.py`) ask for every border move and
for which territories touch, sweep after sweep. Walking the units in Python for each sweep took 98 % of a
rebalance pass at 100,000 customers (24,265 unit bundles); here a sweep is a few array operations over the unit
graph's edges and the (unit, rep) pairs the ledger holds.
"""

from __future__ import annotations

import numpy as np

from ..model.problem import Problem
from .ledger import Ledger
from .rules import eligible
from .rules.contiguity import Territories, territories, unit_neighbours, unit_owners

Move = tuple[int, int, int, list[int]]  # (team, unit, target rep, the source rep's needs in that unit)


def _unit_needs(problem: Problem) -> dict[tuple[int, int], list[int]]:
    """(team, unit) -> the needs of that unit and team (contiguous teams only), in need order."""
    assert problem.need_unit is not None and problem.team_contiguous is not None
    out: dict[tuple[int, int], list[int]] = {}
    unit = problem.territory_unit
    assert unit is not None
    counted = (unit >= 0) & problem.team_contiguous[problem.need_team]
    for need in np.flatnonzero(counted).tolist():
        out.setdefault((int(problem.need_team[need]), int(unit[need])), []).append(need)
    return out


def _pair_products(ptr: np.ndarray, tail: np.ndarray, head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each edge (tail[i], head[i]) between two keys of a CSR layout (`ptr`), every (tail slot, head slot)
    pair of the two keys' entries, edge by edge."""
    n_tail = ptr[tail + 1] - ptr[tail]
    n_head = ptr[head + 1] - ptr[head]
    size = n_tail * n_head
    edge = np.repeat(np.arange(len(tail)), size)
    within = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    width = n_head[edge]  # >= 1 wherever the edge has a product at all
    return ptr[tail[edge]] + within // width, ptr[head[edge]] + within % width


class Border:
    """The border of every territory of the contiguous teams under the ledger's assignment, read on demand."""

    def __init__(self, problem: Problem, ledger: Ledger) -> None:
        self.problem, self.ledger = problem, ledger
        self.by_unit = _unit_needs(problem)
        keys = sorted(self.by_unit)
        self.key_team = np.array([k[0] for k in keys], dtype=np.int64)
        self.key_unit = np.array([k[1] for k in keys], dtype=np.int64)
        index = {key: i for i, key in enumerate(keys)}
        self.need_key = np.full(problem.n_needs, -1, dtype=np.int64)
        for i, key in enumerate(keys):
            self.need_key[self.by_unit[key]] = i
        self.counted = np.flatnonzero(self.need_key >= 0)
        # the teams' unit graphs as directed edges between keys (both directions), in key order
        tails: list[int] = []
        heads: list[int] = []
        for team in sorted(set(self.key_team.tolist())):
            for unit, around in unit_neighbours(problem, team).items():
                here = index.get((team, unit))
                if here is None:
                    continue
                for v in around:
                    there = index.get((team, v))
                    if there is not None:
                        tails.append(here)
                        heads.append(there)
        order = np.lexsort((np.array(heads, dtype=np.int64), np.array(tails, dtype=np.int64)))
        self.edge_tail = np.array(tails, dtype=np.int64)[order]
        self.edge_head = np.array(heads, dtype=np.int64)[order]

    @property
    def held(self) -> Territories:
        return territories(self.ledger)

    def neighbours(self, team: int, unit: int) -> tuple[int, ...]:
        return unit_neighbours(self.problem, team).get(unit, ())

    def holders(self, team: int, unit: int) -> list[int]:
        owners = unit_owners(self.ledger).get((team, unit))
        return sorted(owners) if owners else []

    def _owner_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The (key, rep) pairs the ledger holds, sorted, as CSR over keys (ptr, reps), and the counted needs in
        pair order with each pair's slice of them (pair_ptr)."""
        n_reps = max(self.problem.n_reps, 1)
        code = self.need_key[self.counted] * n_reps + self.ledger.assign[self.counted]
        order = np.argsort(code, kind="stable")  # needs of a pair stay in need order
        pairs, first = np.unique(code[order], return_index=True)
        ptr = np.searchsorted(pairs // n_reps, np.arange(len(self.key_team) + 1))
        pair_ptr = np.append(first, len(order))
        return ptr, pairs % n_reps, self.counted[order], pair_ptr

    def moves(self, reps: set[int] | None = None) -> list[Move]:
        """Every (team, unit, target rep, needs of the source rep there) border move, ordered by team, unit,
        source and target (only moves from or to `reps` when given)."""
        ptr, rep, needs, pair_ptr = self._owner_pairs()
        source, target = _pair_products(ptr, self.edge_tail, self.edge_head)
        keep = rep[source] != rep[target]
        if reps is not None:
            wanted = np.zeros(max(self.problem.n_reps, 1), dtype=bool)
            wanted[[r for r in reps if 0 <= r < self.problem.n_reps]] = True
            keep &= wanted[rep[source]] | wanted[rep[target]]
        source, to = source[keep], rep[target[keep]]
        n_reps = max(self.problem.n_reps, 1)
        found = np.unique(source * n_reps + to)  # pairs are sorted by key then rep: this is the wanted order
        source, to = found // n_reps, found % n_reps
        starts, ends = pair_ptr[source], pair_ptr[source + 1]
        pair_key = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
        teams, units = self.key_team[pair_key[source]].tolist(), self.key_unit[pair_key[source]].tolist()
        listed = needs.tolist()
        return [(team, unit, target, listed[a:b]) for team, unit, target, a, b
                in zip(teams, units, to.tolist(), starts.tolist(), ends.tolist(), strict=True)]

    def touching(self) -> dict[int, set[int]]:
        """Which reps' territories touch (share a unit border, in some team)."""
        ptr, rep, _, _ = self._owner_pairs()
        source, target = _pair_products(ptr, self.edge_tail, self.edge_head)
        n_reps = max(self.problem.n_reps, 1)
        code = np.unique(rep[source] * n_reps + rep[target])
        a, b = code // n_reps, code % n_reps
        out: dict[int, set[int]] = {}
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            if x != y:
                out.setdefault(x, set()).add(y)
        return out

    def try_move(self, needs: list[int], target: int, skip: tuple[str, ...] = ()) -> bool:
        """Move the needs (one unit's, one rep's) to `target` if eligible and every rule (but `skip`) holds at
        each step; undone if a later need fails."""
        idx = np.array(needs, dtype=np.int64)
        if not eligible(self.problem, idx, np.full(len(idx), target)).all():
            return False
        done: list[tuple[int, int]] = []
        for need in needs:
            source = int(self.ledger.assign[need])
            if self.ledger.keeps_rules(need, target, skip=skip):
                self.ledger.move(need, target)
                done.append((need, source))
            else:
                for back, origin in reversed(done):
                    self.ledger.move(back, origin)
                return False
        return True


def rep_touching(border: Border) -> dict[int, set[int]]:
    """Which reps' territories touch (share a unit border, in some team)."""
    return border.touching()
