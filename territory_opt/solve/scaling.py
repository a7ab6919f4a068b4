"""Integer scaling shared by the CP-SAT and LP formulations, so both optimise the very same numbers."""

from __future__ import annotations

import numpy as np

from ..problem import Problem
from .candidates import Arcs

COST_SCALE = 100.0  # objective units per visit-kilometre (10 m resolution)


def arc_costs(problem: Problem, arcs: Arcs) -> np.ndarray:
    """Integer objective coefficient of each arc."""
    return np.rint(problem.arc_cost(arcs.need, arcs.rep) * COST_SCALE).astype(np.int64)


def capped_customers(problem: Problem) -> np.ndarray:
    """Customers with more needs than the contact cap: only they need the distinct-reps constraint."""
    counts = np.bincount(problem.need_customer, minlength=problem.n_customers)
    return np.flatnonzero(counts > problem.customer_caps)
