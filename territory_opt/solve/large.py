"""The large engine: for models too big for CP-SAT's Python model building (measured: 100,000 customers and 300 reps
passed 4 GB while building), a min-cost-flow relaxation over the candidate arcs, rounding and repair, then
cost-reducing local search.

1. `flow_relaxation` solves the transportation relaxation (needs may split, no contact cap) over each need's k
   nearest eligible reps as a min-cost flow in seconds of workload: its value bounds this candidate set;
2. `repair.repair` rounds it and restores every workload band (shift and swap moves);
3. `improve` makes passes of cost-reducing shifts, largest saving first, each kept only if every rule still holds
   (the arcs' eligibility, then each rule's move check through the ledger) and the soft balance term does not eat
   the saving.

Deterministic: no randomness, ties broken by index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from ..model.problem import NO_REP, Problem
from .candidates import Arcs
from .ledger import Ledger

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
    """Cost-reducing shifts over `arcs`, largest saving first, each kept only when every rule still holds (the
    rules' move checks, through the ledger) and the soft balance term does not eat the saving."""
    ledger = Ledger(problem, assignment)
    cost = problem.arc_cost(arcs.need, arcs.rep)
    everyone = np.arange(problem.n_needs)
    for _ in range(max_passes):
        saving = problem.arc_cost(everyone, ledger.assign)[arcs.need] - cost
        candidates = np.flatnonzero((saving > 1e-9) & (problem.need_locked_rep[arcs.need] == NO_REP))
        if len(candidates) == 0:
            break
        order = candidates[np.lexsort((candidates, -saving[candidates]))]
        changed = 0
        done: set[int] = set()
        for i in order.tolist():
            need, target = int(arcs.need[i]), int(arcs.rep[i])
            if need in done or target == int(ledger.assign[need]) or not ledger.keeps_rules(need, target):
                continue
            if saving[i] <= ledger.balance_growth(need, target):
                continue  # the soft balance term eats the saving
            ledger.move(need, target)
            done.add(need)
            changed += 1
        if changed == 0:
            break
    return ledger.assign
