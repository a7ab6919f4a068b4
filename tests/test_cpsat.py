"""The exact engine's model (solve/cpsat.py): how many constraints each rule adds, that its optimum is the brute
force's on tiny instances (judged by `metrics.check` and the tests' own costs), and that a run's `Stop` ends it."""

from __future__ import annotations

import threading
import time

import numpy as np
from hypothesis import HealthCheck, assume, event, given, settings

from territory_opt.metrics import check
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve.budget import Budget, Stop
from territory_opt.solve.candidates import all_arcs
from territory_opt.solve.cpsat import build_model, solve_cpsat

from .problems import brute_force, build_problem, n_alignments, problems, random_problem

T, F = True, False


def every_rule_problem() -> Problem:
    """Customer C0 needs teams A and B (cap 1: capped), C1 team A. Reps R0 (A and B), R1 (A), R2 (B, pinned to
    depot D0). n0 = (C0, A) in D0, currently R1; n1 = (C0, B) in D0, locked to R0 and never R2; n2 = (C1, A) in D1.
    Workload and accounts balanced; moves limited by count and value; a soft balance term. The only feasible
    answer: R0, R0 (the cap), R1 (R0 works in D0)."""
    return build_problem(
        [[0.0, 0.0], [5000.0, 0.0]], [[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]], need_customer=[0, 0, 1],
        need_team=[0, 1, 0], team_names=("A", "B"), rep_in_team=[[T, T], [T, F], [F, T]],
        need_locked_rep=np.array([NO_REP, 0, NO_REP]), need_current_rep=np.array([1, NO_REP, NO_REP]),
        need_skills=np.zeros(3, np.int64), rep_skills=np.ones(3, np.int64), skill_names=("a",),
        excluded=np.array([1 * 3 + 2]), zone_kinds=("depot",), zone_names=(("D0", "D1"),),
        need_zone=np.array([[0, 0, 1]]), rep_zone=np.array([[-1, -1, 0]]),
        metric_names=("accounts",), need_metric=np.ones((1, 3), np.int64),
        rep_metric_min=np.zeros((1, 3), np.int64), rep_metric_max=np.full((1, 3), 3),
        max_moved=1, max_moved_value=10, need_value=np.array([4, 5, 6]), balance_weight=60.0,
    )


def test_each_rule_says_how_many_constraints_it_added() -> None:
    problem = every_rule_problem()
    arcs = all_arcs(problem)
    assert list(zip(arcs.need.tolist(), arcs.rep.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1)]
    built = build_model(problem, arcs)
    assert built.added == {
        "coverage": 3,  # one exactly-one per need
        "balance": 6,  # two balanced metrics x three reps
        "lock": 0, "skills": 0, "exclusion": 0,  # these only remove arcs
        "contact_cap": 1,  # C0
        "zones": 2,  # R0 and R1 each work in D0 or D1, not both; R2 is pinned
        "continuity": 2,  # the count and the value of moved needs
        "soft_balance": 3,  # minutes off target, per rep
    }
    assert len(built.x) == len(arcs)
    plain = build_problem([[0.0, 0.0]] * 4, [[0.0, 0.0]] * 2)
    assert build_model(plain, all_arcs(plain)).added == {"coverage": 4, "balance": 2, "soft_balance": 0}


def test_the_every_rule_problem_solves_to_the_brute_forces_answer() -> None:
    problem = every_rule_problem()
    outcome = solve_cpsat(problem, all_arcs(problem), Budget(work_s=5), workers=1, seed=0)
    best = brute_force(problem)
    assert outcome.status == "optimal" and best is not None and outcome.choice is not None
    assignment = all_arcs(problem).rep[outcome.choice]
    assert assignment.tolist() == best[1].tolist() == [0, 0, 1]
    assert check(problem, assignment) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_customers=4, max_reps=3))
def test_the_model_over_every_arc_is_the_problem(problem: Problem) -> None:
    """Over every eligible arc, CP-SAT is infeasible exactly when enumeration finds nothing, else optimal at the
    brute-force optimum (up to costs rounded to 1/100 visit-km) with an answer `metrics.check` accepts."""
    assume(n_alignments(problem) <= 2_000)
    best = brute_force(problem)
    arcs = all_arcs(problem)
    outcome = solve_cpsat(problem, arcs, Budget(work_s=5), workers=1, seed=0)
    event(outcome.status)
    if best is None:
        assert outcome.status == "infeasible" and outcome.choice is None
        return
    assert outcome.status == "optimal" and outcome.choice is not None
    assignment = arcs.rep[outcome.choice]
    assert len(outcome.choice) == problem.n_needs and (arcs.need[outcome.choice] == np.arange(problem.n_needs)).all()
    assert check(problem, assignment) == []
    assert abs(outcome.objective / 100 - best[0]) <= 0.01 * problem.n_needs + 1e-6
    assert outcome.bound <= outcome.objective + 1e-6


def hard_problem() -> Problem:
    """Forty customers, eight reps, bands of +/- 0.2 %: CP-SAT spends its whole budget on it."""
    return random_problem(40, 8, seed=1, tolerance=0.002)


def test_a_stop_set_before_the_call_ends_it_at_once() -> None:
    problem = hard_problem()
    arcs = all_arcs(problem)
    stop = Stop()
    stop.set()
    started = time.perf_counter()
    outcome = solve_cpsat(problem, arcs, Budget(work_s=20, stop=stop), workers=1, seed=0)
    assert time.perf_counter() - started < 3.0
    assert outcome.work < 0.5 and not outcome.wall_capped


def test_a_stop_set_during_the_search_ends_it() -> None:
    problem = hard_problem()
    arcs = all_arcs(problem)
    stop = Stop()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    started = time.perf_counter()
    try:
        solve_cpsat(problem, arcs, Budget(work_s=20, stop=stop), workers=1, seed=0)
    finally:
        timer.cancel()
    assert time.perf_counter() - started < 5.0
