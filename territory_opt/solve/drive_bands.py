"""Balance bands over the drive a balanced alignment causes, not the drive of every customer's nearest rep.

With drive in the workload, the problem is built with each team's work = its calls + every need's drive from the
nearest rep of its team (`model.build.with_drive_bands`). Balance is what gives customers to reps that are not the
nearest, so a balanced alignment drives more than that: on the demo the field team's LP alignment drives 544 h
against 459 h from the nearest reps; on a sparse geography (Ohio, three times the demo's area) 1,006 h against
750 h. The bands, centred on too little work, then sat low: reps were pushed towards the top of their band, and
where the gap was large no alignment fitted under the bands' tops although the reps had the hours (the run ended
"infeasible: widen balance_tolerance").

Here each team's drive is taken from the LP relaxation of the alignment (GLOP over the units-whole problem, the
engine's own LP) under the bands, and the bands are set again from it until the two agree: per team, its
drive scale (balanced drive / nearest-rep drive) only grows, and stops when the LP drives at most `SETTLED` more
than the bands hold. When the bands admit no LP alignment, the tops are opened to the reps' capacity for that
round, to learn what balance costs. The scales are reported (`kpis.json` `workload.drive_bands`) and commands that
re-read a run (`explain`, `edits`) rebuild the same bands from them (`model.build.drive_scaled_bands`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.build import drive_scaled_bands
from ..model.problem import Problem
from .aggregate import bundle
from .bound import solve_lp
from .budget import Budget
from .candidates import Arcs, all_arcs, count_all_arcs, nearest_arcs
from .engine import FULL_LP_MAX_ARCS

MAX_ROUNDS = 6  # LP solves at most; the demo and Ohio settle in three
SETTLED = 0.005  # a team's LP drive within this share above what its bands hold: settled
NEAREST_REPS = 16  # candidate reps per need in the LP above engine.FULL_LP_MAX_ARCS eligible arcs


@dataclass(frozen=True)
class DriveBands:
    """Per team: drive from the nearest reps, the balanced LP alignment's drive (hours), and their ratio."""

    nearest_hours: np.ndarray
    balanced_hours: np.ndarray
    scale: np.ndarray
    rounds: int

    def summary(self, team_names: tuple[str, ...]) -> dict[str, dict[str, float]]:
        """kpis.json's `workload.drive_bands`: the scale with full precision (runs are rebuilt from it)."""
        return {name: {"nearest_rep_drive_hours": round(float(self.nearest_hours[t]), 2),
                       "balanced_drive_hours": round(float(self.balanced_hours[t]), 2),
                       "scale": float(self.scale[t])}
                for t, name in enumerate(team_names) if self.nearest_hours[t] > 0}


def _lp_arcs(problem: Problem) -> Arcs:
    return all_arcs(problem) if count_all_arcs(problem) <= FULL_LP_MAX_ARCS else nearest_arcs(problem, NEAREST_REPS)


def _lp_team_drive(working: Problem, arcs: Arcs, budget: Budget) -> np.ndarray | None:
    """Per team, the drive seconds of the LP alignment of `working` (None: the LP has no solution)."""
    lp = solve_lp(working, arcs, budget)
    if not lp.feasible:
        return None
    drive = working.workload(arcs.need, arcs.rep).astype(float) - working.need_workload_s[arcs.need]
    return np.bincount(working.need_team[arcs.need], weights=lp.x * drive, minlength=len(working.team_names))


def settle_drive_bands(problem: Problem, capacity_s: np.ndarray, tolerance: float | None,
                       budget: Budget) -> tuple[Problem, DriveBands | None]:
    """The problem with bands over its balanced drive (see the module's doc); None when drive is not per rep."""
    if not problem.per_rep_drive:
        return problem, None
    n_teams = len(problem.team_names)
    nearest = np.bincount(problem.need_team, weights=problem.nearest_drive_s, minlength=n_teams).astype(float)
    scale = np.ones(n_teams)
    bundled = bundle(problem)
    working = bundled.problem if bundled is not None else problem
    arcs = _lp_arcs(working)
    capacity_top = np.where(np.isfinite(capacity_s), np.floor(capacity_s), np.iinfo(np.int64).max // 4)
    balanced, rounds = nearest.copy(), 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        banded = drive_scaled_bands(problem, capacity_s, tolerance, scale)
        trial = working.replace(rep_target_s=banded.rep_target_s, rep_min_s=banded.rep_min_s,
                                rep_max_s=banded.rep_max_s)
        drive = _lp_team_drive(trial, arcs, budget)
        if drive is None:  # the bands admit no alignment: learn the drive with the tops at capacity
            drive = _lp_team_drive(trial.replace(rep_max_s=capacity_top.astype(np.int64)), arcs, budget)
        if drive is None:
            break
        balanced = drive
        held = nearest * scale
        if np.all(drive <= held * (1.0 + SETTLED) + 60.0):
            break
        scale = np.where(nearest > 0, np.maximum(scale, drive / np.maximum(nearest, 1.0)), 1.0)
    out = drive_scaled_bands(problem, capacity_s, tolerance, scale)
    return out, DriveBands(nearest_hours=nearest / 3600.0, balanced_hours=balanced / 3600.0, scale=scale,
                           rounds=rounds)
