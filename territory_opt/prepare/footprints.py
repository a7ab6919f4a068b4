"""Customers against distributor footprints: overlaps between footprints, and customers outside every footprint.

Enrichment decides each customer's footprint here, once: the footprint that contains it, and for customers
outside every footprint the scenario's rule (served through the nearest footprint, by inside sales, or refused as
an input error). Overlapping footprints are reported, since a customer in an overlap belongs to the first listed.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

from ..errors import Finding, InputError

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


def footprint_of(customers: gpd.GeoDataFrame, distributors: gpd.GeoDataFrame | None, rule: OutsideRule, *,
                 source: str, first_row: int, footprints: str) -> tuple[np.ndarray, np.ndarray, list[Finding]]:
    """Each customer's distributor footprint, decided once: the footprint containing it (the first listed where
    footprints overlap), and for customers in none the scenario's rule. Returns the ids ('' for none), which
    customers the rule sends to inside sales, and the warnings to show.

    nearest: the footprint at the smallest distance serves them; inside: they stay outside every footprint and go
    to the inside channel; error: an input error listing them.
    """
    inside_sales = np.zeros(len(customers), dtype=bool)
    ids = np.full(len(customers), "", dtype=object)
    if distributors is None or len(distributors) == 0:
        return ids, inside_sales, []
    joined = gpd.sjoin(customers[["geometry"]], distributors[["distributor_id", "geometry"]], how="inner",
                       predicate="within")
    joined = joined.sort_values("index_right", kind="stable")
    first = joined[~joined.index.duplicated(keep="first")]
    ids[customers.index.get_indexer(first.index)] = first["distributor_id"].astype(str).to_numpy()
    findings = overlap_findings(distributors, footprints)
    outside = np.flatnonzero(ids == "")
    if len(outside) == 0:
        return ids, inside_sales, findings
    sample = ", ".join(str(v) for v in customers["customer_id"].to_numpy(dtype=object)[outside[:5]])
    if rule == "error":
        raise InputError([
            Finding("customer lies outside every distributor footprint (rules.outside_footprint: error)",
                    source=source, row=int(i) + first_row, field="geometry") for i in outside[:50]
        ])
    if rule == "inside":
        inside_sales[outside] = True
        findings.append(Finding(f"{len(outside)} customers lie outside every distributor footprint (e.g. {sample}); "
                                "they go to inside sales", source=source, field="geometry"))
        return ids, inside_sales, findings
    tree = shapely.STRtree(distributors.geometry.to_numpy())
    pairs = tree.query_nearest(customers.geometry.to_numpy()[outside], all_matches=False)  # (input, footprint)
    ids[outside[pairs[0]]] = distributors["distributor_id"].astype(str).to_numpy(dtype=object)[pairs[1]]
    findings.append(Finding(f"{len(outside)} customers lie outside every distributor footprint (e.g. {sample}); "
                            "each is served through the nearest footprint", source=source, field="geometry"))
    return ids, inside_sales, findings
