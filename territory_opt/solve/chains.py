"""Ejection chains: the last band breaches of a one-piece alignment, mended by passing units along a chain of
touching territories.

The border search's rebalance scores single moves. Where a rep sits seconds above its band and every touching rep
sits at the top of its own (the border search's cost moves fill cheap areas to the band's top), no single move
helps: the smallest unit the rep can hand over overfills the neighbour. A chain does: the rep hands its neighbour
a unit just big enough, the neighbour hands one on to the next, and so on until a rep with room takes the last
one. Likewise a rep below its band pulls a unit from a neighbour, which pulls from the next. Each step is a border
move checked by every rule but balance (so every territory stays one piece), and a chain is kept only if the
total breach falls. Depth-first, smallest fitting unit first, a few targets per rep, deterministic.

Measured on 100,000 customers (300 reps): the border search left 2 reps 6 s and 87 s above their bands; CP-SAT's
band repair over all 300 reps found nothing in 10 work-s.
"""

from __future__ import annotations

import numpy as np

from ..model.problem import Problem
from .border import Border
from .ledger import Ledger

MAX_DEPTH = 8  # moves in one chain
BRANCH = 3  # touching reps tried at each link of a chain
MAX_ROUNDS = 20  # passes over the reps still outside their bands
MAX_LINKS_TRIED = 2_000  # moves tried for one rep's chain before it gives up


class _Chains:
    """Depth-first search of one chain at a time, with the moves made so far (undone when the chain fails)."""

    def __init__(self, problem: Problem, ledger: Ledger) -> None:
        self.problem, self.ledger = problem, ledger
        self.border = Border(problem, ledger)
        self.teams = sorted(set(self.border.key_team.tolist()))
        self.tried = 0

    def touching(self, rep: int) -> set[int]:
        """The reps whose territories touch `rep`'s (read around its own units: the whole map's touching sets cost
        a pass over every border, too much for each link of a chain at 1,000,000 customers)."""
        border, out = self.border, set()
        for team in self.teams:
            for unit in border.held.get((rep, team), ()):
                for v in border.neighbours(team, unit):
                    out.update(border.holders(team, v))
        out.discard(rep)
        return out

    def _hand_overs(self, giver: int, taker: int | None) -> list[tuple[int, list[int], int]]:
        """Border moves out of `giver`'s territories (to `taker` only, when given): (workload the giver sheds,
        its needs in the unit, target rep)."""
        out: list[tuple[int, list[int], int]] = []
        ledger, border = self.ledger, self.border
        for team in self.teams:
            units = border.held.get((giver, team))
            if not units:
                continue
            for unit in sorted(units):
                targets = {r for v in border.neighbours(team, unit) for r in border.holders(team, v)} - {giver}
                if taker is not None:
                    targets &= {taker}
                if not targets:
                    continue
                needs = [n for n in border.by_unit[(team, unit)] if int(ledger.assign[n]) == giver]
                if not needs:
                    continue
                idx = np.array(needs, dtype=np.int64)
                shed = int(self.problem.workload(idx, np.full(len(idx), giver)).sum())
                out += [(shed, needs, target) for target in sorted(targets)]
        return out

    def _move(self, needs: list[int], target: int, log: list[tuple[int, int]]) -> bool:
        sources = [int(self.ledger.assign[n]) for n in needs]
        self.tried += 1
        if not self.border.try_move(needs, target, skip=("balance",)):
            return False
        log += list(zip(needs, sources, strict=True))
        return True

    def undo(self, log: list[tuple[int, int]], keep: int = 0) -> None:
        while len(log) > keep:
            need, source = log.pop()
            self.ledger.move(need, source)

    def push(self, rep: int, path: set[int], log: list[tuple[int, int]], depth: int) -> bool:
        """`rep` is above its band: hand a unit on, and on, until a rep ends within its band. At the chain's start
        a unit smaller than the excess may go too (the rep ends nearer its band; the next round hands on more)."""
        problem, ledger = self.problem, self.ledger
        excess = int(ledger.load[0, rep] - problem.band_max[0, rep])
        spare = int(ledger.load[0, rep] - problem.band_min[0, rep])
        offers = [(shed, t, needs) for shed, needs, t in self._hand_overs(rep, None) if t not in path and shed <= spare]
        return self._links(rep, path, log, depth, offers, excess, pushing=True)

    def pull(self, rep: int, path: set[int], log: list[tuple[int, int]], depth: int) -> bool:
        """`rep` is below its band: take a unit from a touching rep, which takes one from the next, and so on. At
        the chain's start a unit smaller than the shortfall may come too (the next round takes more)."""
        problem, ledger = self.problem, self.ledger
        short = int(problem.band_min[0, rep] - ledger.load[0, rep])
        room = int(problem.band_max[0, rep] - ledger.load[0, rep])
        offers: list[tuple[int, int, list[int]]] = []
        for giver in sorted(self.touching(rep) - path):
            for _shed, needs, _ in self._hand_overs(giver, rep):
                idx = np.array(needs, dtype=np.int64)
                gain = int(problem.workload(idx, np.full(len(idx), rep)).sum())
                if 0 < gain <= room:
                    offers.append((gain, giver, needs))
        return self._links(rep, path, log, depth, offers, short, pushing=False)

    def _links(self, rep: int, path: set[int], log: list[tuple[int, int]], depth: int,
               offers: list[tuple[int, int, list[int]]], breach: int, *, pushing: bool) -> bool:
        """One link of a chain from `rep`: each offer (workload moved, neighbour, needs) hands the needs to the
        neighbour (`pushing`) or takes them from it. Per neighbour the smallest units that cover the breach,
        neighbours with the most room (pushing) or to spare (pulling) first; then, at the chain's start, the
        largest units that do not. The chain ends where the neighbour is within its band, else goes on from it."""
        problem, ledger = self.problem, self.ledger
        fitting = sorted((o for o in offers if o[0] >= breach), key=lambda o: (o[0], o[1]))
        partial = sorted((o for o in offers if 0 < o[0] < breach), key=lambda o: (-o[0], o[1])) if depth == 0 else []
        for group in (fitting, partial):
            by_neighbour: dict[int, list[list[int]]] = {}
            for _amount, neighbour, needs in group:
                by_neighbour.setdefault(neighbour, []).append(needs)
            slack = {r: int(problem.band_max[0, r] - ledger.load[0, r]) if pushing
                     else int(ledger.load[0, r] - problem.band_min[0, r]) for r in by_neighbour}
            for neighbour in sorted(by_neighbour, key=lambda r: (-slack[r], r))[:BRANCH]:
                for needs in by_neighbour[neighbour][:2]:
                    if self.tried > MAX_LINKS_TRIED:
                        return False
                    mark = len(log)
                    if not self._move(needs, neighbour if pushing else rep, log):
                        continue
                    settled = (ledger.load[0, neighbour] <= problem.band_max[0, neighbour] if pushing
                               else ledger.load[0, neighbour] >= problem.band_min[0, neighbour])
                    if settled:
                        return True
                    follow = self.push if pushing else self.pull
                    if depth + 1 < MAX_DEPTH and follow(neighbour, path | {neighbour}, log, depth + 1):
                        return True
                    self.undo(log, mark)
        return False


def eject_chains(problem: Problem, ledger: Ledger) -> int:
    """Chains of border moves until every workload band holds or no chain lowers the total breach; returns the
    moves kept."""
    kept = 0
    search = _Chains(problem, ledger)  # reads the ledger's territories on demand: one for every chain
    for _ in range(MAX_ROUNDS):
        load, low, high = ledger.load[0], problem.band_min[0], problem.band_max[0]
        outside = np.flatnonzero((load > high) | (load < low))
        if len(outside) == 0:
            break
        progress = False
        for rep in sorted(outside.tolist(), key=lambda r: (-abs(int(ledger.load[0, r] - (low[r] + high[r]) / 2)), r)):
            if low[rep] <= ledger.load[0, rep] <= high[rep]:
                continue
            search.tried = 0
            before = ledger.breach()
            log: list[tuple[int, int]] = []
            over = ledger.load[0, rep] > high[rep]
            found = search.push(rep, {rep}, log, 0) if over else search.pull(rep, {rep}, log, 0)
            if found and ledger.breach() < before - 1e-12:
                kept += len(log)
                progress = True
            else:
                search.undo(log)
        if not progress:
            break
    return kept
