"""Day assignment and the real-hours feedback, on hand-made cases."""

from __future__ import annotations

import numpy as np

from territory_opt.routing.days import spread_visits, weekday_sectors
from territory_opt.routing.feedback import drive_adjusted

from .problems import build_problem


def test_sectors_split_the_load_evenly_by_direction() -> None:
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    xy = np.column_stack([np.cos(angles), np.sin(angles)]) * 10_000
    sector = weekday_sectors(xy, np.zeros(2), np.ones(40), 5)
    assert np.bincount(sector, minlength=5).tolist() == [8] * 5
    for day in range(5):  # each day's customers are one arc: consecutive positions around the circle
        members = np.flatnonzero(sector == day)
        steps = np.diff(np.concatenate([members, members[:1] + 40])) % 40
        assert (steps == 1).sum() == len(members) - 1


def test_visits_are_spread_evenly_and_counted_exactly() -> None:
    visits = np.array([1, 2, 4, 8, 3])
    weekday = np.array([0, 1, 2, 3, 4])
    plan = spread_visits(visits, np.full(5, 1800.0), weekday, weeks=4, days=5)
    counts = np.bincount([v.customer for v in plan], minlength=5)
    assert counts.tolist() == visits.tolist()
    fortnightly = sorted(v.week for v in plan if v.customer == 1)
    assert fortnightly[1] - fortnightly[0] == 2  # every other week
    weekly = sorted(v.week for v in plan if v.customer == 2)
    assert weekly == [0, 1, 2, 3]
    twice = [(v.week, v.day) for v in plan if v.customer == 3]
    assert len(set(twice)) == 8 and all(sum(1 for w, _ in twice if w == k) == 2 for k in range(4))


def test_monthly_customers_fill_the_weeks_evenly() -> None:
    plan = spread_visits(np.ones(20, dtype=np.int64), np.full(20, 1800.0), np.zeros(20, dtype=np.int64), 4, 5)
    assert np.bincount([v.week for v in plan], minlength=4).tolist() == [5, 5, 5, 5]


def test_long_drives_leave_fewer_call_hours() -> None:
    n = 4
    problem = build_problem(np.zeros((n, 2)), np.zeros((2, 2)), rep_ids=np.array(["A", "B"], dtype=object),
                            workload=36_000, rep_target_s=np.full(2, 72_000.0),
                            rep_min_s=np.full(2, 64_800, np.int64), rep_max_s=np.full(2, 79_200, np.int64))
    adjusted = drive_adjusted(problem, np.array([0.0, 36_000.0]), 0.1)
    # work = 144,000 s calls + 36,000 s drive, 90,000 s each; B drives 36,000 s, so it may call 54,000 s +/- 9,000
    assert adjusted.rep_min_s.tolist() == [81_000, 45_000] and adjusted.rep_max_s.tolist() == [99_000, 63_000]
