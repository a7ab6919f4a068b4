"""io.sources: one layer's file read into a (Geo)DataFrame, through real files written into tmp_path.

The CLI-level cases (missing file, folder, binary CSV, unknown extension, mixed separators, a pipe-separated file)
are in tests/e2e/test_bad_input.py, test_input_errors.py and the bad-input corpus; these pin what the reader
itself returns: the frame, its row offset and the findings.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from territory_opt.config import LayerSource
from territory_opt.errors import Finding
from territory_opt.io.findings import FindingLog
from territory_opt.io.sources import file_sha256, read_table


def read(path: Path, layer: str | None = None) -> tuple[pd.DataFrame | None, int, FindingLog]:
    log = FindingLog()
    frame, offset = read_table(LayerSource(path=path, layer=layer), log, "customers", "customer_id")
    return frame, offset, log


@pytest.mark.parametrize(("name", "sep"), [("c.csv", ","), ("c.csv", ";"), ("c.tsv", "\t"), ("c.txt", "\t")],
                         ids=["comma", "semicolon", "tsv-tab", "txt-tab"])
def test_the_separator_is_sniffed_from_the_header(tmp_path: Path, name: str, sep: str) -> None:
    path = tmp_path / name
    path.write_text(sep.join(["customer_id", "lon", "lat"]) + "\n" + sep.join(["C1", "16.9", "52.4"]) + "\n",
                    encoding="utf-8")
    frame, offset, log = read(path)
    assert log.errors == [] and offset == 2
    assert frame is not None and frame.to_dict("records") == [{"customer_id": "C1", "lon": "16.9", "lat": "52.4"}]


def test_a_header_and_rows_with_different_separators_is_refused_at_row_2(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,lon,lat\nC1;16.9;52.4\nC2;17.0;52.5\n", encoding="utf-8")
    frame, _, log = read(path)
    assert frame is None
    assert log.errors == [Finding("the header is separated by ',' but the rows by ';'; save the file with one "
                                  "separator", source=str(path), row=2)]


def test_excel_csv_with_bom_and_spaces_reads_clean_and_every_value_stays_text(tmp_path: Path) -> None:
    """The byte-order mark does not stick to the first column's name, a space after a separator is dropped, and
    nothing is guessed: leading zeros, `NA` (Namibia) and blanks come back as typed."""
    path = tmp_path / "customers.csv"
    path.write_bytes("customer_id, country, value\n007, NA, \n".encode("utf-8-sig"))
    frame, _, log = read(path)
    assert log.errors == [] and frame is not None
    assert list(frame.columns) == ["customer_id", "country", "value"]
    assert frame.iloc[0].tolist() == ["007", "NA", ""]


def test_gis_layers_count_rows_from_1_and_a_geopackage_layer_is_chosen_by_name(tmp_path: Path) -> None:
    path = tmp_path / "all.gpkg"
    for name, ids in (("customers", ["C1", "C2"]), ("reps", ["R1"])):
        gpd.GeoDataFrame({"id": ids}, geometry=[shapely.Point(16.9, 52.4)] * len(ids), crs=4326).to_file(
            path, layer=name, engine="pyogrio")
    frame, offset, log = read(path, layer="reps")
    assert log.errors == [] and offset == 1
    assert isinstance(frame, gpd.GeoDataFrame) and frame["id"].tolist() == ["R1"]


def test_parquet_with_geometry_is_a_geodataframe_and_without_a_plain_table(tmp_path: Path) -> None:
    table = pd.DataFrame({"customer_id": ["C1", "C2"], "lon": [16.9, 17.0], "lat": [52.4, 52.5]})
    table.to_parquet(tmp_path / "plain.parquet")
    gpd.GeoDataFrame(table[["customer_id"]], geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                     crs=4326).to_parquet(tmp_path / "geo.parquet")
    plain, plain_offset, log = read(tmp_path / "plain.parquet")
    geo, geo_offset, log2 = read(tmp_path / "geo.parquet")
    assert log.errors == log2.errors == [] and plain_offset == geo_offset == 1
    assert plain is not None and not isinstance(plain, gpd.GeoDataFrame) and plain["lon"].tolist() == [16.9, 17.0]
    assert isinstance(geo, gpd.GeoDataFrame) and geo.crs.to_epsg() == 4326 and geo.geometry.x.tolist() == [16.9, 17.0]


def test_a_header_only_csv_is_an_empty_frame_and_an_empty_file_a_finding(tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("customer_id,lon,lat\n", encoding="utf-8")
    frame, _, log = read(header_only)
    assert log.errors == [] and frame is not None and len(frame) == 0  # load says "has no rows"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    frame, _, log = read(empty)
    assert frame is None and log.errors == [Finding("customers file is empty", source=str(empty))]


def test_file_sha256_reads_past_its_block_size(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * (5 * 2**12 + 3)  # 5 MiB and a bit: several 1 MiB blocks and a short last one
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
