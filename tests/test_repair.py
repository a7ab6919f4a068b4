"""Rounding and repair (solve/repair.py): it returns None or an alignment `metrics.check` accepts, over the arcs it
was given, and fixes the bands and zones of a bad rounding on hand-made cases."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, event, given, settings

from territory_opt.metrics import check
from territory_opt.model.problem import Problem
from territory_opt.solve.bound import solve_lp
from territory_opt.solve.budget import Budget
from territory_opt.solve.candidates import Arcs, all_arcs, make_arcs, nearest_arcs
from territory_opt.solve.repair import repair

from .problems import build_problem, problems


def on_arcs(arcs: Arcs, assignment: np.ndarray) -> bool:
    key = set(zip(arcs.need.tolist(), arcs.rep.tolist(), strict=True))
    return all((need, int(rep)) in key for need, rep in enumerate(assignment))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_repair_returns_none_or_a_feasible_alignment_on_its_arcs(problem: Problem) -> None:
    full = all_arcs(problem)
    lp = solve_lp(problem, full, Budget(work_s=5))
    tries = [(full, None), (nearest_arcs(problem, 2), None)] + ([(full, lp.x)] if lp.feasible else [])
    found = 0
    for arcs, x in tries:
        result = repair(problem, arcs, x)
        if result is not None:
            assert check(problem, result) == [] and on_arcs(arcs, result)
            found += 1
    event(f"repair found {found} of {len(tries)}")


def corner_problem(tolerance: float | None = 0.0, **changes: object) -> Problem:
    """Customers at 0, 1, 2 and 3 km; R0 lives at 0 km, R1 at 10 km; each rep must work exactly two hours."""
    return build_problem([[x * 1000.0, 0.0] for x in range(4)], [[0.0, 0.0], [10_000.0, 0.0]],
                         tolerance=tolerance, **changes)


def test_an_overloaded_rounding_sheds_the_customers_cheapest_to_move() -> None:
    problem = corner_problem()
    # the cheapest rounding gives all four to R0; moving C3 (4 km more) and C2 (6 km more) costs least
    assert repair(problem, all_arcs(problem)).tolist() == [0, 0, 1, 1]


def test_swaps_fix_what_single_shifts_cannot() -> None:
    """Two 2 h customers round to R0 and two 1 h ones to R1, each rep must work exactly 3 h: no single shift brings
    either rep closer, swapping a 2 h customer for a 1 h one balances both."""
    problem = build_problem([[0.0, 0.0], [100.0, 0.0], [10_000.0, 0.0], [10_100.0, 0.0]],
                            [[0.0, 0.0], [10_000.0, 0.0]], workload=[7200, 7200, 3600, 3600],
                            rep_min_s=np.full(2, 10_800, np.int64), rep_max_s=np.full(2, 10_800, np.int64))
    fixed = repair(problem, all_arcs(problem))
    assert fixed is not None and check(problem, fixed) == []
    assert fixed.tolist() == [0, 1, 0, 1]  # the swap that adds least travel: C1 out, C2 in
    assert repair(problem, all_arcs(problem), allow_swaps=False) is None


def test_the_lp_picks_the_rounding() -> None:
    problem = corner_problem(tolerance=None, rep_min_s=np.zeros(2, np.int64), rep_max_s=np.full(2, 14_400))
    arcs = all_arcs(problem)
    x = np.where(arcs.rep == 1, 0.9, 0.1)  # the LP prefers R1 for everyone: rounding follows it
    assert repair(problem, arcs, x).tolist() == [1, 1, 1, 1]
    assert repair(problem, arcs).tolist() == [0, 0, 0, 0]  # without an LP: the nearest rep


def test_free_reps_settle_in_the_zone_of_most_of_their_work() -> None:
    """R0 rounds to C0, C1 (depot D0) and C2 (D1); it stays in D0 and C2 goes to R1, the nearest rep of D1."""
    problem = build_problem([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]], [[0.0, 0.0], [50_000.0, 0.0], [90_000.0, 0.0]],
                            zone_kinds=("depot",), zone_names=(("D0", "D1"),), need_zone=np.array([[0, 0, 1]]),
                            rep_zone=np.array([[-1, -1, -1]]))
    assert repair(problem, all_arcs(problem)).tolist() == [0, 0, 1]


def test_repair_gives_up_without_a_way_out() -> None:
    problem = corner_problem()
    assert repair(problem, all_arcs(problem), max_moves=0) is None  # the rounding is unbalanced
    lumpy = build_problem([[0.0, 0.0]] * 3, [[0.0, 0.0]] * 2, rep_min_s=np.full(2, 5400, np.int64),
                          rep_max_s=np.full(2, 5400, np.int64))
    assert repair(lumpy, all_arcs(lumpy)) is None
    no_arc = make_arcs(problem, np.array([0, 1, 2]), np.array([0, 0, 1]))  # C3 has no candidate rep
    assert repair(problem, no_arc) is None


def test_nothing_to_assign() -> None:
    problem = build_problem(np.zeros((0, 2)), [[0.0, 0.0]])
    assert repair(problem, all_arcs(problem)).tolist() == []
