"""User-caused input errors, end to end through the real CLI on real files.

Each case must end with the documented exit code (2 bad input or scenario, 3 infeasible), a message that names
the file and, where there is one, the row (CSV: header = row 1, first data row = row 2; GIS layers: feature
index + 1) and the field, no traceback, and no output folder (not even a partial or temporary one).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from territory_opt.cli import app

from ..conftest import CUSTOMER_COLUMNS, CaseWriter, tiny_customers, tiny_reps, tiny_scenario_dict, write_csv

RUNNER = CliRunner()
BOTH = ("validate", "run")
Rows = list[dict[str, Any]]


def invoke(command: str, scenario: Path, *extra: str) -> tuple[int, str]:
    args = [command, str(scenario), *extra]
    if command == "run":
        args += ["--time-limit", "2", "--quiet"]
    result = RUNNER.invoke(app, args)
    return result.exit_code, result.output


def assert_no_output(folder: Path) -> None:
    """Neither the output folder nor any temporary sibling of it exists."""
    assert not folder.exists(), f"output folder {folder} left behind"
    leftovers = [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]
    assert not leftovers, f"temporary folders left behind: {leftovers}"


def assert_reported(output: str, file: str, row: int | None = None, field: str | None = None) -> None:
    """One line of the output names the file, the row and the field together."""
    wanted = [re.escape(file)]
    if row is not None:
        wanted.append(rf"\brow {row}\b")
    if field is not None:
        wanted.append(re.escape(f"field '{field}'"))
    lines = output.splitlines()
    assert any(all(re.search(w, line) for w in wanted) for line in lines), (
        f"no line names {file!r}, row {row}, field {field!r}:\n{output}")


def fail(scenario: Path, code: int = 2, out: Path | None = None) -> list[str]:
    """Run `validate` and `run`: check the exit code, no traceback and no output folder; return both outputs."""
    out = out or scenario.parent / "out"
    outputs = []
    for command in BOTH:
        exit_code, output = invoke(command, scenario)
        assert exit_code == code, f"{command}: exit {exit_code}, expected {code}:\n{output}"
        assert "Traceback" not in output, output
        assert "internal error" not in output, output
        assert_no_output(out)
        outputs.append(output)
    return outputs


def altered(rows: Rows, index: int, **changes: Any) -> Rows:
    rows[index] = {**rows[index], **changes}
    return rows


# --- files: missing, unreadable, folders, wrong formats ----------------------------------------------------------


def test_missing_customers_file(write_case: CaseWriter) -> None:
    scenario = write_case()
    (scenario.parent / "customers.csv").unlink()
    for output in fail(scenario):
        assert_reported(output, "customers.csv")
        assert "not found" in output


@pytest.mark.parametrize("name", ["customers.csv", "scenario.yaml"])
def test_unreadable_file(write_case: CaseWriter, name: str) -> None:
    scenario = write_case()
    path = scenario.parent / name
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user (root) who can read a chmod 000 file")
        for output in fail(scenario):
            assert_reported(output, name)
            assert "readable" in output or "permission denied" in output
    finally:
        path.chmod(0o644)


def test_folder_given_as_customers_file(write_case: CaseWriter) -> None:
    scenario = write_case()
    (scenario.parent / "customers.csv").unlink()
    (scenario.parent / "customers.csv").mkdir()
    for output in fail(scenario):
        assert_reported(output, "customers.csv")
        assert "folder" in output


def test_folder_given_as_scenario(tmp_path: Path, write_case: CaseWriter) -> None:
    write_case()
    for output in fail(tmp_path, out=tmp_path / "out"):
        assert_reported(output, tmp_path.name)
        assert "folder" in output


def test_scenario_file_missing(tmp_path: Path) -> None:
    for output in fail(tmp_path / "nowhere.yaml"):
        assert_reported(output, "nowhere.yaml")
        assert "not found" in output


@pytest.mark.parametrize(("name", "content", "words"), [
    ("customers.csv", bytes(range(256)) * 8, "not UTF-8"),
    ("customers.geojson", b"this is not JSON {{{", "not valid .geojson"),
    ("customers.xyz", b"customer_id,lon,lat\nC1,16.9,52.4\n", "'.xyz' is not recognised"),
], ids=["binary-csv", "geojson-not-json", "unknown-extension"])
def test_wrong_file_format(write_case: CaseWriter, name: str, content: bytes, words: str) -> None:
    scenario_dict = tiny_scenario_dict()
    scenario_dict["inputs"]["customers"] = name
    scenario = write_case(scenario=scenario_dict)
    (scenario.parent / name).write_bytes(content)
    for output in fail(scenario):
        assert_reported(output, name)
        assert words in output and "<DRIVER>" not in output


# --- columns and values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["sector", "current_value", "lon", "lat"])
def test_missing_required_column(write_case: CaseWriter, column: str) -> None:
    scenario = write_case(customer_columns=[c for c in CUSTOMER_COLUMNS if c != column])
    for output in fail(scenario):
        assert_reported(output, "customers.csv", field=column)
        assert "missing" in output


@pytest.mark.parametrize(("changes", "row", "field", "words"), [
    ({"current_value": "lots"}, 6, "current_value", "not a number"),
    ({"lat": 95}, 6, "lat", "out of range"),
    ({"lon": 200}, 6, "lon", "out of range"),
    ({"lon": ""}, 6, "lon", "missing"),
    ({"lat": ""}, 6, "lat", "missing"),
    ({"lon": 52.41, "lat": 16.93}, 6, "lon/lat", "swapped"),
], ids=["current_value-not-number", "lat-95", "lon-200", "lon-empty", "lat-empty", "lat-lon-swapped"])
def test_bad_customer_value(write_case: CaseWriter, changes: dict[str, Any], row: int, field: str,
                            words: str) -> None:
    scenario = write_case(customers=altered(tiny_customers(), row - 2, **changes))
    for output in fail(scenario):
        assert_reported(output, "customers.csv", row=row, field=field)
        assert words in output


def test_duplicate_customer_id(write_case: CaseWriter) -> None:
    customers = tiny_customers()
    scenario = write_case(customers=altered(customers, 9, customer_id=customers[2]["customer_id"]))
    for output in fail(scenario):
        assert_reported(output, "customers.csv", row=11, field="customer_id")
        assert "duplicate" in output and "first at row 4" in output


def test_duplicate_rep_id(write_case: CaseWriter) -> None:
    scenario = write_case(reps=altered(tiny_reps(), 2, rep_id="F1"))
    for output in fail(scenario):
        assert_reported(output, "reps.csv", row=4, field="rep_id")
        assert "duplicate" in output


def test_rep_without_location(write_case: CaseWriter) -> None:
    scenario = write_case(reps=altered(tiny_reps(), 1, lon="", lat=""))
    for output in fail(scenario):
        assert_reported(output, "reps.csv", row=3, field="lon")
        assert_reported(output, "reps.csv", row=3, field="lat")


# --- references between files ------------------------------------------------------------------------------------


def test_unknown_team_in_reps(write_case: CaseWriter) -> None:
    scenario = write_case(reps=altered(tiny_reps(), 2, team="feild"))
    for output in fail(scenario):
        assert_reported(output, "reps.csv", row=4, field="team")
        assert "feild" in output


def test_team_without_reps(write_case: CaseWriter) -> None:
    scenario_dict = tiny_scenario_dict()
    scenario_dict["teams"].append({"name": "inside_sales"})
    scenario = write_case(scenario=scenario_dict)
    for output in fail(scenario):
        assert_reported(output, "scenario.yaml", field="teams[2]")
        assert "inside_sales" in output and "no reps" in output


@pytest.mark.parametrize("column", ["locked_rep_id"])  # an unknown current rep is a warning ("lost rep")
def test_customer_names_unknown_rep(write_case: CaseWriter, column: str) -> None:
    customers = [{**c, column: ""} for c in tiny_customers()]
    customers[6][column] = "GHOST"
    columns = CUSTOMER_COLUMNS if column in CUSTOMER_COLUMNS else [*CUSTOMER_COLUMNS, column]
    scenario = write_case(customers=customers, customer_columns=columns)
    for output in fail(scenario):
        assert_reported(output, "customers.csv", row=8, field=column)
        assert "GHOST" in output


def _write_geojson(path: Path, rows: Rows) -> Path:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
         "properties": {k: v for k, v in row.items() if k not in ("lon", "lat")}}
        for row in rows
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _write_gpkg(path: Path, rows: Rows) -> Path:
    import geopandas as gpd

    frame = gpd.GeoDataFrame([{k: v for k, v in r.items() if k not in ("lon", "lat")} for r in rows],
                             geometry=gpd.points_from_xy([r["lon"] for r in rows], [r["lat"] for r in rows]),
                             crs=4326)
    frame.to_file(path, driver="GPKG")
    return path


def _write_tsv(path: Path, rows: Rows) -> Path:
    header = list(rows[0])
    lines = ["\t".join(header), *("\t".join(str(r[c]) for c in header) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


WRITERS: dict[str, Callable[[Path, Rows], Path]] = {
    "csv": lambda path, rows: write_csv(path, rows),
    "tsv": _write_tsv,
    "geojson": _write_geojson,
    "gpkg": _write_gpkg,
}
FIRST_ROW = {"csv": 2, "tsv": 2, "geojson": 1, "gpkg": 1}  # row number of the first record


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_reference_rows_follow_the_file_format(tmp_path: Path, fmt: str) -> None:
    """Rows in cross-file checks count like every other check: CSV lines from 2, GIS features from 1."""
    customers = [{**c, "locked_rep_id": "GHOST" if i == 5 else ""} for i, c in enumerate(tiny_customers())]
    reps = altered(tiny_reps(), 2, team="feild")
    for rep in reps:
        rep["depot_id"] = "D9" if rep["rep_id"] == "F2" else "D1"
    WRITERS[fmt](tmp_path / f"customers.{fmt}", customers)
    WRITERS[fmt](tmp_path / f"reps.{fmt}", reps)
    write_csv(tmp_path / "depots.csv", [{"depot_id": "D1", "lon": 16.93, "lat": 52.41}])
    scenario_dict = tiny_scenario_dict()
    scenario_dict["inputs"] = {"customers": f"customers.{fmt}", "reps": f"reps.{fmt}", "depots": "depots.csv"}
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(scenario_dict, sort_keys=False))
    first = FIRST_ROW[fmt]
    for output in fail(scenario):
        assert_reported(output, f"customers.{fmt}", row=5 + first, field="locked_rep_id")
        assert_reported(output, f"reps.{fmt}", row=2 + first, field="team")
        assert_reported(output, f"reps.{fmt}", row=1 + first, field="depot_id")


# --- the scenario YAML -------------------------------------------------------------------------------------------


def test_bad_yaml_syntax(tmp_path: Path, write_case: CaseWriter) -> None:
    scenario = write_case()
    scenario.write_text("name: tiny\ninputs:\n  customers: customers.csv\n   reps: reps.csv\n")
    for output in fail(scenario):
        assert_reported(output, "scenario.yaml", row=4)
        assert "not valid YAML" in output


def test_unknown_yaml_key(write_case: CaseWriter) -> None:
    scenario_dict = tiny_scenario_dict()
    scenario_dict["rules"]["balance_tolerence"] = 0.1
    scenario = write_case(scenario=scenario_dict)
    for output in fail(scenario):
        assert_reported(output, "scenario.yaml", field="rules.balance_tolerence")
        assert "unknown key" in output


def test_wrong_type_in_yaml(write_case: CaseWriter) -> None:
    scenario_dict = tiny_scenario_dict()
    scenario_dict["rules"]["balance_tolerance"] = "abc"
    scenario = write_case(scenario=scenario_dict)
    for output in fail(scenario):
        assert_reported(output, "scenario.yaml", field="rules.balance_tolerance")


# --- infeasible: capacity cannot cover the workload --------------------------------------------------------------


def test_capacity_cannot_cover_workload(write_case: CaseWriter) -> None:
    reps = [{**rep, "capacity_hours": 0.5} for rep in tiny_reps()]
    scenario = write_case(reps=reps)
    for output in fail(scenario, code=3):
        assert "infeasible" in output and "short by" in output
        assert "'field'" in output


# --- several problems at once, and an explicit --out -------------------------------------------------------------


def test_every_problem_is_listed_at_once(write_case: CaseWriter) -> None:
    customers = altered(tiny_customers(), 3, current_value="n/a")
    customers = altered(customers, 11, lat=95)
    scenario = write_case(customers=customers, reps=altered(tiny_reps(), 0, team="feild"))
    for output in fail(scenario):
        assert "3 problems found" in output
        assert_reported(output, "customers.csv", row=5, field="current_value")
        assert_reported(output, "customers.csv", row=13, field="lat")
        assert_reported(output, "reps.csv", row=2, field="team")


def test_explicit_out_folder_is_not_created(tmp_path: Path, write_case: CaseWriter) -> None:
    scenario = write_case(customers=altered(tiny_customers(), 0, lat=95))
    target = tmp_path / "results" / "run1"
    exit_code, output = invoke("run", scenario, "--out", str(target))
    assert exit_code == 2 and "Traceback" not in output, output
    assert_reported(output, "customers.csv", row=2, field="lat")
    assert_no_output(tmp_path / "out")
    assert not target.parent.exists(), "the --out folder's parent was created for a failed run"

