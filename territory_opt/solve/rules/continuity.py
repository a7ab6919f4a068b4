"""Continuity as a hard rule: at most `max_moved` needs, and `max_moved_value` of value, leave their current
rep (`rules.max_moved_customers`, `rules.max_moved_value`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...model.problem import Problem
from .base import CpSatBuild, Rule

if TYPE_CHECKING:
    from ..candidates import Arcs
    from ..ledger import Ledger
    from ..lp_rows import SparseLp


def _limits_value(problem: Problem) -> bool:
    return problem.max_moved_value is not None and problem.need_value is not None


class Continuity(Rule):
    name = "continuity"
    moves = True

    def active(self, problem: Problem) -> bool:
        return problem.max_moved is not None or _limits_value(problem)

    def add_cpsat(self, build: CpSatBuild) -> int:
        from ortools.sat.python import cp_model  # OR-Tools only when a CP-SAT model is built

        problem, arcs, x = build.problem, build.arcs, build.x
        moving = np.flatnonzero(problem.moving(arcs.need, arcs.rep))
        count = 0
        if problem.max_moved is not None:
            build.model.add(sum(x[i] for i in moving.tolist()) <= problem.max_moved)
            count += 1
        if problem.max_moved_value is not None and problem.need_value is not None:
            values = problem.need_value[arcs.need[moving]].tolist()
            build.model.add(cp_model.LinearExpr.weighted_sum([x[i] for i in moving.tolist()], values)
                            <= problem.max_moved_value)
            count += 1
        return count

    def add_lp(self, lp: SparseLp, problem: Problem, arcs: Arcs) -> None:
        moving = np.flatnonzero(problem.moving(arcs.need, arcs.rep))
        if problem.max_moved is not None:
            lp.add(np.zeros(len(moving), np.int64), moving, np.ones(len(moving)), np.array([-np.inf]),
                   np.array([float(problem.max_moved)]))
        if problem.max_moved_value is not None and problem.need_value is not None:
            lp.add(np.zeros(len(moving), np.int64), moving, problem.need_value[arcs.need[moving]].astype(float),
                   np.array([-np.inf]), np.array([float(problem.max_moved_value)]))

    def allows_move(self, ledger: Ledger, need: int, target: int) -> bool:
        p = ledger.problem
        current = int(p.need_current_rep[need])
        if current < 0:
            return True
        was, now = current != int(ledger.assign[need]), current != target
        if p.max_moved is not None and ledger.moved - was + now > p.max_moved:
            return False
        return not (p.max_moved_value is not None and p.need_value is not None and now and not was
                    and ledger.moved_value + int(p.need_value[need]) > p.max_moved_value)

    def allows_moves(self, ledger: Ledger, need: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.array([self.allows_move(ledger, n, t) for n, t in zip(need.tolist(), target.tolist(),
                                                                        strict=True)], dtype=bool)

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        if rep == int(ledger.assign[need]) or self.allows_move(ledger, need, rep):
            return []
        p = ledger.problem
        if p.max_moved is not None and ledger.moved >= p.max_moved:
            return [f"rules.max_moved_customers: {ledger.moved} needs already left their current rep "
                    f"(at most {p.max_moved})"]
        return [f"rules.max_moved_value: moved customers already hold {ledger.moved_value:,} of value "
                f"(at most {p.max_moved_value:,})"]

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        named = []
        if problem.max_moved is not None:
            named.append(f"rules.max_moved_customers = {problem.max_moved}")
        if problem.max_moved_value is not None:
            named.append(f"rules.max_moved_value = {problem.max_moved_value:,}")
        return ", ".join(named) or None
