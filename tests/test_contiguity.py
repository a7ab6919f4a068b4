"""The soft contiguity pass on a hand-made alignment: an enclave moves when the weight pays for it, and only when
every hard rule still holds."""

from __future__ import annotations

import numpy as np

from territory_opt.metrics import check
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve.contiguity import neighbours, reduce_enclaves

from .problems import build_problem

# Nine customers on a 3 x 3 grid, 1 km apart. Rep A lives west of the grid, rep B on the centre customer.
GRID = np.array([[x * 1000.0, y * 1000.0] for y in range(3) for x in range(3)])
# B holds only the centre customer (4), an enclave inside A's territory; moving it to A costs 2 km - 0 km = 2 km.
ENCLAVE = np.array([0, 0, 0, 0, 1, 0, 0, 0, 0])


def grid_problem(a_max_customers: int = 9) -> Problem:
    n = len(GRID)
    return build_problem(GRID, [[-1000.0, 1000.0], [1000.0, 1000.0]], rep_ids=np.array(["A", "B"], dtype=object),
                         rep_target_s=np.full(2, n * 1800.0),
                         rep_max_s=np.array([a_max_customers * 3600, 9 * 3600], dtype=np.int64))


def test_neighbours_of_the_centre_are_its_grid_neighbours() -> None:
    indptr, indices = neighbours(GRID)
    assert {1, 3, 5, 7} <= set(indices[indptr[4]:indptr[5]].tolist())


def test_the_enclave_moves_when_the_weight_covers_its_cost() -> None:
    problem = grid_problem()
    moved, n = reduce_enclaves(problem, ENCLAVE, weight=2.5)
    assert n == 1 and (moved == 0).all() and check(problem, moved) == []


def test_the_enclave_stays_when_moving_costs_more_than_the_weight() -> None:
    moved, n = reduce_enclaves(grid_problem(), ENCLAVE, weight=1.5)
    assert n == 0 and np.array_equal(moved, ENCLAVE)


def test_the_enclave_stays_when_the_move_would_break_a_band() -> None:
    problem = grid_problem(a_max_customers=8)  # A already has 8
    moved, n = reduce_enclaves(problem, ENCLAVE, weight=100.0)
    assert n == 0 and np.array_equal(moved, ENCLAVE)


def test_a_locked_enclave_stays() -> None:
    problem = grid_problem().replace(need_locked_rep=np.where(ENCLAVE == 1, 1, NO_REP))
    moved, n = reduce_enclaves(problem, ENCLAVE, weight=100.0)
    assert n == 0 and moved[4] == 1
