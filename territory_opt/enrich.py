"""Customer enrichment: value tier, service level and workload, distributor footprint, nearest depot.

Pure functions of the loaded inputs and the scenario: nothing here reads files or knows about solvers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .config import Scenario, Tiers


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
           distributors: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Add `tier`, `visits_per_cycle`, `call_minutes`, `workload_hours`, `distributor_id`, `depot_id`, `depot_km`."""
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
    depot_id, depot_km = _nearest_depot(out, depots, scenario.rules.detour_factor)
    out["depot_id"] = depot_id
    out["depot_km"] = depot_km
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


def _nearest_depot(customers: gpd.GeoDataFrame, depots: gpd.GeoDataFrame | None,
                   detour: float) -> tuple[pd.Series, pd.Series]:
    if depots is None or len(depots) == 0:
        return (pd.Series("", index=customers.index, dtype=str),
                pd.Series(np.nan, index=customers.index, dtype=float))
    from scipy.spatial import cKDTree

    depot_xy = np.column_stack([depots.geometry.x, depots.geometry.y])
    cust_xy = np.column_stack([customers.geometry.x, customers.geometry.y])
    dist, idx = cKDTree(depot_xy).query(cust_xy, k=1)
    ids = depots["depot_id"].to_numpy(dtype=object)[idx]
    return (pd.Series(ids, index=customers.index, dtype=str),
            pd.Series(np.round(dist * detour / 1000.0, 3), index=customers.index))
