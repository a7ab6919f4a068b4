"""The LP relaxation (solve/bound.py): its optimum on hand-made cases, never above the brute-force optimum, and
infeasible only when nothing is feasible."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from ortools.linear_solver.python import model_builder as mb

from territory_opt.model.problem import Problem
from territory_opt.solve.bound import build_lp, solve_lp
from territory_opt.solve.budget import Budget
from territory_opt.solve.candidates import all_arcs

from .problems import (
    brute_force,
    build_problem,
    feasible_cases,
    n_alignments,
    one_answer_problem,
    problems,
    total_cost,
)

BUDGET = Budget(work_s=5)


def two_near_one_far(r0_max: int) -> Problem:
    """Two one-hour customers at R0's home; R1 lives 10 km away. R0 may work at most `r0_max` seconds."""
    return build_problem([[0.0, 0.0]] * 2, [[0.0, 0.0], [10_000.0, 0.0]],
                         rep_max_s=np.array([r0_max, 7200], np.int64))


def test_the_lp_splits_a_customer_where_the_integer_model_cannot() -> None:
    problem = two_near_one_far(5400)  # R0 takes one and a half customers in the LP, one in any real answer
    lp = solve_lp(problem, all_arcs(problem), BUDGET)
    assert lp.feasible and lp.status == "optimal"
    assert lp.objective == pytest.approx(500.0)  # half a customer 10 km away, in 1/100 visit-km
    assert lp.bound == lp.objective
    arcs = all_arcs(problem)
    assert lp.x[arcs.rep == 1].sum() == pytest.approx(0.5) and lp.x.sum() == pytest.approx(2.0)
    best = brute_force(problem)
    assert best is not None and best[0] == pytest.approx(10.0)


def test_the_lp_is_tight_when_nothing_needs_splitting() -> None:
    problem = two_near_one_far(7200)
    lp = solve_lp(problem, all_arcs(problem), BUDGET)
    assert lp.objective == pytest.approx(0.0, abs=1e-6)
    assert lp.x.round(6).tolist() == [1.0, 0.0, 1.0, 0.0]  # arcs (need, rep) sorted: both customers on R0


def test_an_lp_without_room_for_the_work_is_infeasible() -> None:
    problem = two_near_one_far(5400).replace(rep_max_s=np.array([3600, 3000], np.int64))
    lp = solve_lp(problem, all_arcs(problem), BUDGET)
    assert not lp.feasible and lp.status == "infeasible"
    assert math.isnan(lp.bound) and (lp.x == 0).all()
    assert brute_force(problem) is None


def test_lumpy_work_can_be_lp_feasible_and_still_have_no_answer() -> None:
    """Three one-hour customers, two reps who must each work exactly 1.5 hours: only a split customer fits."""
    problem = build_problem([[0.0, 0.0]] * 3, [[0.0, 0.0]] * 2, rep_min_s=np.full(2, 5400, np.int64),
                            rep_max_s=np.full(2, 5400, np.int64))
    assert solve_lp(problem, all_arcs(problem), BUDGET).feasible
    assert brute_force(problem) is None


def test_the_soft_balance_term_adds_a_column_per_rep() -> None:
    problem = two_near_one_far(7200)
    arcs = all_arcs(problem)
    plain = build_lp(problem, arcs)
    assert (plain.n_rows, plain.n_cols) == (2 + 2, 4)  # coverage per need, workload band per rep
    weighted = build_lp(problem.replace(balance_weight=60.0), arcs)
    assert (weighted.n_rows, weighted.n_cols) == (2 + 2 + 2 * 2, 4 + 2)
    # both customers on R0 would leave each rep an hour off its 1 h target (120 minutes at 1 visit-km each), one
    # customer on R1 costs 10 visit-km of travel: the LP moves a whole customer
    lp = solve_lp(problem.replace(balance_weight=60.0), arcs, BUDGET)
    assert lp.objective == pytest.approx(1000.0, abs=1e-6)


def test_every_rule_together_bounds_the_one_answer() -> None:
    problem = one_answer_problem()
    lp = solve_lp(problem, all_arcs(problem), BUDGET)
    assert lp.feasible
    assert lp.objective / 100 <= total_cost(problem, np.array([0, 0, 1])) + 0.01 * problem.n_needs


def lp_accepts(problem: Problem, assignment: np.ndarray) -> bool:
    """Whether the relaxation over every eligible arc has a solution with the arcs of `assignment` at 1 and every
    other arc at 0 (the rules' extra columns free)."""
    arcs = all_arcs(problem)
    lp = build_lp(problem, arcs)
    chosen = (arcs.rep == assignment[arcs.need]).astype(float)
    model = mb.Model()
    model.helper.fill_model_from_sparse_data(
        np.concatenate([chosen, np.zeros(lp.n_cols - len(arcs))]), np.concatenate([chosen, *lp.extra_upper]),
        np.zeros(lp.n_cols), np.concatenate(lp.lower), np.concatenate(lp.upper), lp.matrix())
    return mb.Solver("glop").solve(model) == mb.SolveStatus.OPTIMAL


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(feasible_cases(max_customers=6, max_reps=4))
def test_the_lp_admits_an_alignment_at_the_edge_of_every_band_cap_and_limit(
        case: tuple[Problem, np.ndarray]) -> None:
    problem, assignment = case
    assert lp_accepts(problem, assignment)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_customers=4, max_reps=3))
def test_the_lp_bound_never_passes_the_brute_force_optimum(problem: Problem) -> None:
    """LP infeasible implies that enumeration finds nothing; a feasible alignment implies a feasible LP whose value
    is at most the best alignment's cost (arc costs are rounded to 1/100 visit-km in the LP)."""
    assume(n_alignments(problem) <= 2_000)
    lp = solve_lp(problem, all_arcs(problem), BUDGET)
    best = brute_force(problem)
    if not lp.feasible:
        event("LP infeasible")
        assert best is None
        return
    if best is None:
        event("LP feasible, no answer (lumpy work)")
        return
    event("both feasible")
    assert lp.bound / 100 <= best[0] + 0.005 * problem.n_needs + 1e-6


def test_an_lp_over_no_arcs_is_infeasible_with_a_contact_cap_too() -> None:
    problem = build_problem([[0.0, 0.0]], [[0.0, 0.0]] * 2, need_customer=[0, 0], need_team=[0, 1],
                            team_names=("A", "B"), excluded=np.array([0, 1, 2, 3]))  # C0 needs two teams, cap 1
    arcs = all_arcs(problem)
    assert len(arcs) == 0
    assert solve_lp(problem, arcs, BUDGET).status == "infeasible"
