"""Data-quality warnings: things that did not stop the run but that an operator should look at before trusting it.

- customers farther than `quality.far_km` (road km) from every rep who may serve them;
- customers sharing one location with another customer (often a geocoding fallback to a town centre);
- reps left with no customers;
- customers of a travelling team far from their own rep: beyond `quality.outlier_factor` x the median road km of
  that rep's customers and beyond `quality.outlier_min_km` (far_from_own_rep; a 300 km trip passes every hard rule);
- teams that travel planned above `quality.full_share` of their reps' capacity_hours (no room to pack days);
- headline counts and totals that moved by more than `quality.change_threshold` against the previous run.
They go to warnings.csv and the report; `run --strict` makes any warning a failure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..errors import Finding
from ..model.bands import team_groups
from ..model.problem import Problem

EXAMPLES = 5


def _examples(ids: np.ndarray) -> str:
    shown = ", ".join(map(str, ids[:EXAMPLES]))
    return shown + (", ..." if len(ids) > EXAMPLES else "")


def input_findings(problem: Problem, visited: np.ndarray, far_km: float, source: str) -> list[Finding]:
    """Far customers (among needs reps drive to: `visited`) and shared locations, from the problem alone (so
    `validate` reports them too)."""
    findings = []
    if problem.n_needs and problem.n_reps:
        nearest = np.full(problem.n_needs, np.inf)
        for team in range(len(problem.team_names)):
            needs = np.flatnonzero((problem.need_team == team) & visited)
            reps = np.flatnonzero(problem.rep_in_team[:, team])
            if len(needs) == 0 or len(reps) == 0:
                continue
            dist, _ = cKDTree(problem.rep_xy[reps]).query(problem.customer_xy[problem.need_customer[needs]])
            nearest[needs] = dist * problem.detour_factor / 1000.0
        far = np.unique(problem.need_customer[visited & (nearest > far_km)])
        if len(far):
            findings.append(Finding(f"{len(far)} customers are more than {far_km:g} km by road from every rep who "
                                    f"may serve them (e.g. {_examples(problem.customer_ids[far])}): check their "
                                    "coordinates, or add a rep there", source=source, field="quality.far_km"))
    rounded = np.round(problem.customer_xy, 0)
    _, inverse, counts = np.unique(rounded, axis=0, return_inverse=True, return_counts=True)
    shared = np.flatnonzero(counts[inverse.reshape(-1)] > 1)
    if len(shared):
        findings.append(Finding(f"{len(shared)} customers share their exact location with another customer "
                                f"(e.g. {_examples(problem.customer_ids[shared])}): often a geocoding fallback to a "
                                "town centre", source=source, field="location"))
    return findings


def result_findings(problem: Problem, assignment: np.ndarray, source: str) -> list[Finding]:
    """Reps the alignment leaves without customers."""
    idle = np.setdiff1d(np.arange(problem.n_reps), assignment)
    if len(idle) == 0:
        return []
    return [Finding(f"{len(idle)} reps have no customers (e.g. {_examples(problem.rep_ids[idle])})", source=source,
                    field="reps")]


def full_team_findings(problem: Problem, assignment: np.ndarray, capacity_s: np.ndarray, travels: np.ndarray,
                       share: float, source: str) -> list[Finding]:
    """Teams that travel (`travels`, (T,) bool) whose reps are planned above `share` of their capacity in all
    (calls and, when drive counts, its estimate): the call plan needs room to pack whole visits into days. Per group
    of teams sharing reps, over the reps with a capacity."""
    findings = []
    load = problem.rep_totals(assignment)[0].astype(float)
    for teams, reps in team_groups(problem.rep_in_team):
        mine = reps[np.isfinite(capacity_s[reps])]
        if not travels[teams].any() or len(mine) == 0:
            continue
        planned, capacity = float(load[mine].sum()), float(capacity_s[mine].sum())
        if capacity <= 0 or planned <= share * capacity:
            continue
        names = ", ".join(repr(problem.team_names[t]) for t in teams)
        findings.append(Finding(
            f"team {names} is planned at {100 * planned / capacity:.1f} % of its {len(mine)} reps' capacity_hours "
            f"({planned / 3600:,.1f} h of {capacity / 3600:,.1f} h): whole visits need some of each month free to "
            "pack into days, so a call plan (routing.enabled) leaves visits without a day; add a rep, raise "
            "capacity_hours or lower service levels", source=source, field="quality.full_share"))
    return findings


MAX_OUTLIERS = 20  # far_from_own_rep warnings listed one by one before "... and N more"


def outlier_findings(problem: Problem, assignment: np.ndarray, travels: np.ndarray, factor: float, min_km: float,
                     source: str, first_row: int = 0) -> list[Finding]:
    """far_from_own_rep: per team that travels (`travels`, (T,) bool) and rep, customers whose road km to the rep's
    home pass `factor` x the median of that rep's customers of the team, and `min_km`."""
    needs = np.flatnonzero(travels[problem.need_team])
    if len(needs) == 0:
        return []
    delta = problem.customer_xy[problem.need_customer[needs]] - problem.rep_xy[assignment[needs]]
    km = np.hypot(delta[:, 0], delta[:, 1]) * problem.detour_factor / 1000.0
    table = pd.DataFrame({"need": needs, "rep": assignment[needs], "team": problem.need_team[needs], "km": km})
    table["median"] = table.groupby(["team", "rep"])["km"].transform("median")
    far = table[(table["km"] > factor * table["median"]) & (table["km"] > min_km)].sort_values("km", ascending=False)
    findings = []
    for row in far.head(MAX_OUTLIERS).itertuples():
        customer = int(problem.need_customer[row.need])
        findings.append(Finding(
            f"far_from_own_rep: customer {problem.customer_ids[customer]} is {row.km:,.1f} km by road from its rep "
            f"{problem.rep_ids[row.rep]} (team {problem.team_names[row.team]}), whose customers lie a median "
            f"{row.median:,.1f} km from home: check its coordinates or why no nearer rep takes it",
            source=source, row=customer + first_row, field="quality.outlier_factor"))
    if len(far) > MAX_OUTLIERS:
        findings.append(Finding(f"far_from_own_rep: ... and {len(far) - MAX_OUTLIERS} more customers far from their "
                                "own rep", source=source, field="quality.outlier_factor"))
    return findings


CHANGE_KEYS = ("n_customers", "n_reps", "n_needs", "total_workload_hours", "total_current_value")


def change_findings(now: dict[str, Any], before: dict[str, Any], threshold: float, source: str) -> list[Finding]:
    """Headline numbers that moved by more than `threshold` (a share) against the previous run's kpis.json."""
    findings = []
    for key in CHANGE_KEYS:
        a, b = before.get(key), now.get(key)
        if not isinstance(a, int | float) or not isinstance(b, int | float) or a == 0:
            continue
        change = (b - a) / abs(a)
        if abs(change) > threshold:
            findings.append(Finding(f"{key} changed by {100 * change:+.1f} % since the previous run ({a:,} -> {b:,}); "
                                    "check the input extract", source=source, field="quality.change_threshold"))
    return findings


def totals(customers: pd.DataFrame, problem: Problem) -> dict[str, float]:
    """The totals `change_findings` compares: workload hours and current value."""
    return {"total_workload_hours": round(float(problem.need_workload_s.sum()) / 3600.0, 3),
            "total_current_value": round(float(customers["current_value"].astype(float).sum()), 2)}
