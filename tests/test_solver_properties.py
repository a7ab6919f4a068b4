"""Solver invariants on random small instances, judged by `metrics.check` and by brute force, never by the solver."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from territory_opt.errors import InfeasibleError
from territory_opt.metrics import check
from territory_opt.model.problem import Problem
from territory_opt.solve import Budget, SolveParams, solve
from territory_opt.solve.zones import has_free_reps

from .problems import brute_force, build_problem, n_alignments, problems, random_problem, total_cost

PARAMS = SolveParams(candidate_reps=2)
BUDGET = Budget(work_s=10)
BRUTE_FORCE_MAX = 5_000  # alignments to enumerate (a few draws would take a minute each)


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
    """Infeasible exactly when enumeration finds nothing; otherwise feasible, costed as reported, with a bound no
    higher than the best alignment, and optimal up to cost rounding unless reps had to be placed in zones first."""
    assume(n_alignments(problem) <= BRUTE_FORCE_MAX)
    best = brute_force(problem)
    params = SolveParams(candidate_reps=problem.n_reps)
    if best is None:
        event("infeasible")
        with pytest.raises(InfeasibleError):
            solve(problem, BUDGET, seed=0, params=params)
        return
    result = solve(problem, BUDGET, seed=0, params=params)
    assert check(problem, result.assignment) == []
    rounding = 0.01 * problem.n_needs  # costs are integers of 1/100 visit-km inside CP-SAT
    cost = total_cost(problem, result.assignment)
    assert result.objective == pytest.approx(cost, abs=rounding + 1e-6)
    assert result.bound <= best[0] + rounding + 1e-6  # a valid bound even where optimality is not promised
    if has_free_reps(problem):
        event("feasible, reps placed in zones first: bound and feasibility only")
        return
    event("feasible")
    assert cost <= best[0] + rounding + 1e-6


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
    problem = build_problem(
        [[0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0], [9000.0, 0.0]], rep_ids=np.array(["A", "B", "AB"], dtype=object),
        need_customer=[0, 0], need_team=[0, 1], team_names=("T0", "T1"),
        rep_in_team=[[True, False], [False, True], [True, True]], rep_target_s=np.zeros(3),
        rep_max_s=np.full(3, 10_000, np.int64))
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

    problem = random_problem(600, 12, seed=5, tolerance=0.1)
    params = SolveParams(candidate_reps=6)
    large = _solve_large(problem, params, {})
    exact = solve(problem, BUDGET, seed=0, params=params)
    assert check(problem, large.assignment) == [] and large.engine == "large"
    assert large.objective <= 1.05 * exact.objective
