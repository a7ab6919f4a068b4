"""Customer enrichment: value tier, service policy and workload, distributor footprint, serving depot and shoulder.

Pure functions of the loaded inputs and the scenario: nothing here reads files or knows about solvers.

The service of a customer is decided in this order: its tier (`tiers`: the weighted score cut by quantile or
threshold), then the tier's policy (`service`: visits, minutes, channel, per-sector exceptions; the channel turns
inside by the tier, else by `min_order_value`, else by `logistics.inside_beyond_km`), then - after segmentation, in
the pipeline - `apply_service_raises` adds visits to the customers of well-scoring segments.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Logistics, Scenario, ServiceRaise, Tiers
from ..errors import Finding
from .footprints import footprint_of
from .geo import customer_shoulders, route_network, shoulder_bands

FALLBACK_EXAMPLES = 5
WEEKS_PER_YEAR = 52
REASONS = ("tier", "min_order", "far_shoulder")  # why a customer is served inside, first that applies


def tier_scores(current: np.ndarray, potential: np.ndarray, tiers: Tiers) -> np.ndarray:
    """The score every tier method cuts: a weighted sum of current and potential value."""
    return tiers.current_weight * current + tiers.potential_weight * potential


def tier_ranks(customer_ids: np.ndarray, current: np.ndarray, potential: np.ndarray, tiers: Tiers) -> np.ndarray:
    """Index into `tiers.names` per customer (0 = best), by the scenario's method."""
    score = tier_scores(current, potential, tiers)
    if tiers.method == "thresholds":
        return _threshold_ranks(score, tiers.thresholds or [])
    return _quantile_ranks(customer_ids, score, tiers.shares)


def assign_tiers(customer_ids: np.ndarray, current: np.ndarray, potential: np.ndarray, tiers: Tiers) -> np.ndarray:
    """Tier name per customer: by score quantiles (the top `shares[0]` get `names[0]`...) or score thresholds."""
    return np.asarray(tiers.names, dtype=object)[tier_ranks(customer_ids, current, potential, tiers)]


def _quantile_ranks(customer_ids: np.ndarray, score: np.ndarray, shares: Sequence[float]) -> np.ndarray:
    """Rank customers by score and cut the ranking by cumulative shares.

    Ties break on customer id, so the same data always gives the same tiers whatever the row order.
    """
    n = len(score)
    order = np.lexsort((customer_ids, -score))
    cuts = np.rint(np.cumsum(shares) * n).astype(int)
    cuts[-1] = n
    ranks = np.empty(n, dtype=np.intp)
    ranks[order] = np.searchsorted(cuts, np.arange(n), side="right")
    return ranks


def _threshold_ranks(score: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """The first tier whose threshold (decreasing) the score reaches; below them all, the last tier."""
    ascending = np.asarray(thresholds, dtype=float)[::-1]
    return len(ascending) - np.searchsorted(ascending, score, side="right")


def empty_tier_warnings(ranks: np.ndarray, tiers: Tiers, source: str = "scenario") -> list[Finding]:
    """One warning per tier the rule leaves empty: its service level and the teams covering it get no one."""
    if len(ranks) == 0:
        return []
    counts = np.bincount(ranks, minlength=len(tiers.names))
    field = "tiers.thresholds" if tiers.method == "thresholds" else "tiers.shares"
    return [Finding(f"tier {name!r} is empty: {_tier_rule(tiers, i, len(ranks))} holds for no customer",
                    source=source, field=field)
            for i, name in enumerate(tiers.names) if counts[i] == 0]


def _tier_rule(tiers: Tiers, i: int, n: int) -> str:
    """The rule that puts customers in tier `i`, in words."""
    if tiers.method == "quantile":
        return f"a share of {tiers.shares[i]:g} of {n} customers"
    edges = tiers.thresholds or []
    if not edges:
        return "every score"
    if i == 0:
        return f"score >= {edges[0]:g}"
    if i == len(edges):
        return f"score < {edges[-1]:g}"
    return f"{edges[i]:g} <= score < {edges[i - 1]:g}"


def service_policy(ranks: np.ndarray, sectors: np.ndarray | None, current: np.ndarray, shoulder_km: np.ndarray,
                   scenario: Scenario, source: str = "scenario") -> tuple[dict[str, np.ndarray], list[Finding]]:
    """Per customer `visits_per_cycle`, `call_minutes`, `channel` and `channel_reason`, and warnings worth a look.

    The channel is inside when the tier's policy (or its sector exception) says so, else when the customer's value per
    visit is under the tier's `min_order_value`, else when its shoulder is beyond `logistics.inside_beyond_km`; the
    reason names the first that applies ('' for the field channel).
    """
    levels = [scenario.service_levels[name] for name in scenario.tiers.names]
    visits, minutes, tier_inside, findings = _tier_sector_service(ranks, sectors, scenario, source)
    min_order = np.array([np.nan if lv.min_order_value is None else lv.min_order_value for lv in levels])[ranks]
    below = _value_per_visit(current, visits, scenario.cycle_weeks) < min_order  # NaN (no minimum) is never below
    far, far_findings = _far_shoulder(shoulder_km, scenario.logistics, source)
    code = np.select([tier_inside, below, far], [1, 2, 3], default=0)
    reason = np.array(["", *REASONS], dtype=object)[code]
    channel = np.where(code > 0, "inside", "field").astype(object)
    columns = {"visits_per_cycle": visits, "call_minutes": minutes, "channel": channel, "channel_reason": reason}
    return columns, findings + far_findings


def _tier_sector_service(ranks: np.ndarray, sectors: np.ndarray | None, scenario: Scenario, source: str,
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Finding]]:
    """Visits, minutes and 'inside by policy' per customer: the tier's values, replaced by its sector exceptions.

    A small (tier x sector) table is filled once and indexed per customer, so the cost does not grow with the number
    of exceptions. A sector exception no customer can use is a warning: most likely a typo.
    """
    levels = [scenario.service_levels[name] for name in scenario.tiers.names]
    codes, known = _sector_codes(sectors, len(ranks), any(lv.by_sector for lv in levels))
    shape = (len(levels), len(known) + 1)  # the last column: customers without a sector
    visits, minutes, inside = np.empty(shape), np.empty(shape), np.empty(shape, dtype=bool)
    findings = []
    for t, (name, level) in enumerate(zip(scenario.tiers.names, levels, strict=True)):
        visits[t], minutes[t], inside[t] = level.visits_per_cycle, level.call_minutes, level.channel == "inside"
        for sector, override in level.by_sector.items():
            j = known.get(sector)
            if j is None:
                findings.append(Finding(f"no customer has sector {sector!r}; this exception applies to no one",
                                        source=source, field=f"service.{name}.by_sector"))
                continue
            if override.visits_per_cycle is not None:
                visits[t, j] = override.visits_per_cycle
            if override.call_minutes is not None:
                minutes[t, j] = override.call_minutes
            if override.channel is not None:
                inside[t, j] = override.channel == "inside"
    return visits[ranks, codes], minutes[ranks, codes], inside[ranks, codes], findings


def _sector_codes(sectors: np.ndarray | None, n: int, needed: bool) -> tuple[np.ndarray, dict[str, int]]:
    """Integer code per customer's sector and the code of each sector name; missing sectors get the last code."""
    if sectors is None or not needed:
        return np.zeros(n, dtype=np.intp), {}
    codes, uniques = pd.factorize(sectors)
    known = {str(s): j for j, s in enumerate(uniques)}
    return np.where(codes < 0, len(known), codes), known


def _value_per_visit(current: np.ndarray, visits: np.ndarray, cycle_weeks: int) -> np.ndarray:
    """current_value per visit in a year: current / (visits_per_cycle x 52 / cycle_weeks); no visits: infinite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return current / (visits * (WEEKS_PER_YEAR / cycle_weeks))


def _far_shoulder(shoulder_km: np.ndarray, logistics: Logistics, source: str) -> tuple[np.ndarray, list[Finding]]:
    """Customers beyond `inside_beyond_km`; set without any shoulder (no depots) it moves no one, which is said."""
    limit = logistics.inside_beyond_km
    if limit is None:
        return np.zeros(len(shoulder_km), dtype=bool), []
    findings = []
    if len(shoulder_km) and np.isnan(shoulder_km).all():
        findings.append(Finding("no customer has a shoulder (the scenario has no depots), so this limit moves no one "
                                "to the inside channel", source=source, field="logistics.inside_beyond_km"))
    return shoulder_km > limit, findings


def segment_extra_visits(segments: pd.DataFrame, raises: Sequence[ServiceRaise]) -> np.ndarray:
    """Extra visits per segment row: the sum over the rules its score passes (a missing score passes none)."""
    extra = np.zeros(len(segments))
    for rule in raises:
        score = pd.to_numeric(segments[rule.score], errors="coerce").to_numpy(float)
        extra += np.where(score >= rule.at_least, rule.extra_visits, 0.0)
    return extra


def apply_service_raises(customers: pd.DataFrame, segments: pd.DataFrame, raises: Sequence[ServiceRaise],
                         ) -> tuple[pd.DataFrame, int]:
    """Add the extra visits of every passing rule to the customers of its segments; `workload_hours` follows.

    Runs after segmentation, because the scores are the segments': tiers -> policy -> segments -> raises. Tier and
    channel stay as the policy set them. Returns a new frame (the same one when no one is raised) and how many
    customers were raised.
    """
    if not raises or len(segments) == 0:
        return customers, 0
    extra = segment_extra_visits(segments, raises)
    position = pd.Index(segments["segment_id"]).get_indexer(customers["segment_id"])
    per_customer = np.where(position >= 0, extra[position], 0.0)
    raised = int(np.count_nonzero(per_customer))
    if raised == 0:
        return customers, 0
    out = customers.copy()
    out["visits_per_cycle"] = out["visits_per_cycle"].to_numpy(float) + per_customer
    out["workload_hours"] = out["visits_per_cycle"] * out["call_minutes"] / 60.0
    return out, raised


def crm_call_plan(customers: pd.DataFrame) -> dict[str, np.ndarray]:
    """The accounts' own call plans from customers.csv's optional `visits_per_cycle`, `call_minutes` and `channel`
    columns (NaN / "" where a row leaves the tier policy in charge; validated on loading)."""
    n = len(customers)

    def numbers(column: str) -> np.ndarray:
        return customers[column].to_numpy(float) if column in customers else np.full(n, np.nan)

    channel = customers["channel"].to_numpy(dtype=object) if "channel" in customers else np.full(n, "", dtype=object)
    return {"visits_per_cycle": numbers("visits_per_cycle"), "call_minutes": numbers("call_minutes"),
            "channel": channel}


def enrich(customers: gpd.GeoDataFrame, scenario: Scenario, *, depots: gpd.GeoDataFrame | None = None,
           routes: gpd.GeoDataFrame | None = None, distributors: gpd.GeoDataFrame | None = None,
           warnings: list[Finding] | None = None) -> gpd.GeoDataFrame:
    """Add `tier`, `visits_per_cycle`, `call_minutes`, `workload_hours`, `distributor_id`, the shoulder columns,
    `channel` ('field' or 'inside') and `channel_reason` ('tier', 'min_order', 'far_shoulder', 'outside_footprint',
    'crm' or ''), and `call_plan` ('crm' where the row's own visits_per_cycle or call_minutes replaced the policy).

    The shoulder columns are `depot_id`, `shoulder_km`, `shoulder_min`, `shoulder_band` (see `_shoulders`). Anything
    worth a look (shoulder fallbacks, an empty tier, a sector exception no customer uses) is appended to `warnings`.
    """
    out = customers.copy()
    if "key_account" not in out:
        out["key_account"] = False
    source = scenario.source_name
    current = out["current_value"].to_numpy(float)
    ranks = tier_ranks(out["customer_id"].to_numpy(dtype=object), current, out["potential_value"].to_numpy(float),
                       scenario.tiers)
    shoulders = _shoulders(out, depots, routes, scenario, warnings)  # before the policy: far shoulders go inside
    sectors = out["sector"].to_numpy(dtype=object) if "sector" in out else None
    service, findings = service_policy(ranks, sectors, current, shoulders["shoulder_km"].to_numpy(float), scenario,
                                       source)
    out["tier"] = np.asarray(scenario.tiers.names, dtype=object)[ranks]
    crm = crm_call_plan(customers)
    out["visits_per_cycle"] = np.where(np.isnan(crm["visits_per_cycle"]), service["visits_per_cycle"],
                                       crm["visits_per_cycle"])
    out["call_minutes"] = np.where(np.isnan(crm["call_minutes"]), service["call_minutes"], crm["call_minutes"])
    out["call_plan"] = np.where(np.isnan(crm["visits_per_cycle"]) & np.isnan(crm["call_minutes"]), "policy", "crm")
    out["workload_hours"] = out["visits_per_cycle"] * out["call_minutes"] / 60.0
    layer = scenario.inputs.distributors.label if scenario.inputs.distributors is not None else "distributors"
    distributor, outside_inside, footprint_findings = footprint_of(
        out, distributors, scenario.rules.outside_footprint, source=scenario.inputs.customers.label,
        first_row=scenario.inputs.customers.first_row, footprints=layer)
    out["distributor_id"] = pd.Series(distributor, index=out.index, dtype=str)
    for column, values in shoulders.items():
        out[column] = values
    given = crm["channel"] != ""  # the CRM's channel over the tier policy; outside the footprints still inside
    channel = np.where(outside_inside, "inside", np.where(given, crm["channel"],
                                                          np.asarray(service["channel"], dtype=object)))
    reason = np.where(outside_inside, "outside_footprint",
                      np.where(given, np.where(crm["channel"] == "inside", "crm", ""),
                               np.asarray(service["channel_reason"], dtype=object)))
    out["channel"] = pd.Series(channel, index=out.index, dtype=str)
    out["channel_reason"] = pd.Series(reason, index=out.index, dtype=str)
    if warnings is not None:
        warnings.extend(empty_tier_warnings(ranks, scenario.tiers, source) + findings + footprint_findings)
    return out


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
    source = scenario.inputs.routes.label if scenario.inputs.routes is not None else "routes"
    noun = "customer lies" if len(ids) == 1 else "customers lie"
    return Finding(f"{len(ids)} {noun} by a part of the route network that reaches no depot (e.g. {sample}"
                   f"{more}); their shoulder is the straight line to the nearest depot x rules.detour_factor "
                   f"({scenario.rules.detour_factor:g})", source=source, field="geometry")
