"""A start for the border search that is one piece almost everywhere: territories grown around the reps' homes.

Per contiguous team, every unit's workload is shipped to reps by a min-cost flow (each rep between its band's
bounds, shrunk a little so whole units fit), at a price per second of workload of the unit's objective cost *per
visit* for that rep: kilometres from the rep's home (plus continuity, spread over the visits), the same for a gold
and a bronze outlet. A flow priced like that gives each unit to the rep minimising (km - the rep's dual price): an
additively weighted Voronoi diagram of the homes, whose cells are star-shaped around the homes, so each territory
comes out in one piece but for the few units the flow splits or that lie beyond its candidate reps.

Why not start from the contiguity-relaxed optimum, as the border search does on small problems: that optimum
prices a second of work, so it keeps a rep's cheap bronze calls near home and sends its gold calls far, and its
territories interleave. At 100,000 customers (24,265 unit bundles, 300 reps) joining its 269 broken territories
broke 237 bands, and after 878 s of border moves 83 reps stayed outside; grown from the homes, the same search
ends in about a minute with every band held (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.spatial import cKDTree

from ..model.problem import Problem
from .rules import eligible

CANDIDATES = 8  # nearest reps per unit in the flow (doubled while it has no answer)
MAX_ARCS = 20_000_000  # the candidates stop doubling before the flow passes this many arcs
# share of a band's width kept free on each side, so whole units round into the band. 100,000 customers, after the
# border search and its chains (every band held each time): 0.25 -> objective 1,774,526; 0.12 -> 1,751,948;
# 0.05 -> 1,737,849
BAND_MARGIN = 0.05
KM_SCALE = 1000  # the flow's integer cost per second of workload: metres (per visit)


def grown_alignment(problem: Problem, start: np.ndarray, margin: float = BAND_MARGIN) -> np.ndarray:
    """`start` with each contiguous team's unit needs given to reps by the priced flow (needs without a unit, locked
    needs, needs of a unit no single eligible candidate can take whole, and teams whose flow has no answer keep
    their `start` rep). `margin`: the share of each band's width the flow keeps free on each side."""
    assert problem.territory_unit is not None and problem.team_contiguous is not None
    out = np.asarray(start, dtype=np.int64).copy()
    for team in np.flatnonzero(problem.team_contiguous).tolist():
        _grow_team(problem, team, out, margin)
    return out


def _grow_team(problem: Problem, team: int, out: np.ndarray, band_margin: float) -> None:
    unit_of = problem.territory_unit
    assert unit_of is not None
    reps = np.flatnonzero(problem.rep_in_team[:, team])
    needs = np.flatnonzero((problem.need_team == team) & (unit_of >= 0))
    if len(reps) < 2 or len(needs) == 0:
        return
    units, slot = np.unique(unit_of[needs], return_inverse=True)
    k = min(CANDIDATES, len(reps))
    while True:
        arcs = _unit_arcs(problem, needs, slot, units, reps, k)
        fixed = np.ones(problem.n_needs, dtype=bool)
        fixed[needs[np.isin(slot, arcs.unit)]] = False
        low, high = _team_band(problem, out, fixed, reps)
        width = high - low
        last = k >= len(reps) or len(units) * min(2 * k, len(reps)) > MAX_ARCS
        # a flow inside the shrunk bands over more candidates beats one on the bands' edges over fewer: whole
        # units rounded from the edges break bands (at 100,000 customers 112 of 240 reps)
        for margin in (band_margin, 0.0) if last else (band_margin,):
            choice = _flow_choice(arcs, len(units), low + margin * width, high - margin * width)
            if choice is not None:
                moved = choice[slot] >= 0
                out[needs[moved]] = reps[choice[slot[moved]]]
                return
        if last:
            return  # no flow over any candidate set we can afford: the start stays
        k = min(2 * k, len(reps))


@dataclass(frozen=True)
class _UnitArcs:
    """Candidate (unit, rep) pairs of one team (the rep may take every need of the unit) with their price, and
    each unit's workload to ship (its least over its candidates)."""

    unit: np.ndarray
    rep: np.ndarray
    price: np.ndarray
    supply: np.ndarray


def _unit_arcs(problem: Problem, needs: np.ndarray, slot: np.ndarray, units: np.ndarray, reps: np.ndarray,
               k: int) -> _UnitArcs:
    """Each unit's `k` nearest reps (home to unit centre) that may take all its needs, with the unit's workload
    for that rep and its cost per visit in metres (travel and continuity over the unit's visits; for a team that
    does not travel, the straight line, so its territories stay compact too)."""
    n_units = len(units)
    distance, nearest = cKDTree(problem.rep_xy[reps]).query(problem.unit_xy[units], k=k)
    distance, nearest = distance.reshape(n_units, k), nearest.reshape(n_units, k)
    need_rep = reps[nearest[slot]]  # (needs, k)
    flat_need = np.repeat(needs, k)
    flat_rep = need_rep.reshape(-1)
    key = (slot[:, None] * k + np.arange(k)[None, :]).reshape(-1)
    size = n_units * k
    refused = np.bincount(key, weights=(~eligible(problem, flat_need, flat_rep)).astype(float), minlength=size)
    load = np.bincount(key, weights=problem.workload(flat_need, flat_rep).astype(float), minlength=size)
    cost = np.bincount(key, weights=problem.arc_cost(flat_need, flat_rep), minlength=size)
    visits = np.bincount(slot, weights=problem.need_visits[needs].astype(float), minlength=n_units)
    per_visit_km = cost / np.repeat(np.maximum(visits, 1.0), k)
    phone = np.bincount(slot, weights=problem.need_travel_weight[needs].astype(float), minlength=n_units) == 0
    per_visit_km += np.repeat(phone, k) * distance.reshape(-1) / 1000.0
    ok = refused == 0
    unit = np.repeat(np.arange(n_units), k)[ok]
    rep = nearest.reshape(-1)[ok]
    load, price = load[ok], np.rint(per_visit_km[ok] * KM_SCALE).astype(np.int64)
    least = np.full(n_units, np.inf)
    np.minimum.at(least, unit, load)
    supply = np.where(np.isfinite(least), np.rint(least), 0).astype(np.int64)
    return _UnitArcs(unit, rep, price, supply)


def _team_band(problem: Problem, assignment: np.ndarray, fixed: np.ndarray,
               reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each team rep's workload band less what its fixed needs (other teams', locked, left out) already load."""
    held = np.flatnonzero(fixed)
    totals = np.bincount(assignment[held], weights=problem.workload(held, assignment[held]).astype(float),
                         minlength=problem.n_reps)[reps]
    return problem.band_min[0, reps] - totals, problem.band_max[0, reps] - totals


def _flow_choice(arcs: _UnitArcs, n_units: int, low: np.ndarray, high: np.ndarray) -> np.ndarray | None:
    """Each unit's rep (index into the team's reps; -1 without a candidate): the rep carrying most of its
    workload in the min-cost flow that ships every unit's workload to its candidates, each rep between `low` and
    `high` (None when no such flow exists)."""
    n_reps = len(low)
    has_arc = np.zeros(n_units, dtype=bool)
    has_arc[arcs.unit] = True
    supply = np.where(has_arc, arcs.supply, 0)
    lo = np.maximum(np.ceil(low), 0).astype(np.int64)
    hi = np.floor(high).astype(np.int64)
    total = int(supply.sum())
    if (hi < lo).any() or lo.sum() > total or hi.sum() < total:
        return None
    sink = n_units + n_reps
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(arcs.unit.astype(np.int32), (n_units + arcs.rep).astype(np.int32),
                                              supply[arcs.unit], arcs.price)
    flow.add_arcs_with_capacity_and_unit_cost(np.arange(n_units, sink, dtype=np.int32),
                                              np.full(n_reps, sink, dtype=np.int32), hi - lo,
                                              np.zeros(n_reps, dtype=np.int64))
    supplies = np.concatenate([supply, -lo, [-(total - int(lo.sum()))]])
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies.astype(np.int64))
    if flow.solve() != flow.OPTIMAL:
        return None
    shipped = flow.flows(np.arange(len(arcs.unit), dtype=np.int32))
    # per unit, the candidate with the most flow (ties: the cheaper, then the lower rep index)
    order = np.lexsort((arcs.rep, arcs.price, -shipped, arcs.unit))
    first = np.ones(len(order), dtype=bool)
    first[1:] = arcs.unit[order][1:] != arcs.unit[order][:-1]
    choice = np.full(n_units, -1, dtype=np.int64)
    choice[arcs.unit[order][first]] = arcs.rep[order][first]
    return choice
