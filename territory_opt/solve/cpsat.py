"""The exact engine: CP-SAT on the sparse model, composed from the rules' pieces (`rules.RULES`).

`build_model` adds one Boolean per candidate arc, then every active rule's constraints in `RULES` order, then the
soft balance term and the objective; `added` says how many constraints each rule added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from ..model.problem import Problem
from .budget import Budget
from .candidates import Arcs
from .cpsat_call import solve_model
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

    @property
    def stats(self) -> dict[str, float | int | str]:
        return {"seconds": round(self.seconds, 3), "work": round(self.work, 3), "wall_capped": int(self.wall_capped)}


LINEARIZE_MAX_ARCS = 60_000


def solve_cpsat(problem: Problem, arcs: Arcs, budget: Budget, *, workers: int, seed: int,
                hint: np.ndarray | None = None, log: bool = False) -> CpSatOutcome:
    """Solve over `arcs` within `budget`; `hint` is a chosen arc index per need (e.g. the rounded LP).

    The budget is CP-SAT's deterministic time, not wall time, and several workers interleave their search in
    one deterministic order: the same problem and seed give the same answer on any machine load.
    """
    built = build_model(problem, arcs)
    if hint is not None:
        chosen = np.zeros(len(arcs), dtype=bool)
        chosen[hint] = True
        for var, value in zip(built.x, chosen.tolist(), strict=True):
            built.model.add_hint(var, value)

    def configure(params: Any) -> None:
        # CP-SAT's LP relaxation helps on small models (demo, 39k arcs: 0.05 % vs 0.2 % gap at 30 s) but at 100k
        # arcs it made each deterministic second cost 4 wall seconds for the same answer (docs/benchmarks.md)
        params.linearization_level = 1 if len(arcs) <= LINEARIZE_MAX_ARCS else 0

    call = solve_model(built.model, budget, workers=workers, seed=seed, log=log, configure=configure)
    solver = call.solver
    if call.found:
        values = np.fromiter((solver.boolean_value(v) for v in built.x), dtype=bool, count=len(built.x))
        return CpSatOutcome(call.status_name, np.flatnonzero(values), float(solver.objective_value),
                            float(solver.best_objective_bound), call.seconds, call.work, call.wall_capped)
    return CpSatOutcome(call.status_name, None, float("nan"), float("nan"), call.seconds, call.work,
                        call.wall_capped)
