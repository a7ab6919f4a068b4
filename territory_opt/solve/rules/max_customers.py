"""At most N customers per rep: each rep of a team with `max_customers` serves at most that many of the team's
customers (`teams[].max_customers`). Needs may be bundles, so customers are always counted with `need_sizes`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import Finding
from ...model.problem import Problem
from .base import CpSatBuild, Rule

if TYPE_CHECKING:
    from ..candidates import Arcs
    from ..ledger import Ledger
    from ..lp_rows import SparseLp


def _limits(problem: Problem) -> np.ndarray:
    """(T,) each team's limit; 0: none."""
    if problem.team_max_customers is None:
        return np.zeros(len(problem.team_names), dtype=np.int64)
    return problem.team_max_customers


def _limited_rows(problem: Problem, arcs: Arcs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arcs of limited teams, each one's (rep, team) row, and every row's limit."""
    team = problem.need_team[arcs.need]
    limited = np.flatnonzero(_limits(problem)[team] > 0)
    keys = arcs.rep[limited] * len(problem.team_names) + team[limited]
    rows, row_of_arc = np.unique(keys, return_inverse=True)
    return limited, row_of_arc.reshape(-1), _limits(problem)[rows % len(problem.team_names)]


class MaxCustomers(Rule):
    name = "max_customers"
    moves = True

    def active(self, problem: Problem) -> bool:
        return bool((_limits(problem) > 0).any())

    def add_cpsat(self, build: CpSatBuild) -> int:
        from ortools.sat.python import cp_model  # OR-Tools only when a CP-SAT model is built

        problem, x = build.problem, build.x
        limited, row_of_arc, limit = _limited_rows(problem, build.arcs)
        sizes = problem.need_sizes[build.arcs.need[limited]]
        count = 0
        for row in range(len(limit)):
            members = np.flatnonzero(row_of_arc == row)
            if sizes[members].sum() > limit[row]:  # rows that cannot bind are left out
                build.model.add(cp_model.LinearExpr.weighted_sum([x[i] for i in limited[members].tolist()],
                                                                  sizes[members].tolist()) <= int(limit[row]))
                count += 1
        return count

    def add_lp(self, lp: SparseLp, problem: Problem, arcs: Arcs) -> None:
        limited, row_of_arc, limit = _limited_rows(problem, arcs)
        if len(limited):
            lp.add(row_of_arc, limited, problem.need_sizes[arcs.need[limited]].astype(float),
                   np.full(len(limit), -np.inf), limit.astype(float))

    def allows_moves(self, ledger: Ledger, need: np.ndarray, target: np.ndarray) -> np.ndarray:
        p = ledger.problem
        team, limit = p.need_team[need], _limits(p)[p.need_team[need]]
        fits = ledger.customers[target, team] + p.need_sizes[need] <= limit
        return (limit == 0) | fits | (ledger.assign[need] == target)

    def allows_move(self, ledger: Ledger, need: int, target: int) -> bool:
        p = ledger.problem
        team = int(p.need_team[need])
        limit = int(_limits(p)[team])
        return (limit == 0 or target == int(ledger.assign[need])
                or int(ledger.customers[target, team]) + int(p.need_sizes[need]) <= limit)

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        if self.allows_move(ledger, need, rep):
            return []
        p = ledger.problem
        team = int(p.need_team[need])
        has, limit = int(ledger.customers[rep, team]), int(_limits(p)[team])
        if has >= limit:
            return [f"rep {p.rep_ids[rep]} already has {has} customers of team {p.team_names[team]!r}, the team's "
                    f"max_customers"]
        return [f"rep {p.rep_ids[rep]} has {has} customers of team {p.team_names[team]!r}; these "
                f"{int(p.need_sizes[need])} more would pass the team's max_customers of {limit}"]

    def findings(self, problem: Problem) -> list[Finding]:
        """A team with more customers than its reps may hold together."""
        limits = _limits(problem)
        customers = np.bincount(problem.need_team, weights=problem.need_sizes, minlength=len(limits))
        reps = problem.rep_in_team.sum(axis=0)
        return [Finding(f"team {problem.team_names[t]!r} has {int(customers[t]):,} customers but its {int(reps[t])} "
                        f"reps may take at most {int(limits[t])} each ({int(reps[t] * limits[t]):,} in all): raise "
                        "teams[].max_customers or add reps")
                for t in np.flatnonzero((limits > 0) & (customers > reps * limits))]

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        return "teams[].max_customers" if (_limits(problem)[problem.need_team[needs]] > 0).any() else None
