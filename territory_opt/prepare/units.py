"""Alignment units: the base geography territories are built from (postcodes, ZIP codes, bricks, or H3 cells).

Every customer falls in exactly one unit; per team, all customers of a unit go to the same rep, and a territory is
the dissolve of its rep's units. Units come from the scenario's `units` layer (polygons with `unit_id`, or a
`unit_id` column on the customers), or are made from the customers themselves (see `build_units`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..config.policy import UnitsConfig
from ..errors import Finding, InputError
from ..model.unit_graph import components
from ..results.territories import _polygonal, study_area, voronoi_cells
from .units_cache import cached_units, units_key


@dataclass(frozen=True)
class Units:
    """The alignment units of a run, in the run's metric CRS.

    `customer_unit[c]` is the index (into `ids`) of customer c's unit, customers in the enriched frame's order;
    `edges` lists each pair of units sharing a border once (u < v), after islands are joined (`joins` says which
    edges were added that way); `source` is "layer", "column" or "h3".
    """

    ids: np.ndarray  # (U,) str
    shapes: gpd.GeoSeries  # (U,) polygons in the run's CRS, positionally aligned with ids
    customer_unit: np.ndarray  # (C,) int64
    edges: np.ndarray  # (E, 2) int64
    source: str
    joins: np.ndarray  # (J, 2) int64: edges added to join islands and units cut off by the study area
    resolution: int | None = None  # the H3 resolution, when source == "h3"
    centre_xy: np.ndarray | None = None  # (U, 2) a point in each unit (its customers' mean where it has no area)

    @property
    def n_units(self) -> int:
        return len(self.ids)

    @property
    def centres(self) -> np.ndarray:
        """(U, 2) a point inside each unit (its customers' mean where the unit has no area)."""
        if self.centre_xy is not None:
            return self.centre_xy
        xy = np.zeros((self.n_units, 2))
        shapes = self.shapes.to_numpy()
        solid = ~shapely.is_empty(shapes)
        points = shapely.point_on_surface(shapes[solid])
        xy[solid] = np.column_stack([shapely.get_x(points), shapely.get_y(points)])
        return xy


AUTO_START_RESOLUTION = 5  # H3 cells of about 250 km2: a rural district
AUTO_FINEST_RESOLUTION = 9  # about 0.1 km2: a few city blocks
AUTO_MAX_SHARE = 0.05  # no auto unit holds more than this share of an average rep's customers


def h3_groups(lon: np.ndarray, lat: np.ndarray, cap: int, start: int = AUTO_START_RESOLUTION,
              finest: int = AUTO_FINEST_RESOLUTION) -> tuple[np.ndarray, np.ndarray]:
    """Customers grouped into H3 cells, a cell split into its children while it holds more than `cap` customers
    (down to `finest`, then into halves by coordinates: `_halves`). Returns each customer's group index (groups
    sorted by cell id) and each group's resolution. Deterministic: cells are plain functions of the coordinates."""
    import h3

    n = len(lon)
    cell = np.array([h3.latlng_to_cell(float(la), float(lo), start) for lo, la in zip(lon, lat, strict=True)],
                    dtype=object)
    resolution = np.full(n, start, dtype=np.int64)
    for res in range(start + 1, finest + 1):
        names, inverse, counts = np.unique(cell.astype(str), return_inverse=True, return_counts=True)
        crowded = (counts > cap)[inverse.reshape(-1)] & (resolution == res - 1)
        if not crowded.any():
            break
        for i in np.flatnonzero(crowded):
            cell[i] = h3.latlng_to_cell(float(lat[i]), float(lon[i]), res)
        resolution[crowded] = res
        del names
    names, inverse = np.unique(cell.astype(str), return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), minlength=len(names))
    if (counts > cap).any():  # still crowded at the finest resolution: split by coordinates (`_halves`)
        label = cell.astype(str).astype(object)
        for g in np.flatnonzero(counts > cap).tolist():
            members = np.flatnonzero(inverse.reshape(-1) == g)
            chunks = _halves(members, lon, lat, cap)
            width = len(str(len(chunks) - 1))
            for piece_no, chunk in enumerate(chunks):
                label[chunk] = f"{names[g]}:{piece_no:0{width}d}"
        names, inverse = np.unique(label.astype(str), return_inverse=True)
    group_res = np.zeros(len(names), dtype=np.int64)
    group_res[inverse.reshape(-1)] = resolution
    return inverse.reshape(-1).astype(np.int64), group_res


def _halves(members: np.ndarray, lon: np.ndarray, lat: np.ndarray, cap: int) -> list[np.ndarray]:
    """`members` cut in halves across their longer side (east-west in km, by cos latitude) until each piece holds at
    most `cap`: a finest H3 cell (a few city blocks) can still hold a shopping street's hundred outlets, and one unit
    that weighs more than a rep's whole band can never be balanced (1,000,000 customers: bundles up to 114 h against
    74 h bands, and the large engine's rounding broke 531 bands). Customers at one address stay together (a map
    cannot draw them apart); the pieces depend on the coordinates only, not on the customers' order."""
    points, atom = np.unique(np.column_stack([lon[members], lat[members]]), axis=0, return_inverse=True)
    atom = atom.reshape(-1)
    weight = np.bincount(atom, minlength=len(points))
    pieces: list[np.ndarray] = []

    def cut(atoms: np.ndarray) -> None:
        if int(weight[atoms].sum()) <= cap or len(atoms) == 1:
            pieces.append(np.sort(members[np.isin(atom, atoms)]))
            return
        x = points[atoms, 0] * np.cos(np.radians(points[atoms, 1]))
        y = points[atoms, 1]
        along, across = (x, y) if np.ptp(x) >= np.ptp(y) else (y, x)
        ordered = atoms[np.lexsort((across, along))]
        filled = np.cumsum(weight[ordered])
        half = int(np.clip(np.searchsorted(filled, filled[-1] / 2.0), 1, len(ordered) - 1))
        cut(ordered[:half])
        cut(ordered[half:])

    cut(np.arange(len(points)))
    return pieces


def touching_pairs(shapes: np.ndarray) -> np.ndarray:
    """(E, 2) pairs u < v of shapes that share a border (more than a corner)."""
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    shared = shapely.intersection(shapes[left], shapes[right])
    border = (shapely.length(shared) > 1.0) | (shapely.area(shared) > 1.0)  # metres: not just a corner
    return np.stack([left[border], right[border]], axis=1).astype(np.int64)


def join_islands(edges: np.ndarray, centre_xy: np.ndarray) -> np.ndarray:
    """Edges that join the graph's pieces into one: repeatedly the shortest link (between unit centres) from the
    piece holding unit 0 to any other piece, so an island or a unit cut off by the study area joins its nearest
    neighbour across the water."""
    n = len(centre_xy)
    joins: list[tuple[int, int]] = []
    label = components(edges, n)
    while label.max(initial=0) > 0:
        main = np.flatnonzero(label == 0)
        rest = np.flatnonzero(label != 0)
        tree = shapely.STRtree(shapely.points(centre_xy[main]))
        nearest_main, dist = tree.query_nearest(shapely.points(centre_xy[rest]), return_distance=True,
                                                all_matches=False)  # (input index, tree index) pairs
        pick = int(np.lexsort((rest[nearest_main[0]], dist))[0])
        u, v = int(main[nearest_main[1][pick]]), int(rest[nearest_main[0][pick]])
        joins.append((min(u, v), max(u, v)))
        merged = np.concatenate([edges, np.array(joins, dtype=np.int64)])
        label = components(merged, n)
    return np.array(joins, dtype=np.int64).reshape(-1, 2)


def voronoi_shapes(points_xy: np.ndarray, group: np.ndarray, n_groups: int, area: BaseGeometry,
                   movable: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each group's shape: the union of its customers' Voronoi cells, clipped to the study area (co-located
    customers share one cell); and the groups, where `movable` (per customer, a zone code: customers move only
    within their zone; None: nobody moves) let a detached piece's customers join the group around them
    (`_hand_over_stray_parts`)."""
    rounded = np.round(points_xy, 0)
    _, first = np.unique(rounded, axis=0, return_index=True)
    cells = voronoi_cells(points_xy[first], area)
    cell_group = group[first]
    shapes = np.empty(n_groups, dtype=object)
    order = np.argsort(cell_group, kind="stable")
    bounds = np.searchsorted(cell_group[order], np.arange(n_groups + 1))
    for g in range(n_groups):
        mine = cells[order[bounds[g]:bounds[g + 1]]]
        if len(mine) == 1:  # a third of the units: nothing to union
            shapes[g] = _polygonal(mine[0])
        else:
            shapes[g] = _polygonal(shapely.union_all(mine)) if len(mine) else shapely.Polygon()
    return _hand_over_stray_parts(shapes, points_xy, group, movable)


def _hand_over_stray_parts(shapes: np.ndarray, points_xy: np.ndarray, group: np.ndarray,
                           movable: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """A group's cells can come out in pieces (a cell cut in two by the study area's edge, or, with automatic
    units, a few customers of one H3 cell whose Voronoi cells sit among another cell's): every piece but the
    largest joins the neighbouring shape it shares the longest border with, so each unit, and each territory drawn
    from units, is one piece on the map. A piece holding customers of the group moves with them where `movable`
    allows (automatic units, to a neighbour of the same zone; at 100,000 synthetic customers 36 H3 units came out
    in two pieces, and three one-piece territories were drawn in two); else, or touching no other shape, it stays
    (a unit's shape always holds its customers)."""
    out, group = shapes.copy(), np.asarray(group).copy()
    tree = shapely.STRtree(out)
    group_zone = np.full(len(out), -1, dtype=np.int64)  # groups are zone-pure, and pieces move within a zone
    if movable is not None:
        group_zone[group] = movable
    for g in range(len(out)):
        parts = list(getattr(out[g], "geoms", ()))
        if len(parts) < 2:
            continue
        parts.sort(key=lambda part: -part.area)
        kept = [parts[0]]
        members = np.flatnonzero(group == g)
        inside = [shapely.intersects_xy(shapely.buffer(part, 1e-3), points_xy[members, 0], points_xy[members, 1])
                  for part in parts]
        for part, holds in zip(parts[1:], inside[1:], strict=True):
            if holds.any() and (movable is None or not inside[0].any()):
                kept.append(part)
                continue
            zone = None if not holds.any() or movable is None else movable[members[holds][0]]
            best, longest = -1, 0.0
            for other in sorted(int(i) for i in tree.query(part, predicate="intersects")):
                if other == g:
                    continue
                if zone is not None and group_zone[other] >= 0 and group_zone[other] != zone:
                    continue
                shared = shapely.intersection(part.boundary, out[other]).length
                if shared > longest:
                    best, longest = other, shared
            if best < 0:
                kept.append(part)
                continue
            out[best] = _polygonal(shapely.union(out[best], part))
            group[members[holds]] = best
        out[g] = _polygonal(shapely.union_all(kept))
    return out, group


def build_units(customer_xy: np.ndarray, customer_lonlat: np.ndarray, crs: object, area: BaseGeometry, *,
                customers_per_rep: float, layer: gpd.GeoDataFrame | None = None,
                unit_column: np.ndarray | None = None, start: int = AUTO_START_RESOLUTION,
                finest: int = AUTO_FINEST_RESOLUTION, max_share: float = AUTO_MAX_SHARE,
                warnings: list[Finding] | None = None, zone: np.ndarray | None = None) -> Units:
    """The run's units: the layer's polygons (customers by point in polygon, or by their `unit_id` column), else
    units named by the customers' `unit_id` column (shapes from their Voronoi cells), else H3 cells made from the
    customers: from resolution `start`, a cell holding more than `max_share` of an average rep's customers is split
    into its children, down to `finest`; shapes are the Voronoi cells of the cell's customers, so units tile the
    study area and share borders. Layer units without customers stay where they meet the study area (the map
    covers it; each team's graph joins them to its nearest units, `model.unit_graph.team_edges`), and the graph's
    islands are joined to their nearest unit. `zone` (per customer, e.g. its distributor and depot joined) splits
    automatic units along hard boundaries: no H3 unit holds customers of two zones, so a unit never has to be
    shared between reps pinned to different areas."""
    resolution: int | None = None
    if layer is not None:
        ids_all = layer["unit_id"].astype(str).to_numpy()
        order = np.argsort(ids_all, kind="stable")
        ids_all, shapes_all = ids_all[order], layer.geometry.to_numpy()[order]
        if unit_column is not None:
            index = {u: i for i, u in enumerate(ids_all.tolist())}
            of_customer = np.array([index[str(u)] for u in unit_column], dtype=np.int64)
            source = "layer"
        else:
            of_customer = layer_unit_of(customer_xy, shapes_all, warnings)
            source = "layer"
        # units without customers stay where they fill the study area (the map covers it); a national layer's
        # units far from the customers go
        keep = shapely.intersects(shapes_all, area)
        keep[of_customer] = True
        renumber = np.cumsum(keep) - 1
        ids, shapes, customer_unit = ids_all[keep], shapes_all[keep], renumber[of_customer].astype(np.int64)
        edges = touching_pairs(shapes)
    else:
        movable = None  # automatic units may hand a few customers to the unit around them, within their zone
        if unit_column is not None:
            ids, customer_unit = np.unique(np.asarray(unit_column).astype(str), return_inverse=True)
            source = "column"
        else:
            cap = max(1, int(max_share * customers_per_rep))
            customer_unit, group_res = h3_groups(customer_lonlat[:, 0], customer_lonlat[:, 1], cap, start, finest)
            movable = (np.zeros(len(customer_unit), dtype=np.int64) if zone is None
                       else np.unique(np.asarray(zone).astype(str), return_inverse=True)[1].reshape(-1))
            if movable.max(initial=0) > 0:  # one unit per cell and zone, in cell order
                key = customer_unit * (int(movable.max()) + 1) + movable
                keys, customer_unit = np.unique(key, return_inverse=True)
                group_res = group_res[keys // (int(movable.max()) + 1)]
            width = len(str(max(len(group_res) - 1, 0)))
            ids = np.array([f"U{g:0{width}d}" for g in range(len(group_res))])  # stable: groups in cell order
            resolution = int(group_res.max()) if len(group_res) else start
            source = "h3"
        customer_unit = customer_unit.reshape(-1).astype(np.int64)
        shapes, customer_unit = voronoi_shapes(customer_xy, customer_unit, len(ids), area, movable)
        edges = touching_pairs(shapes)
    ids = np.asarray(ids).astype(str)
    centres = np.zeros((len(shapes), 2))
    solid = ~shapely.is_empty(shapes) if len(shapes) else np.zeros(0, dtype=bool)
    points = shapely.point_on_surface(shapes[solid])  # an empty shape has no point (GEOS refuses its x, y)
    centres[solid] = np.column_stack([shapely.get_x(points), shapely.get_y(points)])
    for u in np.flatnonzero(~solid):
        members = customer_xy[customer_unit == u]
        centres[u] = members.mean(axis=0)
    joins = join_islands(edges, centres) if len(ids) > 1 else np.zeros((0, 2), dtype=np.int64)
    all_edges = np.unique(np.concatenate([edges.reshape(-1, 2), joins]), axis=0) if len(joins) else edges
    return Units(ids=ids, shapes=gpd.GeoSeries(shapes, crs=crs), customer_unit=customer_unit,
                 edges=all_edges.astype(np.int64).reshape(-1, 2), source=source, joins=joins, resolution=resolution,
                 centre_xy=centres)


def layer_unit_of(customer_xy: np.ndarray, shapes: np.ndarray, warnings: list[Finding] | None) -> np.ndarray:
    """Each customer's unit by point in polygon; where polygons overlap, the lowest unit_id; a customer outside
    every unit goes to the nearest one, with a warning."""
    points = shapely.points(customer_xy)
    tree = shapely.STRtree(shapes)
    point_idx, shape_idx = tree.query(points, predicate="intersects")
    unit = np.full(len(customer_xy), -1, dtype=np.int64)
    order = np.lexsort((shape_idx, point_idx))
    point_idx, shape_idx = point_idx[order], shape_idx[order]
    first = np.unique(point_idx, return_index=True)[1]
    unit[point_idx[first]] = shape_idx[first]
    outside = np.flatnonzero(unit < 0)
    if len(outside):
        near = tree.query_nearest(points[outside], all_matches=False)
        unit[outside[near[0]]] = near[1]
        if warnings is not None:
            warnings.append(Finding(f"{len(outside)} customers lie outside every unit of the units layer; each "
                                    "joined its nearest unit"))
    return unit


OVERLAP_SHARE = 0.01  # two layer units overlapping by more than this share of the smaller one: an input error
OUTSIDE_M = 1000.0  # a customer farther than this outside every layer unit: an input error (nearer: a warning)


@dataclass(frozen=True)
class LayerRows:
    """Where a layer's rows come from, for messages: its label and the file row of its first data row."""

    label: str
    first_row: int


def check_layer_fit(customer_xy: np.ndarray, shapes: np.ndarray, ids: np.ndarray, units: LayerRows,
                    customers: LayerRows, customer_ids: np.ndarray) -> None:
    """Refuse (exit 2) a units layer whose polygons overlap (a customer there would belong to two units) or that
    leaves customers well outside every unit (a bad coordinate, or a layer for another area): each named by file,
    row and field. Slivers below `OVERLAP_SHARE` and customers within `OUTSIDE_M` of a unit are let through."""
    findings: list[Finding] = []
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="overlaps")
    for i, j in sorted({(int(a), int(b)) for a, b in zip(left.tolist(), right.tolist(), strict=True) if a < b}):
        shared = shapely.intersection(shapes[i], shapes[j]).area
        smaller = min(shapes[i].area, shapes[j].area)
        if smaller > 0 and shared > OVERLAP_SHARE * smaller:
            findings.append(Finding(
                f"units {ids[i]!r} and {ids[j]!r} (row {j + units.first_row}) overlap by {shared / 1e6:,.2f} km2 "
                f"({100 * shared / smaller:.0f} % of the smaller): a customer there would belong to both; fix the "
                "polygons so units only touch", source=units.label, row=i + units.first_row, field="geometry"))
    points = shapely.points(customer_xy)
    inside = np.zeros(len(points), dtype=bool)
    inside[np.unique(tree.query(points, predicate="intersects")[0])] = True
    outside = np.flatnonzero(~inside)
    if len(outside):
        _, dist = tree.query_nearest(points[outside], return_distance=True, all_matches=False)
        for c, metres in zip(outside.tolist(), dist.tolist(), strict=True):
            if metres > OUTSIDE_M:
                findings.append(Finding(
                    f"customer {customer_ids[c]!r} lies {metres / 1000:,.1f} km outside every unit of {units.label}: "
                    "check its coordinates, or add the unit it lies in", source=customers.label,
                    row=c + customers.first_row, field="lon/lat"))
    if findings:
        raise InputError(findings)


def scenario_units(customers: gpd.GeoDataFrame, need_team: np.ndarray, reps_per_team: np.ndarray,
                   config: UnitsConfig, layer: gpd.GeoDataFrame | None, distributors: gpd.GeoDataFrame | None,
                   warnings: list[Finding], rows: tuple[LayerRows, LayerRows] | None = None,
                   zone_columns: tuple[str, ...] = ()) -> Units | None:
    """The scenario's units (`units.source`), or None when it is off or there are no customers. With `rows`
    (the units layer's and the customers' labels and first rows) a layer is checked first (`check_layer_fit`).
    `zone_columns` (the customers' columns of the hard boundaries some team keeps) split automatic units."""
    source = config.source
    if source == "off" or len(customers) == 0:
        return None
    has_column = "unit_id" in customers.columns and customers["unit_id"].notna().all()
    use_layer = layer is not None and source in ("auto", "layer")
    use_column = has_column and source in ("auto", "column", "layer")
    xy = np.column_stack([customers.geometry.x, customers.geometry.y])
    lonlat_points = customers.geometry.to_crs(4326)
    lonlat = np.column_stack([lonlat_points.x, lonlat_points.y])
    area = study_area(xy, None if distributors is None else distributors.geometry)
    customers_per_rep = len(need_team) / max(int(reps_per_team.sum()), 1)  # an average rep's customers
    column = customers["unit_id"].astype(str).to_numpy() if use_column and source != "h3" else None
    if use_layer and layer is not None and rows is not None and column is None:
        check_layer_fit(xy, layer.geometry.to_numpy(), layer["unit_id"].astype(str).to_numpy(), rows[0], rows[1],
                        customers["customer_id"].astype(str).to_numpy())
    present = [c for c in zone_columns if c in customers.columns]
    zone = (customers[present].fillna("").astype(str).agg("|".join, axis=1).to_numpy(dtype=object)
            if present else None)
    chosen = layer if use_layer else None
    key = units_key(xy, lonlat, str(customers.crs), area, customers_per_rep, column, zone, config.start_resolution,
                    config.finest_resolution, config.max_share,
                    None if chosen is None else chosen["unit_id"].astype(str).to_numpy(dtype=object),
                    None if chosen is None else chosen.geometry.to_numpy())
    before = len(warnings)
    return cached_units(key, customers.crs, lambda: build_units(
        xy, lonlat, customers.crs, area, customers_per_rep=customers_per_rep, layer=chosen, unit_column=column,
        start=config.start_resolution, finest=config.finest_resolution, max_share=config.max_share,
        warnings=warnings, zone=zone), lambda: len(warnings) > before)
