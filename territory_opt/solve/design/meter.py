"""What the design engines' steps cost in work seconds, on top of `budget.WorkMeter`.

Budgets are counted in work seconds, never in wall time: numpy steps pay for the cost-matrix cells they touch,
CP-SAT calls for their deterministic time. The rates are calibrated so that a work second is about a wall second
on the benchmark machine (2-core AMD EPYC) when it is idle and `workers` cores are free; on a busy machine a run
takes longer but gives the same answer. The budget's wall-clock cap only stops a run on a very busy machine, and
`stats["wall_capped"]` then says so.
"""

from __future__ import annotations

from ..budget import WorkMeter
from ..cpsat_call import CPSAT_WORKER_OVERSHOOT, deterministic_limit

__all__ = ["CPSAT_WORKER_OVERSHOOT", "cpsat_deterministic", "pay_cells", "pay_cpsat", "work_margin"]

CELLS_PER_SECOND = 5.0e8  # cost-matrix cells per work second (numpy on one core of the benchmark machine)
CPSAT_DET_PER_CPU_SECOND = 0.5  # CP-SAT deterministic seconds per CPU second there (measured 0.4-0.7 on design models)
CPSAT_CALL_S = 0.02  # work seconds charged per CP-SAT call on top of its deterministic time (model copy, presolve)
STEP_OVERHEAD_CELLS = 3.0e4  # what one step's Python and numpy call overhead costs, in cells (about 50 us)
CELLS_PER_ARC = 2_000.0  # building one CP-SAT arc's variables and constraints in Python, in cells (about 3 us)
FLOW_CELLS_PER_ARC = 80.0  # a min-cost flow's cost per arc, in cells (measured about 150 ns per arc)
# What a run may spend beyond its limit: the step that crosses it (a swap evaluation, a flow, a CP-SAT batch) is
# finished, never cut. Stated in docs/benchmarks.md and held by tests/test_design_budget.py.
WORK_MARGIN_SHARE = 0.05
WORK_MARGIN_S = 0.1


def pay_cells(meter: WorkMeter, cells: float) -> None:
    """Pay for one vectorised step: its cells plus the fixed cost of the Python around it."""
    meter.pay((cells + STEP_OVERHEAD_CELLS) / CELLS_PER_SECOND)


def pay_cpsat(meter: WorkMeter, deterministic_s: float, workers: int) -> None:
    """Pay for a CP-SAT call: its deterministic time at the calibrated rate, plus the call's fixed cost."""
    meter.pay(deterministic_s / (CPSAT_DET_PER_CPU_SECOND * workers) + CPSAT_CALL_S)


def cpsat_deterministic(work_s: float, workers: int) -> float:
    """CP-SAT's deterministic-time limit for a call that may spend `work_s` work seconds (the inverse of
    `pay_cpsat`, per worker when there are several: `cpsat_call.deterministic_limit`; at least 5 ms so that a
    nearly spent budget still gets an answer from a hint)."""
    return deterministic_limit(max(work_s - CPSAT_CALL_S, 0.005) * CPSAT_DET_PER_CPU_SECOND * workers, workers)


def work_margin(limit_s: float) -> float:
    """How far past `limit_s` work seconds a design run may end (WORK_MARGIN_SHARE of it plus WORK_MARGIN_S)."""
    return WORK_MARGIN_SHARE * limit_s + WORK_MARGIN_S
