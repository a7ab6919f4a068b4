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

from ..model.problem import Problem
from .candidates import Arcs
from .scaling import arc_costs, capped_customers, minute_units, rep_targets


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


class _SparseLp:
    """Rows and extra columns added block by block (one block per constraint family), then solved by GLOP."""

    def __init__(self, n_arcs: int) -> None:
        self.n_cols = n_arcs
        self.extra_upper: list[np.ndarray] = []  # bounds and costs of the columns after the arcs
        self.extra_cost: list[np.ndarray] = []
        self.n_rows = 0
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []

    def new_columns(self, n: int, upper: float = 1.0, cost: float = 0.0) -> int:
        """Add `n` columns in [0, upper] at `cost` each; returns the first one's index."""
        first = self.n_cols
        self.n_cols += n
        self.extra_upper.append(np.full(n, upper))
        self.extra_cost.append(np.full(n, cost))
        return first

    def add(self, row: np.ndarray, col: np.ndarray, val: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Rows numbered 0..len(lower)-1 within the block."""
        self.rows.append(self.n_rows + row)
        self.cols.append(col)
        self.vals.append(val)
        self.lower.append(lower)
        self.upper.append(upper)
        self.n_rows += len(lower)

    def matrix(self) -> sp.csr_matrix:
        return sp.csr_matrix((np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
                             shape=(self.n_rows, self.n_cols))


def _coverage_and_balance(lp: _SparseLp, problem: Problem, arcs: Arcs) -> None:
    n_arcs, n_needs = len(arcs), problem.n_needs
    lp.add(arcs.need, np.arange(n_arcs), np.ones(n_arcs), np.ones(n_needs), np.ones(n_needs))
    amounts = problem.amounts(arcs.need, arcs.rep).astype(float)
    lowest, highest = problem.band_min.astype(float), problem.band_max.astype(float)
    for q in range(len(amounts)):
        lp.add(arcs.rep, np.arange(n_arcs), amounts[q], lowest[q], highest[q])


def _link(lp: _SparseLp, arcs_idx: np.ndarray, groups: np.ndarray) -> int:
    """x[arc] <= y[group] for each listed arc; returns the first y column."""
    n_groups = int(groups.max(initial=-1)) + 1
    first = lp.new_columns(n_groups)
    n = len(arcs_idx)
    lp.add(np.concatenate([np.arange(n), np.arange(n)]), np.concatenate([arcs_idx, first + groups]),
           np.concatenate([np.ones(n), -np.ones(n)]), np.full(n, -np.inf), np.zeros(n))
    return first


def _contact_cap(lp: _SparseLp, problem: Problem, arcs: Arcs) -> None:
    """y[customer, rep] >= x of its arcs; sum over reps of y <= cap, for customers above the cap."""
    pair_of_arc, pair_customer = _cap_pairs(problem, arcs)
    capped_arcs = np.flatnonzero(pair_of_arc >= 0)
    if len(capped_arcs) == 0:
        return
    first = _link(lp, capped_arcs, pair_of_arc[capped_arcs])
    customers, cap_row = np.unique(pair_customer, return_inverse=True)
    n_cap = len(customers)
    lp.add(cap_row.reshape(-1), first + np.arange(len(pair_customer)), np.ones(len(pair_customer)),
           np.full(n_cap, -np.inf), problem.customer_caps[customers].astype(float))


def _zones(lp: _SparseLp, problem: Problem, arcs: Arcs) -> None:
    """Per boundary kind: y[rep, zone] >= x of its arcs in that zone; sum over zones of y <= 1, for free reps."""
    for k in range(problem.n_zone_kinds):
        zone = problem.need_zone[k, arcs.need]
        free = np.flatnonzero((zone >= 0) & (problem.rep_zone[k, arcs.rep] < 0))
        if len(free) == 0:
            continue
        pairs, group = np.unique(arcs.rep[free] * len(problem.zone_names[k]) + zone[free], return_inverse=True)
        first = _link(lp, free, group.reshape(-1))
        pair_rep = pairs // len(problem.zone_names[k])
        reps, row = np.unique(pair_rep, return_inverse=True)
        lp.add(row.reshape(-1), first + np.arange(len(pairs)), np.ones(len(pairs)), np.full(len(reps), -np.inf),
               np.ones(len(reps)))


def _max_moved(lp: _SparseLp, problem: Problem, arcs: Arcs) -> None:
    moving = np.flatnonzero(problem.moving(arcs.need, arcs.rep))
    if problem.max_moved is not None:
        lp.add(np.zeros(len(moving), np.int64), moving, np.ones(len(moving)), np.array([-np.inf]),
               np.array([float(problem.max_moved)]))
    if problem.max_moved_value is not None and problem.need_value is not None:
        lp.add(np.zeros(len(moving), np.int64), moving, problem.need_value[arcs.need[moving]].astype(float),
               np.array([-np.inf]), np.array([float(problem.max_moved_value)]))


def _soft_balance(lp: _SparseLp, problem: Problem, arcs: Arcs) -> None:
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


def solve_lp(problem: Problem, arcs: Arcs, *, time_limit_s: float = 60.0) -> LpResult:
    """The relaxation of the same model CP-SAT solves (coverage, balance, contact cap, zones) over `arcs`."""
    n_arcs = len(arcs)
    started = time.perf_counter()
    lp = _SparseLp(n_arcs)
    _coverage_and_balance(lp, problem, arcs)
    _contact_cap(lp, problem, arcs)
    _zones(lp, problem, arcs)
    _max_moved(lp, problem, arcs)
    _soft_balance(lp, problem, arcs)
    objective = np.concatenate([arc_costs(problem, arcs).astype(float), *lp.extra_cost])
    upper = np.concatenate([np.ones(n_arcs), *lp.extra_upper])
    model = mb.Model()
    model.helper.fill_model_from_sparse_data(
        np.zeros(lp.n_cols), upper, objective, np.concatenate(lp.lower), np.concatenate(lp.upper),
        lp.matrix(),
    )
    solver = mb.Solver("glop")
    solver.set_time_limit_in_seconds(time_limit_s)
    status = solver.solve(model)
    seconds = time.perf_counter() - started  # model building included; GLOP's own wall_time reads 0 here
    if status != mb.SolveStatus.OPTIMAL:
        return LpResult(False, status.name.lower(), float("nan"), np.zeros(n_arcs), seconds)
    x = solver.values(model.get_variables()).to_numpy()[:n_arcs]
    return LpResult(True, "optimal", float(solver.objective_value), np.clip(x, 0.0, 1.0), seconds)
