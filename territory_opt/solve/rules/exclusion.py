"""Exclusions: "never this rep" pairs from the customers' `excluded_rep_ids`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...model.problem import Problem
from .base import Rule

if TYPE_CHECKING:
    from ..ledger import Ledger


class Exclusion(Rule):
    name = "exclusion"

    def active(self, problem: Problem) -> bool:
        return len(problem.excluded) > 0

    def pair_allows(self, problem: Problem, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        return ~np.isin(need.astype(np.int64) * problem.n_reps + rep, problem.excluded)

    def restricted_needs(self, problem: Problem) -> np.ndarray:
        mask = np.zeros(problem.n_needs, dtype=bool)
        mask[problem.excluded // max(problem.n_reps, 1)] = True
        return mask

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        p = ledger.problem
        key = need * p.n_reps + rep
        pos = int(np.searchsorted(p.excluded, key))
        return ["never-this-rep exclusion"] if pos < len(p.excluded) and p.excluded[pos] == key else []

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        return "excluded_rep_ids" if self.restricted_needs(problem)[needs].any() else None
