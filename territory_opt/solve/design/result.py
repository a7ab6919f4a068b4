"""What the engines hand back: an `Answer` while they search, a `DesignResult` (a `budget.Outcome`) at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .judge import design_objective
from .problem import DesignProblem

OPTIMAL_GAP = 1e-9
EPS = 1e-9  # relative improvement a search step must make to count (float sums are not exact)


@dataclass(frozen=True)
class DesignResult:
    """Chosen centres (sorted site indices), each customer's centre, the objective and a proven lower bound;
    `stats` holds `wall_capped` and `work_s` (the budget contract's `Outcome`)."""

    centres: np.ndarray
    assignment: np.ndarray
    objective: float
    bound: float
    gap: float
    engine: str
    status: str
    stats: dict[str, float | int | str] = field(default_factory=dict)


@dataclass
class Answer:
    """A feasible answer found during a search, with its judged objective."""

    centres: np.ndarray
    assignment: np.ndarray
    objective: float


def finish(problem: DesignProblem, centres: np.ndarray, assignment: np.ndarray, bound: float, engine: str,
           stats: dict[str, float | int | str]) -> DesignResult:
    """The result, its objective recomputed by the judge (never taken from the engine)."""
    centres = np.sort(np.asarray(centres, dtype=np.int64))
    assignment = np.asarray(assignment, dtype=np.int64)
    objective = design_objective(problem, centres, assignment)
    if objective < bound <= objective + 1e-9 * max(1.0, abs(objective)):
        bound = objective  # float noise in the bound's sums; a larger excess would be a bug and stays visible
    gap = 0.0 if objective <= 0 else max(0.0, (objective - bound) / abs(objective))
    centres.flags.writeable = False
    assignment.flags.writeable = False
    return DesignResult(centres, assignment, objective, bound, gap, engine,
                        "optimal" if gap <= OPTIMAL_GAP else "feasible", stats)
