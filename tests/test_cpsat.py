"""The exact engine's model (solve/cpsat.py): how many constraints each rule adds, that its optimum is the brute
force's on tiny instances (judged by `metrics.check` and the tests' own costs), and that a run's `Stop` ends it."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
from hypothesis import HealthCheck, assume, event, given, settings
from ortools.sat.python import cp_model

from territory_opt.metrics import check
from territory_opt.model.problem import Problem
from territory_opt.solve.budget import Budget, Stop
from territory_opt.solve.candidates import Arcs, all_arcs
from territory_opt.solve.cpsat import CpSatModel, build_model, solve_cpsat

from .problems import (
    brute_force,
    build_problem,
    eligible_table,
    feasible_cases,
    n_alignments,
    one_answer_problem,
    problems,
    random_problem,
)


def test_each_rule_says_how_many_constraints_it_added() -> None:
    problem = one_answer_problem()
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


def test_the_one_answer_problem_solves_to_it() -> None:
    problem = one_answer_problem()
    outcome = solve_cpsat(problem, all_arcs(problem), Budget(work_s=5), workers=1, seed=0)
    best = brute_force(problem)
    assert outcome.status == "optimal" and best is not None and outcome.choice is not None
    assignment = all_arcs(problem).rep[outcome.choice]
    assert assignment.tolist() == best[1].tolist() == [0, 0, 1]
    assert check(problem, assignment) == []


def accepts(built: CpSatModel, arcs: Arcs, assignment: np.ndarray) -> bool:
    """Whether the model has a solution with exactly this assignment (assumptions fix one arc per need)."""
    index = {pair: i for i, pair in enumerate(zip(arcs.need.tolist(), arcs.rep.tolist(), strict=True))}
    built.model.clear_assumptions()
    built.model.add_assumptions([built.x[index[(need, int(rep))]] for need, rep in enumerate(assignment)])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.stop_after_first_solution = True
    return solver.solve(built.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def test_the_model_accepts_only_the_one_answer() -> None:
    problem = one_answer_problem()
    arcs = all_arcs(problem)
    built = build_model(problem, arcs)
    options = [np.flatnonzero(row) for row in eligible_table(problem)]
    accepted = [combo for combo in itertools.product(*options) if accepts(built, arcs, np.array(combo))]
    assert accepted == [(0, 0, 1)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_customers=4, max_reps=3))
def test_the_model_over_every_arc_is_the_problem(problem: Problem) -> None:
    """Over every eligible arc, the model accepts exactly the alignments `metrics.check` accepts; CP-SAT is
    infeasible exactly when enumeration finds nothing, else optimal at the brute-force optimum (up to costs rounded
    to 1/100 visit-km) with an answer `metrics.check` accepts."""
    assume(n_alignments(problem) <= 300)
    arcs = all_arcs(problem)
    built = build_model(problem, arcs)
    options = [np.flatnonzero(row) for row in eligible_table(problem)]
    feasible = 0
    for combo in itertools.product(*options):
        assignment = np.array(combo, dtype=np.int64)
        ok = check(problem, assignment) == []
        assert accepts(built, arcs, assignment) == ok, (combo, check(problem, assignment))
        feasible += ok
    event("some alignment feasible" if feasible else "nothing feasible")
    best = brute_force(problem)
    outcome = solve_cpsat(problem, arcs, Budget(work_s=5), workers=1, seed=0)
    if best is None:
        assert outcome.status == "infeasible" and outcome.choice is None
        return
    assert outcome.status == "optimal" and outcome.choice is not None
    assignment = arcs.rep[outcome.choice]
    assert len(outcome.choice) == problem.n_needs and (arcs.need[outcome.choice] == np.arange(problem.n_needs)).all()
    assert check(problem, assignment) == []
    assert abs(outcome.objective / 100 - best[0]) <= 0.01 * problem.n_needs + 1e-6
    assert outcome.bound <= outcome.objective + 1e-6


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(feasible_cases(max_customers=6, max_reps=4))
def test_the_model_accepts_an_alignment_at_the_edge_of_every_band_cap_and_limit(
        case: tuple[Problem, np.ndarray]) -> None:
    problem, assignment = case
    arcs = all_arcs(problem)
    assert accepts(build_model(problem, arcs), arcs, assignment)


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
