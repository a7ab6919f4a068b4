"""Balance on real hours: each rep's measured drive time taken out of the call hours its band allows.

A rep's work is its calls plus its driving. After routing, the work of each group of teams sharing reps is
re-divided in proportion to the reps' original targets (capacity shares), and each rep's band for *calls* becomes
that share x (1 +/- tolerance) minus its own drive time. The assignment is then solved again, so a rep with long
drives gets fewer calls. Drive time changes when territories change, so the pipeline repeats assign -> route ->
re-assign until no rep's drive time moves by more than a threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..model.bands import team_groups, tolerance_band
from ..model.problem import Problem

if TYPE_CHECKING:
    from .cycle import RepPlan

SPILL_SLACK = 0.02  # share of a team's calls its reps' bands keep above them when the rounds take spill off
# share of a rep's month the rounds keep free, where its team has that room: whole visits do not pack days to the
# minute. Measured on the demo (32 reps): at 3 % four field reps planned at 155-164 h of their 170 h kept 6 visits
# without a day; at 5 % every visit has a day, for 0.26 % more travel
PACKING_SLACK = 0.05


def drive_adjusted(problem: Problem, drive_s: np.ndarray, tolerance: float | None,
                   capacity_s: np.ndarray | None = None, spill_s: np.ndarray | None = None) -> Problem:
    """The same problem with call bands = (share of calls + drive) x (1 +/- tolerance) - own drive, never above
    the rep's capacity (`capacity_s`, its working month) - own drive - `spill_s` (the hours of visits its days
    could not hold in earlier rounds: a month planned to the minute does not pack into days; as much of it as the
    team can give away)."""
    drive = np.asarray(drive_s, dtype=float)
    team_load = np.bincount(problem.need_team, weights=problem.need_workload_s.astype(float),
                            minlength=len(problem.team_names))
    target = problem.rep_target_s.astype(float).copy()
    groups = [(teams, reps) for teams, reps in team_groups(problem.rep_in_team) if len(reps)]
    for teams, reps in groups:
        weights = problem.rep_target_s[reps].astype(float)
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(reps), 1.0 / len(reps))
        target[reps] = (team_load[teams].sum() + drive[reps].sum()) * weights
    if tolerance is None:
        lo = np.zeros(problem.n_reps, dtype=np.int64)
        hi = problem.rep_max_s - np.rint(drive).astype(np.int64)
    else:
        lo, hi = tolerance_band(target, tolerance, drive)
    if capacity_s is not None:
        capacity = np.asarray(capacity_s, dtype=float)
        room = capacity - drive - _packing_slack(problem.n_reps, groups, team_load, drive, capacity)
        hi = np.where(np.isfinite(room), np.minimum(hi, np.floor(room + 1e-9)), hi).astype(np.int64)
    if spill_s is not None:
        hi = hi - _spill_that_fits(problem.n_reps, groups, team_load, np.maximum(hi, 0),
                                   np.asarray(spill_s, dtype=float))
    hi = np.maximum(hi, 0)
    lo = np.clip(lo, 0, hi)
    return problem.replace(rep_target_s=np.maximum(target - drive, 0.0), rep_min_s=lo, rep_max_s=hi)


def _packing_slack(n_reps: int, groups: list[tuple[np.ndarray, np.ndarray]], team_load: np.ndarray,
                   drive: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Seconds of each rep's month to keep free so its days can be packed: `PACKING_SLACK` of its capacity, or
    as much of it as its teams' calls and drive leave (less `SPILL_SLACK`); 0 where capacity is not given. A team
    planned at its capacity gets none: it keeps visits without a day, reported, rather than having no plan."""
    out = np.zeros(n_reps)
    for teams, reps in groups:
        known = np.isfinite(capacity[reps])
        total = float(capacity[reps][known].sum())
        if total <= 0:
            continue
        spare = 1.0 - (float(team_load[teams].sum()) + float(drive[reps].sum())) / total - SPILL_SLACK
        share = min(max(spare, 0.0), PACKING_SLACK)
        out[reps] = np.where(known, capacity[reps], 0.0) * share
    return out


def _spill_that_fits(n_reps: int, groups: list[tuple[np.ndarray, np.ndarray]], team_load: np.ndarray,
                     hi: np.ndarray, spill: np.ndarray) -> np.ndarray:
    """Whole seconds of `spill` to take off each rep's upper band: all of it where its teams' other reps have the
    room, else the same share of every rep's spill that leaves the teams `SPILL_SLACK` of their calls to spare
    (whole units do not pack a team to the minute; a team planned at its capacity keeps visits without a day,
    reported, rather than having no plan)."""
    out = np.zeros(n_reps, dtype=np.int64)
    for teams, reps in groups:
        total = float(spill[reps].sum())
        if total <= 0:
            continue
        calls = float(team_load[teams].sum())
        room = float(hi[reps].sum()) - calls * (1.0 + SPILL_SLACK)
        share = min(max(room / total, 0.0), 1.0)
        out[reps] = np.floor(spill[reps] * share).astype(np.int64)
    return out


def unplanned_seconds(plans: list[RepPlan], problem: Problem) -> np.ndarray:
    """Per rep, the work its days could not hold: each unplanned visit's call, plus the rep's mean drive per
    planned visit."""
    out = np.zeros(problem.n_reps)
    for plan in plans:
        if not plan.unplanned:
            continue
        needs = np.asarray(plan.unplanned, dtype=np.int64)
        calls = problem.need_workload_s[needs] / np.maximum(problem.need_visits[needs], 1e-9)
        planned = sum(len(day.needs) for day in plan.days)
        out[plan.rep] = float(calls.sum()) + len(needs) * plan.drive_s / max(planned, 1)
    return out


def work_spread(call_s: np.ndarray, drive_s: np.ndarray, target_s: np.ndarray) -> dict[str, float]:
    """Work (calls + drive) against each rep's share of its teams' work: the spread a manager sees (largest and
    mean deviation, and the range from the most under- to the most over-worked rep, as shares of the target)."""
    work = np.asarray(call_s, dtype=float) + np.asarray(drive_s, dtype=float)
    active = target_s > 0
    if not active.any():
        return {"max_deviation": 0.0, "mean_deviation": 0.0, "drive_share": 0.0}
    signed = work_deviation(call_s, drive_s, target_s)[active]
    deviation = np.abs(signed)
    return {"max_deviation": round(float(deviation.max()), 4), "mean_deviation": round(float(deviation.mean()), 4),
            "range": round(float(signed.max() - signed.min()), 4),
            "drive_share": round(float(np.sum(drive_s) / max(work.sum(), 1e-9)), 4)}


def work_deviation(call_s: np.ndarray, drive_s: np.ndarray, target_s: np.ndarray) -> np.ndarray:
    """Per rep, (calls + drive - target) / target: its work's signed share off its target (0 without a target)."""
    work = np.asarray(call_s, dtype=float) + np.asarray(drive_s, dtype=float)
    target = np.asarray(target_s, dtype=float)
    return np.divide(work - target, target, out=np.zeros_like(work), where=target > 0)


def work_targets(problem: Problem, drive_s: np.ndarray) -> np.ndarray:
    """Each rep's share of its teams' calls plus drive, in seconds (the target of real hours)."""
    adjusted = drive_adjusted(problem, drive_s, 0.0)
    return adjusted.rep_target_s + np.asarray(drive_s, dtype=float)
