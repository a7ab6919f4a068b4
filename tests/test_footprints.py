"""Distributor footprints: overlaps reported, customers outside handled by the scenario's rule."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from territory_opt.errors import InputError
from territory_opt.prepare.footprints import footprint_of, overlap_findings


def footprints(overlap: bool = False) -> gpd.GeoDataFrame:
    right = box(900 if overlap else 1000, 0, 2000, 1000)
    return gpd.GeoDataFrame({"distributor_id": ["W", "E"]}, geometry=[box(0, 0, 1000, 1000), right], crs=2180)


def customers() -> gpd.GeoDataFrame:
    points = [Point(500, 500), Point(1500, 500), Point(2100, 500), Point(-50, 500)]
    return gpd.GeoDataFrame({"customer_id": ["a", "b", "c", "d"]}, geometry=points, crs=2180)


def test_touching_footprints_do_not_overlap_but_overlapping_ones_are_reported() -> None:
    assert overlap_findings(footprints(), "d.geojson") == []
    found = overlap_findings(footprints(overlap=True), "d.geojson")
    assert len(found) == 1 and "'W' and 'E'" in found[0].message and "0.10 km2" in found[0].message


def decide(rule: str, overlap: bool = False):  # type: ignore[no-untyped-def]
    return footprint_of(customers(), footprints(overlap), rule, source="c.csv", first_row=2,  # type: ignore[arg-type]
                        footprints="d.geojson")


def test_the_containing_footprint_wins_and_overlaps_go_to_the_first_listed() -> None:
    ids, inside, warnings = decide("nearest", overlap=True)
    assert ids.tolist()[:2] == ["W", "E"] and not inside.any()
    assert "'W' and 'E'" in warnings[0].message


def test_nearest_rule_gives_outside_customers_the_nearest_footprint() -> None:
    ids, inside, warnings = decide("nearest")
    assert ids.tolist() == ["W", "E", "E", "W"] and not inside.any()
    assert "2 customers" in warnings[0].message and "c, d" in warnings[0].message


def test_inside_rule_sends_outside_customers_to_the_inside_channel() -> None:
    ids, inside, _ = decide("inside")
    assert inside.tolist() == [False, False, True, True]
    assert ids.tolist() == ["W", "E", "", ""]


def test_error_rule_names_every_outside_row() -> None:
    with pytest.raises(InputError) as caught:
        decide("error")
    assert [f.row for f in caught.value.findings] == [4, 5]
