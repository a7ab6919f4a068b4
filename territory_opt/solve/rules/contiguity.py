"""Contiguity: for teams that ask for it, each rep's territory is one connected piece of the units' adjacency graph.

A territory is the set of units where the rep holds a need of the team. The rule has no CP-SAT rows or LP rows:
connectivity constraints (a flow per territory) measured far too heavy for the nightly budget, so the bound
relaxes contiguity (said in `kpis.json`), and the engine reaches a contiguous alignment by moves this piece
checks (`solve/contiguous.py`): a move may only hand a unit to a rep whose territory touches it, and only take a
unit from a rep whose territory stays in one piece without it.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import TYPE_CHECKING, cast

import numpy as np

from ...model.problem import Problem
from ...model.unit_graph import team_edges
from .base import Rule

if TYPE_CHECKING:
    from ..ledger import Ledger

Territories = dict[tuple[int, int], Counter[int]]  # (rep, team) -> units held (with how many needs each)
Owners = dict[tuple[int, int], Counter[int]]  # (team, unit) -> reps holding it (with how many needs each)


def territories(ledger: Ledger) -> Territories:
    """The contiguity rule's tally of territories in `ledger.state` (put there by `Contiguity.start`)."""
    return cast(Territories, ledger.state[Contiguity.name])


def unit_owners(ledger: Ledger) -> Owners:
    """The contiguity rule's tally of each unit's holders in `ledger.state` (put there by `Contiguity.start`)."""
    return cast(Owners, ledger.state["unit_owners"])


def _unit_and_team(problem: Problem, need: int) -> tuple[int, int, bool]:
    """A need's unit and team, and whether its team is contiguous (the rule is active: the problem has units)."""
    assert problem.need_unit is not None and problem.team_contiguous is not None
    team = int(problem.need_team[need])
    assert problem.territory_unit is not None
    return int(problem.territory_unit[need]), team, bool(problem.team_contiguous[team])


@functools.lru_cache(maxsize=64)
def unit_neighbours(problem: Problem, team: int) -> dict[int, tuple[int, ...]]:
    """Each unit's neighbours in the graph the team sees (`model.unit_graph.team_edges`)."""
    assert problem.need_unit is not None
    assert problem.territory_unit is not None
    edges = team_edges(problem.unit_edges, problem.unit_xy, problem.territory_unit[problem.need_team == team])
    out: dict[int, list[int]] = {}
    for u, v in edges.tolist():
        out.setdefault(u, []).append(v)
        out.setdefault(v, []).append(u)
    return {u: tuple(sorted(vs)) for u, vs in out.items()}


def held_units(problem: Problem, assignment: np.ndarray) -> Territories:
    """Every (rep, team) territory of the contiguous teams under `assignment`."""
    assert problem.need_unit is not None and problem.team_contiguous is not None
    held: Territories = {}
    unit = problem.territory_unit
    assert unit is not None
    counted = (unit >= 0) & problem.team_contiguous[problem.need_team]
    for need in np.flatnonzero(counted).tolist():
        key = (int(assignment[need]), int(problem.need_team[need]))
        held.setdefault(key, Counter())[int(unit[need])] += 1
    return held


def pieces(units: set[int] | Counter[int], neighbours: dict[int, tuple[int, ...]]) -> list[set[int]]:
    """The connected pieces of a set of units, largest first (then by lowest unit)."""
    left, found = set(units), []
    while left:
        seed = min(left)
        piece, stack = {seed}, [seed]
        left.discard(seed)
        while stack:
            u = stack.pop()
            for v in neighbours.get(u, ()):
                if v in left:
                    left.discard(v)
                    piece.add(v)
                    stack.append(v)
        found.append(piece)
    return sorted(found, key=lambda piece: (-len(piece), min(piece)))


def cut_units(units: Counter[int], neighbours: dict[int, tuple[int, ...]]) -> tuple[set[int], int]:
    """The territory's cut units (articulation points of the graph its units induce: removing one splits its
    piece) and its number of pieces; Tarjan's depth-first search, iterative."""
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    cuts: set[int] = set()
    n_pieces = 0
    for root in units:
        if root in order:
            continue
        n_pieces += 1
        order[root] = low[root] = len(order)
        root_children = 0
        stack = [(root, iter(neighbours.get(root, ())))]
        while stack:
            u, ahead = stack[-1]
            for v in ahead:
                if v not in units:
                    continue
                if v not in order:
                    order[v] = low[v] = len(order)
                    stack.append((v, iter(neighbours.get(v, ()))))
                    break
                low[u] = min(low[u], order[v])  # the edge to the parent lowers nothing the test below reads
            else:
                stack.pop()
                if not stack:
                    continue
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[u])
                if parent == root:
                    root_children += 1
                elif low[u] >= order[parent]:
                    cuts.add(parent)
        if root_children > 1:
            cuts.add(root)
    return cuts, n_pieces


def connected_without(cut: tuple[set[int], int], units: Counter[int], removed: int,
                      neighbours: dict[int, tuple[int, ...]]) -> bool:
    """Whether the territory without `removed` is still one piece (or empty), answered from its `cut_units`."""
    cuts, n_pieces = cut
    if len(units) - (removed in units) <= 1:
        return True
    if removed not in units:
        return n_pieces == 1
    if n_pieces == 1:
        return removed not in cuts
    # in pieces: only taking away a piece of one unit can leave one piece
    return n_pieces == 2 and not any(v in units for v in neighbours.get(removed, ()))


class CutCache:
    """Each territory's `cut_units`, found once per set of units: the passes test many moves out of the same
    territory, and a tried move undone brings a territory back to a set seen before. Forgets everything once it
    holds `max_units` units over its territories (1,000,000: about 50 MB; the demo's passes ask about 27,658 sets
    of tens to hundreds of units, and a territory at 100,000 customers holds thousands)."""

    def __init__(self, max_units: int = 1_000_000) -> None:
        self.max_units = max_units
        self.found: dict[tuple[int, frozenset[int]], tuple[set[int], int]] = {}
        self.units = 0

    def connected_without(self, team: int, units: Counter[int], removed: int,
                          neighbours: dict[int, tuple[int, ...]]) -> bool:
        key = (team, frozenset(units))
        cut = self.found.get(key)
        if cut is None:
            if self.units + len(units) > self.max_units:
                self.found.clear()
                self.units = 0
            cut = self.found[key] = cut_units(units, neighbours)
            self.units += len(units)
        return connected_without(cut, units, removed, neighbours)


class Contiguity(Rule):
    name = "contiguity"
    moves = True

    def active(self, problem: Problem) -> bool:
        return problem.need_unit is not None and problem.team_contiguous is not None \
            and bool(problem.team_contiguous.any())

    def start(self, ledger: Ledger) -> None:
        held = held_units(ledger.problem, ledger.assign)
        owners: Owners = {}
        for (rep, team), units in held.items():
            for unit, count in units.items():
                owners.setdefault((team, unit), Counter())[rep] = count
        ledger.state[self.name] = held
        ledger.state["unit_owners"] = owners
        ledger.state["cut_units"] = CutCache()

    def moved(self, ledger: Ledger, need: int, source: int, target: int) -> None:
        p = ledger.problem
        unit, team, contiguous = _unit_and_team(p, need)
        if unit < 0 or not contiguous or source == target:
            return
        held = territories(ledger)
        left = held[(source, team)]
        left[unit] -= 1
        if left[unit] == 0:
            del left[unit]
        held.setdefault((target, team), Counter())[unit] += 1
        owners = unit_owners(ledger)
        here = owners[(team, unit)]
        here[source] -= 1
        if here[source] == 0:
            del here[source]
        here[target] += 1

    def allows_move(self, ledger: Ledger, need: int, target: int) -> bool:
        p = ledger.problem
        unit, team, contiguous = _unit_and_team(p, need)
        if unit < 0 or not contiguous:
            return True
        source = int(ledger.assign[need])
        if source == target:
            return True
        held = territories(ledger)
        neighbours = unit_neighbours(p, team)
        into = held.get((target, team), Counter())
        if into and unit not in into and not any(v in into for v in neighbours.get(unit, ())):
            return False
        out_of = held.get((source, team), Counter())
        cuts = cast(CutCache, ledger.state["cut_units"])
        return out_of.get(unit, 0) > 1 or cuts.connected_without(team, out_of, unit, neighbours)

    def allows_moves(self, ledger: Ledger, need: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.array([self.allows_move(ledger, int(n), int(t)) for n, t in zip(need, target, strict=True)],
                        dtype=bool)

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        p = ledger.problem
        unit, team, contiguous = _unit_and_team(p, need)
        if unit < 0 or not contiguous or self.allows_move(ledger, need, rep):
            return []
        held = territories(ledger)
        into = held.get((rep, team), Counter())
        if into and unit not in into and not any(v in into for v in unit_neighbours(p, team).get(unit, ())):
            return [f"contiguity: the customer's unit does not touch {p.rep_ids[rep]}'s territory"]
        source = int(ledger.assign[need])
        return [f"contiguity: without this unit {p.rep_ids[source]}'s territory would fall into pieces"]

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        return "teams[].contiguous" if self.active(problem) else None
