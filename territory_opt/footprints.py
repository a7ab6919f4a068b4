"""Customers against distributor footprints: overlaps between footprints, and customers outside every footprint.

Enrichment gives each customer the footprint that contains it (`distributor_id`, '' when none). Here the
scenario's rule decides what happens to the customers left outside (served through the nearest footprint, by
inside sales, or refused as an input error), and overlapping footprints are reported, since a customer in an
overlap silently belongs to the first footprint listed.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

from .errors import Finding, InputError

OutsideRule = Literal["nearest", "inside", "error"]
OVERLAP_REPORT_M2 = 1.0  # below this, an overlap is a digitising artefact


def overlap_findings(distributors: gpd.GeoDataFrame, source: str) -> list[Finding]:
    """One warning per pair of footprints that overlap, with the shared area."""
    geoms = distributors.geometry.to_numpy()
    ids = distributors["distributor_id"].to_numpy(dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    findings = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        area = shapely.area(shapely.intersection(geoms[i], geoms[j]))
        if area > OVERLAP_REPORT_M2:
            findings.append(Finding(
                f"footprints {ids[i]!r} and {ids[j]!r} overlap by {area / 1e6:,.2f} km2; customers there belong to "
                f"{ids[i]!r} (listed first)", source=source, field="geometry"))
    return findings


def resolve_outside(customers: gpd.GeoDataFrame, distributors: gpd.GeoDataFrame | None, rule: OutsideRule,
                    source: str, first_row: int) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Apply the scenario's rule to customers in no footprint; returns the customers and the warnings to show.

    nearest: the footprint at the smallest distance serves them; inside: they stay outside every footprint and
    go to the inside channel (`channel` = 'inside', `channel_reason` = 'outside_footprint'); error: an input
    error listing them.
    """
    if distributors is None or len(distributors) == 0 or "distributor_id" not in customers:
        return customers, []
    outside = np.flatnonzero((customers["distributor_id"].astype(str) == "").to_numpy())
    if len(outside) == 0:
        return customers, []
    ids = customers["customer_id"].to_numpy(dtype=object)
    sample = ", ".join(str(v) for v in ids[outside[:5]])
    if rule == "error":
        raise InputError([
            Finding("customer lies outside every distributor footprint (rules.outside_footprint: error)",
                    source=source, row=int(i) + first_row, field="geometry") for i in outside[:50]
        ])
    out = customers.copy()
    if rule == "inside":
        if "channel" not in out:
            out["channel"] = "field"
        if "channel_reason" not in out:
            out["channel_reason"] = ""
        column_channel = out.columns.get_loc("channel")
        column_reason = out.columns.get_loc("channel_reason")
        out.iloc[outside, column_channel] = "inside"
        out.iloc[outside, column_reason] = "outside_footprint"
        return out, [Finding(f"{len(outside)} customers lie outside every distributor footprint (e.g. {sample}); "
                             "they go to inside sales", source=source, field="geometry")]
    tree = shapely.STRtree(distributors.geometry.to_numpy())
    points = out.geometry.to_numpy()[outside]
    pairs = tree.query_nearest(points, all_matches=False)  # (input index, footprint index)
    chosen = np.empty(len(points), dtype=object)
    chosen[pairs[0]] = distributors["distributor_id"].to_numpy(dtype=object)[pairs[1]]
    out.iloc[outside, out.columns.get_loc("distributor_id")] = chosen
    return out, [Finding(f"{len(outside)} customers lie outside every distributor footprint (e.g. {sample}); each "
                         "is served through the nearest footprint", source=source, field="geometry")]
