"""KPIs and hard-constraint checks recomputed from an alignment alone.

This is the independent judge: it never reads a solver's own numbers (objective, candidate arcs, costs), only
the problem's data and the rep chosen for each need, so tests can trust it to catch a solver's mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .model.problem import NO_REP, Problem
from .model.unit_graph import team_edges

if TYPE_CHECKING:
    from .routing.cycle import RepPlan, RoutingSettings


@dataclass(frozen=True)
class Violation:
    rule: str  # coverage, team, lock, balance, contact_cap, boundary, skills, exclusion, continuity, max_customers,
    # max_km
    message: str


@dataclass(frozen=True)
class RepLoads:
    workload_s: np.ndarray  # (R,) int64
    n_customers: np.ndarray  # (R,) distinct customers
    total_distance_km: np.ndarray  # (R,) sum of home-to-customer road km
    travel_visit_km: np.ndarray  # (R,) visit-weighted road km


def road_km(problem: Problem, assignment: np.ndarray) -> np.ndarray:
    """Per need, straight-line km from its customer to its rep's home times the detour factor."""
    delta = problem.customer_xy[problem.need_customer] - problem.rep_xy[assignment]
    return np.sqrt((delta**2).sum(axis=1)) / 1000.0 * problem.detour_factor


def rep_loads(problem: Problem, assignment: np.ndarray) -> RepLoads:
    r = problem.n_reps
    km = road_km(problem, assignment)
    workload = np.zeros(r, dtype=np.int64)
    np.add.at(workload, assignment, problem.workload(np.arange(problem.n_needs), assignment))
    pairs = np.unique(np.stack([assignment, problem.need_customer], axis=1), axis=0)
    n_customers = np.bincount(pairs[:, 0], minlength=r)
    return RepLoads(
        workload_s=workload,
        n_customers=n_customers,
        total_distance_km=np.bincount(assignment, weights=km, minlength=r),
        travel_visit_km=np.bincount(assignment, weights=km * problem.need_visits, minlength=r),
    )


def check(problem: Problem, assignment: np.ndarray) -> list[Violation]:
    """Every hard rule, checked from scratch; an empty list means the alignment is feasible."""
    out: list[Violation] = []
    assignment = np.asarray(assignment)
    if assignment.shape != (problem.n_needs,):
        return [Violation("coverage", f"{len(assignment)} assignments for {problem.n_needs} needs")]
    bad = (assignment < 0) | (assignment >= problem.n_reps)
    for i in np.flatnonzero(bad)[:20]:
        out.append(Violation("coverage", f"need {i} (customer {problem.customer_ids[problem.need_customer[i]]}) "
                                         "has no rep"))
    if bad.any():
        return out
    wrong_team = ~problem.rep_in_team[assignment, problem.need_team]
    for i in np.flatnonzero(wrong_team)[:20]:
        out.append(Violation("team", f"customer {problem.customer_ids[problem.need_customer[i]]}: rep "
                                     f"{problem.rep_ids[assignment[i]]} is not in team "
                                     f"{problem.team_names[problem.need_team[i]]}"))
    locked = problem.need_locked_rep != NO_REP
    for i in np.flatnonzero(locked & (assignment != problem.need_locked_rep))[:20]:
        out.append(Violation("lock", f"customer {problem.customer_ids[problem.need_customer[i]]} is locked to "
                                     f"{problem.rep_ids[problem.need_locked_rep[i]]}"))
    out += balance_violations(problem, assignment)
    distinct = distinct_reps_per_customer(problem, assignment)
    caps = problem.customer_caps
    for c in np.flatnonzero(distinct > caps)[:20]:
        out.append(Violation("contact_cap", f"customer {problem.customer_ids[c]} has {distinct[c]} reps, cap "
                                            f"{caps[c]}"))
    out += boundary_violations(problem, assignment)
    out += skill_and_exclusion_violations(problem, assignment)
    out += contiguity_violations(problem, assignment)
    out += max_customers_violations(problem, assignment)
    out += max_km_violations(problem, assignment)
    current = problem.need_current_rep
    moved = int(((current != NO_REP) & (current != assignment)).sum())
    if problem.max_moved is not None and moved > problem.max_moved:
        out.append(Violation("continuity", f"{moved} customer-team needs moved, more than max_moved_customers "
                                           f"{problem.max_moved}"))
    if problem.max_moved_value is not None and problem.need_value is not None:
        moved_value = int(problem.need_value[(current != NO_REP) & (current != assignment)].sum())
        if moved_value > problem.max_moved_value:
            out.append(Violation("continuity", f"moved customers hold {moved_value:,} of value, more than "
                                               f"max_moved_value {problem.max_moved_value:,}"))
    return out


def unit_holders(problem: Problem, assignment: np.ndarray) -> dict[tuple[int, int], int]:
    """(team, unit) -> the rep holding most of that team's needs in the unit (lowest rep on a tie): the unit's
    rep on the map. Minority needs in a unit are the reported exceptions (locks, exclusions, caps)."""
    unit = problem.territory_unit
    if unit is None:
        return {}
    counts: dict[tuple[int, int], dict[int, int]] = {}
    for need in np.flatnonzero(unit >= 0).tolist():  # locked needs are exceptions (Problem.territory_unit)
        key = (int(problem.need_team[need]), int(unit[need]))
        rep = int(assignment[need])
        per_rep = counts.setdefault(key, {})
        per_rep[rep] = per_rep.get(rep, 0) + 1
    return {key: min(per_rep, key=lambda r: (-per_rep[r], r)) for key, per_rep in counts.items()}


def territory_piece_counts(problem: Problem, assignment: np.ndarray) -> dict[tuple[int, int], int]:
    """(team, rep) -> how many connected pieces its units form in the units' adjacency graph."""
    holders = unit_holders(problem, assignment)
    assert problem.need_unit is not None or not holders
    territory: dict[tuple[int, int], set[int]] = {}
    for (team, unit), rep in holders.items():
        territory.setdefault((team, rep), set()).add(unit)
    adjacent: dict[int, dict[int, set[int]]] = {}
    for team in sorted({team for team, _ in territory}):
        assert problem.territory_unit is not None
        graph: dict[int, set[int]] = {}
        for u, v in team_edges(problem.unit_edges, problem.unit_xy,
                               problem.territory_unit[problem.need_team == team]).tolist():
            graph.setdefault(u, set()).add(v)
            graph.setdefault(v, set()).add(u)
        adjacent[team] = graph
    out = {}
    for (team, rep), units in territory.items():
        key = (team, rep)
        left, n_pieces = set(units), 0
        while left:
            n_pieces += 1
            stack = [left.pop()]
            while stack:
                for v in adjacent[team].get(stack.pop(), ()):
                    if v in left:
                        left.remove(v)
                        stack.append(v)
        out[key] = n_pieces
    return out


def contiguity_violations(problem: Problem, assignment: np.ndarray) -> list[Violation]:
    """Territories of teams that must be one piece but are not."""
    if problem.need_unit is None or problem.team_contiguous is None or not problem.team_contiguous.any():
        return []
    out = []
    for (team, rep), n_pieces in sorted(territory_piece_counts(problem, assignment).items()):
        if n_pieces > 1 and problem.team_contiguous[team]:
            out.append(Violation("contiguity", f"{problem.rep_ids[rep]}'s territory in team "
                                               f"{problem.team_names[team]} is in {n_pieces} pieces"))
    return out[:20]


def metric_totals(problem: Problem, assignment: np.ndarray) -> np.ndarray:
    """(Q, R) each rep's total of every balanced metric (workload in seconds first)."""
    amounts = problem.amounts(np.arange(problem.n_needs), assignment)
    return np.vstack([np.bincount(assignment, weights=row, minlength=problem.n_reps) for row in amounts]).astype(
        np.int64)


def balance_violations(problem: Problem, assignment: np.ndarray) -> list[Violation]:
    """A rep whose workload, or any other balanced metric, is outside its band."""
    out: list[Violation] = []
    totals, lowest, highest = metric_totals(problem, assignment), problem.band_min, problem.band_max
    for q, name in enumerate(problem.balance_names):
        for r in np.flatnonzero((totals[q] < lowest[q]) | (totals[q] > highest[q]))[:20]:
            if q == 0:
                out.append(Violation("balance", f"rep {problem.rep_ids[r]} has {totals[q, r] / 3600:.2f} h, "
                                                f"outside [{lowest[q, r] / 3600:.2f}, {highest[q, r] / 3600:.2f}] h"))
            else:
                out.append(Violation("balance", f"rep {problem.rep_ids[r]} has {name} {totals[q, r]:,}, outside "
                                                f"[{lowest[q, r]:,}, {highest[q, r]:,}]"))
    return out


def max_customers_violations(problem: Problem, assignment: np.ndarray) -> list[Violation]:
    """A rep serving more of a team's customers than the team's `max_customers` (customers of bundled needs
    counted one by one)."""
    if problem.team_max_customers is None:
        return []
    n_teams = len(problem.team_names)
    counts = np.bincount(assignment * n_teams + problem.need_team, weights=problem.need_sizes,
                         minlength=problem.n_reps * n_teams).reshape(problem.n_reps, n_teams)
    limits = problem.team_max_customers
    over = np.argwhere((limits[None, :] > 0) & (counts > limits[None, :]))
    return [Violation("max_customers", f"rep {problem.rep_ids[r]} has {int(counts[r, t])} customers of team "
                                       f"{problem.team_names[t]}, more than its max_customers {limits[t]}")
            for r, t in over[:20].tolist()]


def max_km_violations(problem: Problem, assignment: np.ndarray) -> list[Violation]:
    """A customer farther (road km from its rep's home) than its team's `max_km`; every customer of a bundled need
    measured on its own."""
    if problem.team_max_km is None:
        return []
    if problem.member_ptr is None or problem.member_xy is None:
        owner, xy = np.arange(problem.n_needs), problem.customer_xy[problem.need_customer]
    else:
        owner = np.repeat(np.arange(problem.n_needs), np.diff(problem.member_ptr))
        xy = problem.member_xy
    delta = xy - problem.rep_xy[assignment[owner]]
    km = np.sqrt((delta**2).sum(axis=1)) / 1000.0 * problem.detour_factor
    limit = problem.team_max_km[problem.need_team[owner]]
    return [Violation("max_km", f"customer {problem.customer_ids[problem.need_customer[owner[i]]]} is {km[i]:,.1f} "
                                f"km from rep {problem.rep_ids[assignment[owner[i]]]}, beyond team "
                                f"{problem.team_names[problem.need_team[owner[i]]]}'s max_km {limit[i]:g}")
            for i in np.flatnonzero(km > limit)[:20].tolist()]


def skill_and_exclusion_violations(problem: Problem, assignment: np.ndarray) -> list[Violation]:
    """A rep carrying fewer product lines than the need requires, or a pair the data excludes."""
    out: list[Violation] = []
    needs = np.arange(problem.n_needs)
    if problem.need_skills is not None and problem.rep_skills is not None:
        missing = problem.need_skills & ~problem.rep_skills[assignment]
        for i in np.flatnonzero(missing)[:20]:
            lines = [name for b, name in enumerate(problem.skill_names) if missing[i] >> b & 1]
            out.append(Violation("skills", f"customer {problem.customer_ids[problem.need_customer[i]]}: rep "
                                           f"{problem.rep_ids[assignment[i]]} does not carry {', '.join(lines)}"))
    if len(problem.excluded):
        hit = np.isin(needs.astype(np.int64) * problem.n_reps + assignment, problem.excluded)
        for i in np.flatnonzero(hit)[:20]:
            out.append(Violation("exclusion", f"customer {problem.customer_ids[problem.need_customer[i]]} must "
                                              f"never get rep {problem.rep_ids[assignment[i]]}"))
    return out


def boundary_violations(problem: Problem, assignment: np.ndarray) -> list[Violation]:
    """Per boundary kind: a rep's needs lie in one zone, and in its pinned zone when it has one."""
    out: list[Violation] = []
    for k, kind in enumerate(problem.zone_kinds):
        zone = problem.need_zone[k]
        bound = zone >= 0
        pairs = np.unique(np.stack([assignment[bound], zone[bound]], axis=1), axis=0)
        zones_per_rep = np.bincount(pairs[:, 0], minlength=problem.n_reps)
        for r in np.flatnonzero(zones_per_rep > 1)[:20]:
            names = [problem.zone_names[k][z] for z in pairs[pairs[:, 0] == r, 1]]
            out.append(Violation("boundary", f"rep {problem.rep_ids[r]} crosses the {kind} boundary: "
                                             f"{', '.join(names)}"))
        pin = problem.rep_zone[k, pairs[:, 0]]
        for r, z in pairs[(pin >= 0) & (pin != pairs[:, 1])][:20].tolist():
            out.append(Violation("boundary", f"rep {problem.rep_ids[r]} is pinned to {kind} "
                                             f"{problem.zone_names[k][problem.rep_zone[k, r]]} but serves "
                                             f"{problem.zone_names[k][z]}"))
    return out


def reps_crossing(assignments: pd.DataFrame, column: str, teams: list[str] | None = None) -> pd.Series:
    """From an assignments table alone: reps whose customers span several values of `column` (e.g. the
    distributor), with those values; empty when no territory crosses that boundary."""
    table = assignments if teams is None else assignments[assignments["team"].isin(teams)]
    spans = table.groupby("rep_id")[column].agg(lambda v: sorted(set(v.astype(str))))
    return spans[spans.map(len) > 1]


def distinct_reps_per_customer(problem: Problem, assignment: np.ndarray) -> np.ndarray:
    pairs = np.unique(np.stack([problem.need_customer, assignment], axis=1), axis=0)
    return np.bincount(pairs[:, 0], minlength=problem.n_customers)


def kpis(problem: Problem, assignment: np.ndarray) -> dict[str, float | int]:
    """Headline numbers of an alignment, for kpis.json and for comparing engines."""
    loads = rep_loads(problem, assignment)
    target = problem.rep_target_s
    active = target > 0
    deviation = np.abs(loads.workload_s[active] - target[active]) / target[active] if active.any() else np.zeros(1)
    moved = (problem.need_current_rep != NO_REP) & (problem.need_current_rep != assignment)
    distinct = distinct_reps_per_customer(problem, assignment)
    return {
        "n_customers": int(problem.n_customers),
        "n_reps": int(problem.n_reps),
        "n_needs": int(problem.n_needs),
        "travel_visit_km": float(loads.travel_visit_km.sum()),
        "total_distance_km": float(loads.total_distance_km.sum()),
        "max_workload_deviation": float(deviation.max(initial=0.0)),
        "mean_workload_deviation": float(deviation.mean()) if deviation.size else 0.0,
        "moved_customers": len(np.unique(problem.need_customer[moved])),
        "max_reps_on_a_customer": int(distinct.max(initial=0)),
        "violations": len(check(problem, assignment)),
        **metric_deviations(problem, assignment),
    }


def team_distances(problem: Problem, assignment: np.ndarray) -> dict[str, dict[str, float]]:
    """Per team with customers: the largest and the 95th-percentile road km from a customer to its rep's home."""
    km = road_km(problem, assignment)
    out = {}
    for t, name in enumerate(problem.team_names):
        mine = km[problem.need_team == t]
        if len(mine):
            out[name] = {"max_km": round(float(mine.max()), 3), "p95_km": round(float(np.percentile(mine, 95)), 3)}
    return out


def metric_deviations(problem: Problem, assignment: np.ndarray) -> dict[str, float]:
    """Largest relative deviation of each extra balanced metric from its band's middle (the rep's target)."""
    if not problem.metric_names:
        return {}
    totals = metric_totals(problem, assignment)[1:]
    middle = (problem.rep_metric_min + problem.rep_metric_max) / 2.0
    out = {}
    for q, name in enumerate(problem.metric_names):
        active = middle[q] > 0
        dev = np.abs(totals[q, active] - middle[q, active]) / middle[q, active]
        out[f"max_{name}_deviation"] = float(dev.max(initial=0.0))
    return out


def schedule_violations(problem: Problem, assignment: np.ndarray, plans: list[RepPlan], settings: RoutingSettings,
                        window_open: np.ndarray | None = None, window_close: np.ndarray | None = None,
                        routed: np.ndarray | None = None) -> list[Violation]:
    """The call plan, checked from scratch: every required visit planned (or listed as unplanned) by the need's own
    rep, at most one call per need and day, days within their length, calls inside opening hours, and each arrival
    reachable from the previous stop (by the run's travel model, asked afresh for each day's stops)."""

    out: list[Violation] = []
    planned = np.zeros(problem.n_needs, dtype=np.int64)
    limit = settings.day_s - settings.break_s
    for plan in plans:
        np.add.at(planned, np.array(plan.unplanned, dtype=np.int64), 1)
        for day in plan.days:
            needs = np.array(day.needs, dtype=np.int64)
            np.add.at(planned, needs, 1)
            where = f"rep {problem.rep_ids[plan.rep]} week {day.week + 1} day {day.day + 1}"
            if (assignment[needs] != plan.rep).any():
                out.append(Violation("schedule", f"{where}: calls on customers of another rep"))
            if len(np.unique(needs)) < len(needs):
                out.append(Violation("schedule", f"{where}: a customer is called twice the same day"))
            if day.back_s - day.leave_s > limit or day.leave_s < 0 or day.back_s > settings.day_s:
                out.append(Violation("schedule", f"{where}: the day lasts {(day.back_s - day.leave_s) / 3600:.2f} h, "
                                                 f"more than {limit / 3600:.2f} h"))
            points = np.vstack([problem.rep_xy[plan.rep], problem.customer_xy[problem.need_customer[needs]]])
            ids = np.concatenate([[problem.n_customers + plan.rep], problem.need_customer[needs]])
            duration = settings.travel_model().block(ids, points).seconds
            clock, prev = day.leave_s, 0
            for i, (arrive, depart) in enumerate(zip(day.arrive_s, day.depart_s, strict=True)):
                if arrive < clock + duration[prev, i + 1] - 1:
                    out.append(Violation("schedule", f"{where}: stop {i + 1} reached too early for the drive"))
                customer = problem.need_customer[needs[i]]
                if window_open is not None and window_close is not None and not (
                        window_open[customer] <= arrive <= window_close[customer]):
                    out.append(Violation("schedule", f"{where}: customer {problem.customer_ids[customer]} called "
                                                     "outside its opening hours"))
                clock, prev = depart, i + 1
            if day.needs and day.back_s < clock + duration[prev, 0] - 1:
                out.append(Violation("schedule", f"{where}: back home before the drive allows"))
    required = np.rint(problem.need_visits).astype(np.int64)
    if routed is not None:
        required = np.where(routed, required, 0)
    for need in np.flatnonzero(planned != required)[:20]:
        out.append(Violation("schedule", f"customer {problem.customer_ids[problem.need_customer[need]]} "
                                         f"({problem.team_names[problem.need_team[need]]}): {planned[need]} visits "
                                         f"planned or listed, {required[need]} required"))
    return out
