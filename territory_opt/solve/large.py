"""The large engine: for models too big for CP-SAT's Python model building (measured: 100,000 customers and 300 reps
passed 4 GB while building), LP relaxation over the candidate arcs, rounding and repair, then cost-reducing local
search.

1. GLOP solves the LP relaxation over each need's k nearest eligible reps: its value bounds this candidate set;
2. `repair.repair` rounds it and restores every workload band (shift and swap moves);
3. `improve` makes passes of cost-reducing shifts, largest saving first, each kept only if every rule still holds
   (bands, zones, skills and exclusions by the arcs' eligibility, contact cap, continuity cap).

Deterministic: no randomness, ties broken by index.
"""

from __future__ import annotations

import numpy as np

from ..problem import NO_REP, Problem
from .candidates import Arcs
from .scaling import capped_customers


def improve(problem: Problem, arcs: Arcs, assignment: np.ndarray, *, max_passes: int = 8) -> np.ndarray:
    """Cost-reducing shifts over `arcs`, keeping every hard rule; returns the improved alignment."""
    assign = np.asarray(assignment, dtype=np.int64).copy()
    load = np.bincount(assign, weights=problem.need_workload_s, minlength=problem.n_reps).astype(np.int64)
    cost = problem.arc_cost(arcs.need, arcs.rep)
    capped = set(capped_customers(problem).tolist())
    current = problem.need_current_rep
    moved = int(((current != NO_REP) & (current != assign)).sum())
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
            w = int(problem.need_workload_s[need])
            if load[source] - w < problem.rep_min_s[source] or load[target] + w > problem.rep_max_s[target]:
                continue
            if not _cap_ok(problem, assign, need, target, capped):
                continue
            was_moved = current[need] != NO_REP and current[need] != source
            now_moved = current[need] != NO_REP and current[need] != target
            if problem.max_moved is not None and moved - was_moved + now_moved > problem.max_moved:
                continue
            assign[need] = target
            load[source] -= w
            load[target] += w
            moved += int(now_moved) - int(was_moved)
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
    return len(reps) <= problem.max_reps_per_customer
