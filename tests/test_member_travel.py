"""The member travel table (bundles too many to store their rows) reads the very numbers the dense rows hold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import territory_opt.model.member_travel as member_travel
import territory_opt.solve.aggregate as aggregate
from territory_opt.metrics import check
from territory_opt.model.member_travel import MemberTravel
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve import Budget, SolveParams, solve
from territory_opt.solve.candidates import nearest_arcs

from .unit_problems import grid_problem, unit_cell


def mixed_problem(seed: int, per_unit: int = 3) -> Problem:
    """A 3 x 4 grid, three reps, several customers per unit, some with a current rep (continuity priced), one locked
    (a single need inside a unit), visits and travel weights that differ."""
    rng = np.random.default_rng(seed)
    problem = grid_problem(3, 4, [unit_cell(0, 0), unit_cell(2, 3), unit_cell(1, 2)], per_unit=per_unit,
                           tolerance=0.6, continuity_weight=7.5)
    n = problem.n_needs
    current = np.where(rng.random(n) < 0.5, rng.integers(0, 3, n), NO_REP).astype(np.int64)
    locked = np.full(n, NO_REP, dtype=np.int64)
    locked[int(rng.integers(0, n))] = 1
    return problem.replace(need_current_rep=current, need_locked_rep=locked,
                           need_visits=rng.choice([1.0, 2.0, 4.0], n),
                           need_travel_weight=rng.choice([0.5, 1.0], n))


def both_tables(problem: Problem) -> tuple[Problem, Problem]:
    """The bundled problem with its travel rows stored, and with them read from the members."""
    dense = aggregate.bundle(problem)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aggregate, "DENSE_MAX_CELLS", 0)
        lazy = aggregate.bundle(problem)
    assert dense is not None and lazy is not None
    assert isinstance(lazy.problem.arc_travel, MemberTravel) and isinstance(dense.problem.arc_travel, np.ndarray)
    return dense.problem, lazy.problem


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_every_cell_is_the_dense_rows_cell(seed: int) -> None:
    dense, lazy = both_tables(mixed_problem(seed))
    table = lazy.arc_travel
    assert isinstance(table, MemberTravel) and table.shape == dense.arc_travel.shape  # type: ignore[union-attr]
    need, rep = np.meshgrid(np.arange(dense.n_needs), np.arange(dense.n_reps), indexing="ij")
    assert np.allclose(table[need.ravel(), rep.ravel()], np.asarray(dense.arc_travel)[need.ravel(), rep.ravel()],
                       rtol=1e-12, atol=1e-9)
    assert np.allclose(table[np.ix_(np.arange(dense.n_needs), np.arange(dense.n_reps))], np.asarray(dense.arc_travel),
                       rtol=1e-12, atol=1e-9)
    with pytest.MonkeyPatch.context() as patch:  # read in blocks of a few members: the same cells
        patch.setattr(member_travel, "BLOCK_MEMBERS", 5)
        assert np.allclose(table[need.ravel(), rep.ravel()], np.asarray(dense.arc_travel)[need.ravel(), rep.ravel()],
                           rtol=1e-12, atol=1e-9)
    every = np.arange(dense.n_needs)
    some_rep = every % dense.n_reps
    assert np.allclose(lazy.arc_cost(every, some_rep), dense.arc_cost(every, some_rep), rtol=1e-12, atol=1e-9)


def test_rows_and_columns_cut_as_the_dense_table_does() -> None:
    dense, lazy = both_tables(mixed_problem(3))
    keep = np.arange(dense.n_needs) % 3 != 1
    reps = np.array([2, 0])
    for d, m in ((dense.subset_needs(keep), lazy.subset_needs(keep)),
                 (dense.part(keep, np.isin(np.arange(3), reps)), lazy.part(keep, np.isin(np.arange(3), reps)))):
        assert isinstance(m.arc_travel, MemberTravel) and m.arc_travel.shape == np.asarray(d.arc_travel).shape
        grid = np.ix_(np.arange(d.n_needs), np.arange(d.n_reps))
        assert np.allclose(m.arc_travel[grid], np.asarray(d.arc_travel), rtol=1e-12, atol=1e-9)


def test_reading_it_any_other_way_is_refused() -> None:
    _, lazy = both_tables(mixed_problem(0))
    table = lazy.arc_travel
    assert isinstance(table, MemberTravel)
    with pytest.raises(TypeError):
        table[np.arange(3)]
    with pytest.raises(TypeError):
        table[1:, [0]]


def test_candidate_reps_are_the_cheapest_when_every_rep_is_near() -> None:
    # three reps, k = 1: the three nearest to a bundle's centre are every rep, so the pick is the dense table's
    dense, lazy = both_tables(mixed_problem(5))
    a, b = nearest_arcs(dense, 1), nearest_arcs(lazy, 1)
    assert np.array_equal(a.need, b.need) and np.array_equal(a.rep, b.rep)


def test_the_engine_on_a_member_table_keeps_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = mixed_problem(7)
    dense = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=3))
    monkeypatch.setattr(aggregate, "DENSE_MAX_CELLS", 0)
    lazy = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=3))
    assert check(problem, lazy.assignment) == []
    assert lazy.objective == pytest.approx(dense.objective, rel=1e-9)
