"""Integer scaling shared by the CP-SAT and LP formulations, so both optimise the very same numbers."""

from __future__ import annotations

import numpy as np

from ..model.problem import Problem
from .candidates import Arcs

COST_SCALE = 100.0  # objective units per visit-kilometre (10 m resolution)


def arc_costs(problem: Problem, arcs: Arcs) -> np.ndarray:
    """Integer objective coefficient of each arc."""
    return np.rint(problem.arc_cost(arcs.need, arcs.rep) * COST_SCALE).astype(np.int64)


def minute_units(problem: Problem) -> int:
    """Objective units per whole minute a rep's workload lies off its target (the soft balance term)."""
    return int(np.rint(problem.balance_weight / 60.0 * COST_SCALE))


def rep_targets(problem: Problem) -> np.ndarray:
    """(R,) each rep's target workload in whole seconds, the centre the soft balance term pulls towards."""
    return np.rint(problem.rep_target_s).astype(np.int64)


def minutes_off(load: np.ndarray | int, target: np.ndarray | int) -> np.ndarray | np.integer:
    """Whole minutes (rounded up) a workload in seconds lies off its target: what the soft balance term counts
    (one numpy integer for two scalars)."""
    return -(-np.abs(np.asarray(load, dtype=np.int64) - target) // 60)


def balance_units(problem: Problem, assignment: np.ndarray) -> int:
    """The soft balance term of an alignment in objective units: minutes off target (rounded up) x minute_units.

    CP-SAT optimises exactly this number, so reported objectives agree with the model to the unit."""
    units = minute_units(problem)
    if units == 0 or problem.n_needs == 0:
        return 0
    load = problem.rep_totals(assignment)[0]
    return int(minutes_off(load, rep_targets(problem)).sum()) * units


def objective_units(problem: Problem, assignment: np.ndarray) -> float:
    """The whole objective of an alignment in objective units: arc costs plus the soft balance term."""
    everyone = np.arange(problem.n_needs)
    travel = float(np.rint(problem.arc_cost(everyone, assignment) * COST_SCALE).sum())
    return travel + balance_units(problem, assignment)


def off_target_growth(load: np.ndarray, change: dict[int, int], target: np.ndarray, units: int) -> float:
    """How much the soft balance term grows, in visit-km, when some reps' workloads change (rep -> seconds)."""
    grow = 0
    for rep, delta in change.items():
        now, centre = int(load[rep]), int(target[rep])
        grow += int(minutes_off(now + delta, centre) - minutes_off(now, centre))
    return grow * units / COST_SCALE
