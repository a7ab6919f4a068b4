"""Solvers behind one entry point: `solve(problem, params, *, seed) -> Result`.

Strategy for the exact engine (DESIGN.md section 4):
1. counting checks prove obvious infeasibility and name what is short;
2. the LP relaxation over every eligible arc (when it fits) gives the lower bound, proves infeasibility when it
   has no solution, and its support joins CP-SAT's candidate arcs (a rounded-LP hint was measured: it slowed
   CP-SAT down on the demo, so there is none);
3. CP-SAT solves the sparse model over the k nearest reps per need plus the LP's support; k doubles while the
   sparse model is infeasible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InfeasibleError, SolverLimitError
from ..problem import Problem, team_components
from .bound import solve_lp
from .candidates import Arcs, all_arcs, count_all_arcs, make_arcs, nearest_arcs
from .cpsat import solve_cpsat
from .diagnose import capacity_findings, explain_lp_infeasible
from .scaling import COST_SCALE

FULL_LP_MAX_ARCS = 3_000_000


@dataclass(frozen=True)
class SolveParams:
    time_limit_s: float = 60.0
    workers: int = 1
    candidate_reps: int = 8
    log: bool = False


@dataclass(frozen=True)
class Result:
    """A solved alignment: `assignment[i]` is the rep index of need i."""

    assignment: np.ndarray
    status: str  # "optimal" or "feasible"
    objective: float  # visit-km (+ continuity penalties)
    bound: float  # proven lower bound, same units
    gap: float  # (objective - bound) / objective
    engine: str
    bound_scope: str  # "all eligible reps" or "candidate reps"
    candidate_reps: int  # the k finally used
    stats: dict[str, float | int | str] = field(default_factory=dict)


def _lp_support(arcs: Arcs, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = x > 1e-6
    return arcs.need[keep], arcs.rep[keep]


def _infeasible_components(problem: Problem, time_limit_s: float) -> list[np.ndarray]:
    comp = team_components(problem.rep_in_team)
    bad = []
    for label in np.unique(comp):
        teams = np.flatnonzero(comp == label)
        keep = np.isin(problem.need_team, teams)
        sub = problem.replace(
            need_customer=problem.need_customer[keep], need_team=problem.need_team[keep],
            need_visits=problem.need_visits[keep], need_workload_s=problem.need_workload_s[keep],
            need_travel_weight=problem.need_travel_weight[keep], need_locked_rep=problem.need_locked_rep[keep],
            need_current_rep=problem.need_current_rep[keep])
        reps_outside = ~problem.rep_in_team[:, teams].any(axis=1)
        sub = sub.replace(rep_min_s=np.where(reps_outside, 0, sub.rep_min_s))
        if not solve_lp(sub, all_arcs(sub), time_limit_s=time_limit_s).feasible:
            bad.append(teams)
    return bad


def solve(problem: Problem, params: SolveParams, *, seed: int) -> Result:
    """Assign every need to one rep of its team under all hard rules, minimising travel (+ continuity)."""
    findings = capacity_findings(problem)
    if findings:
        raise InfeasibleError(findings)
    if problem.n_needs == 0:
        return Result(np.zeros(0, np.int64), "optimal", 0.0, 0.0, 0.0, "cpsat", "all eligible reps",
                      params.candidate_reps)

    stats: dict[str, float | int | str] = {}
    extra = None
    bound_scope = "candidate reps"
    lp_bound = -np.inf
    if count_all_arcs(problem) <= FULL_LP_MAX_ARCS:
        full = all_arcs(problem)
        lp = solve_lp(problem, full, time_limit_s=params.time_limit_s)
        stats["lp_seconds"] = round(lp.seconds, 3)
        stats["lp_arcs"] = len(full)
        if not lp.feasible:
            if lp.status == "infeasible":
                comps = _infeasible_components(problem, params.time_limit_s)
                raise InfeasibleError(explain_lp_infeasible(problem, comps) or [
                    "no assignment satisfies coverage, balance, locks and the contact cap together"])
        else:
            lp_bound = lp.objective
            bound_scope = "all eligible reps"
            extra = _lp_support(full, lp.x)
            stats["lp_split_needs"] = int(problem.n_needs - np.sum(lp.x > 1 - 1e-6))

    k = params.candidate_reps
    max_team = int(problem.rep_in_team.sum(axis=0).max())
    work_left = params.time_limit_s
    work_used = 0.0
    while True:
        arcs = nearest_arcs(problem, k, extra)
        outcome = solve_cpsat(problem, arcs, work_limit=max(work_left, 1.0), workers=params.workers, seed=seed,
                              log=params.log)
        work_used += outcome.work
        work_left = params.time_limit_s - work_used
        if outcome.choice is not None:
            break
        if outcome.status == "infeasible" and k < max_team:
            k = min(2 * k, max_team)
            continue
        if outcome.status == "infeasible":
            raise InfeasibleError(explain_lp_infeasible(problem, _infeasible_components(problem, 60.0)) or [
                "no assignment satisfies coverage, balance, locks and the contact cap together"])
        raise SolverLimitError(
            f"CP-SAT found no feasible assignment within a work budget of {params.time_limit_s:g} s "
            f"({len(arcs)} candidate arcs); raise solver.time_limit_s")

    complete = len(arcs) == count_all_arcs(problem)  # the sparse model is the whole model
    if complete:
        bound_scope = "all eligible reps"
        cpsat_bound = outcome.objective if outcome.status == "optimal" else outcome.bound
        lp_bound = max(lp_bound, cpsat_bound)
    elif bound_scope == "candidate reps":  # no full LP: CP-SAT's bound holds for the candidate arcs only
        lp_bound = outcome.objective if outcome.status == "optimal" else outcome.bound
    objective = outcome.objective / COST_SCALE
    bound = min(lp_bound / COST_SCALE, objective)
    gap = 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)
    stats.update(cpsat_status=outcome.status, cpsat_seconds=round(outcome.seconds, 3),
                 cpsat_work=round(work_used, 3), wall_capped=int(outcome.wall_capped), arcs=len(arcs),
                 cpsat_bound=round(outcome.bound / COST_SCALE, 3))
    status = "optimal" if gap <= 1e-9 else "feasible"
    return Result(
        assignment=arcs.rep[outcome.choice].astype(np.int64),
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        engine="cpsat",
        bound_scope=bound_scope,
        candidate_reps=k,
        stats=stats,
    )


__all__ = ["Result", "SolveParams", "make_arcs", "solve"]
