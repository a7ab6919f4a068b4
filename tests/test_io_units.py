"""inputs.units: the alignment-unit layer read like the other polygon layers, through real files (GDAL).

Each problem names the file, the row (feature number) and the field; a customer's `unit_id` must name a unit of the
layer when one is given.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from territory_opt.config import load_scenario
from territory_opt.errors import Finding, InputError
from territory_opt.io.load import load_inputs

from .conftest import CUSTOMER_COLUMNS, CaseWriter, tiny_customers, tiny_scenario_dict

# two halves of the tiny customers' box (16.70-17.20 E, 52.25-52.55 N), split at 16.95 E
WEST = shapely.box(16.6, 52.2, 16.95, 52.6)
EAST = shapely.box(16.95, 52.2, 17.3, 52.6)


def scenario_with_units(write_case: CaseWriter, units: str, *, unit_column: bool = False,
                        bad_unit: str | None = None) -> Path:
    customers = tiny_customers()
    columns = CUSTOMER_COLUMNS
    if unit_column:
        for row in customers:
            row["unit_id"] = "W" if row["lon"] < 16.95 else "E"
        if bad_unit is not None:
            customers[4]["unit_id"] = bad_unit
        columns = [*CUSTOMER_COLUMNS, "unit_id"]
    scenario = tiny_scenario_dict()
    scenario["inputs"]["units"] = units
    return write_case(customers=customers, customer_columns=columns, scenario=scenario)


def write_units(path: Path, ids: list[str], shapes: list[object], crs: object = 4326) -> Path:
    gpd.GeoDataFrame({"unit_id": ids}, geometry=shapes, crs=crs).to_file(path)
    return path


@pytest.mark.parametrize("name", ["units.gpkg", "units.geojson"])
def test_a_units_layer_is_read_projected_and_hashed(write_case: CaseWriter, tmp_path: Path, name: str) -> None:
    write_units(tmp_path / name, ["W", "E"], [WEST, EAST])
    inputs = load_inputs(load_scenario(scenario_with_units(write_case, name, unit_column=True)))
    assert inputs.units is not None
    assert inputs.units["unit_id"].tolist() == ["W", "E"]
    assert inputs.units.crs.equals(inputs.crs) and inputs.crs.is_projected
    assert inputs.units.geometry.area.min() > 1e8  # metres now: each half is some 24 km x 44 km
    assert len(inputs.file_hashes["units"]) == 64
    assert set(inputs.customers["unit_id"]) == {"W", "E"}


def test_units_default_to_none_and_customers_may_carry_a_unit_id_alone(write_case: CaseWriter) -> None:
    customers = [{**row, "unit_id": "P-61"} for row in tiny_customers()]
    path = write_case(customers=customers, customer_columns=[*CUSTOMER_COLUMNS, "unit_id"])
    inputs = load_inputs(load_scenario(path))
    assert inputs.units is None
    assert "units" not in inputs.file_hashes
    assert set(inputs.customers["unit_id"]) == {"P-61"}


def test_a_customer_unit_missing_from_the_layer_names_file_row_and_field(write_case: CaseWriter,
                                                                          tmp_path: Path) -> None:
    write_units(tmp_path / "units.gpkg", ["W", "E"], [WEST, EAST])
    scenario = load_scenario(scenario_with_units(write_case, "units.gpkg", unit_column=True, bad_unit="X9"))
    with pytest.raises(InputError) as info:
        load_inputs(scenario)
    assert info.value.findings == [Finding(f"unit 'X9' is not in {tmp_path / 'units.gpkg'}",
                                           source=str(tmp_path / "customers.csv"), row=6, field="unit_id")]


def test_duplicate_ids_and_a_missing_column_are_named(write_case: CaseWriter, tmp_path: Path) -> None:
    write_units(tmp_path / "units.gpkg", ["W", "E", "W"], [WEST, EAST, EAST])
    with pytest.raises(InputError) as info:
        load_inputs(load_scenario(scenario_with_units(write_case, "units.gpkg")))
    name = str(tmp_path / "units.gpkg")
    assert info.value.findings == [Finding("duplicate unit_id 'W' (first at row 1)", source=name, row=3,
                                           field="unit_id")]
    gpd.GeoDataFrame({"code": ["W"]}, geometry=[WEST], crs=4326).to_file(tmp_path / "nameless.geojson")
    with pytest.raises(InputError) as info:
        load_inputs(load_scenario(scenario_with_units(write_case, "nameless.geojson")))
    (finding,) = info.value.findings
    assert (finding.source, finding.row, finding.field) == (str(tmp_path / "nameless.geojson"), None, "unit_id")
    assert finding.message.startswith("required column 'unit_id' is missing")


def test_an_invalid_unit_is_repaired_with_a_warning_and_an_empty_or_point_one_refused(write_case: CaseWriter,
                                                                                    tmp_path: Path) -> None:
    bowtie = [[16.6, 52.2], [16.95, 52.6], [16.95, 52.2], [16.6, 52.6], [16.6, 52.2]]
    features = [
        {"type": "Feature", "properties": {"unit_id": "W"}, "geometry": {"type": "Polygon", "coordinates": [bowtie]}},
        {"type": "Feature", "properties": {"unit_id": "E"}, "geometry": shapely.geometry.mapping(EAST)},
    ]
    path = tmp_path / "units.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    inputs = load_inputs(load_scenario(scenario_with_units(write_case, "units.geojson")))
    assert inputs.units is not None and inputs.units.geometry.is_valid.all()
    (warning,) = [w for w in inputs.warnings if w.source == str(path)]
    assert (warning.row, warning.field) == (1, "geometry")
    assert warning.message.startswith("invalid polygon repaired with make_valid")

    features[1]["geometry"] = {"type": "Point", "coordinates": [17.0, 52.4]}
    features.append({"type": "Feature", "properties": {"unit_id": "Z"}, "geometry": None})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_inputs(load_scenario(scenario_with_units(write_case, "units.geojson")))
    assert [(f.row, f.field, f.message) for f in info.value.findings] == [
        (2, "geometry", "geometry is a Point, expected Polygon or MultiPolygon"),
        (3, "geometry", "unit has no geometry (missing, empty, or a polygon ring that does not close)"),
    ]


def test_units_far_from_the_customers_are_kept_unless_the_whole_layer_is_elsewhere(write_case: CaseWriter,
                                                                                  tmp_path: Path) -> None:
    """A national postcode layer around a regional customer base is normal; a layer all of whose units are far
    away is in the wrong CRS."""
    far = shapely.box(-3.0, 40.0, -2.0, 41.0)  # Madrid, 2,000 km from the customers near Poznań
    write_units(tmp_path / "units.gpkg", ["W", "E", "M"], [WEST, EAST, far])
    inputs = load_inputs(load_scenario(scenario_with_units(write_case, "units.gpkg", unit_column=True)))
    assert inputs.units is not None and inputs.units["unit_id"].tolist() == ["W", "E", "M"]
    write_units(tmp_path / "elsewhere.gpkg", ["M"], [far])
    with pytest.raises(InputError) as info:
        load_inputs(load_scenario(scenario_with_units(write_case, "elsewhere.gpkg")))
    (finding,) = info.value.findings
    assert (finding.row, finding.field) == (1, "geometry") and "is the layer's CRS right?" in finding.message


def test_overlapping_units_are_refused_naming_both_rows(write_case: CaseWriter, tmp_path: Path) -> None:
    """Units that overlap (not just touch) would give a customer two units: exit 2, the units file and row."""
    from territory_opt.pipeline import prepare

    wide_west = shapely.box(16.6, 52.2, 17.05, 52.6)  # reaches 0.1 degrees into EAST
    write_units(tmp_path / "units.gpkg", ["W", "E"], [wide_west, EAST])
    with pytest.raises(InputError) as info:
        prepare(load_scenario(scenario_with_units(write_case, "units.gpkg")))
    [finding] = info.value.findings
    assert finding.source == str(tmp_path / "units.gpkg") and finding.row == 1 and finding.field == "geometry"
    assert "units 'W' and 'E' (row 2) overlap by" in finding.message and "only touch" in finding.message


def test_a_customer_far_outside_every_unit_is_refused_a_near_one_joins_with_a_warning(
        write_case: CaseWriter, tmp_path: Path) -> None:
    from territory_opt.pipeline import prepare

    # the tiny customers reach 17.164 E: a layer ending at 17.10 E leaves the easternmost ones kilometres out
    write_units(tmp_path / "units.gpkg", ["W", "E"], [WEST, shapely.box(16.95, 52.2, 17.10, 52.6)])
    with pytest.raises(InputError) as info:
        prepare(load_scenario(scenario_with_units(write_case, "units.gpkg")))
    assert info.value.findings
    for finding in info.value.findings:
        assert finding.source == str(tmp_path / "customers.csv") and finding.field == "lon/lat"
        assert finding.row is not None and "km outside every unit of" in finding.message
    # a layer ending just short of the customers (within a kilometre) is a digitising edge: joined, and said
    write_units(tmp_path / "units.gpkg", ["W", "E"], [WEST, shapely.box(16.95, 52.2, 17.16, 52.6)])
    prepared = prepare(load_scenario(scenario_with_units(write_case, "units.gpkg")))
    assert prepared.units is not None
    assert prepared.inputs.customers.to_crs(4326).geometry.x.max() > 17.16
    assert any("outside every unit" in w.message for w in prepared.warnings)
