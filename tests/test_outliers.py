"""far_from_own_rep (prepare/quality.py): a customer of a travelling team far beyond the median distance of its own
rep's customers is warned about even though every hard rule holds; and kpis' per-team max and p95 distances
(metrics.team_distances)."""

from __future__ import annotations

import numpy as np
import pytest

from territory_opt.metrics import check, team_distances
from territory_opt.model.problem import Problem
from territory_opt.prepare.quality import MAX_OUTLIERS, outlier_findings

from .problems import build_problem


def far_problem() -> Problem:
    """R0 at the origin with customers at 10, 12, 14 and 300 km (detour 1); R1 at 1000 km with one at 1010 km."""
    xs = [10.0, 12.0, 14.0, 300.0, 1010.0]
    return build_problem([[x * 1000.0, 0.0] for x in xs], [[0.0, 0.0], [1_000_000.0, 0.0]])


ASSIGN = np.array([0, 0, 0, 0, 1])


def test_a_300_km_trip_passes_the_rules_but_is_warned_about() -> None:
    problem = far_problem()
    assert check(problem, ASSIGN) == []
    found = outlier_findings(problem, ASSIGN, np.array([True]), 3.0, 40.0, "customers.csv", first_row=2)
    assert [(f.message, f.row, f.field) for f in found] == [(
        "far_from_own_rep: customer C3 is 300.0 km by road from its rep R0 (team T), whose customers lie a median "
        "13.0 km from home: check its coordinates or why no nearer rep takes it", 5, "quality.outlier_factor")]


@pytest.mark.parametrize(("factor", "min_km", "travels", "expected"), [
    (3.0, 400.0, True, 0),  # beyond the factor but not the minimum
    (30.0, 40.0, True, 0),  # 300 km is less than 30 x the 13 km median
    (3.0, 40.0, False, 0),  # a team that does not travel (inside sales) is never warned about
    (3.0, 0.0, True, 1),  # only C3: R1's lone customer is its own median
])
def test_both_thresholds_must_pass_and_only_travelling_teams_count(factor: float, min_km: float, travels: bool,
                                                                    expected: int) -> None:
    found = outlier_findings(far_problem(), ASSIGN, np.array([travels]), factor, min_km, "customers.csv")
    assert len(found) == expected


def test_many_outliers_are_summed_up() -> None:
    n = MAX_OUTLIERS + 3
    near, far = [[1000.0 * (i + 1), 0.0] for i in range(3 * n)], [[500_000.0 + i, 0.0] for i in range(n)]
    problem = build_problem(near + far, [[0.0, 0.0]])
    found = outlier_findings(problem, np.zeros(4 * n, np.int64), np.array([True]), 3.0, 40.0, "c.csv")
    assert len(found) == MAX_OUTLIERS + 1
    assert found[-1].message == "far_from_own_rep: ... and 3 more customers far from their own rep"


def test_team_distances_are_the_max_and_p95_of_customer_to_rep_km() -> None:
    problem = far_problem()
    km = [10.0, 12.0, 14.0, 300.0, 10.0]
    assert team_distances(problem, ASSIGN) == {"T": {"max_km": 300.0, "p95_km": round(float(np.percentile(km, 95)),
                                                                                       3)}}
