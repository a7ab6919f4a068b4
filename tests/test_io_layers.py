"""io.layers: one layer's columns, values, ids and geometry checked on their own, through real files.

The CLI-level cases (a duplicate id in a CSV, a missing column, each bad value, a bowtie footprint) are in
tests/e2e/ and the bad-input corpus and check the message reaches the user; these pin what the checks return: the
parsed values, every row a finding names, and the repaired geometry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from territory_opt.config import LayerSource
from territory_opt.errors import Finding
from territory_opt.io.findings import FindingLog
from territory_opt.io.layers import (
    CUSTOMERS,
    DEPOTS,
    DISTRIBUTORS,
    LayerSpec,
    check_geometry,
    check_ids,
    coerce_columns,
    points_from_lonlat,
)
from territory_opt.io.sources import read_table

from .conftest import write_csv


def checked(path: Path, spec: LayerSpec) -> tuple[gpd.GeoDataFrame, FindingLog]:
    """The one-layer checks in the order `load` runs them, on the file as read."""
    log = FindingLog()
    source = LayerSource(path=path)
    frame, offset = read_table(source, log, spec.name, spec.id_column)
    assert frame is not None, log.errors
    name = str(path)
    geo = frame if isinstance(frame, gpd.GeoDataFrame) else points_from_lonlat(frame, source, name, offset, log)
    assert geo is not None, log.errors
    geo = coerce_columns(geo, spec, name, offset, log)
    if spec.id_column in geo:
        check_ids(geo, spec, name, offset, log)
    return check_geometry(geo, spec, name, offset, log), log


def customer(customer_id: str, **values: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "lon": 16.9, "lat": 52.4, "sector": "retail", "current_value": 100,
            "potential_value": 200, **values}


def test_a_duplicate_id_names_its_row_and_the_first_one_in_a_gis_layer(tmp_path: Path) -> None:
    """Features count from 1, and every later copy points at the first, not at the copy before it."""
    path = tmp_path / "depots.gpkg"
    gpd.GeoDataFrame({"depot_id": ["D1", "D2", "D1", "D1"]}, geometry=[shapely.Point(16.9, 52.4)] * 4,
                     crs=4326).to_file(path, engine="pyogrio")
    _, log = checked(path, DEPOTS)
    assert log.errors == [
        Finding("duplicate depot_id 'D1' (first at row 1)", source=str(path), row=3, field="depot_id"),
        Finding("duplicate depot_id 'D1' (first at row 1)", source=str(path), row=4, field="depot_id"),
    ]


def test_a_missing_required_column_lists_the_columns_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "customers.csv", [customer("C1")],
                     ["customer_id", "lon", "lat", "current_value", "potential_value"])
    _, log = checked(path, CUSTOMERS)
    assert log.errors == [Finding("required column 'sector' is missing (columns found besides the location (lon/lat "
                                  "or geometry): customer_id, current_value, potential_value)", source=str(path),
                                  field="sector")]


def test_numbers_parse_and_each_bad_one_is_named_with_its_row(tmp_path: Path) -> None:
    """A blank optional number is fine (NaN), a blank required one is missing; good rows come back as floats."""
    rows = [customer("C1", max_reps=""), customer("C2", current_value="12k", max_reps=2),
            customer("C3", current_value=" 7.5 ", potential_value="", max_reps=1.5)]
    path = write_csv(tmp_path / "customers.csv", rows)
    frame, log = checked(path, CUSTOMERS)
    assert [str(f) for f in log.errors] == [
        f"{path}, row 3, field 'current_value': not a number: '12k'",
        f"{path}, row 4, field 'potential_value': value is missing",
        f"{path}, row 4, field 'max_reps': must be a finite whole number > 0, got '1.5'",
    ]
    assert frame["current_value"].tolist()[::2] == [100.0, 7.5] and np.isnan(frame["current_value"].iloc[1])
    assert np.isnan(frame["max_reps"].iloc[0]) and frame["max_reps"].iloc[1] == 2.0


def test_flags_and_clock_times_parse_to_booleans_and_minutes(tmp_path: Path) -> None:
    rows = [customer("C1", key_account="Yes", open_time="8:30", close_time="17:00"),
            customer("C2", key_account="n", open_time="", close_time=""),
            customer("C3", key_account="", open_time="24:00", close_time="09:00")]
    path = write_csv(tmp_path / "customers.csv", rows)
    frame, log = checked(path, CUSTOMERS)
    assert [str(f) for f in log.errors] == [f"{path}, row 4, field 'open_time': not a clock time HH:MM: '24:00'"]
    assert frame["key_account"].tolist() == [True, False, False]
    assert frame["open_time"].tolist()[0] == 510.0 and frame["close_time"].tolist()[:1] == [1020.0]
    assert np.isnan(frame["open_time"].iloc[1])


def test_a_self_intersecting_footprint_is_repaired_with_a_warning_and_an_unclosed_one_refused(tmp_path: Path) -> None:
    """GDAL is told not to close rings: the unclosed one comes back empty and is named by its feature number."""
    square = [[16.0, 52.0], [17.0, 52.0], [17.0, 53.0], [16.0, 53.0], [16.0, 52.0]]
    bowtie = [[16.0, 52.0], [17.0, 53.0], [17.0, 52.0], [16.0, 53.0], [16.0, 52.0]]
    unclosed = [[16.0, 52.0], [17.0, 52.0], [17.0, 53.0], [16.0, 53.0]]
    features = [{"type": "Feature", "properties": {"distributor_id": f"DS{i + 1}"},
                 "geometry": {"type": "Polygon", "coordinates": [ring]}}
                for i, ring in enumerate((square, bowtie, unclosed))]
    path = tmp_path / "distributors.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    frame, log = checked(path, DISTRIBUTORS)
    assert log.errors == [Finding("distributor has no geometry (missing, empty, or a polygon ring that does not "
                                  "close)", source=str(path), row=3, field="geometry")]
    assert [(w.row, w.field) for w in log.warnings] == [(2, "geometry")]
    assert log.warnings[0].message.startswith("invalid polygon repaired with make_valid (Self-intersection")
    repaired = frame.geometry.iloc[1]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(0.5)  # the bowtie's two triangles, not the square's 1.0
    assert frame.geometry.iloc[0].equals(shapely.Polygon(square))
