"""Candidate arcs (solve/candidates.py): which (need, rep) pairs the sparse models consider."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve.candidates import all_arcs, count_all_arcs, make_arcs, nearest_arcs

from .problems import build_problem, eligible_table, problems

T, F = True, False


def pairs(arcs: object) -> list[tuple[int, int]]:
    return list(zip(arcs.need.tolist(), arcs.rep.tolist(), strict=True))  # type: ignore[attr-defined]


def line_problem(**changes: object) -> Problem:
    """Customers at 0, 1, 2 and 3 km on a line; reps R0..R3 at 0, 1.1, 2.2 and 3.3 km; teams A (R0, R1, R2) and
    B (R3); C3 needs team B."""
    xy = [[x * 1000.0, 0.0] for x in range(4)]
    return build_problem(xy, [[x * 1100.0, 0.0] for x in range(4)], need_team=[0, 0, 0, 1], team_names=("A", "B"),
                         rep_in_team=[[T, F], [T, F], [T, F], [F, T]], **changes)


def test_make_arcs_keeps_eligible_pairs_once_sorted_by_need_then_rep() -> None:
    problem = line_problem(excluded=np.array([1 * 4 + 0]))
    arcs = make_arcs(problem, np.array([2, 0, 0, 1, 1, 3, 0]), np.array([1, 2, 2, 0, 2, 0, 1]))
    # (1, 0) excluded, (3, 0) outside team B, (0, 2) given twice
    assert pairs(arcs) == [(0, 1), (0, 2), (1, 2), (2, 1)]
    assert arcs.start.tolist() == [0, 2, 3, 4, 4] and len(arcs) == 4  # C3 has no arc


def test_all_arcs_are_the_eligible_pairs() -> None:
    problem = line_problem(need_locked_rep=np.array([NO_REP, 2, NO_REP, NO_REP]), excluded=np.array([0 * 4 + 1]))
    assert pairs(all_arcs(problem)) == [(0, 0), (0, 2), (1, 2), (2, 0), (2, 1), (2, 2), (3, 3)]
    assert count_all_arcs(problem) == 3 * 3 + 1  # counted before locks and exclusions


def test_nearest_arcs_take_the_k_nearest_reps_of_the_team() -> None:
    problem = line_problem()
    assert pairs(nearest_arcs(problem, 1)) == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert pairs(nearest_arcs(problem, 2)) == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1), (2, 2), (3, 3)]
    assert len(nearest_arcs(problem, 10)) == len(all_arcs(problem))


def test_nearest_arcs_add_locked_current_and_requested_reps() -> None:
    problem = line_problem(need_locked_rep=np.array([2, NO_REP, NO_REP, NO_REP]),
                           need_current_rep=np.array([NO_REP, NO_REP, 0, NO_REP]))
    extra = (np.array([1, 3]), np.array([2, 0]))  # (3, 0) is not eligible and stays out
    assert pairs(nearest_arcs(problem, 1, extra)) == [(0, 2), (1, 1), (1, 2), (2, 0), (2, 2), (3, 3)]


def test_nearest_arcs_respect_zone_pins_and_given_arc_costs() -> None:
    pinned = line_problem(zone_kinds=("depot",), zone_names=(("D0", "D1"),), need_zone=np.array([[0, 1, 1, 0]]),
                          rep_zone=np.array([[0, 0, -1, -1]]))
    # C1 is nearest R1, but R1 is pinned to D0: its nearest allowed rep is R2
    assert pairs(nearest_arcs(pinned, 1)) == [(0, 0), (1, 2), (2, 2), (3, 3)]
    cost = np.full((4, 4), 50.0)
    cost[:, 2] = 1.0  # R2 is cheapest for everyone in team A, whatever the distance
    priced = line_problem(arc_travel=cost)
    assert pairs(nearest_arcs(priced, 1)) == [(0, 2), (1, 2), (2, 2), (3, 3)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_candidate_arcs_are_eligible_and_reach_every_eligible_pair_at_full_k(problem: Problem) -> None:
    table = eligible_table(problem)
    full = all_arcs(problem)
    assert sorted(pairs(full)) == list(zip(*np.nonzero(table), strict=True))
    assert count_all_arcs(problem) >= len(full)
    for k in (1, 2):
        arcs = nearest_arcs(problem, k)
        assert set(pairs(arcs)) <= set(pairs(full))
        assert (np.diff(arcs.start) >= 0).all() and arcs.start[-1] == len(arcs)
        has = np.diff(arcs.start) > 0
        free = (problem.need_locked_rep == NO_REP) & (problem.need_current_rep == NO_REP) \
            & ~np.isin(np.arange(problem.n_needs), problem.excluded // problem.n_reps)
        assert (has[free] == table[free].any(axis=1)).all()  # an unrestricted need always gets its nearest reps
    assert pairs(nearest_arcs(problem, problem.n_reps)) == pairs(full)
