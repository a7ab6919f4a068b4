"""The large engine gives every rep arcs of its own reach, then widens its candidate reps, while the flow cannot keep
every rep a rounding margin inside its band, instead of repairing a rounding that sits on the band edges (at
100,000 customers in unit bundles that repair ran for minutes through swaps and found nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from territory_opt.metrics import check
from territory_opt.model.problem import Problem
from territory_opt.solve.budget import Budget
from territory_opt.solve.candidates import reach_arcs
from territory_opt.solve.engine import ROUNDING_MARGIN_SHARE, SolveParams, rounding_margin_s, solve

from .problems import build_problem


def two_towns(west_s: int = 1100, east_s: int = 900) -> Problem:
    """Ten customers by two reps in the west and ten by two reps in the east, 100 km apart; the west's work fills
    its two reps to the top of a +/-10 % band exactly (1100 x 10 = 2 x 1.1 x a quarter of 20,000 s)."""
    rng = np.random.default_rng(3)
    west = rng.uniform(0, 5_000, size=(10, 2))
    east = rng.uniform(0, 5_000, size=(10, 2)) + np.array([100_000.0, 0.0])
    reps = [[1_000, 1_000], [4_000, 4_000], [101_000, 1_000], [104_000, 4_000]]
    workload = np.array([west_s] * 10 + [east_s] * 10)
    return build_problem(np.vstack([west, east]), reps, workload=workload, tolerance=0.10)


def test_the_margin_is_twice_the_largest_need_but_at_most_a_share_of_the_narrowest_band() -> None:
    problem = two_towns()
    width = int((problem.rep_max_s - problem.rep_min_s).min())
    assert width == 1000  # 5500 - 4500
    assert rounding_margin_s(problem) == int(ROUNDING_MARGIN_SHARE * width) < 2 * 1100
    wide = problem.replace(rep_min_s=np.zeros(4, np.int64), rep_max_s=np.full(4, 100_000, np.int64))
    assert rounding_margin_s(wide) == 2 * 1100  # small needs in wide bands: twice the largest need


def test_reps_at_their_band_edges_first_get_their_own_reach() -> None:
    problem = two_towns()
    result = solve(problem, Budget(work_s=2.0), seed=0, params=SolveParams(engine="large", candidate_reps=2))
    assert check(problem, result.assignment) == []
    assert result.engine == "large"
    # with the 2 nearest reps of each customer the west's reps sit on their tops; each rep's arcs to its own nearest
    # customers (reach_arcs) give the flow its margin without more reps for every customer
    assert result.candidate_reps == 2 and result.stats["reach_arcs"] == 1


def test_without_the_reach_the_candidates_widen(monkeypatch: pytest.MonkeyPatch) -> None:
    import territory_opt.solve.engine as engine

    monkeypatch.setattr(engine, "reach_arcs", lambda problem: (np.zeros(0, np.int64), np.zeros(0, np.int64)))
    problem = two_towns()
    result = solve(problem, Budget(work_s=2.0), seed=0, params=SolveParams(engine="large", candidate_reps=2))
    assert check(problem, result.assignment) == []
    assert result.candidate_reps == 4  # no room for the margin with 2 candidates: 4 are


def test_the_reach_is_each_reps_nearest_customers_worth_about_twice_its_band_top() -> None:
    problem = two_towns()
    need, rep = reach_arcs(problem)
    count = int(np.ceil(2 * problem.rep_max_s.max() / problem.need_workload_s.mean()))  # 2 x 5,500 / 1,000: 11
    for r in range(problem.n_reps):
        mine = need[rep == r]
        assert len(mine) == len(set(mine.tolist())) == count
        far = np.hypot(*(problem.customer_xy[problem.need_customer[mine]] - problem.rep_xy[r]).T).max()
        others = np.setdiff1d(np.arange(problem.n_needs), mine)
        if len(others):  # the nearest ones
            assert far <= np.hypot(*(problem.customer_xy[problem.need_customer[others]] - problem.rep_xy[r]).T).min()


def test_room_in_the_bands_keeps_the_candidates() -> None:
    problem = two_towns(west_s=1000, east_s=1000)  # each town's reps sit mid-band
    result = solve(problem, Budget(work_s=2.0), seed=0, params=SolveParams(engine="large", candidate_reps=2))
    assert check(problem, result.assignment) == []
    assert result.candidate_reps == 2
