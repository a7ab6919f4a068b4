"""Territories made of alignment units: who holds each unit, the dissolved territory shapes and their compactness,
the units layer (units.geojson) and the units summary in kpis.json.

Used whenever the run has units (`Prepared.units`); without them territories are Voronoi shapes (`territories.py`).
Per team, a unit is held by the rep with the most of that team's customers in it (ties: the larger workload, then
the first rep id), so one team's territories never overlap; a territory is the dissolve of its rep's units.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..prepare.units import Units
from .territories import _polygonal, n_parts

TERRITORY_COLUMNS = ["team", "rep_id", "n_customers", "workload_hours", "n_parts", "compactness", "geometry"]


def polsby_popper(geom: BaseGeometry) -> float:
    """4 pi A / P^2 (1 for a disc, towards 0 for a sprawling or many-piece shape), in the geometry's own units;
    NaN for an empty shape."""
    if geom is None or geom.is_empty or geom.length <= 0:
        return math.nan
    return float(4.0 * math.pi * geom.area / geom.length**2)


def metric_shapes(shapes: gpd.GeoSeries) -> gpd.GeoSeries:
    """The shapes in a metric CRS: as they are when the run's CRS is projected (the usual case), else its UTM zone."""
    if shapes.crs is None or not shapes.crs.is_geographic or len(shapes) == 0:
        return shapes
    return shapes.to_crs(shapes.estimate_utm_crs())


def unit_holders(units: Units, assignments: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per team (in the assignments' order), the rep holding each unit (U,), "" where the team has no customer.

    `assignments` has `customer_index`, `team`, `rep_id` and `workload_hours` (assignments.csv before writing)."""
    unit = units.customer_unit[assignments["customer_index"].to_numpy(dtype=np.int64)]
    frame = pd.DataFrame({"team": assignments["team"].to_numpy(dtype=object),
                          "rep_id": assignments["rep_id"].astype(str).to_numpy(dtype=object),
                          "unit": unit, "customer": assignments["customer_index"].to_numpy(),
                          "hours": assignments["workload_hours"].to_numpy(dtype=float)})
    per = frame.groupby(["team", "unit", "rep_id"], sort=True).agg(n=("customer", "nunique"), hours=("hours", "sum"))
    per = per.reset_index().sort_values(["team", "unit", "n", "hours", "rep_id"],
                                        ascending=[True, True, False, False, True], kind="stable")
    best = per.drop_duplicates(["team", "unit"], keep="first")
    out: dict[str, np.ndarray] = {}
    for team in pd.unique(frame["team"]):
        held = np.full(units.n_units, "", dtype=object)
        mine = best[best["team"] == team]
        held[mine["unit"].to_numpy(dtype=np.int64)] = mine["rep_id"].to_numpy(dtype=object)
        out[str(team)] = held
    return out


def filled_holders(held: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The map's holders: a unit without the team's customers goes, layer by layer from the held ones, to the rep
    holding most of its neighbours (lowest rep id on a tie), so territories cover the area without holes; then
    (`_join_through_empty`) a rep's stray piece takes the chain of such units that joins it to its main piece
    where that lowers the pieces on the map: the solver counts a territory whole through units without its team's
    customers, and the map should draw it so. Units the fill cannot reach stay unheld; a piece no chain can join
    is counted in `n_parts`."""
    out = held.copy()
    adjacent: dict[int, list[int]] = {}
    for u, v in edges.tolist():
        adjacent.setdefault(u, []).append(v)
        adjacent.setdefault(v, []).append(u)
    while True:
        layer = {}
        for u in np.flatnonzero(out == "").tolist():
            around = [out[v] for v in adjacent.get(u, ()) if out[v] != ""]
            if around:
                counts = pd.Series(around).value_counts()
                layer[u] = min(counts.index[counts == counts.max()])
        if not layer:
            return _join_through_empty(out, held == "", adjacent)
        for u, rep in layer.items():
            out[u] = rep


def _pieces_of(out: np.ndarray, rep: str, adjacent: dict[int, list[int]]) -> list[list[int]]:
    """The connected pieces of `rep`'s units on the map, largest first (ties by lowest unit)."""
    mine = set(np.flatnonzero(out == rep).tolist())
    pieces, seen = [], set()
    for start in sorted(mine):
        if start in seen:
            continue
        piece, stack = [], [start]
        seen.add(start)
        while stack:
            u = stack.pop()
            piece.append(u)
            for v in adjacent.get(u, ()):
                if v in mine and v not in seen:
                    seen.add(v)
                    stack.append(v)
        pieces.append(sorted(piece))
    return sorted(pieces, key=lambda p: (-len(p), p[0]))


def _chain(start: list[int], goal: set[int], free: np.ndarray, adjacent: dict[int, list[int]]) -> list[int] | None:
    """The fewest units without the team's customers (`free`) leading from `start` to a unit of `goal` (breadth
    first, neighbours in unit order); None when no such chain exists."""
    origin = set(start)
    previous: dict[int, int | None] = dict.fromkeys(start)
    frontier = list(start)
    while frontier:
        following = []
        for u in frontier:
            for v in sorted(adjacent.get(u, ())):
                if v in goal:
                    path: list[int] = []
                    w: int | None = u
                    while w is not None and w not in origin:
                        path.append(w)
                        w = previous[w]
                    return path
                if v not in previous and free[v]:
                    previous[v] = u
                    following.append(v)
        frontier = following
    return None


def _map_pieces(out: np.ndarray, reps: list[int] | list[str], free: np.ndarray,
                adjacent: dict[int, list[int]]) -> tuple[int, int]:
    """The reps' pieces holding customers (what a manager reads as a split territory), then all their pieces."""
    pieces = [piece for rep in reps for piece in _pieces_of(out, str(rep), adjacent)]
    return sum(not free[piece].all() for piece in pieces), len(pieces)


def _join_through_empty(out: np.ndarray, free: np.ndarray, adjacent: dict[int, list[int]],
                        passes: int = 3) -> np.ndarray:
    """Reassign chains of customer-free units so a rep's stray pieces join its main piece, wherever that lowers
    the pieces of the reps it touches (deterministic: reps by id, pieces largest first)."""
    for _ in range(passes):
        changed = False
        for rep in sorted(set(out[out != ""].tolist())):
            pieces = _pieces_of(out, rep, adjacent)
            for stray in pieces[1:]:
                main = set(_pieces_of(out, rep, adjacent)[0])
                if stray[0] in main:
                    continue
                path = _chain(stray, main, free, adjacent)
                if not path:
                    continue
                touched = sorted({rep, *(str(out[u]) for u in path)} - {""})
                trial = out.copy()
                trial[path] = rep
                if _map_pieces(trial, touched, free, adjacent) < _map_pieces(out, touched, free, adjacent):
                    out, changed = trial, True
        if not changed:
            return out
    return out


def unit_territories(units: Units, assignments: pd.DataFrame, crs: object) -> gpd.GeoDataFrame:
    """One row per (team, rep) of the assignments: its customers and hours, the dissolve of the units it holds,
    their number of pieces and Polsby-Popper compactness (metric CRS, 3 decimals; NaN when it holds no unit)."""
    holders = unit_holders(units, assignments)
    shapes = units.shapes.to_numpy()
    metric = metric_shapes(units.shapes).to_numpy()
    rows = []
    for team, group in assignments.groupby("team", sort=False):
        held = filled_holders(holders[str(team)], units.edges)
        per_rep = group.assign(rep_id=group["rep_id"].astype(str)).groupby("rep_id", sort=True).agg(
            n_customers=("customer_index", "nunique"), workload_hours=("workload_hours", "sum"))
        for rep, row in per_rep.iterrows():
            mask = held == rep
            geom = _polygonal(shapely.union_all(shapes[mask])) if mask.any() else shapely.Polygon()
            in_metres = _polygonal(shapely.union_all(metric[mask])) if mask.any() else shapely.Polygon()
            compactness = polsby_popper(in_metres)
            rows.append({
                "team": team,
                "rep_id": rep,
                "n_customers": int(row["n_customers"]),
                "workload_hours": round(float(row["workload_hours"]), 3),
                "n_parts": n_parts(geom),
                "compactness": round(compactness, 3) if not math.isnan(compactness) else math.nan,
                "geometry": geom,
            })
    frame = gpd.GeoDataFrame(rows, columns=TERRITORY_COLUMNS, geometry="geometry", crs=crs)
    return frame.sort_values(["team", "rep_id"], kind="stable").reset_index(drop=True)


def units_layer(units: Units, customers: pd.DataFrame, assignments: pd.DataFrame,
                teams: list[str] | tuple[str, ...]) -> gpd.GeoDataFrame:
    """units.geojson: one feature per unit (sorted by unit_id) with its customers, the workload hours of their
    needs, their current value, and per team (`rep_<team>`) the rep holding it ("" when none)."""
    n = units.n_units
    ids = np.asarray(units.ids).astype(str)
    unit_of_customer = np.asarray(units.customer_unit, dtype=np.int64)
    n_customers = np.bincount(unit_of_customer, minlength=n)
    value = np.bincount(unit_of_customer, weights=customers["current_value"].to_numpy(dtype=float), minlength=n)
    need_unit = unit_of_customer[assignments["customer_index"].to_numpy(dtype=np.int64)]
    hours = np.bincount(need_unit, weights=assignments["workload_hours"].to_numpy(dtype=float), minlength=n)
    layer = pd.DataFrame({"unit_id": ids, "n_customers": n_customers.astype(np.int64),
                          "workload_hours": np.round(hours, 3), "value": np.round(value, 2)})
    holders = unit_holders(units, assignments)
    for team in teams:
        layer[f"rep_{team}"] = holders.get(str(team), np.full(n, "", dtype=object))
    frame = gpd.GeoDataFrame(layer, geometry=units.shapes.to_numpy(), crs=units.shapes.crs)
    return frame.sort_values("unit_id", kind="stable").reset_index(drop=True)


def rep_shape_columns(rep_ids: pd.Series, territories: pd.DataFrame) -> pd.DataFrame:
    """reps.csv's `n_parts` (pieces over all of a rep's territories) and `compactness` (the mean over its
    territories that hold units; NaN when none), aligned with `rep_ids`."""
    grouped = territories.assign(rep_id=territories["rep_id"].astype(str)).groupby("rep_id")
    parts = grouped["n_parts"].sum()
    compact = grouped["compactness"].mean()
    ids = rep_ids.astype(str)
    return pd.DataFrame({"n_parts": ids.map(parts).fillna(0).astype(np.int64).to_numpy(),
                         "compactness": np.round(ids.map(compact).astype(float).to_numpy(), 3)},
                        index=rep_ids.index)


def units_summary(units: Units, territories: pd.DataFrame) -> dict[str, object]:
    """kpis.json's `units`: where they came from, how many, the H3 resolution, split territories, mean compactness."""
    compact = territories["compactness"].to_numpy(dtype=float) if "compactness" in territories else np.zeros(0)
    compact = compact[np.isfinite(compact)]
    return {
        "source": units.source,
        "n_units": int(units.n_units),
        "resolution": None if units.resolution is None else int(units.resolution),
        "territories_with_several_parts": int((territories["n_parts"] > 1).sum()),
        "mean_compactness": round(float(compact.mean()), 3) if len(compact) else None,
    }


def team_shape_table(territories: pd.DataFrame) -> pd.DataFrame:
    """Per team: territories, pieces, territories in several parts, mean and lowest compactness (report.html)."""
    rows = []
    for team, group in territories.groupby("team", sort=False):
        compact = group["compactness"].to_numpy(dtype=float)
        compact = compact[np.isfinite(compact)]
        rows.append({"team": team, "territories": len(group), "pieces": int(group["n_parts"].sum()),
                     "in several parts": int((group["n_parts"] > 1).sum()),
                     "mean compactness": round(float(compact.mean()), 3) if len(compact) else math.nan,
                     "lowest compactness": round(float(compact.min()), 3) if len(compact) else math.nan})
    return pd.DataFrame(rows, columns=["team", "territories", "pieces", "in several parts", "mean compactness",
                                       "lowest compactness"])
