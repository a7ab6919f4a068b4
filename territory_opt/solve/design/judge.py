"""The independent judge: an answer's objective and broken rules, recomputed from the answer alone, so that no
engine grades its own work (DESIGN.md section 10, "results that can be checked without the solver")."""

from __future__ import annotations

import numpy as np

from .problem import DesignProblem


def served(problem: DesignProblem, centres: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """Demand served by each centre, in the order of `centres`."""
    by_site = np.bincount(assignment, weights=problem.loads, minlength=problem.n_sites)
    return np.rint(by_site[centres]).astype(np.int64)


def design_objective(problem: DesignProblem, centres: np.ndarray, assignment: np.ndarray) -> float:
    """The objective recomputed from the answer alone: weighted distance plus the balance penalty per centre.

    It does not check the rules (that is `design_violations`); it only needs site indices in range.
    """
    centres = np.asarray(centres, dtype=np.int64)
    assignment = np.asarray(assignment, dtype=np.int64)
    if assignment.shape != (problem.n_customers,) or centres.ndim != 1:
        raise ValueError("assignment must give one site per customer and centres must be a list of sites")
    both = np.r_[assignment, centres]
    if ((both < 0) | (both >= problem.n_sites)).any():
        raise ValueError("site indices must be in [0, n_sites)")
    rows = np.arange(problem.n_customers)
    total = float(np.sum(problem.weight * problem.distance[rows, assignment]))
    if problem.has_balance:
        assert problem.size_target is not None
        sizes = served(problem, centres, assignment)
        total += problem.balance_penalty * float(np.abs(sizes - problem.size_target).sum())
    return total


def design_violations(problem: DesignProblem, centres: np.ndarray, assignment: np.ndarray) -> list[str]:
    """Every hard rule the answer breaks (empty when it is feasible), checked without the solver."""
    centres = np.asarray(centres)
    assignment = np.asarray(assignment)
    found: list[str] = []
    if centres.shape != (problem.p,) or centres.dtype.kind not in "iu":
        return [f"centres must be {problem.p} site indices, got shape {centres.shape}"]
    if assignment.shape != (problem.n_customers,) or assignment.dtype.kind not in "iu":
        return [f"assignment must be {problem.n_customers} site indices, got shape {assignment.shape}"]
    if ((centres < 0) | (centres >= problem.n_sites)).any():
        return ["a centre is not a site index"]
    if len(np.unique(centres)) != problem.p:
        found.append("centres repeat a site")
    outside = np.flatnonzero(~np.isin(assignment, centres))
    if len(outside):
        found.append(f"{len(outside)} customers are served by a site that is not a centre (first: {outside[0]})")
        return found
    sizes = served(problem, centres.astype(np.int64), assignment.astype(np.int64))
    if problem.site_capacity is not None:
        cap = problem.site_capacity[centres]
        for site, size, limit in zip(centres[sizes > cap], sizes[sizes > cap], cap[sizes > cap], strict=True):
            found.append(f"site {site} serves demand {size} above its capacity {limit}")
    if problem.size_bounds is not None:
        lo, hi = problem.size_bounds
        for site, size in zip(centres, sizes, strict=True):
            if not lo <= size <= hi:
                found.append(f"site {site} serves demand {size} outside the size bounds [{lo}, {hi}]")
    return found
