"""Territories grown from the reps' homes (solve/grow.py): the border search's start at scale."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from territory_opt.errors import SolverLimitError
from territory_opt.metrics import check
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve import engine
from territory_opt.solve.budget import Budget
from territory_opt.solve.contiguous import territory_pieces
from territory_opt.solve.engine import SolveParams, solve
from territory_opt.solve.grow import grown_alignment
from territory_opt.solve.rules import eligible

from .problems import build_problem
from .test_contiguous import grid_cases, grid_pieces, unit_reps
from .unit_problems import grid_centres, grid_edges, grid_problem, per_unit, unit_cell


def test_a_strip_splits_in_the_middle_between_its_two_ends() -> None:
    problem = grid_problem(1, 10, [unit_cell(0, 0), unit_cell(0, 9)], tolerance=0.1)
    grown = grown_alignment(problem, np.zeros(problem.n_needs, dtype=np.int64))
    assert grown.tolist() == [0] * 5 + [1] * 5


def test_four_corner_reps_get_four_one_piece_quadrants_within_their_bands() -> None:
    problem = grid_problem(6, 6, [unit_cell(0, 0), unit_cell(0, 5), unit_cell(5, 0), unit_cell(5, 5)],
                           tolerance=0.1)
    # the start is a speckle: every unit to a rep at random
    start = per_unit(problem, np.random.default_rng(3).integers(0, 4, size=36))
    grown = grown_alignment(problem, start)
    assert check(problem, grown) == []
    assert territory_pieces(problem, grown) == 0
    assert sorted(np.bincount(grown).tolist()) == [9, 9, 9, 9]


def test_long_and_short_calls_alternating_along_a_strip_still_split_it_once() -> None:
    """Priced per visit, not per second of work: a unit of long calls (gold) is as far for a rep as a unit of
    short ones, so the grown territories do not interleave the way the contiguity-relaxed optimum may (keeping a
    rep's short calls near home and sending the long ones far, where a second of work costs fewer km)."""
    workload = np.array([1800, 7200] * 5)  # along a strip: bronze, gold, bronze, gold, ... (12.5 h)
    problem = grid_problem(1, 10, [unit_cell(0, 0), unit_cell(0, 9)], workload=workload, tolerance=0.25)
    grown = grown_alignment(problem, np.zeros(problem.n_needs, dtype=np.int64))
    assert territory_pieces(problem, grown) == 0
    assert check(problem, grown) == []


def test_locked_needs_and_ineligible_reps_are_respected() -> None:
    locked = np.full(16, NO_REP)
    locked[15] = 0  # the far corner locked to the rep at the near one
    zone = np.zeros((1, 16), dtype=np.int64)
    zone[0, [3, 7]] = 1  # two units in a zone only rep 1 serves
    problem = grid_problem(4, 4, [unit_cell(0, 0), unit_cell(3, 3)], tolerance=0.5, need_locked_rep=locked,
                           zone_kinds=("depot",), zone_names=(("a", "b"),), need_zone=zone,
                           rep_zone=np.array([[0, 1]]))
    start = np.zeros(16, dtype=np.int64)
    start[[3, 7]] = 1
    grown = grown_alignment(problem, start)
    assert grown[15] == 0
    assert eligible(problem, np.arange(16), grown).all()


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(grid_cases(per_unit_draw=True))
def test_the_engine_from_the_grown_start_alone_gives_one_piece_within_the_bands(
        case: tuple[Problem, np.ndarray, int, int]) -> None:
    """What runs above `RELAXED_START_MAX_BUNDLES` unit bundles (100,000 customers), on random feasible grids."""
    problem, _, rows, cols = case
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "RELAXED_START_MAX_BUNDLES", -1)
        result = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=problem.n_reps))
    assert result.stats.get("contiguity_start") == "grown"
    assert "contiguity_failed" not in result.stats
    assert check(problem, result.assignment) == []
    assert all(n == 1 for n in grid_pieces(rows, cols, unit_reps(problem, result.assignment)).values())


@settings(max_examples=8, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(grid_cases(per_unit_draw=True))
def test_where_the_large_engines_repair_fails_the_grown_territories_still_hold_every_rule(
        case: tuple[Problem, np.ndarray, int, int]) -> None:
    """At 1,000,000 customers the large engine's rounding could not be repaired; above
    `RELAXED_START_MAX_BUNDLES` the contiguity-relaxed solve then only gives the bound and its rounding, and the
    grown territories carry the answer."""
    problem, _, rows, cols = case
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "RELAXED_START_MAX_BUNDLES", -1)
        patch.setattr(engine, "repair", lambda *args, **kwargs: None)
        result = solve(problem, Budget(work_s=5), seed=0,
                       params=SolveParams(candidate_reps=problem.n_reps, engine="large"))
    assert result.stats.get("rounded_only") == 1
    assert result.stats.get("contiguity_start") == "grown"
    assert check(problem, result.assignment) == []
    assert all(n == 1 for n in grid_pieces(rows, cols, unit_reps(problem, result.assignment)).values())
    assert result.bound <= result.objective + 1e-6


def test_without_a_repair_and_without_a_one_piece_answer_the_run_says_so() -> None:
    # two reps at the ends of a strip of five one-hour units, each rep's band 2.4-2.6 h: the flow splits the middle
    # unit, but no alignment of whole units keeps the bands
    problem = grid_problem(1, 5, [unit_cell(0, 0), unit_cell(0, 4)], rep_min_s=np.array([8640, 8640]),
                           rep_max_s=np.array([9360, 9360]), rep_target_s=np.array([9000.0, 9000.0]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "RELAXED_START_MAX_BUNDLES", -1)
        patch.setattr(engine, "repair", lambda *args, **kwargs: None)
        with pytest.raises(SolverLimitError, match="no alignment keeping every band"):
            solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=2, engine="large"))


def _two_team_grid(rows: int, cols: int) -> Problem:
    """Every customer of a rows x cols grid needs a field rep (reps 0, 1: west and east) and a HoReCa rep (reps 2,
    3: north and south); both teams keep one-piece territories, bands +/-20 %. No rep serves both teams and two
    needs per customer do not reach the cap of two reps, so each team is its own independent part."""
    n = rows * cols
    homes = [unit_cell(rows / 2, 0), unit_cell(rows / 2, cols - 1),
             unit_cell(0, cols / 2), unit_cell(rows - 1, cols / 2)]
    unit = np.arange(n)
    return build_problem(
        grid_centres(rows, cols), homes, need_customer=np.tile(unit, 2), need_team=np.repeat([0, 1], n),
        team_names=("field", "horeca"), rep_in_team=[[True, False], [True, False], [False, True], [False, True]],
        tolerance=0.2, max_reps_per_customer=2, need_unit=np.tile(unit, 2), unit_edges=grid_edges(rows, cols),
        unit_xy=grid_centres(rows, cols), team_contiguous=np.array([True, True]))


def test_above_the_relaxed_start_limit_each_independent_team_is_searched_on_its_own() -> None:
    problem = _two_team_grid(4, 6)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "RELAXED_START_MAX_BUNDLES", -1)
        result = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=problem.n_reps))
        # the same answer as each team's part searched by hand
        parts = [problem.part(problem.need_team == t, problem.rep_in_team[:, t]) for t in (0, 1)]
        by_hand = [engine._one_piece(part, np.asarray(result.relaxed)[problem.need_team == t] - 2 * t,
                                     problem.n_needs)[0] + 2 * t
                   for t, part in enumerate(parts)]
    assert result.stats.get("contiguity_parts") == 2
    assert result.stats.get("contiguity_start") == "grown; grown"
    assert check(problem, result.assignment) == []
    assert territory_pieces(problem, result.assignment) == 0
    assert np.array_equal(result.assignment, np.concatenate(by_hand))
    assert set(result.assignment[:24].tolist()) == {0, 1} and set(result.assignment[24:].tolist()) == {2, 3}


def test_a_part_below_the_relaxed_start_limit_is_searched_as_its_whole_problem_asks() -> None:
    """The size limits read the whole problem's bundles: each team's part (24 bundles) of a 48-bundle problem above
    the limit of 30 is searched from the grown start only, as the whole problem would be."""
    problem = _two_team_grid(4, 6)
    searched: list[int] = []
    real = engine.make_contiguous

    def counting(part: Problem, start: np.ndarray, size: int | None = None) -> tuple[np.ndarray, dict[str, int]]:
        searched.append(part.n_needs)
        return real(part, start, size)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "RELAXED_START_MAX_BUNDLES", 30)
        patch.setattr(engine, "make_contiguous", counting)
        result = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=problem.n_reps))
    assert result.stats.get("contiguity_start") == "grown; grown"
    assert searched == [24, 24]  # one grown start per part, no relaxed one
