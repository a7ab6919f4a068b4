"""The exact engine: CP-SAT on the sparse model, composed from one function per constraint family.

Each `add_*` function adds one family and returns what it added, so the formulation is read in one place
(`build_model`) and each piece can be tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from ..model.problem import Problem
from .candidates import Arcs
from .scaling import arc_costs, capped_customers, minute_units, rep_targets


@dataclass(frozen=True)
class CpSatModel:
    model: cp_model.CpModel
    x: list[cp_model.IntVar]  # one Boolean per arc
    added: dict[str, int]  # constraint family -> number of constraints


def add_arc_variables(model: cp_model.CpModel, arcs: Arcs) -> list[cp_model.IntVar]:
    return [model.new_bool_var(f"x{i}") for i in range(len(arcs))]


def add_coverage(model: cp_model.CpModel, arcs: Arcs, x: list[cp_model.IntVar]) -> int:
    """Each need gets exactly one rep of its team."""
    for need in range(len(arcs.start) - 1):
        model.add_exactly_one(x[arcs.start[need]:arcs.start[need + 1]])
    return len(arcs.start) - 1


def arcs_by_rep(arcs: Arcs, n_reps: int) -> list[np.ndarray]:
    """The arc indices of each rep."""
    order = np.argsort(arcs.rep, kind="stable")
    bounds = np.searchsorted(arcs.rep[order], np.arange(n_reps + 1))
    return [order[bounds[r]:bounds[r + 1]] for r in range(n_reps)]


def add_balance(model: cp_model.CpModel, problem: Problem, arcs: Arcs, x: list[cp_model.IntVar]) -> int:
    """Each rep's total of every balanced metric (workload, then e.g. value) stays within its band."""
    per_rep = arcs_by_rep(arcs, problem.n_reps)
    amounts = problem.amounts(arcs.need, arcs.rep)
    lowest, highest = problem.band_min, problem.band_max
    count = 0
    for q in range(len(amounts)):
        for r, members in enumerate(per_rep):
            expr = cp_model.LinearExpr.weighted_sum([x[i] for i in members], amounts[q, members].tolist())
            model.add_linear_constraint(expr, int(lowest[q, r]), int(highest[q, r]))
            count += 1
    return count


def add_contact_cap(model: cp_model.CpModel, problem: Problem, arcs: Arcs, x: list[cp_model.IntVar]) -> int:
    """At most `max_reps_per_customer` distinct reps per customer (only binding where a rep spans teams)."""
    capped = set(capped_customers(problem).tolist())
    if not capped:
        return 0
    by_customer: dict[int, dict[int, list[int]]] = {}
    for i, (need, rep) in enumerate(zip(arcs.need.tolist(), arcs.rep.tolist(), strict=True)):
        c = int(problem.need_customer[need])
        if c in capped:
            by_customer.setdefault(c, {}).setdefault(rep, []).append(i)
    caps = problem.customer_caps
    for c, reps in by_customer.items():
        uses = []
        for rep, arc_ids in reps.items():
            y = model.new_bool_var(f"y{c}_{rep}")
            for i in arc_ids:
                model.add_implication(x[i], y)
            uses.append(y)
        model.add(sum(uses) <= int(caps[c]))
    return len(by_customer)


def add_zones(model: cp_model.CpModel, problem: Problem, arcs: Arcs, x: list[cp_model.IntVar]) -> int:
    """Hard boundaries: per boundary kind, each free rep picks one zone and takes needs of that zone only.

    Pinned reps need nothing here: their other-zone arcs are not eligible, so they never exist.
    """
    count = 0
    for k in range(problem.n_zone_kinds):
        zone = problem.need_zone[k, arcs.need]
        free = (zone >= 0) & (problem.rep_zone[k, arcs.rep] < 0)
        chosen: dict[tuple[int, int], cp_model.IntVar] = {}
        for i in np.flatnonzero(free).tolist():
            key = (int(arcs.rep[i]), int(zone[i]))
            if key not in chosen:
                chosen[key] = model.new_bool_var(f"zone{k}_{key[0]}_{key[1]}")
            model.add_implication(x[i], chosen[key])
        per_rep: dict[int, list[cp_model.IntVar]] = {}
        for (rep, _), var in chosen.items():
            per_rep.setdefault(rep, []).append(var)
        for variables in per_rep.values():
            if len(variables) > 1:
                model.add_at_most_one(variables)
                count += 1
    return count


def add_max_moved(model: cp_model.CpModel, problem: Problem, arcs: Arcs, x: list[cp_model.IntVar]) -> int:
    """Continuity as a hard rule: at most `max_moved` needs, and `max_moved_value` of value, leave their current
    rep."""
    moving = np.flatnonzero(problem.moving(arcs.need, arcs.rep))
    count = 0
    if problem.max_moved is not None:
        model.add(sum(x[i] for i in moving.tolist()) <= problem.max_moved)
        count += 1
    if problem.max_moved_value is not None and problem.need_value is not None:
        values = problem.need_value[arcs.need[moving]].tolist()
        model.add(cp_model.LinearExpr.weighted_sum([x[i] for i in moving.tolist()], values)
                  <= problem.max_moved_value)
        count += 1
    return count


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
    x = add_arc_variables(model, arcs)
    added = {
        "coverage": add_coverage(model, arcs, x),
        "balance": add_balance(model, problem, arcs, x),
        "contact_cap": add_contact_cap(model, problem, arcs, x),
        "zones": add_zones(model, problem, arcs, x),
        "max_moved": add_max_moved(model, problem, arcs, x),
    }
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
