"""Locks: a need with `locked_rep_id` goes to that rep and no other."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import Finding
from ...model.problem import NO_REP, Problem
from .base import Rule, hours

if TYPE_CHECKING:
    from ..ledger import Ledger


class Lock(Rule):
    name = "lock"

    def active(self, problem: Problem) -> bool:
        return bool((problem.need_locked_rep != NO_REP).any())

    def pair_allows(self, problem: Problem, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        lock = problem.need_locked_rep[need]
        return (lock == NO_REP) | (lock == rep)

    def restricted_needs(self, problem: Problem) -> np.ndarray:
        return problem.need_locked_rep != NO_REP

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        lock = int(ledger.problem.need_locked_rep[need])
        return [f"locked to {ledger.problem.rep_ids[lock]}"] if lock not in (NO_REP, rep) else []

    def findings(self, problem: Problem) -> list[Finding]:
        """A rep whose locked customers alone pass its highest workload."""
        locked = np.flatnonzero(problem.need_locked_rep != NO_REP)
        load = np.bincount(problem.need_locked_rep[locked], weights=problem.min_workload_s[locked],
                           minlength=problem.n_reps)
        return [Finding(f"rep {problem.rep_ids[r]!r} has {hours(load[r])} of locked customers, above its maximum "
                        f"of {hours(problem.rep_max_s[r])}: short by {hours(load[r] - problem.rep_max_s[r])}")
                for r in np.flatnonzero(load > problem.rep_max_s)]

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        return "locked_rep_id" if (problem.need_locked_rep[needs] != NO_REP).any() else None
