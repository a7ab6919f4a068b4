"""model.unit_graph: the units' adjacency graph as each team sees it, on graphs small enough to work out by hand.

Grids are numbered row by row: unit k of an n x n grid sits at (row k // n, column k % n); `rook(n)` lists the pairs
sharing a side.
"""

from __future__ import annotations

import numpy as np

from territory_opt.model.unit_graph import catchments, components, team_edges


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


# --- catchments -------------------------------------------------------------------------------------------------


def test_a_unit_without_the_teams_customers_joins_the_nearest_unit_with_them() -> None:
    # a 1 x 5 strip, customers in units 0 and 4 only; 1 is nearer 0, 3 nearer 4, 2 is a tie broken by the graph
    edges = np.array([[k, k + 1] for k in range(4)])
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0], [3000.0, 0.0], [4000.0, 0.0]])
    has = np.array([True, False, False, False, True])
    out = catchments(edges, xy, has)
    assert out[[0, 1, 3, 4]].tolist() == [0, 0, 4, 4] and out[2] in (0, 4)


def test_catchments_follow_borders_not_straight_lines() -> None:
    # a U shape: 0 - 1 - 2 - 3 - 4 where 4 sits right beside 0 but only reaches it round the U
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    xy = np.array([[0.0, 0.0], [0.0, 5000.0], [1000.0, 5000.0], [1000.0, 1000.0], [1000.0, 0.0]])
    out = catchments(edges, xy, np.array([True, False, False, True, False]))
    assert out.tolist() == [0, 0, 3, 3, 3]


def test_every_catchment_is_one_piece_and_unreachable_units_have_none() -> None:
    rng = np.random.default_rng(3)
    edges = rook(6)
    has = rng.random(36) < 0.3
    out = catchments(edges, centres(6), has)
    for unit in np.flatnonzero(has):
        members = np.flatnonzero(out == unit)
        inside = edges[np.isin(edges[:, 0], members) & np.isin(edges[:, 1], members)]
        renumber = {int(m): i for i, m in enumerate(members)}
        local = np.array([[renumber[int(u)], renumber[int(v)]] for u, v in inside]).reshape(-1, 2)
        assert n_pieces(local, len(members)) == 1
    cut_off = catchments(np.array([[0, 1]]), centres(2)[:3], np.array([True, False, False]))
    assert cut_off.tolist() == [0, 0, -1]


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


# --- team_edges --------------------------------------------------------------------------------------------------


def test_a_team_in_every_unit_sees_the_borders_unchanged() -> None:
    edges = rook(3)
    out = team_edges(edges, centres(3), np.arange(9))
    assert as_set(out) == as_set(edges)


def test_a_team_missing_from_some_units_sees_its_units_joined_through_them() -> None:
    # units 1 and 4 of a 3 x 3 grid lack the team's customers: 1 joins 0 or 2, 4 joins one of its neighbours
    units_of_team = np.array([0, 2, 3, 5, 6, 7, 8, 8, -1])  # -1: a need without a unit is ignored
    out = team_edges(rook(3), centres(3), units_of_team)
    assert not np.isin(out, [1, 4]).any()
    assert n_pieces(out, 9) == 1 + 2  # the team's seven units in one piece; 1 and 4 are not nodes
    assert (0, 2) in as_set(out)  # 1 joined one of them, so its catchment borders the other


def test_the_team_graph_is_planar_round_an_empty_hub() -> None:
    # the centre of a 3 x 3 grid lacks the team's customers: it joins ONE side neighbour, so the two opposite
    # pairs round it cannot both be neighbours (two territories cannot both cross it)
    units_of_team = np.array([0, 1, 2, 3, 5, 6, 7, 8])
    out = as_set(team_edges(rook(3), centres(3), units_of_team))
    assert not ((1, 7) in out and (3, 5) in out)


def test_a_sparse_team_sees_the_borders_of_its_units_catchments() -> None:
    # a 5 x 5 grid; the team has customers in the four corners and the centre only (5 of 25 units)
    n = 5
    own = np.array([0, 4, 12, 20, 24])
    out = team_edges(rook(n), centres(n), own)
    assert np.isin(out, own).all()  # no edge touches a unit without the team's customers
    assert {(0, 12), (4, 12), (12, 20), (12, 24)} <= as_set(out)  # the centre touches every corner's catchment
    assert n_pieces(out, 25) == 25 - len(own) + 1


def test_a_sparse_team_keeps_a_direct_border() -> None:
    edges = np.array([[k, k + 1] for k in range(5)])
    xy = np.array([[k * 1000.0, 0.0] for k in range(6)])
    out = team_edges(edges, xy, np.array([0, 1]))
    assert as_set(out) == {(0, 1)}
