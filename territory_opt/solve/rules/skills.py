"""Skills: a rep takes a need only if it carries every product line the need requires (bit masks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...model.problem import Problem
from .base import Rule

if TYPE_CHECKING:
    from ..ledger import Ledger


def missing_lines(problem: Problem, need: int, rep: int | None = None) -> list[str]:
    """The product lines the need requires that `rep` lacks (all it requires without a rep)."""
    if problem.need_skills is None or problem.rep_skills is None:
        return []
    mask = int(problem.need_skills[need]) & (~int(problem.rep_skills[rep]) if rep is not None else -1)
    return [name for bit, name in enumerate(problem.skill_names) if mask >> bit & 1]


class Skills(Rule):
    name = "skills"

    def active(self, problem: Problem) -> bool:
        return problem.need_skills is not None and problem.rep_skills is not None

    def group_rows(self, problem: Problem) -> list[np.ndarray]:
        return [problem.need_skills if problem.need_skills is not None else np.zeros(problem.n_needs, np.int64)]

    def group_allows(self, problem: Problem, values: tuple[int, ...]) -> np.ndarray | None:
        if problem.rep_skills is None:
            return None
        return (values[0] & ~problem.rep_skills) == 0

    def pair_allows(self, problem: Problem, need: np.ndarray, rep: np.ndarray) -> np.ndarray | None:
        if problem.need_skills is None or problem.rep_skills is None:
            return None
        return (problem.need_skills[need] & ~problem.rep_skills[rep]) == 0

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        lines = missing_lines(ledger.problem, need, rep)
        return [f"does not carry {', '.join(lines)}"] if lines else []

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        if problem.need_skills is not None and problem.need_skills[needs].any():
            return "skills (teams[].products)"
        return None
