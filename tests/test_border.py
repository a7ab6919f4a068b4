"""The border's array answers against the plain definition, walked unit by unit, on random grids."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory_opt.model.problem import Problem
from territory_opt.solve.border import Border, Move
from territory_opt.solve.contiguous import _objective_change, move_changes
from territory_opt.solve.ledger import Ledger
from territory_opt.solve.rules.contiguity import unit_neighbours

from .unit_problems import grid_problem, unit_cell


def walked_moves(problem: Problem, assignment: np.ndarray, reps: set[int] | None) -> list[Move]:
    """Every border move by the definition: for each (team, unit) in order, each rep holding needs there, each other
    rep holding a neighbouring unit, the source rep's needs in the unit."""
    assert problem.need_unit is not None
    out: list[Move] = []
    for unit in sorted(set(problem.need_unit.tolist())):
        needs = np.flatnonzero(problem.need_unit == unit).tolist()
        around = sorted({int(assignment[n]) for v in unit_neighbours(problem, 0).get(unit, ())
                         for n in np.flatnonzero(problem.need_unit == v).tolist()})
        for source in sorted({int(assignment[n]) for n in needs}):
            mine = [n for n in needs if int(assignment[n]) == source]
            out += [(0, unit, target, mine) for target in around
                    if target != source and (reps is None or source in reps or target in reps)]
    return out


def walked_touching(problem: Problem, assignment: np.ndarray) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for move in walked_moves(problem, assignment, None):
        out.setdefault(int(assignment[move[3][0]]), set()).add(move[2])
    return out


@st.composite
def grids(draw: st.DrawFn) -> tuple[Problem, np.ndarray]:
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    n_reps = draw(st.integers(2, 4))
    homes = [unit_cell(draw(st.integers(0, rows - 1)), draw(st.integers(0, cols - 1))) for _ in range(n_reps)]
    per_unit = draw(st.integers(1, 2))
    problem = grid_problem(rows, cols, homes, per_unit=per_unit, tolerance=0.5,
                           balance_weight=draw(st.sampled_from([0.0, 6.0, 200.0])))
    assignment = np.array(draw(st.lists(st.integers(0, n_reps - 1), min_size=problem.n_needs,
                                        max_size=problem.n_needs)), dtype=np.int64)
    return problem, assignment


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids(), st.sets(st.integers(0, 3), max_size=2))
def test_border_moves_and_touching_are_the_walked_ones(case: tuple[Problem, np.ndarray], reps: set[int]) -> None:
    problem, assignment = case
    border = Border(problem, Ledger(problem, assignment))
    assert border.moves() == walked_moves(problem, assignment, None)
    assert border.moves(reps) == walked_moves(problem, assignment, reps)
    assert border.touching() == walked_touching(problem, assignment)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids())
def test_move_changes_are_each_moves_objective_change(case: tuple[Problem, np.ndarray]) -> None:
    problem, assignment = case
    ledger = Ledger(problem, assignment)
    moves = Border(problem, ledger).moves()
    expected = [_objective_change(problem, ledger, [(needs, int(assignment[needs[0]]), target)])
                for _, _, target, needs in moves]
    assert move_changes(problem, ledger, moves).tolist() == expected
