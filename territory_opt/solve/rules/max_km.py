"""Reach: a rep of a team with `teams[].max_km` takes a need only if the road-distance proxy from the rep's home to
the need's farthest customer (bundled needs stand for several) is at most that many km."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import Finding
from ...model.problem import Problem
from .base import MAX_LISTED, Rule

if TYPE_CHECKING:
    from ..ledger import Ledger


CHUNK_PAIRS = 2_000_000  # (need, rep) distances measured at once by `findings`


def _limits(problem: Problem) -> np.ndarray:
    """(T,) each team's reach in km; inf: none."""
    if problem.team_max_km is None:
        return np.full(len(problem.team_names), np.inf)
    return problem.team_max_km


class MaxKm(Rule):
    name = "max_km"
    bundles = True  # a bundle is judged by its farthest member (Problem.farthest_km)

    def active(self, problem: Problem) -> bool:
        return bool(np.isfinite(_limits(problem)).any())

    def pair_allows(self, problem: Problem, need: np.ndarray, rep: np.ndarray) -> np.ndarray | None:
        if problem.team_max_km is None:
            return None
        need, rep = np.asarray(need, dtype=np.int64), np.asarray(rep, dtype=np.int64)
        limit = problem.team_max_km[problem.need_team[need]]
        ok = np.ones(len(need), dtype=bool)
        limited = np.flatnonzero(np.isfinite(limit))
        ok[limited] = problem.farthest_km(need[limited], rep[limited]) <= limit[limited]
        return ok

    def restricted_needs(self, problem: Problem) -> np.ndarray | None:
        return np.isfinite(_limits(problem))[problem.need_team]

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        p = ledger.problem
        limit = float(_limits(p)[p.need_team[need]])
        km = float(p.farthest_km(np.array([need]), np.array([rep]))[0]) if np.isfinite(limit) else 0.0
        return [f"{km:,.1f} km from the rep's home, beyond the team's max_km of {limit:g} km"] if km > limit else []

    def findings(self, problem: Problem) -> list[Finding]:
        """Customers no rep of their team can reach within max_km."""
        limits = _limits(problem)
        findings: list[Finding] = []
        missed = 0
        for t in np.flatnonzero(np.isfinite(limits)).tolist():
            reps = np.flatnonzero(problem.rep_in_team[:, t])
            needs = np.flatnonzero(problem.need_team == t)
            if len(reps) == 0:
                continue
            step = max(1, CHUNK_PAIRS // len(reps))  # a team's needs in blocks: no needs x reps table at once
            for first in range(0, len(needs), step):
                block = needs[first:first + step]
                km = problem.farthest_km(np.repeat(block, len(reps)), np.tile(reps, len(block))).reshape(
                    len(block), len(reps))
                nearest = km.argmin(axis=1)
                closest = km[np.arange(len(block)), nearest]
                beyond = np.flatnonzero(closest > limits[t])
                missed += len(beyond)
                for i in beyond[:max(MAX_LISTED - len(findings), 0)].tolist():
                    findings.append(Finding(
                        f"customer {problem.customer_ids[problem.need_customer[block[i]]]!r} has no rep of team "
                        f"{problem.team_names[t]!r} within {limits[t]:g} km: the nearest, "
                        f"{problem.rep_ids[reps[nearest[i]]]}, is {closest[i]:,.1f} km away (teams[].max_km)"))
        if missed > len(findings):
            findings.append(Finding(f"... and {missed - len(findings)} more customers beyond teams[].max_km"))
        return findings

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        return "teams[].max_km" if np.isfinite(_limits(problem)[problem.need_team[needs]]).any() else None
