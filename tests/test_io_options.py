"""The per-layer reading options of issue 18 (`columns:`, `sep:`, `decimal:`, `encoding:`) and the messages that
suggest them, through real files and the same one-layer path `load_inputs` takes. The CLI-level cases are in the
bad-input corpus (columns_*, delimiter_decimal_comma*, file_cp1252_*)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from pydantic import ValidationError

from territory_opt.config import LayerSource
from territory_opt.errors import Finding
from territory_opt.io.findings import FindingLog
from territory_opt.io.layers import CUSTOMERS, DISTRIBUTORS, REPS, LayerSpec, likely_column
from territory_opt.io.load import _load_layer


def load(spec: LayerSpec, **source: Any) -> tuple[gpd.GeoDataFrame | None, FindingLog]:
    log = FindingLog()
    frame, _ = _load_layer(LayerSource.model_validate(source), spec, log, {})
    return frame, log


def footprints(path: Path, column: str = "distributo") -> Path:
    square = shapely.box(16.8, 52.3, 17.0, 52.5)
    gpd.GeoDataFrame({column: ["DS1", "DS2"]}, geometry=[square, square], crs=4326).to_file(path, engine="pyogrio")
    return path


# --- columns -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("wanted", "found", "expected"), [
    ("distributor_id", ["distributo", "name"], "distributo"),  # a Shapefile's 10 characters
    ("capacity_hours", ["Capacity_H"], "Capacity_H"),
    ("customer_id", ["customer_ID"], "customer_ID"),  # case
    ("potential_value", ["potental_value"], "potental_value"),  # a typo
    ("sector", ["segment", "name"], None),
    ("rep_id", ["rep_id"], None),  # present: nothing to suggest
])
def test_the_likely_column_is_a_cut_name_or_a_near_spelling(wanted: str, found: list[str],
                                                           expected: str | None) -> None:
    assert likely_column(wanted, found) == expected


def test_a_shapefiles_cut_name_is_reported_with_the_mapping_and_read_with_it(tmp_path: Path) -> None:
    path = footprints(tmp_path / "distributors.shp")
    frame, log = load(DISTRIBUTORS, path=path)
    assert frame is None and log.errors == [Finding(
        "required column 'distributor_id' is missing (columns found besides the location (lon/lat or geometry): "
        "distributo); if 'distributo' is it, add  columns: {distributor_id: distributo}  under inputs.distributors",
        source=str(path), field="distributor_id")]
    frame, log = load(DISTRIBUTORS, path=path, columns={"distributor_id": "distributo"})
    assert log.errors == [] and frame is not None
    assert frame["distributor_id"].tolist() == ["DS1", "DS2"] and "distributo" not in frame


def test_columns_map_a_csv_and_may_swap_two_names(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_text("ID,Team,lat,lon\nF1,field,16.75,52.3\n", encoding="utf-8")
    frame, log = load(REPS, path=path, columns={"rep_id": "ID", "team": "Team", "lon": "lat", "lat": "lon"})
    assert log.errors == [] and frame is not None
    assert frame[["rep_id", "team"]].iloc[0].tolist() == ["F1", "field"]
    assert (frame.geometry.x.iloc[0], frame.geometry.y.iloc[0]) == (16.75, 52.3)


def test_a_mapping_to_a_column_the_file_lacks_or_one_that_clashes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_text("rep_id,team,team_name,lon,lat\nF1,field,Field,16.75,52.3\n", encoding="utf-8")
    frame, log = load(REPS, path=path, columns={"rep_id": "rep_ID", "team": "team_name"})
    assert frame is None
    assert log.errors == [
        Finding("columns: maps rep_id to 'rep_ID', which is not in the layer (columns found: rep_id, team, team_name, "
                "lon, lat); did you mean 'rep_id'?", source=str(path), field="rep_ID"),
        Finding("columns: maps team to 'team_name', but the layer has a column 'team' too; drop one of them from "
                "the file, or the mapping", source=str(path), field="team"),
    ]


def test_an_optional_column_cut_short_is_a_warning_naming_the_mapping(tmp_path: Path) -> None:
    """capacity_hours cut to capacity_h would otherwise be dropped without a word (every rep at the default)."""
    path = tmp_path / "reps.gpkg"
    gpd.GeoDataFrame({"rep_id": ["F1"], "team": ["field"], "capacity_h": [30.0]},
                     geometry=[shapely.Point(16.9, 52.4)], crs=4326).to_file(path, engine="pyogrio")
    frame, log = load(REPS, path=path)
    assert log.errors == [] and frame is not None and "capacity_hours" not in frame
    assert log.warnings == [Finding(
        "column 'capacity_h' looks like 'capacity_hours' cut to 10 characters (a Shapefile) and is not read as it; "
        "add  columns: {capacity_hours: capacity_h}  under inputs.reps", source=str(path), field="capacity_h")]


@pytest.mark.parametrize(("options", "fragment"), [
    ({"columns": {"rep_id": "id", "team": "id"}}, "two columns are mapped to the same file column 'id'"),
    ({"columns": {"rep_id": " "}}, "a column name is empty"),
    ({"encoding": "klingon"}, "unknown encoding 'klingon'"),
    ({"decimal": ";"}, "decimal"),
    ({"sep": "ab"}, "sep"),
])
def test_bad_reading_options_are_refused_by_the_scenario(tmp_path: Path, options: dict[str, Any],
                                                         fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        LayerSource.model_validate({"path": tmp_path / "reps.csv", **options})


def test_file_options_do_not_apply_to_a_database() -> None:
    with pytest.raises(ValidationError, match="sep, decimal and encoding apply to files"):
        LayerSource.model_validate({"url": "postgresql://etl@db/sales", "table": "reps", "encoding": "cp1252"})
    database = LayerSource.model_validate({"url": "postgresql://etl@db/sales", "table": "reps",
                                           "columns": {"rep_id": "id"}})
    assert database.columns == {"rep_id": "id"}


def customers_text(sep: str, rows: list[tuple[str, str, str]]) -> str:
    header = sep.join(["customer_id", "lon", "lat", "sector", "current_value", "potential_value"])
    return "\n".join([header, *(sep.join([f"C{i}", lon, lat, "retail", value, "10"])
                                for i, (lon, lat, value) in enumerate(rows, 1))]) + "\n"


# --- decimal commas and separators --------------------------------------------------------------------------------

def test_a_semicolon_file_with_decimal_commas_is_read_with_them_and_the_log_says_so(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(customers_text(";", [("16,86192", "52,29525", "1500,5"), ("16,9", "52,4", "7")]),
                    encoding="utf-8")
    frame, log = load(CUSTOMERS, path=path)
    assert log.errors == [] and log.warnings == [] and frame is not None
    assert frame.geometry.x.tolist() == [16.86192, 16.9] and frame.geometry.y.tolist() == [52.29525, 52.4]
    assert frame["current_value"].tolist() == [1500.5, 7.0]
    assert log.notes == [Finding("read with decimal commas: a ';'-separated file whose numbers are written like "
                                 "'16,86192' (in lon, lat, current_value); add  decimal: \",\"  under "
                                 "inputs.customers to make it explicit", source=str(path))]


def test_a_file_that_mixes_decimal_commas_and_points_is_not_guessed_and_names_the_option(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(customers_text(";", [("16,86192", "52.29525", "1")]), encoding="utf-8")
    _, log = load(CUSTOMERS, path=path)
    assert log.notes == []
    assert log.errors == [Finding("not a valid coordinate: '16,86192'; for decimal commas, add  decimal: \",\"  under "
                                  "inputs.customers", source=str(path), row=2, field="lon")]


def test_decimal_commas_in_a_comma_separated_file_need_the_option(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(customers_text(",", [('"16,86192"', '"52,29525"', '"1,5"')]), encoding="utf-8")
    _, log = load(CUSTOMERS, path=path)
    assert [(f.field, f.message.split(";")[1]) for f in log.errors] == [
        (field, ' for decimal commas, add  decimal: ","  under inputs.customers')
        for field in ("lon", "lat", "current_value")]
    frame, log = load(CUSTOMERS, path=path, decimal=",")
    assert log.errors == [] and log.notes == [] and frame is not None
    assert frame["current_value"].tolist() == [1.5] and frame.geometry.x.tolist() == [16.86192]


def test_with_decimal_commas_a_point_is_refused_rather_than_guessed(tmp_path: Path) -> None:
    """`1.234,5` (a thousands point) or `52.4` among commas: which it means cannot be told, so it is reported."""
    path = tmp_path / "customers.csv"
    path.write_text(customers_text(";", [("16,9", "52,4", "1.234,5"), ("16.9", "52,4", "2")]), encoding="utf-8")
    _, log = load(CUSTOMERS, path=path, decimal=",")
    assert [(f.row, f.field, f.message) for f in log.errors] == [
        (3, "lon", "not a valid coordinate: '16.9' (the layer is read with decimal commas: write it with a comma "
                   "and no thousands separator)"),
        (2, "current_value", "not a number: '1.234,5' (the layer is read with decimal commas: write it with a "
                             "comma and no thousands separator)"),
    ]


def test_the_separator_option_reads_a_file_the_sniffer_does_not(tmp_path: Path) -> None:
    path = tmp_path / "customers.txt"
    path.write_text(customers_text("|", [("16.9", "52.4", "5")]), encoding="utf-8")
    frame, log = load(CUSTOMERS, path=path)
    assert frame is None and log.errors[0].message.startswith("coordinate column 'lon' is missing; the header was "
                                                              "read as one column")
    frame, log = load(CUSTOMERS, path=path, sep="|")
    assert log.errors == [] and frame is not None and frame["customer_id"].tolist() == ["C1"]


# --- encoding -----------------------------------------------------------------------------------------------------

def test_a_cp1252_file_names_the_row_and_column_and_the_option_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    rows = [f"C{i},16.9,52.4,retail,1,2,Kiosk {i}" for i in range(1, 60_001)]
    rows[49_999] = "C50000,16.9,52.4,retail,1,2,Café Zoë"  # far past the reader's first buffer
    path.write_bytes(("customer_id,lon,lat,sector,current_value,potential_value,name\n" + "\n".join(rows) + "\n")
                     .encode("cp1252"))
    frame, log = load(CUSTOMERS, path=path)
    assert frame is None
    assert log.errors == [Finding("not UTF-8 text: byte 0xE9 in 'Caf\ufffd Zo\ufffd' (cp1252 reads it as 'Café "
                                  "Zoë'); if the file was saved in another encoding, add  encoding: cp1252  under "
                                  "inputs.customers, or save it as UTF-8", source=str(path), row=50_001,
                                  field="name")]
    frame, log = load(CUSTOMERS, path=path, encoding="cp1252")
    assert log.errors == [] and frame is not None and frame["name"].iloc[49_999] == "Café Zoë"


def test_the_code_page_suggested_is_the_one_that_reads_letters(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_bytes("rep_id;team;lon;lat;district\nF1;field;16,9;52,4;Łódź\n".encode("cp1250"))
    _, log = load(REPS, path=path)
    [finding] = log.errors
    assert (finding.row, finding.field) == (2, "district")
    assert "cp1252 reads it as '£ódŸ'; cp1250 reads it as 'Łódź'" in finding.message
    assert "add  encoding: cp1250  under inputs.reps" in finding.message
    frame, log = load(REPS, path=path, encoding="cp1250")
    assert log.errors == [] and frame is not None and frame["district"].tolist() == ["Łódź"]


def test_a_utf16_file_and_a_bad_header_are_named_too(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_bytes("rep_id,team,lon,lat\nF1,field,16.9,52.4\n".encode("utf-16"))
    _, log = load(REPS, path=path)
    assert [f.message for f in log.errors] == ["not UTF-8 text: the file is UTF-16; add  encoding: utf-16  under "
                                               "inputs.reps, or save it as UTF-8"]
    frame, log = load(REPS, path=path, encoding="utf-16")
    assert log.errors == [] and frame is not None and frame["rep_id"].tolist() == ["F1"]
    path.write_bytes("rep_id,équipe,lon,lat\nF1,field,16.9,52.4\n".encode("cp1252"))
    _, log = load(REPS, path=path)
    assert (log.errors[0].row, log.errors[0].field) == (None, "header")


def test_a_shapefile_in_a_code_page_is_read_with_the_encoding_option(tmp_path: Path) -> None:
    path = tmp_path / "distributors.shp"
    square = shapely.box(16.8, 52.3, 17.0, 52.5)
    gpd.GeoDataFrame({"distributo": ["Łódź"]}, geometry=[square], crs=4326).to_file(path, engine="pyogrio",
                                                                                      encoding="cp1250")
    path.with_suffix(".cpg").unlink(missing_ok=True)  # no code page file: GDAL would take the bytes as Latin-1
    frame, log = load(DISTRIBUTORS, path=path, encoding="cp1250", columns={"distributor_id": "distributo"})
    assert log.errors == [] and frame is not None and frame["distributor_id"].tolist() == ["Łódź"]


def test_rows_ended_by_a_bare_carriage_return_are_counted_too(tmp_path: Path) -> None:
    """Old Mac line ends (found by the fuzzer): the row is still named, and no CSV error escapes."""
    path = tmp_path / "reps.csv"
    path.write_bytes(b"rep_id,team,lon,lat\rF1,field,16.9,52.4\rF2,caf\xe9,16.9,52.4\r")
    _, log = load(REPS, path=path)
    assert [(f.row, f.field) for f in log.errors] == [(3, "team")]
