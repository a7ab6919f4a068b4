"""Territory polygons from an alignment: per team, the union of its customers' Voronoi cells per rep.

Within a team the Voronoi cells tile the study area, so one team's territories never overlap and together cover
the whole area; each territory reports how many separate parts it has (1 = contiguous).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..executor import PartExecutor

HULL_BUFFER_M = 5_000.0


def study_area(customer_xy: np.ndarray, distributors: gpd.GeoSeries | None = None) -> BaseGeometry:
    """Distributor footprints when they hold every customer, else also the customers' buffered convex hull."""
    hull = shapely.convex_hull(shapely.multipoints(customer_xy)).buffer(HULL_BUFFER_M)
    if distributors is None or len(distributors) == 0:
        return hull
    footprint = shapely.union_all(distributors.to_numpy())
    inside = shapely.contains_xy(footprint, customer_xy[:, 0], customer_xy[:, 1])
    if inside.all():
        return footprint
    return shapely.union_all([footprint, hull])


def voronoi_cells(points_xy: np.ndarray, area: BaseGeometry) -> np.ndarray:
    """One cell per point (in input order), clipped to `area`; points must be distinct."""
    if len(points_xy) == 1:
        return np.array([area], dtype=object)
    collection = shapely.voronoi_polygons(shapely.multipoints(points_xy), extend_to=area, ordered=True)
    cells = shapely.get_parts(collection)
    shapely.prepare(area)
    inside = shapely.contains_properly(area, cells)  # most cells: nothing to clip (the clip is the slow part)
    out = cells.copy()
    out[~inside] = shapely.intersection(cells[~inside], area)
    return out


def team_territories(customer_xy: np.ndarray, owner: np.ndarray, area: BaseGeometry) -> dict[object, BaseGeometry]:
    """Territory per owner (rep id) for one team's customers; co-located customers go to the first one's owner."""
    rounded = np.round(customer_xy, 0)
    _, first = np.unique(rounded, axis=0, return_index=True)
    first = np.sort(first)
    cells = voronoi_cells(customer_xy[first], area)
    cell_owner = owner[first]
    result: dict[object, BaseGeometry] = {}
    for rep in pd.unique(owner):
        mine = cells[cell_owner == rep]
        geom = shapely.union_all(mine) if len(mine) else shapely.Polygon()
        result[rep] = _polygonal(geom)
    return result


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only areas (unions can leave slivers of lines or points along shared edges)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def n_parts(geom: BaseGeometry) -> int:
    return 0 if geom.is_empty else int(shapely.get_num_geometries(geom))


def team_shapes(part: tuple[np.ndarray, np.ndarray], area: BaseGeometry) -> dict[object, BaseGeometry]:
    """`team_territories` on one team's (customer xy, owner rep id) arrays: a part for `executor.py`."""
    return team_territories(part[0], part[1], area)


def build_territories(assignments: pd.DataFrame, customer_xy: np.ndarray, area: BaseGeometry,
                      crs: object, executor: PartExecutor | None = None) -> gpd.GeoDataFrame:
    """One row per (team, rep) from a table with `customer_index`, `team`, `rep_id`, `workload_hours`; each team's
    shapes are one part on `executor` (default: here), carrying only its arrays (a team's Voronoi cells need all of
    its customers, so a team is the smallest independent piece)."""
    rows = []
    groups = list(assignments.groupby("team", sort=False))
    parts = [(customer_xy[group["customer_index"].to_numpy()], group["rep_id"].to_numpy(dtype=object))
             for _, group in groups]
    all_shapes = (executor or PartExecutor()).map(team_shapes, parts, area, stage="territories")
    for (team, group), shapes in zip(groups, all_shapes, strict=True):
        per_rep = group.groupby("rep_id", sort=False).agg(
            n_customers=("customer_index", "nunique"), workload_hours=("workload_hours", "sum"))
        for rep, geom in shapes.items():
            rows.append({
                "team": team,
                "rep_id": rep,
                "n_customers": int(per_rep.loc[rep, "n_customers"]),
                "workload_hours": round(float(per_rep.loc[rep, "workload_hours"]), 3),
                "n_parts": n_parts(geom),
                "geometry": geom,
            })
    frame = gpd.GeoDataFrame(rows, columns=["team", "rep_id", "n_customers", "workload_hours", "n_parts", "geometry"],
                             geometry="geometry", crs=crs)
    return frame.sort_values(["team", "rep_id"], kind="stable").reset_index(drop=True)


def rep_levels(reps: pd.DataFrame, districts: dict[str, list[str]],
               regions: dict[str, list[str]]) -> pd.DataFrame:
    """(rep_id, district, region) per rep: its own columns first, then the scenario's lists ('' where none)."""
    out = pd.DataFrame({"rep_id": reps["rep_id"].astype(str).to_numpy()})
    for level in ("district", "region"):
        own = reps[level].fillna("").astype(str).to_numpy() if level in reps else np.full(len(reps), "")
        out[level] = own
    by_rep = {rep: name for name, members in districts.items() for rep in members}
    out["district"] = [d or by_rep.get(r, "") for r, d in zip(out["rep_id"], out["district"], strict=True)]
    by_district = {d: name for name, members in regions.items() for d in members}
    out["region"] = [g or by_district.get(d, "") for d, g in zip(out["district"], out["region"], strict=True)]
    return out


def roll_up(territories: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """Territories dissolved per (team, `level`): one shape per team and district (or region) with its totals;
    territories without that level are left out."""
    named = territories[territories[level] != ""]
    columns = ["team", level, "n_reps", "n_customers", "workload_hours", "n_parts", "geometry"]
    if named.empty:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=territories.crs)
    rows = []
    for (team, name), group in named.groupby(["team", level], sort=True):
        geom = _polygonal(shapely.union_all(group.geometry.to_numpy()))
        rows.append({"team": team, level: name, "n_reps": int(group["rep_id"].nunique()),
                     "n_customers": int(group["n_customers"].sum()),
                     "workload_hours": round(float(group["workload_hours"].sum()), 3), "n_parts": n_parts(geom),
                     "geometry": geom})
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=territories.crs)
