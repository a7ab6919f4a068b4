"""Distributor footprints: overlaps reported, customers outside handled by the scenario's rule."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from territory_opt.errors import InputError
from territory_opt.footprints import overlap_findings, resolve_outside


def footprints(overlap: bool = False) -> gpd.GeoDataFrame:
    right = box(900 if overlap else 1000, 0, 2000, 1000)
    return gpd.GeoDataFrame({"distributor_id": ["W", "E"]}, geometry=[box(0, 0, 1000, 1000), right], crs=2180)


def customers() -> gpd.GeoDataFrame:
    points = [Point(500, 500), Point(1500, 500), Point(2100, 500), Point(-50, 500)]
    return gpd.GeoDataFrame({"customer_id": ["a", "b", "c", "d"], "distributor_id": ["W", "E", "", ""]},
                            geometry=points, crs=2180)


def test_touching_footprints_do_not_overlap_but_overlapping_ones_are_reported() -> None:
    assert overlap_findings(footprints(), "d.geojson") == []
    found = overlap_findings(footprints(overlap=True), "d.geojson")
    assert len(found) == 1 and "'W' and 'E'" in found[0].message and "0.10 km2" in found[0].message


def test_nearest_rule_gives_outside_customers_the_nearest_footprint() -> None:
    out, warnings = resolve_outside(customers(), footprints(), "nearest", "c.csv", 2)
    assert out["distributor_id"].tolist() == ["W", "E", "E", "W"]
    assert "2 customers" in warnings[0].message and "c, d" in warnings[0].message


def test_inside_rule_sends_outside_customers_to_the_inside_channel() -> None:
    out, _ = resolve_outside(customers(), footprints(), "inside", "c.csv", 2)
    assert out["channel"].tolist() == ["field", "field", "inside", "inside"]
    assert out["channel_reason"].tolist() == ["", "", "outside_footprint", "outside_footprint"]
    assert out["distributor_id"].tolist() == ["W", "E", "", ""]


def test_error_rule_names_every_outside_row() -> None:
    with pytest.raises(InputError) as caught:
        resolve_outside(customers(), footprints(), "error", "c.csv", 2)
    assert [f.row for f in caught.value.findings] == [4, 5]
