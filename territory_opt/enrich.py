"""Customer enrichment: value tier, service level and workload, distributor footprint, serving depot and shoulder.

Pure functions of the loaded inputs and the scenario: nothing here reads files or knows about solvers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .config import Logistics, Scenario, Tiers
from .errors import Finding
from .geo import customer_shoulders, route_network, shoulder_bands

FALLBACK_EXAMPLES = 5


def tier_scores(current: np.ndarray, potential: np.ndarray, tiers: Tiers) -> np.ndarray:
    """The score customers are ranked by: a weighted sum of current and potential value."""
    return tiers.current_weight * current + tiers.potential_weight * potential


def assign_tiers(customer_ids: np.ndarray, current: np.ndarray, potential: np.ndarray, tiers: Tiers) -> np.ndarray:
    """Tier name per customer by score quantiles: the top `shares[0]` get `names[0]`, and so on.

    Ties break on customer id, so the same data always gives the same tiers whatever the row order.
    """
    n = len(current)
    score = tier_scores(current, potential, tiers)
    order = np.lexsort((customer_ids, -score))
    cuts = np.rint(np.cumsum(tiers.shares) * n).astype(int)
    cuts[-1] = n
    rank_tier = np.searchsorted(cuts, np.arange(n), side="right")
    result = np.empty(n, dtype=object)
    result[order] = np.asarray(tiers.names, dtype=object)[rank_tier]
    return result


def enrich(customers: gpd.GeoDataFrame, scenario: Scenario, *, depots: gpd.GeoDataFrame | None = None,
           routes: gpd.GeoDataFrame | None = None, distributors: gpd.GeoDataFrame | None = None,
           warnings: list[Finding] | None = None) -> gpd.GeoDataFrame:
    """Add `tier`, `visits_per_cycle`, `call_minutes`, `workload_hours`, `distributor_id` and the shoulder columns.

    The shoulder columns are `depot_id`, `shoulder_km`, `shoulder_min`, `shoulder_band` (see `_shoulders`); any
    fallback worth a look is appended to `warnings`.
    """
    out = customers.copy()
    if "key_account" not in out:
        out["key_account"] = False
    ids = out["customer_id"].to_numpy(dtype=object)
    out["tier"] = assign_tiers(ids, out["current_value"].to_numpy(float), out["potential_value"].to_numpy(float),
                               scenario.tiers)
    levels = scenario.service
    out["visits_per_cycle"] = out["tier"].map({t: s.visits_per_cycle for t, s in levels.items()}).astype(float)
    out["call_minutes"] = out["tier"].map({t: s.call_minutes for t, s in levels.items()}).astype(float)
    out["workload_hours"] = out["visits_per_cycle"] * out["call_minutes"] / 60.0
    out["distributor_id"] = _distributor_of(out, distributors)
    for column, values in _shoulders(out, depots, routes, scenario, warnings).items():
        out[column] = values
    return out


def _distributor_of(customers: gpd.GeoDataFrame, distributors: gpd.GeoDataFrame | None) -> pd.Series:
    """Distributor footprint containing each customer; '' outside every footprint. Overlaps: the first listed."""
    result = pd.Series("", index=customers.index, dtype=object)
    if distributors is None or len(distributors) == 0:
        return result.astype(str)
    joined = gpd.sjoin(customers[["geometry"]], distributors[["distributor_id", "geometry"]], how="inner",
                       predicate="within")
    joined = joined.sort_values("index_right", kind="stable")
    first = joined[~joined.index.duplicated(keep="first")]
    result.loc[first.index] = first["distributor_id"].to_numpy()
    return result.astype(str)


def _xy(frame: gpd.GeoDataFrame | None) -> np.ndarray:
    if frame is None or len(frame) == 0:
        return np.zeros((0, 2))
    return np.column_stack([frame.geometry.x, frame.geometry.y])


def _shoulders(customers: gpd.GeoDataFrame, depots: gpd.GeoDataFrame | None, routes: gpd.GeoDataFrame | None,
               scenario: Scenario, warnings: list[Finding] | None) -> dict[str, pd.Series]:
    """Serving depot, shoulder (km, minutes) and band per customer; no depots: no shoulder (NaN, '').

    Along the route network when there is one, else straight line x `rules.detour_factor`. Customers whose part of
    the network reaches no depot fall back to the straight line too, and a warning says how many.
    """
    logistics: Logistics = scenario.logistics
    network = None
    if routes is not None and len(routes) and depots is not None and len(depots):
        network = route_network(routes, default_speed_kmh=logistics.default_speed_kmh,
                                snap_tolerance_m=logistics.snap_tolerance_m)
    result = customer_shoulders(_xy(customers), _xy(depots), network, detour_factor=scenario.rules.detour_factor,
                                leg_speed_kmh=logistics.leg_speed_kmh, road_speed_kmh=logistics.default_speed_kmh)
    depot_ids = np.full(len(customers), "", dtype=object)
    has = result.depot >= 0
    if depots is not None:
        depot_ids[has] = depots["depot_id"].to_numpy(dtype=object)[result.depot[has]]
    km = np.round(result.km, 3)
    if warnings is not None and result.fallback.any():
        warnings.append(_fallback_warning(customers, result.fallback, scenario))
    index = customers.index
    return {
        "depot_id": pd.Series(depot_ids, index=index, dtype=str),
        "shoulder_km": pd.Series(km, index=index, dtype=float),
        "shoulder_min": pd.Series(np.round(result.minutes, 2), index=index, dtype=float),
        "shoulder_band": pd.Series(shoulder_bands(km, logistics.band_names, logistics.band_upper_km), index=index,
                                   dtype=str),
    }


def _fallback_warning(customers: gpd.GeoDataFrame, fallback: np.ndarray, scenario: Scenario) -> Finding:
    ids = customers["customer_id"].to_numpy(dtype=object)[fallback]
    sample = ", ".join(str(i) for i in ids[:FALLBACK_EXAMPLES])
    more = ", ..." if len(ids) > FALLBACK_EXAMPLES else ""
    source = str(scenario.inputs.routes.path) if scenario.inputs.routes is not None else "routes"
    noun = "customer lies" if len(ids) == 1 else "customers lie"
    return Finding(f"{len(ids)} {noun} by a part of the route network that reaches no depot (e.g. {sample}"
                   f"{more}); their shoulder is the straight line to the nearest depot x rules.detour_factor "
                   f"({scenario.rules.detour_factor:g})", source=source, field="geometry")
