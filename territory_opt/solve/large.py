"""The large engine: for models too big for CP-SAT's Python model building (measured: 100,000 customers and 300 reps
passed 4 GB while building), LP relaxation over the candidate arcs, rounding and repair, then cost-reducing local
search.

1. GLOP solves the LP relaxation over each need's k nearest eligible reps: its value bounds this candidate set;
2. `repair.repair` rounds it and restores every workload band (shift and swap moves);
3. `improve` makes passes of cost-reducing shifts, largest saving first, each kept only if every rule still holds
   (bands, zones, skills and exclusions by the arcs' eligibility, contact cap, continuity cap) and the soft balance
   term does not eat the saving.

Deterministic: no randomness, ties broken by index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from ..model.problem import NO_REP, Problem
from .candidates import Arcs
from .scaling import capped_customers, minute_units, off_target_growth, rep_targets

FLOW_COST_SCALE = 1_000_000.0  # integer cost per second of workload = floor(visit-km / seconds x this)


@dataclass(frozen=True)
class FlowRelaxation:
    feasible: bool
    x: np.ndarray  # share of each need's workload on each arc (the LP relaxation's x without the contact cap)
    bound: float  # visit-km; a valid lower bound over these arcs (costs rounded down)


def flow_relaxation(problem: Problem, arcs: Arcs, margin_s: int = 0) -> FlowRelaxation:
    """The transportation relaxation as a min-cost flow in seconds of workload: need -> rep -> sink, each rep
    between its lowest and highest workload. Needs may split across reps (like the LP), the contact cap is
    dropped, and unit costs are rounded down, so its optimum is a lower bound for the same candidate arcs;
    much faster than the LP at a million arcs. With `margin_s` every rep's band shrinks by that much on each side
    (never below a point), so that rounding the few split needs lands inside the true band; the bound is then only
    valid with margin 0.
    """
    n, r = problem.n_needs, problem.n_reps
    w = problem.need_workload_s.astype(np.int64)
    cost = problem.arc_cost(arcs.need, arcs.rep)
    per_second = np.zeros(len(arcs))
    positive = w[arcs.need] > 0
    per_second[positive] = cost[positive] / w[arcs.need][positive]
    unit = np.floor(per_second * FLOW_COST_SCALE).astype(np.int64)
    sink = n + r
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(arcs.need.astype(np.int32), (n + arcs.rep).astype(np.int32),
                                              w[arcs.need], unit)
    lo = problem.rep_min_s.astype(np.int64) + margin_s
    hi = problem.rep_max_s.astype(np.int64) - margin_s
    mid = (problem.rep_min_s.astype(np.int64) + problem.rep_max_s.astype(np.int64)) // 2
    lo, hi = np.minimum(lo, mid), np.maximum(hi, mid)
    spare = hi - lo
    rep_arcs = flow.add_arcs_with_capacity_and_unit_cost(np.arange(n, n + r, dtype=np.int32),
                                                         np.full(r, sink, dtype=np.int32), spare,
                                                         np.zeros(r, dtype=np.int64))
    del rep_arcs
    supplies = np.concatenate([w, -lo, [-(w.sum() - lo.sum())]])
    flow.set_nodes_supplies(np.arange(n + r + 1, dtype=np.int32), supplies.astype(np.int64))
    status = flow.solve()
    if status != flow.OPTIMAL:
        return FlowRelaxation(False, np.zeros(len(arcs)), float("nan"))
    shipped = flow.flows(np.arange(len(arcs), dtype=np.int32)).astype(float)
    x = np.where(w[arcs.need] > 0, shipped / np.maximum(w[arcs.need], 1), 0.0)
    return FlowRelaxation(True, x, float(flow.optimal_cost()) / FLOW_COST_SCALE)


def improve(problem: Problem, arcs: Arcs, assignment: np.ndarray, *, max_passes: int = 8) -> np.ndarray:
    """Cost-reducing shifts over `arcs`, keeping every hard rule; returns the improved alignment."""
    assign = np.asarray(assignment, dtype=np.int64).copy()
    everyone = np.arange(problem.n_needs)
    amounts = problem.amounts(everyone, assign)
    load = np.vstack([np.bincount(assign, weights=row, minlength=problem.n_reps) for row in amounts]).astype(np.int64)
    low, high = problem.band_min, problem.band_max
    cost = problem.arc_cost(arcs.need, arcs.rep)
    capped = set(capped_customers(problem).tolist())
    current = problem.need_current_rep
    moved = int(((current != NO_REP) & (current != assign)).sum())
    moved_value = 0 if problem.need_value is None else int(problem.need_value[(current != NO_REP)
                                                                               & (current != assign)].sum())
    units, centre = minute_units(problem), rep_targets(problem)
    for _ in range(max_passes):
        own_cost = problem.arc_cost(np.arange(problem.n_needs), assign)
        saving = own_cost[arcs.need] - cost
        candidates = np.flatnonzero((saving > 1e-9) & (problem.need_locked_rep[arcs.need] == NO_REP))
        if len(candidates) == 0:
            break
        order = candidates[np.lexsort((candidates, -saving[candidates]))]
        changed = 0
        done: set[int] = set()
        for i in order.tolist():
            need, target = int(arcs.need[i]), int(arcs.rep[i])
            source = int(assign[need])
            if need in done or target == source:
                continue
            out_of = problem.amounts(np.array([need]), np.array([source]))[:, 0]
            into = problem.amounts(np.array([need]), np.array([target]))[:, 0]
            if (load[:, source] - out_of < low[:, source]).any() or (load[:, target] + into > high[:, target]).any():
                continue
            if not _cap_ok(problem, assign, need, target, capped):
                continue
            change = {source: -int(out_of[0]), target: int(into[0])}
            if units and saving[i] <= off_target_growth(load[0], change, centre, units):
                continue  # the soft balance term eats the saving
            was_moved = current[need] != NO_REP and current[need] != source
            now_moved = current[need] != NO_REP and current[need] != target
            if problem.max_moved is not None and moved - was_moved + now_moved > problem.max_moved:
                continue
            if problem.max_moved_value is not None and problem.need_value is not None and now_moved > was_moved \
                    and moved_value + problem.need_value[need] > problem.max_moved_value:
                continue
            assign[need] = target
            load[:, source] -= out_of
            load[:, target] += into
            moved += int(now_moved) - int(was_moved)
            if problem.need_value is not None:
                moved_value += (int(now_moved) - int(was_moved)) * int(problem.need_value[need])
            done.add(need)
            changed += 1
        if changed == 0:
            break
    return assign


def _cap_ok(problem: Problem, assign: np.ndarray, need: int, target: int, capped: set[int]) -> bool:
    customer = int(problem.need_customer[need])
    if customer not in capped:
        return True
    others = np.flatnonzero(problem.need_customer == customer)
    reps = {int(assign[o]) for o in others if o != need} | {target}
    return len(reps) <= problem.customer_caps[customer]
