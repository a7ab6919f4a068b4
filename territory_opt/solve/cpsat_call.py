"""One way every engine calls CP-SAT under a `Budget`: deterministic work as the limit, the wall clock as a
safety stop, the run's `Stop` wired to `stop_search`, and whether the wall clock is what ended the search."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from .budget import Budget
from .interrupt import interruptible

# With several interleaved workers CP-SAT reports their deterministic time summed, and each worker stops at the limit
# only at the end of its batch: 2 workers reported 1.8-2.6x the limit on a 1,000 x 1,000 design model (0.9-1.3x per
# worker; 1 worker: 1.0x), docs/benchmarks.md "Update 2026-12-07 (engine)". So with several workers the limit is set
# per worker, divided by this, and the summed time reported stays within the budget.
CPSAT_WORKER_OVERSHOOT = 1.3


def deterministic_limit(summed_s: float, workers: int) -> float:
    """CP-SAT's `max_deterministic_time` for a call whose workers may spend `summed_s` deterministic seconds in all."""
    return summed_s if workers <= 1 else summed_s / (workers * CPSAT_WORKER_OVERSHOOT)


@dataclass(frozen=True)
class CpSatCall:
    solver: cp_model.CpSolver
    status: cp_model.CpSolverStatus
    seconds: float  # wall seconds
    work: float  # CP-SAT's deterministic time spent (reproducible, roughly seconds)
    wall_capped: bool  # the safety stop ended the search: the answer may depend on the machine's load
    stopped: bool  # the run's Stop ended it

    @property
    def status_name(self) -> str:
        return self.solver.status_name(self.status).lower()

    @property
    def found(self) -> bool:
        return self.status in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def solve_model(model: cp_model.CpModel, budget: Budget, *, workers: int = 1, seed: int = 0, log: bool = False,
                configure: Callable[[object], None] | None = None) -> CpSatCall:
    """Solve `model` within `budget`: `budget.work_s` deterministic seconds (summed over the workers, as CP-SAT
    reports them: `deterministic_limit`), `budget.wall_cap` wall seconds; several workers interleave their search in
    one deterministic order, so the same model and seed give the same answer on any machine load. `configure` may
    set further parameters (it receives `solver.parameters`)."""
    solver = cp_model.CpSolver()
    params = solver.parameters
    if budget.work_s is not None:
        params.max_deterministic_time = deterministic_limit(float(budget.work_s), workers)
    params.max_time_in_seconds = float(budget.wall_cap)
    params.num_workers = int(workers)
    params.interleave_search = workers > 1
    params.random_seed = int(seed)
    params.log_search_progress = log
    if configure is not None:
        configure(params)
    unregister = budget.stop.register(solver.stop_search) if budget.stop is not None else None
    if budget.stopped():  # CP-SAT ignores a stop_search that comes before solve(): give it no time instead
        params.max_time_in_seconds = 0.0
        params.max_deterministic_time = 0.0
    try:
        status = interruptible(lambda: solver.solve(model), solver.stop_search)
    finally:
        if unregister is not None:
            unregister()
    work_left = budget.work_s is None or solver.deterministic_time < budget.work_s
    wall_capped = work_left and solver.wall_time >= budget.wall_cap - 0.5
    return CpSatCall(solver, status, float(solver.wall_time), float(solver.deterministic_time), bool(wall_capped),
                     budget.stopped())
