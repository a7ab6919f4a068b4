"""prepare/units.py: automatic H3 units, shared borders, joined islands, and the units a run is built from.

Customers are made around Poznań in WGS84 and projected to UTM 33N (metres), as a run does. Every property is
checked against h3 or shapely directly, never against the module's own intermediate numbers.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from scipy.sparse.csgraph import minimum_spanning_tree

from territory_opt.errors import Finding
from territory_opt.model.unit_graph import components
from territory_opt.prepare.units import (
    Units,
    build_units,
    h3_groups,
    join_islands,
    layer_unit_of,
    touching_pairs,
    voronoi_shapes,
)
from territory_opt.results.territories import study_area

CRS = "EPSG:32633"
TO_UTM = Transformer.from_crs(4326, 32633, always_xy=True)


def scattered(n_spread: int = 300, n_town: int = 200, n_same: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat): customers spread over the Poznań area, a dense town, and `n_same` at one address."""
    rng = np.random.default_rng(seed)
    lon = np.r_[rng.uniform(16.6, 17.2, n_spread), 16.93 + rng.normal(0, 0.005, n_town), np.full(n_same, 16.8)]
    lat = np.r_[rng.uniform(52.25, 52.55, n_spread), 52.41 + rng.normal(0, 0.003, n_town), np.full(n_same, 52.3)]
    return lon, lat


def projected(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x, y = TO_UTM.transform(lon, lat)
    return np.column_stack([x, y])


def cells(lon: np.ndarray, lat: np.ndarray, res: int) -> np.ndarray:
    return np.array([h3.latlng_to_cell(float(b), float(a), res) for a, b in zip(lon, lat, strict=True)])


def pairs(edges: np.ndarray) -> set[tuple[int, int]]:
    return {(int(u), int(v)) for u, v in edges.reshape(-1, 2).tolist()}


# --- h3_groups ---------------------------------------------------------------------------------------------------


def test_h3_groups_split_crowded_cells_down_to_the_finest_and_no_further() -> None:
    lon, lat = scattered(n_same=30)
    cap, start, finest = 20, 5, 9
    group, res = h3_groups(lon, lat, cap, start, finest)
    assert group.shape == lon.shape and group.min() == 0 and group.max() == len(res) - 1
    sizes = np.bincount(group, minlength=len(res))
    assert (sizes > 0).all()  # every group holds a customer, every customer one group
    assert ((sizes <= cap) | (res == finest)).all()  # only finest cells may stay crowded
    assert (res >= start).all() and (res <= finest).all()
    assert sizes[group[-1]] >= 30 and res[group[-1]] == finest  # 30 customers at one address cannot be split
    reached = res[group]  # each customer's final resolution
    at = {r: cells(lon, lat, r) for r in range(start, finest + 1)}
    names = []
    for g in range(len(res)):
        mine = np.flatnonzero(group == g)
        cell = set(at[int(res[g])][mine])
        assert len(cell) == 1  # a group is one H3 cell at its resolution
        names.append(cell.pop())
        if res[g] > start:  # ... and its customers came from cells one level up that held more than the cap
            # (by point, not by h3.cell_to_parent: a child cell is not always inside its parent's hexagon)
            up = int(res[g]) - 1
            for coarse in set(at[up][mine]):
                assert ((at[up] == coarse) & (reached >= up)).sum() > cap
    assert names == sorted(names)  # groups in cell order
    shared = {name for name in names if names.count(name) > 1}
    assert all(res[g] == finest for g in range(len(res)) if names[g] in shared)  # only a finest cell is cut up


def test_a_crowded_finest_cell_is_cut_in_halves_by_coordinates_but_one_address_stays_whole() -> None:
    rng = np.random.default_rng(4)
    # 90 outlets along one street (a few city blocks: one finest cell) and 30 at one address
    lon = np.r_[16.93 + rng.uniform(0, 0.0008, 90), np.full(30, 16.9312)]
    lat = np.r_[52.41 + rng.uniform(0, 0.0002, 90), np.full(30, 52.4101)]
    group, res = h3_groups(lon, lat, cap=20, start=7, finest=9)
    sizes = np.bincount(group)
    address = group[-30:]
    assert len(set(address.tolist())) == 1  # one address, one unit, though it holds more than the cap
    assert (np.delete(sizes, address[0]) <= 20).all()  # every other unit within the cap
    assert len(res) >= 90 // 20 + 1
    for g in range(len(res)):  # each piece is a compact run of the street: its span is a share of the street's
        mine = np.flatnonzero(group == g)
        assert np.ptp(lon[mine]) <= 0.0008
    order = np.random.default_rng(5).permutation(len(lon))
    again, _ = h3_groups(lon[order], lat[order], cap=20, start=7, finest=9)
    assert np.array_equal(again, group[order])  # the pieces follow the coordinates, not the input order


def test_h3_groups_are_deterministic_and_independent_of_input_order() -> None:
    lon, lat = scattered(seed=1)
    group, res = h3_groups(lon, lat, 15)
    again, res_again = h3_groups(lon, lat, 15)
    assert np.array_equal(group, again) and np.array_equal(res, res_again)
    order = np.random.default_rng(2).permutation(len(lon))
    shuffled, res_shuffled = h3_groups(lon[order], lat[order], 15)
    assert np.array_equal(shuffled, group[order])  # the same labels, not only the same partition
    assert np.array_equal(res_shuffled, res)


def test_h3_groups_with_a_loose_cap_stay_at_the_start_resolution() -> None:
    lon, lat = scattered(seed=3)
    group, res = h3_groups(lon, lat, cap=len(lon), start=6, finest=9)
    assert (res == 6).all()
    names, index = np.unique(cells(lon, lat, 6), return_inverse=True)
    assert len(res) == len(names) and np.array_equal(group, index.reshape(-1))  # groups are the cells, in order


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(16.8, 17.0), st.floats(52.3, 52.5)), min_size=1, max_size=60),
       st.integers(1, 12))
def test_h3_groups_hold_at_most_the_cap_unless_finest(points: list[tuple[float, float]], cap: int) -> None:
    lon, lat = np.array(points).T
    group, res = h3_groups(lon, lat, cap, start=6, finest=8)
    sizes = np.bincount(group, minlength=len(res))
    assert (sizes > 0).all() and ((sizes <= cap) | (res == 8)).all()
    for g in range(len(res)):
        mine = group == g
        assert len(set(cells(lon[mine], lat[mine], int(res[g])))) == 1


# --- touching_pairs ----------------------------------------------------------------------------------------------


def squares(rows: int, cols: int, side: float = 1000.0) -> np.ndarray:
    return np.array([shapely.box(c * side, r * side, (c + 1) * side, (r + 1) * side)
                     for r in range(rows) for c in range(cols)], dtype=object)


def test_touching_pairs_of_a_grid_are_its_side_neighbours_not_its_corners() -> None:
    found = touching_pairs(squares(3, 3))
    rook = {(0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8), (0, 3), (3, 6), (1, 4), (4, 7), (2, 5), (5, 8)}
    assert pairs(found) == rook
    assert len(found) == len(rook)  # each pair once
    assert (found[:, 0] < found[:, 1]).all()


def test_touching_pairs_ignore_gaps_and_slivers_but_count_overlaps() -> None:
    shapes = np.array([
        shapely.box(0, 0, 1000, 1000),
        shapely.box(1000.5, 0, 2000, 1000),  # a half-metre gap from 0
        shapely.box(-1000, 999.5, 0, 2000),  # touches 0 along half a metre only (a corner, in effect)
        shapely.box(500, -1000, 1500, 10),  # overlaps 0 by 10 m x 500 m
    ], dtype=object)
    assert pairs(touching_pairs(shapes)) == {(0, 3), (1, 3)}


# --- join_islands ------------------------------------------------------------------------------------------------


def test_join_islands_adds_the_shortest_bridges() -> None:
    # pieces {0, 1} (the main one), {2, 3} 4 km east of 1, {4} 3 km north of 1: first 1 - 4, then 1 - 2
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [5000.0, 0.0], [6000.0, 0.0], [1000.0, 3000.0]])
    joins = join_islands(np.array([[0, 1], [2, 3]]), xy)
    assert joins.tolist() == [[1, 4], [1, 2]]


def test_join_islands_leaves_a_connected_graph_alone() -> None:
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]])
    joins = join_islands(np.array([[0, 1], [1, 2]]), xy)
    assert joins.shape == (0, 2)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 25))
def test_join_islands_connects_with_the_shortest_total_length(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10_000, size=(n, 2))
    edges = np.array([(u, v) for u in range(n) for v in range(u + 1, n) if rng.random() < 0.15],
                     dtype=np.int64).reshape(-1, 2)
    joins = join_islands(edges, xy)
    label = components(edges, n)
    k = int(label.max()) + 1
    assert len(joins) == k - 1
    assert int(components(np.vstack([edges, joins]), n).max()) == 0
    # the joins are a minimum spanning tree of the pieces (distance between pieces: their closest two units)
    dist = np.linalg.norm(xy[:, None] - xy[None, :], axis=2)
    between = np.full((k, k), np.inf)
    for a in range(k):
        for b in range(k):
            if a != b:
                between[a, b] = dist[np.ix_(label == a, label == b)].min()
    best = minimum_spanning_tree(np.where(np.isinf(between), 0, between)).sum()
    assert sum(dist[u, v] for u, v in joins.tolist()) == pytest.approx(best)


# --- shapes and whole units --------------------------------------------------------------------------------------


def assert_tiles(units: Units, xy: np.ndarray, area: shapely.Geometry) -> None:
    shapes = units.shapes.to_numpy()
    assert all(shapely.is_valid(shapes)) and not any(shapely.is_empty(shapes))
    union = shapely.union_all(shapes)
    assert union.area == pytest.approx(area.area, rel=1e-6)
    assert shapely.area(shapes).sum() == pytest.approx(union.area, rel=1e-6)  # no overlaps
    inside = shapely.contains_xy(shapely.buffer(shapes[units.customer_unit], 1e-3), xy[:, 0], xy[:, 1])
    assert inside.all()  # every customer lies in its own unit's shape


def test_voronoi_shapes_tile_the_area_and_hold_their_customers() -> None:
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 20_000, size=(150, 2))
    group = (xy[:, 0] // 5000).astype(np.int64) + 4 * (xy[:, 1] // 10_000).astype(np.int64)
    area = study_area(xy)
    shapes, kept_group = voronoi_shapes(xy, group, 8, area)
    assert kept_group.tolist() == group.tolist()  # nobody moves unless asked
    union = shapely.union_all(shapes)
    assert union.area == pytest.approx(area.area, rel=1e-6)
    assert shapely.area(shapes).sum() == pytest.approx(area.area, rel=1e-6)
    assert shapely.contains_xy(shapely.buffer(shapes[group], 1e-3), xy[:, 0], xy[:, 1]).all()


def test_automatic_units_tile_the_study_area_and_form_one_graph() -> None:
    lon, lat = scattered(seed=6)
    xy = projected(lon, lat)
    area = study_area(xy)
    units = build_units(xy, np.column_stack([lon, lat]), CRS, area, customers_per_rep=100.0, max_share=0.2)
    assert units.source == "h3" and units.n_units > 10
    assert units.ids.tolist() == sorted(units.ids.tolist()) and len(set(units.ids.tolist())) == units.n_units
    sizes = np.bincount(units.customer_unit, minlength=units.n_units)
    assert (sizes > 0).all() and ((sizes <= 20) | (units.resolution == 9)).all()
    assert_tiles(units, xy, area)
    assert int(components(units.edges, units.n_units).max()) == 0  # one graph
    assert pairs(touching_pairs(units.shapes.to_numpy())) <= pairs(units.edges)
    assert pairs(units.edges) == pairs(touching_pairs(units.shapes.to_numpy())) | pairs(units.joins)
    again = build_units(xy, np.column_stack([lon, lat]), CRS, area, customers_per_rep=100.0, max_share=0.2)
    assert np.array_equal(again.customer_unit, units.customer_unit) and np.array_equal(again.edges, units.edges)


def test_automatic_units_never_straddle_a_hard_boundary() -> None:
    """With a zone per customer (its distributor, when a team keeps that boundary), no automatic unit holds
    customers of two zones: a unit never has to be shared between reps pinned to different areas. Without zones the
    same customers make fewer units, some of them mixed."""
    lon, lat = scattered(seed=6)
    xy = projected(lon, lat)
    area = study_area(xy)
    zone = np.where(lon < np.median(lon), "west", "east").astype(object)  # a boundary through the middle
    plain = build_units(xy, np.column_stack([lon, lat]), CRS, area, customers_per_rep=100.0, max_share=0.2)
    split = build_units(xy, np.column_stack([lon, lat]), CRS, area, customers_per_rep=100.0, max_share=0.2,
                        zone=zone)
    mixed = [u for u in range(plain.n_units) if len(set(zone[plain.customer_unit == u])) > 1]
    assert mixed, "the fixture should cut some cells"
    assert all(len(set(zone[split.customer_unit == u])) == 1 for u in range(split.n_units))
    assert split.n_units == plain.n_units + len(mixed)
    assert_tiles(split, xy, area)
    assert int(components(split.edges, split.n_units).max()) == 0


def test_units_named_by_a_column_take_their_customers_voronoi_cells() -> None:
    rng = np.random.default_rng(8)
    xy = rng.uniform(0, 10_000, size=(60, 2))
    names = np.where(xy[:, 0] < 5000, "west", np.where(xy[:, 1] < 5000, "south-east", "north-east"))
    area = study_area(xy)
    units = build_units(xy, xy, CRS, area, customers_per_rep=10.0, unit_column=names)
    assert units.source == "column" and units.ids.tolist() == ["north-east", "south-east", "west"]
    assert (units.ids[units.customer_unit] == names).all()
    assert_tiles(units, xy, area)
    assert pairs(units.edges) == {(0, 1), (0, 2), (1, 2)} and len(units.joins) == 0


# --- a units layer -----------------------------------------------------------------------------------------------


def grid_layer(rows: int, cols: int, ids: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"unit_id": ids}, geometry=list(squares(rows, cols)), crs=CRS)


def test_a_layer_keeps_units_without_customers_so_the_map_covers_the_area() -> None:
    # a 1 x 3 strip named c, a, b from west to east; the middle unit "a" has no customers
    layer = grid_layer(1, 3, ["c", "a", "b"])
    xy = np.array([[500.0, 500.0], [2500.0, 500.0], [2600.0, 400.0]])
    area = shapely.box(0, 0, 3000, 1000)
    units = build_units(xy, xy, CRS, area, customers_per_rep=10.0, layer=layer)
    assert units.source == "layer" and units.ids.tolist() == ["a", "b", "c"]
    assert units.ids[units.customer_unit].tolist() == ["c", "b", "b"]
    assert pairs(units.edges) == {(0, 1), (0, 2)} and len(units.joins) == 0  # c - a - b share borders


def test_a_layer_island_is_joined_to_its_nearest_unit() -> None:
    shapes = [*squares(1, 2), shapely.box(5000, 0, 6000, 1000)]  # units 0 - 1 touch, unit 2 lies 3 km east
    layer = gpd.GeoDataFrame({"unit_id": ["u0", "u1", "u2"]}, geometry=shapes, crs=CRS)
    xy = np.array([[500.0, 500.0], [1500.0, 500.0], [5500.0, 500.0]])
    units = build_units(xy, xy, CRS, shapely.box(0, 0, 6000, 1000), customers_per_rep=10.0, layer=layer)
    assert pairs(units.joins) == {(1, 2)}
    assert pairs(units.edges) == {(0, 1), (1, 2)}


def test_a_customer_outside_every_unit_joins_the_nearest_with_a_warning() -> None:
    shapes = squares(1, 2)
    xy = np.array([[500.0, 500.0], [1500.0, 500.0], [2300.0, 500.0], [-50.0, 500.0]])
    warnings: list[Finding] = []
    assert layer_unit_of(xy, shapes, warnings).tolist() == [0, 1, 1, 0]
    assert len(warnings) == 1 and "2 customers lie outside every unit" in warnings[0].message
    inside_only: list[Finding] = []
    assert layer_unit_of(xy[:2], shapes, inside_only).tolist() == [0, 1] and inside_only == []


def test_where_layer_units_overlap_a_customer_goes_to_the_lowest_unit_id() -> None:
    layer = gpd.GeoDataFrame({"unit_id": ["z", "m"]}, geometry=[shapely.box(0, 0, 1000, 1000),
                                                               shapely.box(500, 0, 1500, 1000)], crs=CRS)
    xy = np.array([[750.0, 500.0], [200.0, 500.0]])
    units = build_units(xy, xy, CRS, shapely.box(0, 0, 1500, 1000), customers_per_rep=10.0, layer=layer)
    assert units.ids[units.customer_unit].tolist() == ["m", "z"]


def test_a_unit_whose_customers_all_share_another_units_address_gets_its_customers_mean_as_centre() -> None:
    # customers 1 ("b") and 2 ("c") sit at one address: the shared Voronoi cell goes to "b", "c" has no area
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [1000.0, 0.0], [0.0, 1000.0], [1000.0, 1000.0]])
    names = np.array(["a", "b", "c", "a", "b"])
    units = build_units(xy, xy, CRS, study_area(xy), customers_per_rep=5.0, unit_column=names)
    assert units.shapes.is_empty.tolist() == [False, False, True]
    assert units.centres[2].tolist() == [1000.0, 0.0]
    assert np.isfinite(units.centres).all()
    assert int(components(units.edges, 3).max()) == 0  # joined to the graph
    assert pairs(units.joins) == {(1, 2)}  # to "b", whose customers share its address


def test_a_units_stray_piece_joins_the_neighbour_it_shares_most_border_with() -> None:
    from territory_opt.prepare.units import _hand_over_stray_parts

    # unit 0: a 10 x 10 square plus a 1 x 1 sliver sitting in a notch of unit 1 (three sides against 1, one
    # against 2); unit 2 lies beside the notch
    zero = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 5, 21, 6)])
    one = shapely.box(10, 0, 30, 10).difference(shapely.box(20, 5, 22, 6))
    two = shapely.box(21, 5, 22, 6)
    xy, group = np.array([[5.0, 5.0], [25.0, 5.0], [21.5, 5.5]]), np.array([0, 1, 2])
    out, _ = _hand_over_stray_parts(np.array([zero, one, two], dtype=object), xy, group, None)
    assert out[0].equals(shapely.box(0, 0, 10, 10))
    assert out[1].geom_type == "Polygon" and out[1].area == one.area + 1
    assert out[2].equals(two)
    lonely = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(50, 50, 51, 51)])
    assert _hand_over_stray_parts(np.array([lonely], dtype=object), xy[:1], group[:1], None)[0][0].equals(lonely)
    # a piece holding one of the unit's customers stays with the unit
    held = np.array([[5.0, 5.0], [20.5, 5.5], [25.0, 5.0], [21.5, 5.5]])
    kept, same = _hand_over_stray_parts(np.array([zero, one, two], dtype=object), held, np.array([0, 0, 1, 2]), None)
    assert kept[0].equals(zero) and kept[1].equals(one)
    assert same.tolist() == [0, 0, 1, 2]


def test_an_automatic_units_stray_piece_moves_with_its_customers_within_their_zone() -> None:
    from territory_opt.prepare.units import _hand_over_stray_parts

    # the same sliver of unit 0 in a notch of unit 1, now holding unit 0's second customer: with automatic units
    # the customer and the sliver go to unit 1 (one piece each), unless unit 1 lies in another zone
    zero = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 5, 21, 6)])
    one = shapely.box(10, 0, 30, 10).difference(shapely.box(20, 5, 22, 6))
    two = shapely.box(21, 5, 22, 6)
    held = np.array([[5.0, 5.0], [20.5, 5.5], [25.0, 5.0], [21.5, 5.5]])
    shapes = np.array([zero, one, two], dtype=object)
    out, group = _hand_over_stray_parts(shapes, held, np.array([0, 0, 1, 2]), np.zeros(4, dtype=np.int64))
    assert group.tolist() == [0, 1, 1, 2]
    assert out[0].equals(shapely.box(0, 0, 10, 10))
    assert out[1].geom_type == "Polygon" and out[1].area == one.area + 1
    # unit 1 in another zone: the sliver goes to unit 2 (same zone as unit 0), the only other neighbour
    out, group = _hand_over_stray_parts(shapes, held, np.array([0, 0, 1, 2]), np.array([0, 0, 1, 0]))
    assert group.tolist() == [0, 2, 1, 2]
    assert out[2].area == two.area + 1


def test_a_layer_keeps_empty_units_only_where_they_meet_the_study_area() -> None:
    # a 1 x 4 strip; customers in the two western units; the study area reaches into the third, not the fourth
    layer = grid_layer(1, 4, ["a", "b", "c", "d"])
    xy = np.array([[500.0, 500.0], [1500.0, 500.0]])
    area = shapely.box(0, 0, 2500, 1000)
    units = build_units(xy, xy, CRS, area, customers_per_rep=10.0, layer=layer)
    assert units.ids.tolist() == ["a", "b", "c"]
    assert units.ids[units.customer_unit].tolist() == ["a", "b"]
    assert pairs(units.edges) == {(0, 1), (1, 2)}
