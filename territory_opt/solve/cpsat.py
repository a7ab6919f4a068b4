"""The exact engine: CP-SAT on the sparse model, composed from the rules' pieces (`rules.RULES`).

`build_model` adds one Boolean per candidate arc, then every active rule's constraints in `RULES` order, then the
soft balance term and the objective; `added` says how many constraints each rule added.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from ..model.problem import Problem
from .candidates import Arcs
from .rules import CpSatBuild, active_rules
from .rules.balance import arcs_by_rep
from .scaling import arc_costs, minute_units, rep_targets


@dataclass(frozen=True)
class CpSatModel:
    model: cp_model.CpModel
    x: list[cp_model.IntVar]  # one Boolean per arc
    added: dict[str, int]  # rule -> number of constraints


def add_soft_balance(model: cp_model.CpModel, problem: Problem, arcs: Arcs,
                     x: list[cp_model.IntVar]) -> list[cp_model.IntVar]:
    """Per rep, the whole minutes its workload lies off its target: 60 m >= load - target and >= target - load."""
    if minute_units(problem) == 0:
        return []
    load = np.asarray(problem.workload(arcs.need, arcs.rep), dtype=np.int64)
    target = rep_targets(problem)
    minutes = []
    for r, members in enumerate(arcs_by_rep(arcs, problem.n_reps)):
        expr = cp_model.LinearExpr.weighted_sum([x[i] for i in members], load[members].tolist())
        most = int(max(load[members].sum(), target[r]) // 60 + 1)
        m = model.new_int_var(0, most, f"off{r}")
        model.add(60 * m >= expr - int(target[r]))
        model.add(60 * m >= int(target[r]) - expr)
        minutes.append(m)
    return minutes


def add_objective(model: cp_model.CpModel, problem: Problem, arcs: Arcs, x: list[cp_model.IntVar],
                  off_minutes: list[cp_model.IntVar]) -> np.ndarray:
    """Minimise visit-weighted travel plus the continuity penalty plus the soft balance term; returns the integer
    arc costs."""
    costs = arc_costs(problem, arcs)
    travel = cp_model.LinearExpr.weighted_sum(x, costs.tolist())
    units = minute_units(problem)
    model.minimize(travel + units * sum(off_minutes) if off_minutes else travel)
    return costs


def build_model(problem: Problem, arcs: Arcs) -> CpSatModel:
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(arcs))]
    build = CpSatBuild(model, problem, arcs, x)
    added = {piece.name: piece.add_cpsat(build) for piece in active_rules(problem)}
    off_minutes = add_soft_balance(model, problem, arcs, x)
    added["soft_balance"] = len(off_minutes)
    add_objective(model, problem, arcs, x, off_minutes)
    return CpSatModel(model, x, added)


@dataclass(frozen=True)
class CpSatOutcome:
    status: str  # optimal, feasible, infeasible, unknown, model_invalid
    choice: np.ndarray | None  # chosen arc index per need
    objective: float  # scaled units
    bound: float  # scaled units, over these arcs only
    seconds: float
    work: float  # CP-SAT's deterministic time spent (reproducible, roughly seconds)
    wall_capped: bool  # stopped by the wall-clock safety cap: the answer may not be reproducible


LINEARIZE_MAX_ARCS = 60_000


def wall_cap(work_limit: float) -> float:
    """Wall-clock safety stop for a deterministic work budget (a slow or busy machine still ends)."""
    return 3.0 * work_limit + 30.0


def solve_cpsat(problem: Problem, arcs: Arcs, *, work_limit: float, workers: int, seed: int,
                hint: np.ndarray | None = None, log: bool = False) -> CpSatOutcome:
    """Solve over `arcs`; `hint` is a chosen arc index per need (e.g. the rounded LP).

    The budget is CP-SAT's deterministic time, not wall time, and several workers interleave their search in
    one deterministic order: the same problem and seed give the same answer on any machine load.
    """
    built = build_model(problem, arcs)
    if hint is not None:
        chosen = np.zeros(len(arcs), dtype=bool)
        chosen[hint] = True
        for var, value in zip(built.x, chosen.tolist(), strict=True):
            built.model.add_hint(var, value)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_deterministic_time = float(work_limit)
    params.max_time_in_seconds = wall_cap(work_limit)
    params.num_workers = int(workers)
    params.interleave_search = workers > 1
    # CP-SAT's LP relaxation helps on small models (demo, 39k arcs: 0.05 % vs 0.2 % gap at 30 s) but at 100k arcs
    # it made each deterministic second cost 4 wall seconds for the same answer (docs/benchmarks.md)
    params.linearization_level = 1 if len(arcs) <= LINEARIZE_MAX_ARCS else 0
    params.random_seed = int(seed)
    params.log_search_progress = log
    status = solver.solve(built.model)
    name = solver.status_name(status).lower()
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.fromiter((solver.boolean_value(v) for v in built.x), dtype=bool, count=len(built.x))
        choice = np.flatnonzero(values)
        return CpSatOutcome(name, choice, float(solver.objective_value), float(solver.best_objective_bound),
                            float(solver.wall_time), float(solver.deterministic_time),
                            _capped(solver, work_limit))
    return CpSatOutcome(name, None, float("nan"), float("nan"), float(solver.wall_time),
                        float(solver.deterministic_time), _capped(solver, work_limit))


def _capped(solver: cp_model.CpSolver, work_limit: float) -> bool:
    return solver.deterministic_time < work_limit and solver.wall_time >= wall_cap(work_limit) - 0.5
