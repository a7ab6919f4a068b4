"""Design mode's glue: aggregation keeps totals, the 1-median is the best own-customer home, and designed homes
sit on customer locations, reproducibly, with every rule still held by the assignment that follows."""

from __future__ import annotations

import numpy as np
import pytest

from territory_opt.errors import SolverLimitError
from territory_opt.metrics import check
from territory_opt.model.bands import balance_targets
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve import SolveParams, solve
from territory_opt.solve import centres as centres_module
from territory_opt.solve.budget import Budget
from territory_opt.solve.centres import (
    STARTS,
    aggregate,
    candidate_sites,
    capacitated_problem,
    demand_units,
    design_homes,
    one_medians,
    team_points,
)
from territory_opt.solve.design import DesignProblem, DesignResult, solve_design


def clustered_problem(n: int = 120, n_reps: int = 4, seed: int = 3, tolerance: float = 0.15,
                      minutes: bool = False) -> Problem:
    """Customers in four towns, reps all living in one corner: design should spread them out. `minutes`: every
    workload a whole number of minutes (as call times are)."""
    rng = np.random.default_rng(seed)
    towns = np.array([[0, 0], [40_000, 0], [0, 40_000], [40_000, 40_000]], dtype=float)
    xy = towns[np.arange(n) % 4] + rng.normal(0, 2_000, (n, 2))
    workload = rng.integers(1800, 3600, n).astype(np.int64)
    if minutes:
        workload = workload // 60 * 60
    membership = np.ones((n_reps, 1), dtype=bool)
    target, lo, hi = balance_targets(membership, np.zeros(n, np.int64), workload, np.full(n_reps, np.inf),
                                     tolerance)
    return Problem(
        customer_ids=np.array([f"C{i}" for i in range(n)], dtype=object),
        customer_xy=xy,
        rep_ids=np.array([f"R{r}" for r in range(n_reps)], dtype=object),
        rep_xy=np.full((n_reps, 2), -20_000.0) + np.arange(n_reps)[:, None] * 100.0,
        team_names=("T",),
        rep_in_team=membership,
        need_customer=np.arange(n),
        need_team=np.zeros(n, dtype=np.int64),
        need_visits=rng.integers(1, 4, n).astype(float),
        need_workload_s=workload,
        need_travel_weight=np.ones(n),
        need_locked_rep=np.full(n, NO_REP),
        need_current_rep=np.full(n, NO_REP),
        rep_target_s=target,
        rep_min_s=lo,
        rep_max_s=hi,
        max_reps_per_customer=1,
    )


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


def test_demand_units_are_exact_in_minutes_and_keep_the_total_when_coarsened() -> None:
    minutes = np.array([600, 1800, 0, 1200, 3600], dtype=np.int64)
    demand, unit_s = demand_units(minutes)
    assert unit_s == 600.0 and list(demand) == [1, 3, 0, 2, 6]  # the common divisor: no rounding at all
    odd = np.random.default_rng(0).integers(1, 10_000, 50_000)  # no common divisor; too many units for the flows
    demand, unit_s = demand_units(odd)
    assert unit_s == pytest.approx(odd.sum() / centres_module.MAX_DEMAND_UNITS)
    assert demand.sum() == round(odd.sum() / unit_s)  # rounded along the cumulative sum: the total stays
    assert np.abs(demand * unit_s - odd).max() < unit_s  # no point off by a whole unit
    # each point alone would round 600 s up to a 1,125 s unit: 1.9 times the real workload
    even = np.full(3_000, 600, dtype=np.int64)
    demand, unit_s = demand_units(np.r_[even, 7])
    assert abs(demand.sum() * unit_s - (even.sum() + 7)) < unit_s


def test_capacitated_start_keeps_each_reps_workload_in_its_band() -> None:
    """A rep becomes one centre, its band the centre's size bound: assigning each customer to the rep of its
    centre already holds every band (judged by metrics.check), where the plain p-median's clusters do not."""
    problem = clustered_problem(tolerance=0.01, minutes=True)
    reps = np.arange(problem.n_reps)
    points = team_points(problem, 0)
    design, unit_s = capacitated_problem(problem, 0, reps, points, problem.n_reps)
    assert unit_s == 60.0 and design.size_bounds is not None
    lo, hi = design.size_bounds
    assert problem.rep_min_s.max() <= lo * unit_s and hi * unit_s <= problem.rep_max_s.min()
    balanced = solve_design(design, Budget(3.0))
    plain = solve_design(DesignProblem(points.distance, points.weight, problem.n_reps), Budget(3.0))
    for result, holds in ((balanced, True), (plain, False)):
        rep_of_site = {int(site): rep for rep, site in enumerate(result.centres)}
        assignment = np.array([rep_of_site[int(site)] for site in result.assignment])  # points are the needs here
        broken = [v for v in check(problem, assignment) if v.rule == "balance"]
        assert (broken == []) == holds, broken


def test_team_sharing_reps_has_no_band_of_its_own() -> None:
    problem = clustered_problem()
    shared = problem.replace(team_names=("T", "U"), rep_in_team=np.ones((problem.n_reps, 2), dtype=bool))
    points = team_points(shared, 0)
    design, _ = capacitated_problem(shared, 0, np.arange(problem.n_reps), points, problem.n_reps)
    alone, _ = capacitated_problem(problem, 0, np.arange(problem.n_reps), points, problem.n_reps)
    assert design.size_bounds is None and alone.size_bounds is not None


def test_every_start_is_judged_and_the_best_one_kept() -> None:
    designed = design_homes(clustered_problem(), time_limit_s=5, seed=0, candidate_reps=4)
    first = [r for r in designed.rounds if r["round"] == 0]
    assert [r["start"] for r in first] == list(STARTS)
    kept = [r["objective"] for r in designed.rounds]
    assert min(kept) <= min(r["objective"] for r in first)
    team = designed.teams[0]
    assert np.isfinite(team.capacitated_objective) and team.capacitated_note == ""
    assert team.size_bounds is not None and np.isfinite(team.workload_unit_s)


def test_capacitated_start_falls_back_to_the_p_median(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the capacitated engine finds no answer, its start is the p-median's centres and the report says so."""
    def failing(problem: DesignProblem, budget: Budget, **kwargs: object) -> DesignResult:
        if not problem.is_uncapacitated:
            raise SolverLimitError("nothing within the budget")
        return solve_design(problem, budget, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(centres_module, "solve_design", failing)
    designed = design_homes(clustered_problem(), time_limit_s=5, seed=0, candidate_reps=4, starts=("capacitated",))
    alone = design_homes(clustered_problem(), time_limit_s=5, seed=0, candidate_reps=4, starts=("p-median",))
    assert designed.rounds[0]["objective"] == alone.rounds[0]["objective"]  # the p-median's centres
    assert np.array_equal(designed.rep_xy, alone.rep_xy)
    assert "nothing within the budget" in designed.teams[0].capacitated_note
    assert np.isfinite(designed.teams[0].pmedian_objective) and np.isnan(designed.teams[0].capacitated_objective)


def test_unknown_start_is_refused() -> None:
    with pytest.raises(ValueError, match="starts"):
        design_homes(clustered_problem(), time_limit_s=5, seed=0, starts=("voronoi",))
