"""What the capacity and size rules allow, read off the problem alone: each site's room, which pairs can be
arcs, and the infeasibility that counting proves before any search starts."""

from __future__ import annotations

import numpy as np

from .problem import DesignProblem


def site_room(problem: DesignProblem) -> np.ndarray:
    """Largest demand each site may serve (capacity and size ceiling)."""
    room = np.full(problem.n_sites, int(problem.loads.sum()), dtype=np.int64)  # no site serves more than all
    if problem.site_capacity is not None:
        room = np.minimum(room, problem.site_capacity)
    if problem.size_bounds is not None:
        room = np.minimum(room, problem.size_bounds[1])
    return room


def size_floor(problem: DesignProblem) -> int:
    return problem.size_bounds[0] if problem.size_bounds is not None else 0


def eligible(problem: DesignProblem) -> np.ndarray:
    """(C, S) mask: the customer's demand fits the site's capacity and the size ceiling."""
    room = site_room(problem)
    return problem.loads[:, None] <= room[None, :]


def uniform_load(problem: DesignProblem) -> int | None:
    """The one demand every customer has, or None when demands differ."""
    loads = problem.loads
    return int(loads[0]) if (loads == loads[0]).all() else None


def counting_findings(problem: DesignProblem) -> list[str]:
    """Infeasibility that counting proves: a customer no site can take, too little room in the p largest sites,
    or size floors that need more demand than there is."""
    findings = []
    room = site_room(problem)
    loads = problem.loads
    lo = problem.size_bounds[0] if problem.size_bounds is not None else 0
    openable = room >= lo
    if lo > 0:  # a site no customer fits cannot reach a size floor
        openable &= eligible(problem).any(axis=0)
    usable = np.where(openable, room, -1)
    homeless = np.flatnonzero(loads > usable.max())
    if len(homeless):
        findings.append(f"{len(homeless)} customers have more demand than any site may serve (first: customer "
                        f"{homeless[0]}, demand {loads[homeless[0]]}, largest room {max(int(usable.max()), 0)})")
    if openable.sum() < problem.p:
        findings.append(f"only {int(openable.sum())} sites can serve the size floor {lo}; {problem.p} centres needed")
    total = int(loads.sum())
    largest = np.sort(usable[openable])[::-1][:problem.p]
    if openable.sum() >= problem.p and total > int(largest.sum()):
        findings.append(f"total demand {total} exceeds the {problem.p} largest site rooms together "
                        f"({int(largest.sum())}), short by {total - int(largest.sum())}")
    if lo * problem.p > total:
        findings.append(f"{problem.p} centres with at least {lo} demand each need {lo * problem.p}, "
                        f"but total demand is {total}")
    return findings
