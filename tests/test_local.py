"""solve/local.py: mending an alignment to changed bands from where it is (the routing's re-assign rounds)."""

from __future__ import annotations

import numpy as np

from territory_opt.metrics import check
from territory_opt.solve import Budget, solve
from territory_opt.solve.local import rebalance_in_place

from .problems import build_problem
from .unit_problems import grid_problem, per_unit, unit_cell


def test_a_rep_whose_top_falls_hands_its_border_unit_to_the_neighbour_with_room() -> None:
    """A 2 x 6 grid, one hour per unit, A holds the west half, B the east; then A's top falls to 5 h (its days
    could not hold a visit): one border unit moves to B, nothing else, both territories still one piece."""
    problem = grid_problem(2, 6, [unit_cell(0, 0), unit_cell(1, 5)], rep_min_s=np.full(2, 4 * 3600),
                           rep_max_s=np.full(2, 8 * 3600), rep_target_s=np.full(2, 6 * 3600.0))
    start = per_unit(problem, [0, 0, 0, 1, 1, 1,
                               0, 0, 0, 1, 1, 1])
    first = solve(problem, Budget(work_s=2.0), seed=0)
    tighter = problem.replace(rep_max_s=np.array([5 * 3600, 8 * 3600]))
    mended = rebalance_in_place(tighter, start, Budget(work_s=2.0), first, seed=0)
    assert mended is not None and check(tighter, mended.assignment) == []
    moved = np.flatnonzero(mended.assignment != start)
    assert len(moved) == 1 and start[moved[0]] == 0 and mended.assignment[moved[0]] == 1
    assert mended.stats["in_place_bundles_moved"] == 1 and mended.engine == "units+in place"
    assert 0.0 <= mended.bound <= mended.objective


def test_without_units_there_is_nothing_to_mend_in_place() -> None:
    problem = build_problem([[0.0, 0.0], [1000.0, 0.0]], [[0.0, 0.0], [5000.0, 0.0]], tolerance=0.5)
    first = solve(problem, Budget(work_s=1.0), seed=0)
    assert rebalance_in_place(problem, first.assignment, Budget(work_s=1.0), first, seed=0) is None
