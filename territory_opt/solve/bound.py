"""The LP relaxation of the assignment model, solved with GLOP.

Its optimum is a proven lower bound on the integer optimum (over the same arcs), its infeasibility proves the
integer model infeasible, and its solution seeds CP-SAT: in balanced assignment only a handful of customers are
split in the LP, so rounding it is already close to optimal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder as mb

from ..problem import Problem
from .candidates import Arcs
from .scaling import arc_costs, capped_customers


@dataclass(frozen=True)
class LpResult:
    feasible: bool
    status: str
    objective: float  # scaled units (see scaling.COST_SCALE); nan when infeasible
    x: np.ndarray  # value per arc
    seconds: float


def _cap_pairs(problem: Problem, arcs: Arcs) -> tuple[np.ndarray, np.ndarray]:
    """For arcs of customers above the contact cap: each arc's (customer, rep) pair index, and the pairs' customers."""
    capped = capped_customers(problem)
    if len(capped) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cust = problem.need_customer[arcs.need]
    in_capped = np.isin(cust, capped)
    key = cust.astype(np.int64) * problem.n_reps + arcs.rep
    pairs, pair_of_arc = np.unique(np.where(in_capped, key, -1), return_inverse=True)
    pair_of_arc = np.where(in_capped, pair_of_arc - (pairs[0] == -1), -1)
    pairs = pairs[pairs >= 0]
    return pair_of_arc, pairs // problem.n_reps


def solve_lp(problem: Problem, arcs: Arcs, *, time_limit_s: float = 60.0) -> LpResult:
    n_arcs, n_needs, n_reps = len(arcs), problem.n_needs, problem.n_reps
    weight = problem.need_workload_s[arcs.need].astype(float)
    pair_of_arc, pair_customer = _cap_pairs(problem, arcs)
    n_pairs = len(pair_customer)
    capped_arcs = np.flatnonzero(pair_of_arc >= 0)
    n_cap_rows = len(np.unique(pair_customer))

    # rows: coverage (needs), balance (reps), link x <= y (capped arcs), cap (capped customers)
    rows = [arcs.need, n_needs + arcs.rep]
    cols = [np.arange(n_arcs), np.arange(n_arcs)]
    vals = [np.ones(n_arcs), weight]
    link0 = n_needs + n_reps
    rows += [link0 + np.arange(len(capped_arcs)), link0 + np.arange(len(capped_arcs))]
    cols += [capped_arcs, n_arcs + pair_of_arc[capped_arcs]]
    vals += [np.ones(len(capped_arcs)), -np.ones(len(capped_arcs))]
    cap0 = link0 + len(capped_arcs)
    _, cap_row = np.unique(pair_customer, return_inverse=True)
    rows.append(cap0 + cap_row)
    cols.append(n_arcs + np.arange(n_pairs))
    vals.append(np.ones(n_pairs))
    n_rows = cap0 + n_cap_rows
    matrix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_rows, n_arcs + n_pairs))
    lower = np.concatenate([np.ones(n_needs), problem.rep_min_s.astype(float), np.full(len(capped_arcs), -np.inf),
                            np.full(n_cap_rows, -np.inf)])
    upper = np.concatenate([np.ones(n_needs), problem.rep_max_s.astype(float), np.zeros(len(capped_arcs)),
                            np.full(n_cap_rows, float(problem.max_reps_per_customer))])
    objective = np.concatenate([arc_costs(problem, arcs).astype(float), np.zeros(n_pairs)])

    started = time.perf_counter()
    model = mb.Model()
    model.helper.fill_model_from_sparse_data(
        np.zeros(n_arcs + n_pairs), np.ones(n_arcs + n_pairs), objective, lower, upper, matrix
    )
    solver = mb.Solver("glop")
    solver.set_time_limit_in_seconds(time_limit_s)
    status = solver.solve(model)
    seconds = time.perf_counter() - started  # model building included; GLOP's own wall_time reads 0 here
    if status != mb.SolveStatus.OPTIMAL:
        return LpResult(False, status.name.lower(), float("nan"), np.zeros(n_arcs), seconds)
    x = solver.values(model.get_variables()).to_numpy()[:n_arcs]
    return LpResult(True, "optimal", float(solver.objective_value), np.clip(x, 0.0, 1.0), seconds)
