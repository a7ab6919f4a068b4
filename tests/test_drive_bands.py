"""solve/drive_bands.py: bands over the drive a balanced alignment causes. A rep living away from the customers must
take some of them for balance, and drives for it: bands centred on the nearest reps' drive leave no alignment, the
settled ones do, and sit where the reps' loads then are."""

from __future__ import annotations

import json

import numpy as np
import pytest

from territory_opt.errors import InfeasibleError
from territory_opt.metrics import check, rep_loads
from territory_opt.model.build import drive_scaled_bands
from territory_opt.model.problem import Problem
from territory_opt.solve import Budget, solve
from territory_opt.solve.drive_bands import settle_drive_bands

from .problems import build_problem
from .test_drive import with_drive

NO_CAPACITY = np.full(3, np.inf)
LP_BUDGET = Budget(work_s=None, wall_s=30)


def town_and_outsider() -> Problem:
    """24 quarter-hour customers in a 6 x 4 km town where R0 and R2 live; R1 lives 40 km away."""
    xy = np.array([[1000.0 * (i % 6), 1000.0 * (i // 6)] for i in range(24)])
    reps = np.array([[0.0, 0.0], [40_000.0, 0.0], [5000.0, 3000.0]])
    return with_drive(build_problem(xy, reps, workload=900, visits=1.0))


def test_bands_on_the_nearest_reps_drive_admit_no_alignment_the_settled_ones_do() -> None:
    problem = town_and_outsider()
    nearest = drive_scaled_bands(problem, NO_CAPACITY, 0.10)
    with pytest.raises(InfeasibleError):
        solve(nearest, Budget(work_s=5), seed=0)
    settled, bands = settle_drive_bands(problem, NO_CAPACITY, 0.10, LP_BUDGET)
    assert bands is not None and bands.scale[0] > 1.1  # R1's share of the town is driven from 40 km
    assert (settled.rep_max_s > nearest.rep_max_s).all()
    result = solve(settled, Budget(work_s=5), seed=0)
    assert check(settled, result.assignment) == []


def test_settled_bands_are_centred_on_what_the_reps_then_carry() -> None:
    problem = town_and_outsider()
    nearest = drive_scaled_bands(problem, NO_CAPACITY, 0.15)
    settled, _ = settle_drive_bands(problem, NO_CAPACITY, 0.15, LP_BUDGET)
    loads = rep_loads(settled, solve(settled, Budget(work_s=5), seed=0).assignment).workload_s
    mean = float(loads.mean())
    assert abs(mean - float(settled.rep_target_s.mean())) / mean < 0.02
    assert (mean - float(nearest.rep_target_s.mean())) / mean > 0.04  # the nearest reps' drive: 5 % short


def test_without_drive_per_rep_nothing_is_settled() -> None:
    problem = build_problem([[0.0, 0.0], [1000.0, 0.0]], [[0.0, 0.0], [5000.0, 0.0]], tolerance=0.1)
    same, bands = settle_drive_bands(problem, np.full(2, np.inf), 0.1, LP_BUDGET)
    assert same is problem and bands is None


def test_a_run_rebuilds_its_bands_exactly_from_the_reported_scales() -> None:
    """explain and edits read kpis.json's `workload.drive_bands` back (results/explain.with_run_bands)."""
    problem = town_and_outsider()
    settled, bands = settle_drive_bands(problem, NO_CAPACITY, 0.10, LP_BUDGET)
    assert bands is not None
    reported = json.loads(json.dumps(bands.summary(problem.team_names)))
    scale = np.array([reported[name]["scale"] for name in problem.team_names])
    rebuilt = drive_scaled_bands(problem, NO_CAPACITY, 0.10, scale)
    assert rebuilt.rep_min_s.tolist() == settled.rep_min_s.tolist()
    assert rebuilt.rep_max_s.tolist() == settled.rep_max_s.tolist()
    assert reported["T"]["balanced_drive_hours"] > reported["T"]["nearest_rep_drive_hours"]
