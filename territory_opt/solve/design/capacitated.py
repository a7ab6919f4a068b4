"""The capacitated engine: capacity, size bounds and/or soft balance (`size_target`, `balance_penalty`).

CP-SAT on the assignment model (`model.py`) around three heuristics that find the answers: the uncapacitated
centres re-assigned under the rules, the flow-judged centre-swap search (`swap.py`), and the region LNS (`lns.py`).
CP-SAT's bound on the whole model (or the uncapacitated Lagrangian bound, whichever is higher) is reported.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import Finding, InfeasibleError, SolverLimitError
from ..budget import WorkMeter
from .assign import FLOW_MAX_ARCS, assign_flow, assign_greedy, assign_transport
from .cpsat import CpOutcome, run_cpsat
from .interchange import pmedian_search
from .judge import design_objective, design_violations
from .lagrangian import distance_bound
from .lns import region_lns
from .model import make_arcs
from .problem import DesignProblem
from .result import Answer, DesignResult, finish
from .rules import counting_findings, eligible, site_room, size_floor
from .scaling import cost_scaling, to_units
from .swap import FLOW_NEAREST, flow_search

FULL_MODEL_MAX_ARCS = 250_000  # above this CP-SAT sees each customer's k nearest sites only
SPARSE_START_K = 16  # first k for the sparse model; doubled while the sparse model is infeasible
HEURISTIC_SHARE = 0.05  # share of the budget the CP-SAT engines give the uncapacitated local search
BOUND_SHARE = 0.03  # the uncapacitated Lagrangian bound (a fallback when CP-SAT's bound is weaker)
FIRST_CPSAT_SHARE = 0.12  # CP-SAT on the whole model: a first answer and bound
FLOW_SEARCH_SHARE = 0.4  # the flow-judged swap search
FINAL_CPSAT_SHARE = 0.2  # CP-SAT on the whole model again, hinted with the best answer; the region LNS gets the rest
LEFTOVER_SHARE = 0.05  # the final CP-SAT is called again while more than this share of the budget is left


def solve_capacitated(problem: DesignProblem, meter: WorkMeter, seed: int, workers: int) -> DesignResult:
    """Uncapacitated centres re-assigned under the rules; CP-SAT on the whole model (often optimal at once on small
    instances, else a first answer and bound); the flow-judged swap search; region LNS; CP-SAT again, hinted with
    the best answer."""
    findings = counting_findings(problem)
    if findings:
        raise InfeasibleError([Finding(f) for f in findings])
    cost = problem.weight[:, None] * problem.distance
    scaling = cost_scaling(problem, cost)
    units = to_units(cost, scaling)
    rng = np.random.default_rng(seed)
    stats: dict[str, float | int | str] = {"customers": problem.n_customers, "sites": problem.n_sites,
                                           "cost_scale": scaling.scale, "cost_scale_exact": int(scaling.exact)}
    total = meter.left()
    child = meter.child(total * HEURISTIC_SHARE)
    state, _ = pmedian_search(cost, problem.p, child, rng)
    meter.settle(child)
    assignment = assign_flow(problem, units, scaling, state.sites)
    if assignment is None:
        assignment = assign_transport(problem, units, scaling, state.sites)
    if assignment is None:
        assignment = assign_greedy(problem, units, state.sites)
    best: Answer | None = None
    if not design_violations(problem, state.sites, assignment):
        best = Answer(state.sites, assignment, design_objective(problem, state.sites, assignment))
        stats["heuristic"] = round(best.objective, 6)
    child = meter.child(total * BOUND_SHARE)
    lower = distance_bound(cost, problem.p, best.objective if best else 2.0 * state.objective + 1.0, child)
    meter.settle(child)
    stats["distance_bound"] = lower
    allowed = eligible(problem)
    openable = site_room(problem) >= size_floor(problem)
    k = None if int(allowed.sum()) <= FULL_MODEL_MAX_ARCS else SPARSE_START_K
    bound_units = -np.inf

    def run(phase: str, work: float) -> CpOutcome:
        """CP-SAT hinted with the best answer so far; a sparse model grows its k while it is infeasible."""
        nonlocal k, best, bound_units
        phase_end = meter.used + work  # a sparse model grown after an infeasible one shares the phase's work
        while True:
            hint = (best.centres, best.assignment) if best is not None else (state.sites, assignment)
            arcs = make_arcs(units, allowed, k, hint[1])
            outcome = run_cpsat(problem, arcs, units, scaling, openable, hint, phase_end - meter.used, meter, seed,
                                workers)
            stats[phase] = f"{outcome.status}, {len(arcs.customer)} arcs, {outcome.work:.2f} det-s"
            if outcome.status != "infeasible" or meter.exhausted():
                break
            if arcs.full:
                raise InfeasibleError("no choice of centres serves every customer within the capacity and size rules")
            assert k is not None  # a sparse model (arcs not full) has a k
            k = None if 2 * k >= problem.n_sites else 2 * k
        if outcome.centres is not None:
            assert outcome.assignment is not None
            found = Answer(outcome.centres, outcome.assignment,
                            design_objective(problem, outcome.centres, outcome.assignment))
            if best is None or found.objective <= best.objective:
                best = found
        if arcs.full:
            bound_units = max(bound_units, outcome.bound_units)
        return outcome

    first = run("cpsat1", total * FIRST_CPSAT_SHARE)
    proven = first.status == "optimal" and k is None
    if not proven and not meter.exhausted() and problem.n_customers * min(problem.p, FLOW_NEAREST) <= FLOW_MAX_ARCS:
        child = meter.child(total * FLOW_SEARCH_SHARE)
        found, flow_stats = flow_search(problem, cost, units, scaling,
                                         best.centres if best is not None else state.sites, child, rng)
        meter.settle(child)
        stats.update(flow_stats)
        if found is not None and (best is None or found.objective < best.objective):
            best = found
    if not proven and not meter.exhausted() and best is not None:
        lns_work = max(meter.left() - total * FINAL_CPSAT_SHARE, 0.0)
        best, lns_stats = region_lns(problem, best, meter, rng, lns_work, units, scaling)
        stats.update(lns_stats)
    rounds = 0
    while not proven and not meter.exhausted() and (rounds == 0 or meter.left() > total * LEFTOVER_SHARE):
        # CP-SAT hinted with the best answer, for what is left; several workers may stop short of their share
        # (meter.CPSAT_WORKER_OVERSHOOT), so what they leave goes to another call, until little is left
        rounds += 1
        last = run("cpsat2", meter.left())
        proven = last.status == "optimal" and k is None
    stats["final_cpsat_calls"] = rounds
    if best is None:
        raise SolverLimitError("no answer meets every capacity and size rule within the time limit")
    bound = lower
    if math.isfinite(bound_units):
        bound = max(bound, bound_units / scaling.scale)
    if k is not None:
        stats["bound_scope"] = "uncapacitated relaxation (CP-SAT saw only each customer's nearest sites)"
    stats["candidate_sites"] = "all eligible" if k is None else f"{k} nearest"
    stats["wall_capped"] = int(meter.wall_capped)
    stats["work_s"] = round(meter.used, 3)
    return finish(problem, best.centres, best.assignment, bound, "cpsat", stats)
