"""Balance: each rep's total of every balanced metric (workload first, then e.g. value or accounts) stays within
its band."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import Finding
from ...model.bands import team_groups
from ...model.problem import Problem
from .base import MAX_LISTED, CpSatBuild, Rule, hours

if TYPE_CHECKING:
    from ..candidates import Arcs
    from ..ledger import Ledger
    from ..lp_rows import SparseLp


def arcs_by_rep(arcs: Arcs, n_reps: int) -> list[np.ndarray]:
    """The arc indices of each rep."""
    order = np.argsort(arcs.rep, kind="stable")
    bounds = np.searchsorted(arcs.rep[order], np.arange(n_reps + 1))
    return [order[bounds[r]:bounds[r + 1]] for r in range(n_reps)]


def team_label(problem: Problem, teams: np.ndarray) -> str:
    names = [problem.team_names[t] for t in teams]
    return f"team {names[0]!r}" if len(names) == 1 else f"teams {', '.join(map(repr, names))} (sharing reps)"


class Balance(Rule):
    name = "balance"
    moves = True

    def add_cpsat(self, build: CpSatBuild) -> int:
        from ortools.sat.python import cp_model  # OR-Tools only when a CP-SAT model is built

        problem, arcs, x = build.problem, build.arcs, build.x
        per_rep = arcs_by_rep(arcs, problem.n_reps)
        amounts = problem.amounts(arcs.need, arcs.rep)
        lowest, highest = problem.band_min, problem.band_max
        count = 0
        for q in range(len(amounts)):
            for r, members in enumerate(per_rep):
                expr = cp_model.LinearExpr.weighted_sum([x[i] for i in members], amounts[q, members].tolist())
                build.model.add_linear_constraint(expr, int(lowest[q, r]), int(highest[q, r]))
                count += 1
        return count

    def add_lp(self, lp: SparseLp, problem: Problem, arcs: Arcs) -> None:
        amounts = problem.amounts(arcs.need, arcs.rep).astype(float)
        lowest, highest = problem.band_min.astype(float), problem.band_max.astype(float)
        for q in range(len(amounts)):
            lp.add(arcs.rep, np.arange(len(arcs)), amounts[q], lowest[q], highest[q])

    def allows_moves(self, ledger: Ledger, need: np.ndarray, target: np.ndarray) -> np.ndarray:
        p, source = ledger.problem, ledger.assign[need]
        low, high = p.band_min, p.band_max
        leaves = ledger.load[:, source] - p.amounts(need, source) >= low[:, source]
        arrives = ledger.load[:, target] + p.amounts(need, target) <= high[:, target]
        return (leaves & arrives).all(axis=0)

    def allows_move(self, ledger: Ledger, need: int, target: int) -> bool:
        p, source = ledger.problem, int(ledger.assign[need])
        out_of, into = ledger.amounts(need, source), ledger.amounts(need, target)
        return not ((ledger.load[:, source] - out_of < p.band_min[:, source]).any()
                    or (ledger.load[:, target] + into > p.band_max[:, target]).any())

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        p, chosen = ledger.problem, int(ledger.assign[need])
        if rep == chosen:
            return []
        reasons = []
        into, out_of = ledger.amounts(need, rep), ledger.amounts(need, chosen)
        for q, name in enumerate(p.balance_names):
            after, top = ledger.load[q, rep] + into[q], p.band_max[q, rep]
            if after > top:
                reasons.append(f"workload band: {after / 3600:.1f} h would pass its maximum {top / 3600:.1f} h"
                               if q == 0 else f"{name} band: {after:,} would pass its maximum {top:,}")
            left, bottom = ledger.load[q, chosen] - out_of[q], p.band_min[q, chosen]
            if left < bottom:
                reasons.append(f"workload band: {p.rep_ids[chosen]} would fall to {left / 3600:.1f} h, below its "
                               f"minimum {bottom / 3600:.1f} h" if q == 0 else
                               f"{name} band: {p.rep_ids[chosen]} would fall to {left:,}, below its minimum "
                               f"{bottom:,}")
        return reasons

    def findings(self, problem: Problem) -> list[Finding]:
        return self.workload_findings(problem) + self.metric_findings(problem)

    def workload_findings(self, problem: Problem) -> list[Finding]:
        """Per group of teams sharing reps: its calls against its reps' highest workloads, and single customers
        bigger than any rep may take."""
        findings: list[Finding] = []
        team_load = np.bincount(problem.need_team, weights=problem.min_workload_s.astype(float),
                                minlength=len(problem.team_names))
        for teams, reps in team_groups(problem.rep_in_team):
            load = team_load[teams].sum()
            top = problem.rep_max_s[reps].sum()
            if load > top:
                findings.append(Finding(
                    f"{team_label(problem, teams)} needs {hours(load)} of work per cycle but its {len(reps)} reps "
                    f"can take at most {hours(top)} within capacity and balance_tolerance: short by "
                    f"{hours(load - top)} (add reps, raise capacity_hours or lower service levels)"))
            needs = np.flatnonzero(np.isin(problem.need_team, teams))
            biggest = problem.rep_max_s[reps].max() if len(reps) else 0
            for need in needs[problem.min_workload_s[needs] > biggest][:MAX_LISTED]:
                findings.append(Finding(
                    f"customer {problem.customer_ids[problem.need_customer[need]]!r} needs "
                    f"{hours(problem.min_workload_s[need])} from team "
                    f"{problem.team_names[problem.need_team[need]]!r}, more than any of its reps may take "
                    f"({hours(biggest)})"))
        return findings

    def metric_findings(self, problem: Problem) -> list[Finding]:
        """Per extra balanced metric and group of teams sharing reps: the total fits between the reps' bands."""
        findings: list[Finding] = []
        groups = team_groups(problem.rep_in_team)
        for q, name in enumerate(problem.metric_names):
            totals = np.bincount(problem.need_team, weights=problem.need_metric[q].astype(float),
                                 minlength=len(problem.team_names))
            for teams, reps in groups:
                total = totals[teams].sum()
                low, high = problem.rep_metric_min[q, reps].sum(), problem.rep_metric_max[q, reps].sum()
                if total > high or total < low:
                    findings.append(Finding(
                        f"{team_label(problem, teams)}: its customers' {name} is {total:,.0f} but its {len(reps)} "
                        f"reps' bands allow {low:,} to {high:,} (rules.balance_metrics.{name})"))
                needs = np.flatnonzero(np.isin(problem.need_team, teams))
                biggest = problem.rep_metric_max[q, reps].max() if len(reps) else 0
                for need in needs[problem.need_metric[q, needs] > biggest][:MAX_LISTED]:
                    findings.append(Finding(
                        f"customer {problem.customer_ids[problem.need_customer[need]]!r} alone has {name} "
                        f"{problem.need_metric[q, need]:,}, more than any rep of "
                        f"{problem.team_names[problem.need_team[need]]!r} may hold ({biggest:,}; "
                        f"rules.balance_metrics.{name})"))
        return findings
