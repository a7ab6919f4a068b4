"""The LP relaxation of the assignment model, solved with GLOP.

Its optimum is a proven lower bound on the integer optimum (over the same arcs), its infeasibility proves the
integer model infeasible, and its solution seeds CP-SAT: in balanced assignment only a handful of customers are
split in the LP, so rounding it is already close to optimal. The rows are the rules' own (`rules.RULES`, in the
same order as CP-SAT's constraints), plus the soft balance term's columns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver.python import model_builder as mb

from ..model.problem import Problem
from .budget import Budget
from .candidates import Arcs
from .interrupt import interruptible
from .lp_rows import SparseLp
from .rules import active_rules
from .scaling import arc_costs, minute_units, rep_targets


@dataclass(frozen=True)
class LpResult:
    feasible: bool
    status: str
    objective: float  # scaled units (see scaling.COST_SCALE); nan when infeasible
    x: np.ndarray  # value per arc
    seconds: float

    @property
    def bound(self) -> float:
        """The LP optimum bounds the integer optimum over the same arcs (nan when not solved to optimality)."""
        return self.objective

    @property
    def stats(self) -> dict[str, float | int | str]:
        return {"seconds": round(self.seconds, 3)}


def add_soft_balance(lp: SparseLp, problem: Problem, arcs: Arcs) -> None:
    """Minutes off target per rep (continuous here): 60 m - load >= -target and 60 m + load >= target."""
    units = minute_units(problem)
    if units == 0:
        return
    r = problem.n_reps
    first = lp.new_columns(r, upper=np.inf, cost=float(units))
    load = np.asarray(problem.workload(arcs.need, arcs.rep), dtype=float)
    target = rep_targets(problem).astype(float)
    minutes = first + np.arange(r)
    for sign in (-1.0, 1.0):
        lp.add(np.concatenate([arcs.rep, np.arange(r)]), np.concatenate([np.arange(len(arcs)), minutes]),
               np.concatenate([sign * load, np.full(r, 60.0)]), sign * target, np.full(r, np.inf))


def build_lp(problem: Problem, arcs: Arcs) -> SparseLp:
    """The relaxation of the model CP-SAT solves: every active rule's rows, then the soft balance term."""
    lp = SparseLp(len(arcs))
    for piece in active_rules(problem):
        piece.add_lp(lp, problem, arcs)
    add_soft_balance(lp, problem, arcs)
    return lp


def solve_lp(problem: Problem, arcs: Arcs, budget: Budget) -> LpResult:
    """Solve the relaxation over `arcs` with GLOP, within the budget's wall-clock safety stop (GLOP has no
    deterministic limit; the LP must finish for its bound to hold, so only the safety stop applies)."""
    n_arcs = len(arcs)
    started = time.perf_counter()
    lp = build_lp(problem, arcs)
    objective = np.concatenate([arc_costs(problem, arcs).astype(float), *lp.extra_cost])
    upper = np.concatenate([np.ones(n_arcs), *lp.extra_upper])
    model = mb.Model()
    # ortools' generated stub spells these arrays ndarray[float64[m, 1]], a type no array matches
    model.helper.fill_model_from_sparse_data(
        np.zeros(lp.n_cols), upper, objective, np.concatenate(lp.lower), np.concatenate(lp.upper),  # type: ignore[arg-type]
        lp.matrix(),
    )
    solver = mb.Solver("glop")
    solver.set_time_limit_in_seconds(budget.wall_cap)
    status = interruptible(lambda: solver.solve(model), solver.stop_search)
    seconds = time.perf_counter() - started  # model building included; GLOP's own wall_time reads 0 here
    if status != mb.SolveStatus.OPTIMAL:
        return LpResult(False, status.name.lower(), float("nan"), np.zeros(n_arcs), seconds)
    x = solver.values(model.get_variables()).to_numpy()[:n_arcs]
    return LpResult(True, "optimal", float(solver.objective_value), np.clip(x, 0.0, 1.0), seconds)
