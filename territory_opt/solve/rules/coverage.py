"""Coverage: every (customer, team) need gets exactly one rep, and that rep belongs to the need's team."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...model.problem import Problem
from .base import CpSatBuild, Rule

if TYPE_CHECKING:
    from ..candidates import Arcs
    from ..ledger import Ledger
    from ..lp_rows import SparseLp


class Coverage(Rule):
    name = "coverage"

    def group_rows(self, problem: Problem) -> list[np.ndarray]:
        return [problem.need_team]

    def group_allows(self, problem: Problem, values: tuple[int, ...]) -> np.ndarray:
        return problem.rep_in_team[:, values[0]].copy()

    def pair_allows(self, problem: Problem, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        return problem.rep_in_team[rep, problem.need_team[need]]

    def add_cpsat(self, build: CpSatBuild) -> int:
        start, x = build.arcs.start, build.x
        for need in range(len(start) - 1):
            build.model.add_exactly_one(x[start[need]:start[need + 1]])
        return len(start) - 1

    def add_lp(self, lp: SparseLp, problem: Problem, arcs: Arcs) -> None:
        n_arcs, n_needs = len(arcs), problem.n_needs
        lp.add(arcs.need, np.arange(n_arcs), np.ones(n_arcs), np.ones(n_needs), np.ones(n_needs))

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        p = ledger.problem
        team = int(p.need_team[need])
        return [] if p.rep_in_team[rep, team] else [f"not in team {p.team_names[team]}"]
