"""model.unit_graph: the units' adjacency graph as each team sees it, on graphs small enough to work out by hand.

Grids are numbered row by row: unit k of an n x n grid sits at (row k // n, column k % n); `rook(n)` lists the pairs
sharing a side.
"""

from __future__ import annotations

import numpy as np

from territory_opt.model.unit_graph import DENSE_SHARE, components, contract_empty, delaunay_edges, team_edges


def rook(n: int) -> np.ndarray:
    """(E, 2) pairs u < v of an n x n grid's units that share a side."""
    pairs = [(r * n + c, r * n + c + 1) for r in range(n) for c in range(n - 1)]
    pairs += [(r * n + c, (r + 1) * n + c) for r in range(n - 1) for c in range(n)]
    return np.array(sorted(pairs), dtype=np.int64)


def centres(n: int, side: float = 1000.0) -> np.ndarray:
    return np.array([[(k % n + 0.5) * side, (k // n + 0.5) * side] for k in range(n * n)])


def as_set(edges: np.ndarray) -> set[tuple[int, int]]:
    return {(int(u), int(v)) for u, v in edges.reshape(-1, 2).tolist()}


def n_pieces(edges: np.ndarray, n: int) -> int:
    return int(components(edges, n).max(initial=-1)) + 1


# --- contract_empty ----------------------------------------------------------------------------------------------


def test_two_customer_units_linked_only_through_an_empty_one_become_neighbours() -> None:
    edges = np.array([[0, 1], [1, 2]])
    out = contract_empty(edges, np.array([True, False, True]))
    assert as_set(out) == {(0, 2)}


def test_a_chain_of_empty_units_links_its_ends_and_direct_borders_stay() -> None:
    # 0 - 1 - 2 - 3 - 4 with 1 and 2 empty; 3 - 4 share a border directly
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    out = contract_empty(edges, np.array([True, False, False, True, True]))
    assert as_set(out) == {(0, 3), (3, 4)}


def test_an_empty_hub_links_every_pair_around_it_and_no_edge_touches_an_empty_unit() -> None:
    # the centre of a 3 x 3 grid is empty: its four side neighbours become pairwise adjacent
    has = np.ones(9, dtype=bool)
    has[4] = False
    out = contract_empty(rook(3), has)
    assert not np.isin(out, [4]).any()
    assert {(1, 3), (1, 5), (1, 7), (3, 5), (3, 7), (5, 7)} <= as_set(out)
    assert as_set(out) == (as_set(rook(3)) - {(1, 4), (3, 4), (4, 5), (4, 7)}) | {
        (1, 3), (1, 5), (1, 7), (3, 5), (3, 7), (5, 7)}
    assert (out[:, 0] < out[:, 1]).all()


def test_units_separated_by_customer_units_are_not_linked() -> None:
    # 0 - 1 - 2, all with customers: 0 and 2 stay apart
    out = contract_empty(np.array([[0, 1], [1, 2]]), np.ones(3, dtype=bool))
    assert as_set(out) == {(0, 1), (1, 2)}


def test_an_empty_unit_touching_a_single_customer_unit_adds_nothing() -> None:
    out = contract_empty(np.array([[0, 1], [1, 2]]), np.array([True, True, False]))
    assert as_set(out) == {(0, 1)}


# --- components --------------------------------------------------------------------------------------------------


def test_components_count_and_label_by_lowest_node() -> None:
    # pieces {0, 2, 4}, {1, 5}, {3}, {6}
    label = components(np.array([[4, 2], [0, 4], [5, 1]]), 7)
    assert label.tolist() == [0, 1, 0, 2, 0, 1, 3]


def test_components_of_a_grid_and_of_no_edges() -> None:
    assert n_pieces(rook(4), 16) == 1
    assert components(np.zeros((0, 2), np.int64), 3).tolist() == [0, 1, 2]
    cut = as_set(rook(3)) - {(0, 1), (3, 4), (6, 7)}  # the west column cut off from the other two
    assert n_pieces(np.array(sorted(cut)), 9) == 2
    assert components(np.array(sorted(cut)), 9).tolist() == [0, 1, 1, 0, 1, 1, 0, 1, 1]


# --- delaunay_edges ----------------------------------------------------------------------------------------------


def test_delaunay_of_three_points_is_every_pair() -> None:
    assert as_set(delaunay_edges(np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 9.0]]))) == {(0, 1), (0, 2), (1, 2)}


def test_delaunay_links_grid_neighbours_but_not_far_corners() -> None:
    edges = as_set(delaunay_edges(centres(3)))
    assert as_set(rook(3)) <= edges
    assert (0, 8) not in edges and (2, 6) not in edges
    assert all(u < v for u, v in edges)


# --- team_edges --------------------------------------------------------------------------------------------------


def test_a_team_in_every_unit_sees_the_borders_unchanged() -> None:
    edges = rook(3)
    out = team_edges(edges, centres(3), np.arange(9))
    assert as_set(out) == as_set(edges)


def test_a_dense_team_goes_round_units_without_its_customers_by_chains() -> None:
    # 7 of 9 units (>= DENSE_SHARE): units 1 and 4 empty, so 0 - 1 - 2 and 3 - 4 - 5 are chains
    units_of_team = np.array([0, 2, 3, 5, 6, 7, 8, 8, -1])  # -1: a need without a unit is ignored
    assert DENSE_SHARE <= 7 / 9
    out = team_edges(rook(3), centres(3), units_of_team)
    has = np.zeros(9, bool)
    has[[0, 2, 3, 5, 6, 7, 8]] = True
    assert as_set(out) == as_set(contract_empty(rook(3), has))
    assert (0, 2) in as_set(out) and (3, 5) in as_set(out)  # through the empty units 1 and 4
    assert not np.isin(out, [1, 4]).any()


def test_a_sparse_team_sees_its_borders_and_delaunay_neighbours_among_its_own_units() -> None:
    # a 5 x 5 grid; the team has customers in the four corners and the centre only (5 of 25 units)
    n = 5
    own = np.array([0, 4, 12, 20, 24])
    out = team_edges(rook(n), centres(n), own)
    assert np.isin(out, own).all()  # no edge touches a unit without the team's customers
    # Delaunay of the corners and centre: the square's four sides and the centre to every corner
    assert as_set(out) == {(0, 4), (0, 20), (4, 24), (20, 24), (0, 12), (4, 12), (12, 20), (12, 24)}
    assert n_pieces(out, 25) == 25 - len(own) + 1  # the team's units in one piece, the others isolated


def test_a_sparse_team_keeps_a_direct_border_delaunay_alone_would_not_give() -> None:
    # a 1 x 6 strip of units, positions on a line: Delaunay on collinear centres may fail, borders must stay
    edges = np.array([[k, k + 1] for k in range(5)])
    xy = np.array([[k * 1000.0, 0.0] for k in range(6)])
    out = team_edges(edges, xy, np.array([0, 1]))  # 2 of 6 units: sparse
    assert (0, 1) in as_set(out)
