"""Costs in integer objective units, and bounds back in cost units.

Not `solve/scaling.py`'s fixed 100 units per visit-km rounded to nearest: here every cost is rounded down, at the
smallest power of ten that makes it exact when one exists, so that an integer model's bound divided by the scale
is a valid bound for the real-valued problem (the published tables compare bounds to optima).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .problem import DesignProblem

COST_RESOLUTION = 1.0e6  # when costs are not integers at any power of ten up to 1e6: largest cost -> this many units


@dataclass(frozen=True)
class Scaling:
    """Objective units per cost unit. Costs are rounded down (and penalty lines drawn under the true penalty), so
    CP-SAT's objective never exceeds the true one and its bound, divided by `scale`, is a valid bound; `exact` says no
    rounding happened at all."""

    scale: float
    exact: bool


def integral(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.rint(values)) <= 1e-9 * np.maximum(1.0, np.abs(values))))


def rounded_bound(bound: float, is_integral: bool) -> float:
    """With integer costs the optimum is an integer, so a fractional bound rounds up (a tolerance covers float sums)."""
    if not is_integral or not math.isfinite(bound):
        return bound
    return float(math.ceil(bound - 1e-7 * max(1.0, abs(bound))))


def cost_scaling(problem: DesignProblem, cost: np.ndarray) -> Scaling:
    """The scale that turns these costs (and the balance penalty) into integer objective units."""
    values = [cost.ravel()]
    if problem.has_balance:
        assert problem.size_target is not None
        values.append(np.array([problem.balance_penalty, problem.balance_penalty * problem.size_target]))
    flat = np.concatenate(values)
    top = max(float(np.abs(flat).max()), 1e-300)
    room = 2.0 ** 52 / max(1, problem.n_customers + problem.n_sites)  # totals stay exact in int64 and float64
    for k in range(7):
        scale = 10.0 ** k
        if top * scale > room:
            break
        if integral(flat * scale):
            return Scaling(scale, True)
    k = math.ceil(math.log10(COST_RESOLUTION / top))
    scale = 10.0 ** k
    while top * scale > room and k > -300:
        k -= 1
        scale = 10.0 ** k
    return Scaling(scale, False)


def to_units(cost: np.ndarray, scaling: Scaling) -> np.ndarray:
    """Costs in integer objective units, rounded down (a tolerance keeps exact products exact)."""
    scaled = cost * scaling.scale
    return np.floor(scaled + 1e-9 * np.maximum(1.0, np.abs(scaled))).astype(np.int64)
