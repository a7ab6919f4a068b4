"""Design mode's glue: aggregation keeps totals, the 1-median is the best own-customer home, and designed homes
sit on customer locations, reproducibly, with every rule still held by the assignment that follows."""

from __future__ import annotations

import numpy as np

from territory_opt.metrics import check
from territory_opt.model.problem import Problem
from territory_opt.solve import Budget, SolveParams, solve
from territory_opt.solve.centres import aggregate, candidate_sites, design_homes, one_medians

from .problems import build_problem


def clustered_problem(n: int = 120, n_reps: int = 4, seed: int = 3) -> Problem:
    """Customers in four towns, reps all living in one corner: design should spread them out."""
    rng = np.random.default_rng(seed)
    towns = np.array([[0, 0], [40_000, 0], [0, 40_000], [40_000, 40_000]], dtype=float)
    xy = towns[np.arange(n) % 4] + rng.normal(0, 2_000, (n, 2))
    workload = rng.integers(1800, 3600, n).astype(np.int64)
    homes = np.full((n_reps, 2), -20_000.0) + np.arange(n_reps)[:, None] * 100.0
    return build_problem(xy, homes, workload=workload, visits=rng.integers(1, 4, n).astype(float), tolerance=0.15)


def test_aggregation_keeps_weight_and_demand() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10_000, (5_000, 2))
    weight, demand = rng.uniform(1, 3, 5_000), rng.integers(1, 9, 5_000)
    points, w, d = aggregate(xy, weight, demand, 300)
    assert len(points) <= 300 and np.isclose(w.sum(), weight.sum()) and d.sum() == demand.sum()
    few, w_few, d_few = aggregate(xy[:10], weight[:10], demand[:10], 300)  # few enough: returned as they are
    assert np.array_equal(few, xy[:10]) and np.array_equal(w_few, weight[:10]) and np.array_equal(d_few, demand[:10])


def test_candidate_sites_are_spread_demand_points() -> None:
    xy = np.random.default_rng(1).uniform(0, 10_000, (2_000, 2))
    sites = candidate_sites(xy, np.ones(2_000), 100)
    assert 0 < len(sites) <= 100 and len(np.unique(sites)) == len(sites)


def test_one_median_is_the_cheapest_own_customer() -> None:
    problem = clustered_problem(n=12, n_reps=1)
    best = one_medians(problem, np.zeros(12, np.int64), problem.rep_xy)[0]
    weight = problem.need_visits
    costs = [float((np.hypot(*(problem.customer_xy - c).T) * weight).sum()) for c in problem.customer_xy]
    assert np.allclose(best, problem.customer_xy[int(np.argmin(costs))])


def test_designed_homes_cut_travel_keep_rules_and_repeat() -> None:
    problem = clustered_problem()
    params, budget = SolveParams(candidate_reps=4), Budget(work_s=5)
    designed = design_homes(problem, time_limit_s=5, seed=0, candidate_reps=4)
    assert designed.designed.all()
    on_customer = [np.isclose(problem.customer_xy, home).all(axis=1).any() for home in designed.rep_xy]
    assert all(on_customer)
    before = solve(problem, budget, seed=0, params=params)
    after = solve(problem.replace(rep_xy=designed.rep_xy), budget, seed=0, params=params)
    assert check(problem.replace(rep_xy=designed.rep_xy), after.assignment) == []
    assert after.objective < 0.6 * before.objective  # reps no longer all live in a corner
    again = design_homes(problem, time_limit_s=5, seed=0, candidate_reps=4)
    assert np.array_equal(designed.rep_xy, again.rep_xy)
    assert designed.rounds and all(r["objective"] > 0 for r in designed.rounds)
