"""io.write: the output folder written atomically and deterministically, from a real run of the tiny scenario.

tests/e2e/test_demo.py checks the demo's files and their contract, and the bad-input corpus checks through the CLI
that an output path that is a file (or under one) ends with exit 2 and nothing written; these pin the writer
itself: what a failure leaves, GeoJSON's RFC 7946 winding, and byte-identical files.
"""

from __future__ import annotations

import dataclasses
import json
import resource
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import yaml

from territory_opt.config import load_scenario
from territory_opt.errors import OutputError
from territory_opt.io.write import OUTPUT_FILES, write_csv, write_geojson, write_json, write_outputs
from territory_opt.pipeline import run_scenario
from territory_opt.results.run import RunResult

from .conftest import CUSTOMER_COLUMNS, REP_COLUMNS, tiny_customers, tiny_reps, tiny_scenario_dict
from .conftest import write_csv as write_rows

FULL_DISK_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The tiny scenario solved once (well under a second)."""
    folder = tmp_path_factory.mktemp("tiny")
    write_rows(folder / "customers.csv", tiny_customers(), CUSTOMER_COLUMNS)
    write_rows(folder / "reps.csv", tiny_reps(), REP_COLUMNS)
    (folder / "scenario.yaml").write_text(yaml.safe_dump(tiny_scenario_dict(), sort_keys=False), encoding="utf-8")
    return run_scenario(load_scenario(folder / "scenario.yaml"), seed=0, time_limit_s=2)


def siblings(out: Path) -> list[str]:
    """Temporary folders of a write into `out` (`.out.tmp-<pid>`, `.out.old-<pid>`)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_same_run_written_twice_gives_the_same_bytes(run: RunResult, tmp_path: Path) -> None:
    """No clock, random id or dict order may leak into any file (the report and the map included)."""
    first = write_outputs(run, tmp_path / "first")
    second = write_outputs(run, tmp_path / "second")
    # the run's own files: OUTPUT_FILES, and units.geojson when its territories are made of alignment units
    assert sorted(contents(first)) == sorted([*OUTPUT_FILES, *(["units.geojson"] if run.prepared.units else [])])
    assert contents(first) == contents(second)
    assert siblings(first) == []


@pytest.mark.parametrize("where", ["out-is-a-file", "parent-is-a-file"])
def test_an_output_path_blocked_by_a_file_leaves_nothing_behind(run: RunResult, tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me", encoding="utf-8")
    out = blocker if where == "out-is-a-file" else blocker / "out"
    with pytest.raises(OutputError) as excinfo:
        write_outputs(run, out)
    [finding] = excinfo.value.findings
    assert finding.source == str(out)
    assert finding.message.startswith("is a file" if where == "out-is-a-file" else "cannot write the output folder")
    assert blocker.read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_a_write_failing_midway_keeps_the_previous_answer(run: RunResult, tmp_path: Path) -> None:
    """kpis.json refuses NaN, after every other file is written (a bug, not the user's): the half-written folder
    goes, the last good one stays as it was."""
    out = write_outputs(run, tmp_path / "out")
    before = contents(out)
    broken = dataclasses.replace(run, kpis={**run.kpis, "objective": float("nan")})
    with pytest.raises(ValueError, match="JSON"):
        write_outputs(broken, out)
    assert contents(out) == before
    assert siblings(out) == []


def test_a_full_disk_midway_is_an_output_error_and_keeps_the_previous_answer(run: RunResult, tmp_path: Path) -> None:
    """Files over 64 KiB fail to write (EFBIG, as on a full disk; Python ignores SIGXFSZ): the report is the
    first that large, so several files are already in the temporary folder when it fails."""
    out = write_outputs(run, tmp_path / "out")
    before = contents(out)
    assert max(map(len, before.values())) > FULL_DISK_BYTES > len(before["assignments.csv"])
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FULL_DISK_BYTES, hard))
    try:
        with pytest.raises(OutputError) as excinfo:
            write_outputs(run, out)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert [str(f) for f in excinfo.value.findings] == [f"{out}: cannot write the output folder: File too large"]
    assert contents(out) == before
    assert siblings(out) == []


def test_geojson_is_rfc7946_counter_clockwise_lon_lat(tmp_path: Path) -> None:
    """A clockwise polygon with a counter-clockwise hole, in metres, comes out in degrees with the winding turned:
    exterior counter-clockwise, hole clockwise."""
    x, y = 360000.0, 500000.0  # EPSG:2180, near Poznań
    shell = [(x, y), (x, y + 1000), (x + 1000, y + 1000), (x + 1000, y), (x, y)]
    hole = [(x + 200, y + 200), (x + 800, y + 200), (x + 800, y + 800), (x + 200, y + 800), (x + 200, y + 200)]
    polygon = shapely.Polygon(shell, [hole])
    assert not polygon.exterior.is_ccw and polygon.interiors[0].is_ccw
    path = tmp_path / "t.geojson"
    write_geojson(gpd.GeoDataFrame({"rep_id": ["F1"]}, geometry=[polygon], crs="EPSG:2180"), path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in data  # RFC 7946: always WGS84 lon/lat, no crs member
    exterior, interior = data["features"][0]["geometry"]["coordinates"]
    assert shapely.LinearRing(exterior).is_ccw and not shapely.LinearRing(interior).is_ccw
    lon, lat = exterior[0]
    assert 16 < lon < 18 and 52 < lat < 53
    assert all(len(repr(v).split(".")[-1]) <= 7 for point in exterior for v in point)


def test_json_and_csv_are_written_the_same_whatever_the_order_built(tmp_path: Path) -> None:
    write_json({"b": 1, "a": {"z": "Poznań", "y": [1.5, 2]}}, tmp_path / "one.json")
    write_json({"a": {"y": [1.5, 2], "z": "Poznań"}, "b": 1}, tmp_path / "two.json")
    text = (tmp_path / "one.json").read_text(encoding="utf-8")
    assert (tmp_path / "two.json").read_text(encoding="utf-8") == text
    assert text == '{\n  "a": {\n    "y": [\n      1.5,\n      2\n    ],\n    "z": "Poznań"\n  },\n  "b": 1\n}\n'
    with pytest.raises(ValueError):
        write_json({"gap": float("inf")}, tmp_path / "inf.json")  # no non-standard `Infinity` in a KPI file
    write_csv(pd.DataFrame({"customer_id": ["C1", "C2"], "rep_id": ["F1", ""]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == b"customer_id,rep_id\nC1,F1\nC2,\n"
