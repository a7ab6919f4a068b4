"""Infeasibility diagnosis: say which team, rep or customer is short, and by how much.

Cheap counting checks run before any solver; `explain_lp_infeasible` runs when the LP relaxation over all
eligible arcs is infeasible but no count explains it (lumpy workloads against a tight band).
"""

from __future__ import annotations

import numpy as np

from ..errors import Finding
from ..model.bands import team_components
from ..model.problem import NO_REP, Problem

MAX_LISTED = 10


def _hours(seconds: float) -> str:
    return f"{seconds / 3600.0:,.1f} h"


def _team_label(problem: Problem, teams: np.ndarray) -> str:
    names = [problem.team_names[t] for t in teams]
    return f"team {names[0]!r}" if len(names) == 1 else f"teams {', '.join(map(repr, names))} (sharing reps)"


def capacity_findings(problem: Problem) -> list[Finding]:
    """Counting arguments that prove infeasibility before solving."""
    findings: list[Finding] = []
    comp = team_components(problem.rep_in_team)
    team_load = np.bincount(problem.need_team, weights=problem.min_workload_s.astype(float),
                            minlength=len(problem.team_names))
    for label in np.unique(comp):
        teams = np.flatnonzero(comp == label)
        reps = np.flatnonzero(problem.rep_in_team[:, teams].any(axis=1))
        load = team_load[teams].sum()
        top = problem.rep_max_s[reps].sum()
        if load > top:
            findings.append(Finding(
                f"{_team_label(problem, teams)} needs {_hours(load)} of calls per cycle but its {len(reps)} reps "
                f"can take at most {_hours(top)} within capacity and balance_tolerance: short by "
                f"{_hours(load - top)} (add reps, raise capacity_hours or lower service levels)"))
        # A single need too big for every rep of its team.
        needs = np.flatnonzero(np.isin(problem.need_team, teams))
        biggest = problem.rep_max_s[reps].max() if len(reps) else 0
        too_big = needs[problem.min_workload_s[needs] > biggest]
        for need in too_big[:MAX_LISTED]:
            findings.append(Finding(
                f"customer {problem.customer_ids[problem.need_customer[need]]!r} needs "
                f"{_hours(problem.min_workload_s[need])} from team {problem.team_names[problem.need_team[need]]!r}, "
                f"more than any of its reps may take ({_hours(biggest)})"))
    locked = np.flatnonzero(problem.need_locked_rep != NO_REP)
    locked_load = np.bincount(problem.need_locked_rep[locked], weights=problem.min_workload_s[locked],
                              minlength=problem.n_reps)
    for r in np.flatnonzero(locked_load > problem.rep_max_s):
        findings.append(Finding(
            f"rep {problem.rep_ids[r]!r} has {_hours(locked_load[r])} of locked customers, above its maximum of "
            f"{_hours(problem.rep_max_s[r])}: short by {_hours(locked_load[r] - problem.rep_max_s[r])}"))
    findings += metric_findings(problem)
    findings += contact_cap_findings(problem)
    findings += zone_findings(problem)
    findings += orphan_findings(problem)
    return findings


def zone_findings(problem: Problem) -> list[Finding]:
    """Per boundary kind, team and zone: the zone's workload against every rep who may work there."""
    findings: list[Finding] = []
    for k, kind in enumerate(problem.zone_kinds):
        zone = problem.need_zone[k]
        for t, team in enumerate(problem.team_names):
            needs = np.flatnonzero((problem.need_team == t) & (zone >= 0))
            if len(needs) == 0:
                continue
            load = np.bincount(zone[needs], weights=problem.min_workload_s[needs].astype(float),
                               minlength=len(problem.zone_names[k]))
            members = np.flatnonzero(problem.rep_in_team[:, t])
            pins = problem.rep_zone[k, members]
            free_top = problem.rep_max_s[members[pins < 0]].sum()
            for z in np.flatnonzero(load > 0):
                top = problem.rep_max_s[members[pins == z]].sum() + free_top
                if load[z] > top:
                    findings.append(Finding(
                        f"{kind} {problem.zone_names[k][z]!r} needs {_hours(load[z])} from team {team!r} but the "
                        f"reps who may work there can take at most {_hours(top)}: short by {_hours(load[z] - top)} "
                        f"(pin more reps to it, leave reps unpinned, or widen rules.balance_tolerance)"))
    return findings


def contact_cap_findings(problem: Problem) -> list[Finding]:
    """Customers whose teams need more distinct reps than the cap allows, with no rep spanning two of them."""
    counts = np.bincount(problem.need_customer, minlength=problem.n_customers)
    caps = problem.customer_caps
    over = np.flatnonzero(counts > caps)
    bad = []
    for c in over:
        teams = problem.need_team[problem.need_customer == c]
        # the fewest distinct reps is at least the number of teams no multi-team rep can merge
        spans = problem.rep_in_team[:, teams].sum(axis=1)
        if spans.max(initial=0) < 2:
            bad.append(c)
    findings = [
        Finding(f"customer {problem.customer_ids[c]!r} must be covered by "
                f"{int(counts[c])} teams but its contact cap is {int(caps[c])}, and no rep "
                "belongs to two of those teams")
        for c in bad[:MAX_LISTED]
    ]
    if len(bad) > MAX_LISTED:
        findings.append(Finding(f"... and {len(bad) - MAX_LISTED} more customers over the contact cap"))
    return findings


def metric_findings(problem: Problem) -> list[Finding]:
    """Per extra balanced metric and group of teams sharing reps: the total fits between the reps' bands."""
    findings: list[Finding] = []
    comp = team_components(problem.rep_in_team)
    for q, name in enumerate(problem.metric_names):
        totals = np.bincount(problem.need_team, weights=problem.need_metric[q].astype(float),
                             minlength=len(problem.team_names))
        for label in np.unique(comp):
            teams = np.flatnonzero(comp == label)
            reps = np.flatnonzero(problem.rep_in_team[:, teams].any(axis=1))
            total = totals[teams].sum()
            low, high = problem.rep_metric_min[q, reps].sum(), problem.rep_metric_max[q, reps].sum()
            if total > high or total < low:
                findings.append(Finding(
                    f"{_team_label(problem, teams)}: its customers' {name} is {total:,.0f} but its {len(reps)} "
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


def explain_lp_infeasible(problem: Problem, infeasible_components: list[np.ndarray]) -> list[Finding]:
    findings = []
    for teams in infeasible_components:
        reps = np.flatnonzero(problem.rep_in_team[:, teams].any(axis=1))
        lo, hi = problem.rep_min_s[reps], problem.rep_max_s[reps]
        needs = np.flatnonzero(np.isin(problem.need_team, teams))
        findings.append(Finding(
            f"{_team_label(problem, teams)}: no assignment keeps all {len(reps)} reps within their workload band "
            f"({_hours(lo.min())} to {_hours(hi.max())}) under {_rules_in_play(problem, needs)}; the largest "
            f"customer needs {_hours(problem.min_workload_s[needs].max(initial=0))}. Widen rules.balance_tolerance"
            f"{''.join(f', rules.balance_metrics.{m}' for m in problem.metric_names)} or relax those rules"))
    return findings


def _rules_in_play(problem: Problem, needs: np.ndarray) -> str:
    """The restricting rules this part of the problem actually uses, named as in the scenario."""
    rules = []
    if (problem.need_locked_rep[needs] != NO_REP).any():
        rules.append("locked_rep_id")
    if problem.need_skills is not None and problem.need_skills[needs].any():
        rules.append("skills (teams[].products)")
    if len(problem.excluded):
        rules.append("excluded_rep_ids")
    if problem.max_moved is not None:
        rules.append(f"rules.max_moved_customers = {problem.max_moved}")
    if problem.max_moved_value is not None:
        rules.append(f"rules.max_moved_value = {problem.max_moved_value:,}")
    if problem.n_zone_kinds and (problem.need_zone[:, needs] >= 0).any():
        rules.append("boundaries")
    if (np.bincount(problem.need_customer[needs], minlength=problem.n_customers) > problem.customer_caps).any():
        rules.append("rules.max_reps_per_customer")
    return "the rules given (" + ", ".join(rules) + ")" if rules else "the rules given"


def orphan_findings(problem: Problem) -> list[Finding]:
    """Needs no rep may take at all: nobody in the team carries the lines, or every one is excluded or elsewhere.

    Only needs that can be orphans are checked one by one (those of a group without members, with a lock, or with
    exclusions), so this stays fast on a million needs.
    """
    from .candidates import group_members, need_groups

    suspects: list[tuple[int, np.ndarray]] = []
    excluded_needs = set((problem.excluded // max(problem.n_reps, 1)).tolist())
    locked = problem.need_locked_rep != NO_REP
    for key, needs in need_groups(problem).items():
        members = group_members(problem, key)
        check = needs if len(members) == 0 else needs[locked[needs] | np.isin(needs, list(excluded_needs))]
        suspects += [(int(n), members) for n in check.tolist()]
    findings: list[Finding] = []
    for need, members in suspects:
        if len(members) and problem.eligible(np.full(len(members), need), members).any():
            continue
        lines = [name for b, name in enumerate(problem.skill_names)
                 if problem.need_skills is not None and problem.need_skills[need] >> b & 1]
        why = f" (no rep of the team carries {', '.join(lines)})" if lines and len(members) == 0 else ""
        findings.append(Finding(
            f"customer {problem.customer_ids[problem.need_customer[need]]!r} has no rep of team "
            f"{problem.team_names[problem.need_team[need]]!r} allowed to serve it{why}"))
        if len(findings) >= MAX_LISTED:
            break
    return findings
