"""The best (or a good) assignment of customers to fixed centres under the capacity, size and balance rules, by
min-cost flow: exact when every demand is the same, a rounded transportation relaxation otherwise, and a greedy
fallback that may only give a partial hint.

Not `solve/large.py`'s flow: that one is the band-constrained transportation relaxation of the assignment
`Problem`; this one prices each unit of a centre's size on its own arc, so the convex balance penalty and the size
floors are part of the flow.

OR-Tools' `SimpleMinCostFlow` crashes when flows are read after a status other than OPTIMAL (ECOSYSTEM.md): the
status is checked first, every time.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

from .problem import DesignProblem
from .rules import site_room, size_floor, uniform_load
from .scaling import Scaling

FLOW_MAX_ARCS = 2_000_000  # larger assignment flows are skipped (the CP-SAT phases and the LNS remain)


def assign_flow(problem: DesignProblem, units: np.ndarray, scaling: Scaling, centres: np.ndarray,
                 nearest: int | None = None) -> np.ndarray | None:
    """Best assignment to fixed centres when every demand is the same: a min-cost flow, convex penalty included.

    Each unit of a centre's size is its own arc to the sink with the penalty's marginal cost (convex, so the flow
    fills them in order); size floors are arcs with a large negative cost. With `nearest`, each customer may only
    use that many of its cheapest centres (faster; then only a good assignment, not the best). None when it does not
    fit or fails.
    """
    d = uniform_load(problem)
    n, p = problem.n_customers, len(centres)
    if d is None or n * p > FLOW_MAX_ARCS:
        return None
    sub = units[:, centres]
    if d == 0:  # no customer counts against any rule: nearest centre, unless a size floor can never be met
        return None if size_floor(problem) > 0 else centres[np.argmin(sub, axis=1)]
    if nearest is not None and nearest < p:
        near = np.argpartition(sub, nearest - 1, axis=1)[:, :nearest]
        cust, cent = np.repeat(np.arange(n), nearest), near.ravel()
    else:
        cust, cent = np.repeat(np.arange(n), p), np.tile(np.arange(p), n)
    reach = np.bincount(cent, minlength=p)  # no centre can take more customers than have an arc to it
    room = np.minimum(site_room(problem)[centres] // d, reach)
    lo_units = -(-size_floor(problem) // d)
    if (room < lo_units).any() or room.sum() < n:
        return None
    flow = min_cost_flow.SimpleMinCostFlow()
    sink = n + p
    flow.add_arcs_with_capacity_and_unit_cost(cust.astype(np.int32), (n + cent).astype(np.int32),
                                              np.ones(len(cust), dtype=np.int64), sub[cust, cent])
    size = np.concatenate([np.arange(1, int(r) + 1) for r in room])
    owner = np.repeat(np.arange(p), room)
    if problem.has_balance:
        a = problem.balance_penalty * scaling.scale
        marginal = a * (np.abs(size * d - problem.size_target) - np.abs((size - 1) * d - problem.size_target))
        marginal = np.rint(marginal).astype(np.int64)
    else:
        marginal = np.zeros(len(size), dtype=np.int64)
    floors = size <= lo_units
    if floors.any():
        big = 2 * (int(np.abs(sub).max()) + 2 * int(np.abs(marginal).max()) + 1)
        marginal = marginal - big * floors
    flow.add_arcs_with_capacity_and_unit_cost((n + owner).astype(np.int32), np.full(len(size), sink, dtype=np.int32),
                                              np.ones(len(size), dtype=np.int64), marginal)
    flow.set_nodes_supplies(np.arange(n + p + 1, dtype=np.int32),
                            np.r_[np.ones(n, dtype=np.int64), np.zeros(p, dtype=np.int64), -n])
    if flow.solve() != flow.OPTIMAL:
        return None
    used = flow.flows(np.arange(len(cust), dtype=np.int32)) > 0
    if used.sum() != n:
        return None
    assignment = np.empty(n, dtype=np.int64)
    assignment[cust[used]] = centres[cent[used]]
    sizes = np.bincount(cent[used], minlength=p)
    if (sizes < lo_units).any():
        return None
    return assignment


def assign_transport(problem: DesignProblem, units: np.ndarray, scaling: Scaling, centres: np.ndarray,
                      nearest: int | None = None) -> np.ndarray | None:
    """Unequal demands: the transportation relaxation (a customer's demand may split) as a min-cost flow in demand
    units, then every split customer goes whole to a centre with room, largest share first. A good assignment,
    not always the best; None when the rounding finds no room or the flow would be too large."""
    loads = problem.loads
    n, p = problem.n_customers, len(centres)
    sub = units[:, centres]
    k = p if nearest is None else min(nearest, p)
    near = np.argpartition(sub, k - 1, axis=1)[:, :k] if k < p else np.tile(np.arange(p), (n, 1))
    active = np.flatnonzero(loads > 0)
    cust, cent = np.repeat(active, k), near[active].ravel()
    demand = loads[cust]
    room = np.minimum(site_room(problem)[centres], np.bincount(cent, weights=demand, minlength=p).astype(np.int64))
    lo, total = size_floor(problem), int(loads.sum())
    if room.sum() < total or (room < lo).any() or int(room.sum()) + len(cust) > FLOW_MAX_ARCS:
        return None
    resolution = 64.0  # unit costs are cost per demand unit, kept to 1/64 of an objective unit
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(cust.astype(np.int32), (n + cent).astype(np.int32), demand,
                                              np.rint(sub[cust, cent] * resolution / demand).astype(np.int64))
    size = np.concatenate([np.arange(1, int(r) + 1) for r in room])
    owner = np.repeat(np.arange(p), room)
    marginal = np.zeros(len(size))
    if problem.has_balance:
        a = problem.balance_penalty * scaling.scale * resolution
        marginal = a * (np.abs(size - problem.size_target) - np.abs(size - 1 - problem.size_target))
    marginal = np.rint(marginal).astype(np.int64)
    floors = size <= lo
    if floors.any():
        big = 2 * (int(np.abs(sub).max() * resolution) + 2 * int(np.abs(marginal).max()) + 1)
        marginal = marginal - big * floors
    flow.add_arcs_with_capacity_and_unit_cost((n + owner).astype(np.int32), np.full(len(size), n + p, dtype=np.int32),
                                              np.ones(len(size), dtype=np.int64), marginal)
    supplies = np.zeros(n + p + 1, dtype=np.int64)
    supplies[:n] = loads
    supplies[n + p] = -total
    flow.set_nodes_supplies(np.arange(n + p + 1, dtype=np.int32), supplies)
    if flow.solve() != flow.OPTIMAL:
        return None
    share = flow.flows(np.arange(len(cust), dtype=np.int32)).reshape(len(active), k)
    slot = np.full(n, -1, dtype=np.int64)
    idle = loads == 0
    slot[idle] = np.argmin(sub[idle], axis=1)
    whole = share == loads[active][:, None]
    has_whole = whole.any(axis=1)
    slot[active[has_whole]] = near[active[has_whole], np.argmax(whole[has_whole], axis=1)]
    served = np.bincount(slot[slot >= 0], weights=loads[slot >= 0], minlength=p).astype(np.int64)
    limit = site_room(problem)[centres]
    split = np.flatnonzero(~has_whole)
    for i in split[np.argsort(-loads[active[split]], kind="stable")].tolist():
        c = int(active[i])
        options = near[c][np.lexsort((sub[c, near[c]], -share[i]))]
        fits = options[served[options] + loads[c] <= limit[options]]
        if not len(fits):
            return None
        slot[c] = int(fits[0])
        served[slot[c]] += loads[c]
    if (served < lo).any():
        return None
    return centres[slot]


def assign_greedy(problem: DesignProblem, units: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Largest demands first, each to its cheapest centre with room left (or its cheapest at all: a partial hint)."""
    room = site_room(problem)[centres].astype(np.int64)
    loads = problem.loads
    sub = units[:, centres]
    order = np.lexsort((np.arange(problem.n_customers), -loads))
    assignment = np.empty(problem.n_customers, dtype=np.int64)
    for c in order.tolist():
        ranked = np.argsort(sub[c], kind="stable")
        fits = ranked[room[ranked] >= loads[c]]
        j = int(fits[0]) if len(fits) else int(ranked[0])
        room[j] -= loads[c]
        assignment[c] = centres[j]
    return assignment
