"""Infeasibility diagnosis: say which team, rep or customer is short, and by how much.

Each rule's own counting checks (`Rule.findings`) and a search for needs no rep may take run before any solver;
`explain_lp_infeasible` runs when the LP relaxation over all eligible arcs is infeasible but no count explains it
(lumpy workloads against a tight band), naming the rules in play as the scenario names them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import Finding
from ..model.problem import Problem
from .rules import RULES, active_rules, eligible, group_members, need_groups
from .rules.balance import team_label
from .rules.base import MAX_LISTED, hours
from .rules.skills import missing_lines


def capacity_findings(problem: Problem) -> list[Finding]:
    """Counting arguments that prove infeasibility before solving: every rule's, then needs no rep may take."""
    findings = [finding for piece in RULES if piece.active(problem) for finding in piece.findings(problem)]
    return findings + orphan_findings(problem)


class InfeasibleGroup(NamedTuple):
    """A group of teams sharing reps that no assignment keeps within its bands."""

    teams: np.ndarray
    reps: np.ndarray
    tops_hold: bool  # whether the reps' highest workloads alone (no lower limits) could hold the group's work


def explain_lp_infeasible(problem: Problem, infeasible_groups: list[InfeasibleGroup]) -> list[Finding]:
    """One finding per group of teams sharing reps that no assignment keeps within its bands: the band when its
    lower limits are what cannot be met, the reps' hours when even their highest workloads cannot hold the work
    (with drive in the workload, the drive the alignment needs counts there too)."""
    findings = []
    for teams, reps, tops_hold in infeasible_groups:
        lo, hi = problem.rep_min_s[reps], problem.rep_max_s[reps]
        needs = np.flatnonzero(np.isin(problem.need_team, teams))
        largest = f"the largest customer needs {hours(problem.min_workload_s[needs].max(initial=0))}"
        if tops_hold:
            findings.append(Finding(
                f"{team_label(problem, teams)}: no assignment keeps all {len(reps)} reps within their workload band "
                f"({hours(lo.min())} to {hours(hi.max())}) under {rules_in_play(problem, needs)}; {largest}. "
                f"Widen rules.balance_tolerance"
                f"{''.join(f', rules.balance_metrics.{m}' for m in problem.metric_names)} or relax those rules"))
            continue
        findings.append(Finding(
            f"{team_label(problem, teams)}: its {len(reps)} reps cannot hold its customers' work (calls, and with "
            f"workload.drive the drive to them) even at their highest workloads ({hours(hi.min())} to "
            f"{hours(hi.max())}: the band's top or capacity_hours, whichever is lower) under "
            f"{rules_in_play(problem, needs)}; {largest}. Add reps, raise capacity_hours or widen "
            "rules.balance_tolerance"))
    return findings


def rules_in_play(problem: Problem, needs: np.ndarray) -> str:
    """The restricting rules this part of the problem actually uses, named as in the scenario."""
    named = [name for piece in active_rules(problem) if (name := piece.in_play(problem, needs))]
    return "the rules given (" + ", ".join(named) + ")" if named else "the rules given"


def orphan_findings(problem: Problem) -> list[Finding]:
    """Needs no rep may take at all: nobody in the team carries the lines, or every one is excluded or elsewhere.

    Only needs that can be orphans are checked one by one (those of a group without members, with a lock, or with
    exclusions), so this stays fast on a million needs.
    """
    suspects: list[tuple[int, np.ndarray]] = []
    restricted = np.zeros(problem.n_needs, dtype=bool)
    for piece in active_rules(problem):
        mask = piece.restricted_needs(problem)
        if mask is not None:
            restricted |= mask
    for key, needs in need_groups(problem).items():
        members = group_members(problem, key)
        check = needs if len(members) == 0 else needs[restricted[needs]]
        suspects += [(int(n), members) for n in check.tolist()]
    findings: list[Finding] = []
    for need, members in suspects:
        if len(members) and eligible(problem, np.full(len(members), need), members).any():
            continue
        lines = missing_lines(problem, need)
        why = f" (no rep of the team carries {', '.join(lines)})" if lines and len(members) == 0 else ""
        findings.append(Finding(
            f"customer {problem.customer_ids[problem.need_customer[need]]!r} has no rep of team "
            f"{problem.team_names[problem.need_team[need]]!r} allowed to serve it{why}"))
        if len(findings) >= MAX_LISTED:
            break
    return findings
