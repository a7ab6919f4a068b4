"""Solver invariants on random small instances, judged by `metrics.check` and by brute force, never by the solver."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from territory_opt.errors import InfeasibleError
from territory_opt.metrics import check
from territory_opt.model.bands import balance_targets
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve import Budget, SolveParams, solve
from territory_opt.solve.scaling import COST_SCALE, balance_units
from territory_opt.solve.zones import has_free_reps


@st.composite
def problems(draw: st.DrawFn, max_customers: int = 12, max_reps: int = 5, zones: bool = True,
             rules: bool = True) -> Problem:
    """Random instances: reps in one or more teams, customers needing one or more teams, optional locks,
    hard-boundary zones (some teams bound, some reps pinned), skills, exclusions, current reps with a soft
    continuity cost and a hard cap on moves, value and account balance, workloads that depend on the rep, and
    per-customer contact caps."""
    n_teams = draw(st.integers(1, 3))
    n_reps = draw(st.integers(n_teams, max_reps))
    n_customers = draw(st.integers(min(n_reps, max_customers), max_customers))  # mostly enough work for everyone
    membership = np.zeros((n_reps, n_teams), dtype=bool)
    for r in range(n_reps):
        membership[r, r % n_teams] = True  # every team has a rep
        for t in range(n_teams):
            if draw(st.booleans()) and draw(st.booleans()):
                membership[r, t] = True  # some reps serve several teams
    need_customer, need_team = [], []
    for c in range(n_customers):
        teams = draw(st.sets(st.integers(0, n_teams - 1), min_size=1, max_size=n_teams))
        for t in sorted(teams):
            need_customer.append(c)
            need_team.append(t)
    n = len(need_customer)
    coords = st.floats(0, 50_000, allow_nan=False)
    customer_xy = np.array(draw(st.lists(st.tuples(coords, coords), min_size=n_customers, max_size=n_customers)))
    rep_xy = np.array(draw(st.lists(st.tuples(coords, coords), min_size=n_reps, max_size=n_reps)))
    workload = np.array(draw(st.lists(st.integers(600, 7200), min_size=n, max_size=n)), dtype=np.int64)
    visits = np.array(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), dtype=float)
    tolerance = draw(st.sampled_from([0.05, 0.3, 0.6, 0.9, 0.9]))
    need_team_arr = np.array(need_team, dtype=np.int64)
    capacity = np.full(n_reps, np.inf)
    target, lo, hi = balance_targets(membership, need_team_arr, workload, capacity, tolerance)
    locked = np.full(n, NO_REP, dtype=np.int64)
    for i in range(n):
        if draw(st.integers(0, 9)) == 0:
            members = np.flatnonzero(membership[:, need_team[i]])
            locked[i] = int(members[draw(st.integers(0, len(members) - 1))])
    n_kinds = draw(st.integers(0, 2)) if zones else 0
    names = tuple(tuple(f"Z{k}{z}" for z in range(draw(st.integers(1, 3)))) for k in range(n_kinds))
    need_zone = np.full((n_kinds, n), -1, dtype=np.int64)
    rep_zone = np.full((n_kinds, n_reps), -1, dtype=np.int64)
    for k in range(n_kinds):
        respects = [draw(st.booleans()) for _ in range(n_teams)]
        customer_zone = [draw(st.integers(0, len(names[k]) - 1)) for _ in range(n_customers)]
        need_zone[k] = [customer_zone[c] if respects[t] else -1 for c, t in zip(need_customer, need_team, strict=True)]
        rep_zone[k] = [draw(st.integers(-1, len(names[k]) - 1)) if draw(st.booleans()) else -1 for _ in range(n_reps)]
    skills = draw(st.integers(0, 2)) == 0 if rules else False
    need_skills = np.array([draw(st.sampled_from([0, 0, 1, 2, 3])) for _ in range(n)], dtype=np.int64) \
        if skills else None
    rep_skills = np.array([draw(st.sampled_from([1, 2, 3, 3, 3])) for _ in range(n_reps)], dtype=np.int64) \
        if skills else None
    current = np.full(n, NO_REP, dtype=np.int64)
    excluded: list[int] = []
    if rules:
        for i in range(n):
            members = np.flatnonzero(membership[:, need_team[i]])
            if draw(st.integers(0, 2)) == 0:
                current[i] = int(members[draw(st.integers(0, len(members) - 1))])
            if draw(st.integers(0, 9)) == 0:
                excluded.append(i * n_reps + int(members[draw(st.integers(0, len(members) - 1))]))
    max_moved = draw(st.sampled_from([None, None, None, 0, 1, 3])) if rules else None
    metric_names: tuple[str, ...] = ()
    need_metric = rep_metric_min = rep_metric_max = np.zeros((0, 0), np.int64)
    if rules and draw(st.integers(0, 3)) == 0:  # balance value and accounts too, each with its own tolerance
        metric_names = ("value", "accounts")
        value = np.array(draw(st.lists(st.integers(1, 100), min_size=n, max_size=n)), dtype=np.int64)
        need_metric = np.vstack([value, np.ones(n, dtype=np.int64)])
        bands = [balance_targets(membership, need_team_arr, row, capacity, draw(st.sampled_from([0.3, 0.6, 0.9])))
                 for row in need_metric]
        rep_metric_min = np.vstack([b[1] for b in bands])
        rep_metric_max = np.vstack([b[2] for b in bands])
    arc_workload = None
    if rules and draw(st.integers(0, 3)) == 0:  # workload depends on the rep (e.g. drive time from its home)
        drive = np.array(draw(st.lists(st.integers(0, 1800), min_size=n * n_reps, max_size=n * n_reps)))
        arc_workload = workload[:, None] + drive.reshape(n, n_reps).astype(np.int64)
    return Problem(
        customer_ids=np.array([f"C{c}" for c in range(n_customers)], dtype=object),
        customer_xy=customer_xy,
        rep_ids=np.array([f"R{r}" for r in range(n_reps)], dtype=object),
        rep_xy=rep_xy,
        team_names=tuple(f"T{t}" for t in range(n_teams)),
        rep_in_team=membership,
        need_customer=np.array(need_customer, dtype=np.int64),
        need_team=need_team_arr,
        need_visits=visits,
        need_workload_s=workload,
        need_travel_weight=np.ones(n),
        need_locked_rep=locked,
        need_current_rep=current,
        rep_target_s=target,
        rep_min_s=lo,
        rep_max_s=hi,
        max_reps_per_customer=draw(st.integers(1, 3)),
        detour_factor=1.3,
        zone_kinds=tuple(f"kind{k}" for k in range(n_kinds)),
        zone_names=names,
        need_zone=need_zone if n_kinds else np.zeros((0, 0), np.int64),
        rep_zone=rep_zone if n_kinds else np.zeros((0, 0), np.int64),
        need_skills=need_skills,
        rep_skills=rep_skills,
        skill_names=("a", "b") if skills else (),
        excluded=np.unique(np.array(excluded, dtype=np.int64)),
        max_moved=max_moved,
        continuity_weight=float(draw(st.sampled_from([0.0, 5.0]))) if rules else 0.0,
        balance_weight=float(draw(st.sampled_from([0.0, 0.0, 3.0, 60.0]))) if rules else 0.0,
        metric_names=metric_names,
        need_metric=need_metric,
        rep_metric_min=rep_metric_min,
        rep_metric_max=rep_metric_max,
        arc_workload_s=arc_workload,
        max_moved_value=draw(st.sampled_from([None, None, 0, 50, 150])) if rules else None,
        need_value=np.array(draw(st.lists(st.integers(1, 60), min_size=n, max_size=n)), dtype=np.int64),
        customer_max_reps=np.array(draw(st.lists(st.integers(1, 3), min_size=n_customers, max_size=n_customers)),
                                   dtype=np.int64) if rules and draw(st.integers(0, 3)) == 0 else None,
    )


def brute_force_best(problem: Problem) -> float | None:
    """Cheapest feasible alignment by enumeration (tiny instances only); None when none is feasible."""
    options = [np.flatnonzero(problem.rep_in_team[:, t]) for t in problem.need_team]
    best = None
    needs = np.arange(problem.n_needs)
    for combo in itertools.product(*options):
        assignment = np.array(combo, dtype=np.int64)
        if check(problem, assignment):
            continue
        cost = float(problem.arc_cost(needs, assignment).sum()) + balance_units(problem, assignment) / COST_SCALE
        best = cost if best is None or cost < best else best
    return best


def total_cost(problem: Problem, assignment: np.ndarray) -> float:
    """Travel and continuity, plus the soft balance term counted independently of the solver's model."""
    travel = float(problem.arc_cost(np.arange(problem.n_needs), assignment).sum())
    load = np.bincount(assignment, weights=problem.workload(np.arange(problem.n_needs), assignment),
                       minlength=problem.n_reps)
    minutes = np.ceil(np.abs(load - np.rint(problem.rep_target_s)) / 60.0 - 1e-9)
    return travel + float(minutes.sum()) * np.rint(problem.balance_weight / 60.0 * 100) / 100


PARAMS = SolveParams(candidate_reps=2)
BUDGET = Budget(work_s=10)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_answer_satisfies_every_hard_rule(problem: Problem) -> None:
    try:
        result = solve(problem, BUDGET, seed=0, params=PARAMS)
    except InfeasibleError as exc:
        event("infeasible")
        assert exc.findings, "an infeasibility must say what is short"
        return
    event("solved")
    assert check(problem, result.assignment) == []
    assert result.bound <= result.objective + 1e-6
    assert 0.0 <= result.gap <= 1.0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_customers=5, max_reps=4))
def test_matches_brute_force_on_tiny_instances(problem: Problem) -> None:
    """Infeasible exactly when enumeration finds nothing; otherwise optimal up to cost rounding."""
    best = brute_force_best(problem)
    params = SolveParams(candidate_reps=problem.n_reps)
    event("infeasible" if best is None else "feasible")
    if best is None:
        with pytest.raises(InfeasibleError):
            solve(problem, BUDGET, seed=0, params=params)
        return
    result = solve(problem, BUDGET, seed=0, params=params)
    assert check(problem, result.assignment) == []
    if has_free_reps(problem):
        return  # reps are placed in zones first: feasible for sure, optimal not promised
    rounding = 0.01 * problem.n_needs  # costs are integers of 1/100 visit-km inside CP-SAT
    assert result.objective == pytest.approx(total_cost(problem, result.assignment), abs=rounding + 1e-6)
    assert total_cost(problem, result.assignment) <= best + rounding + 1e-6
    assert result.bound <= best + rounding + 1e-6


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_customers=20), st.sampled_from([1.0, 10.0, 1000.0]))
def test_contiguity_moves_keep_every_hard_rule(problem: Problem, weight: float) -> None:
    """The soft contiguity pass may trade travel for compactness, never a hard rule; its cost is bounded."""
    try:
        plain = solve(problem, BUDGET, seed=0, params=PARAMS)
    except InfeasibleError:
        return
    result = solve(problem, BUDGET, seed=0, params=SolveParams(candidate_reps=2, contiguity_weight=weight))
    assert check(problem, result.assignment) == []
    moves = int(result.stats.get("contiguity_moves", 0))
    event(f"contiguity moves: {min(moves, 3)}")
    assert result.objective <= plain.objective + moves * weight + 0.01 * problem.n_needs + 1e-6
    assert result.bound <= result.objective + 1e-6


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.integers(0, 3))
def test_same_seed_same_answer(problem: Problem, seed: int) -> None:
    try:
        first = solve(problem, BUDGET, seed=seed, params=PARAMS)
    except InfeasibleError:
        return
    second = solve(problem, BUDGET, seed=seed, params=PARAMS)
    assert np.array_equal(first.assignment, second.assignment)
    assert first.objective == second.objective


def test_contact_cap_lets_one_rep_cover_several_teams() -> None:
    """A customer needing two teams gets the rep who is in both when the cap is 1."""
    problem = Problem(
        customer_ids=np.array(["C0"], dtype=object),
        customer_xy=np.array([[0.0, 0.0]]),
        rep_ids=np.array(["A", "B", "AB"], dtype=object),
        rep_xy=np.array([[0.0, 0.0], [0.0, 0.0], [9000.0, 0.0]]),
        team_names=("T0", "T1"),
        rep_in_team=np.array([[True, False], [False, True], [True, True]]),
        need_customer=np.array([0, 0]),
        need_team=np.array([0, 1]),
        need_visits=np.ones(2),
        need_workload_s=np.array([3600, 3600]),
        need_travel_weight=np.ones(2),
        need_locked_rep=np.full(2, NO_REP),
        need_current_rep=np.full(2, NO_REP),
        rep_target_s=np.zeros(3),
        rep_min_s=np.zeros(3, dtype=np.int64),
        rep_max_s=np.full(3, 10_000),
        max_reps_per_customer=1,
    )
    result = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=1))
    assert problem.rep_ids[result.assignment].tolist() == ["AB", "AB"]
    assert check(problem, result.assignment) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(zones=False))
def test_large_engine_answers_satisfy_every_rule(problem: Problem) -> None:
    """The large engine (LP rounding, repair, local search) may fail to find an answer, never return a bad one."""
    from territory_opt.errors import SolverLimitError
    from territory_opt.solve.engine import _solve_large

    try:
        result = _solve_large(problem, PARAMS, {})
    except SolverLimitError:
        event("large engine found nothing")
        return
    event("large engine answered")
    assert check(problem, result.assignment) == []
    assert result.bound <= result.objective + 1e-6


def test_large_engine_is_close_to_the_exact_one() -> None:
    """On 600 customers and 12 reps the local search ends within a few per cent of CP-SAT's optimum."""
    from territory_opt.solve.engine import _solve_large

    rng = np.random.default_rng(5)
    n, r = 600, 12
    rep_in_team = np.ones((r, 1), dtype=bool)
    workload = rng.integers(600, 3600, size=n).astype(np.int64)
    target, lo, hi = balance_targets(rep_in_team, np.zeros(n, np.int64), workload, np.full(r, np.inf), 0.1)
    problem = Problem(
        customer_ids=np.array([f"C{i}" for i in range(n)], dtype=object),
        customer_xy=rng.uniform(0, 100_000, size=(n, 2)),
        rep_ids=np.array([f"R{i}" for i in range(r)], dtype=object),
        rep_xy=rng.uniform(0, 100_000, size=(r, 2)),
        team_names=("field",), rep_in_team=rep_in_team,
        need_customer=np.arange(n), need_team=np.zeros(n, np.int64), need_visits=np.ones(n),
        need_workload_s=workload, need_travel_weight=np.ones(n), need_locked_rep=np.full(n, NO_REP),
        need_current_rep=np.full(n, NO_REP), rep_target_s=target, rep_min_s=lo, rep_max_s=hi,
        max_reps_per_customer=1,
    )
    params = SolveParams(candidate_reps=6)
    large = _solve_large(problem, params, {})
    exact = solve(problem, BUDGET, seed=0, params=params)
    assert check(problem, large.assignment) == [] and large.engine == "large"
    assert large.objective <= 1.05 * exact.objective
