"""One CP-SAT call on the design model, paid from a work meter: the deterministic-time limit comes from the
meter's calibration, the wall-clock limit from the budget's safety stop, and the run's stop flag ends it early."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from ..budget import WorkMeter
from .meter import CELLS_PER_ARC, CELLS_PER_SECOND, cpsat_deterministic, pay_cells, pay_cpsat
from .model import Arcs, add_hint, build
from .problem import DesignProblem
from .scaling import Scaling


@dataclass(frozen=True)
class CpOutcome:
    status: str
    centres: np.ndarray | None
    assignment: np.ndarray | None
    bound_units: float
    work: float
    seconds: float


def run_cpsat(problem: DesignProblem, arcs: Arcs, units: np.ndarray, scaling: Scaling, openable: np.ndarray,
              hint: tuple[np.ndarray, np.ndarray] | None, work: float, meter: WorkMeter, seed: int,
              workers: int, light: bool = False) -> CpOutcome:
    """Solve the model over `arcs` for `work` work seconds (paid from `meter`, building the model included, and
    never more than the meter has left); `light` skips the symmetry and probing passes, whose fixed cost dominates
    the small region models."""
    built = build(problem, arcs, units, scaling, openable)
    pay_cells(meter, CELLS_PER_ARC * len(arcs.customer))
    if hint is not None:
        add_hint(problem, arcs, built, *hint)
    solver = cp_model.CpSolver()
    params = solver.parameters
    # the search gets what is left of `work` once the model is built, and never more than the meter has left
    work = min(work - CELLS_PER_ARC * len(arcs.customer) / CELLS_PER_SECOND, meter.left())
    deterministic = cpsat_deterministic(work, workers)
    params.max_deterministic_time = deterministic
    params.max_time_in_seconds = max(1.0, meter.wall_left())
    params.num_workers = int(workers)
    params.interleave_search = workers > 1
    params.random_seed = int(seed)
    params.linearization_level = 2
    if light:
        params.symmetry_level = 0
        params.cp_model_probing_level = 0
    stop = meter.budget.stop
    unregister = stop.register(solver.stop_search) if stop is not None else None
    if meter.budget.stopped():  # stop_search before solve is lost: look at the hint only
        params.max_deterministic_time = 0.0
    try:
        status = solver.solve(built.model)
    finally:
        if unregister is not None:
            unregister()
    pay_cpsat(meter, float(solver.deterministic_time), workers)
    if solver.wall_time >= params.max_time_in_seconds - 0.5 and solver.deterministic_time < deterministic:
        meter.wall_capped = True
    name = solver.status_name(status).lower()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpOutcome(name, None, None, -np.inf, float(solver.deterministic_time), float(solver.wall_time))
    x = np.fromiter((solver.boolean_value(v) for v in built.x), dtype=bool, count=len(built.x))
    y = np.fromiter((solver.boolean_value(v) for v in built.y), dtype=bool, count=len(built.y))
    assignment = np.full(problem.n_customers, -1, dtype=np.int64)
    assignment[arcs.customer[x]] = arcs.site[x]
    return CpOutcome(name, np.flatnonzero(y), assignment, float(solver.best_objective_bound),
                     float(solver.deterministic_time), float(solver.wall_time))
