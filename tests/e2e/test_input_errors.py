"""User-caused errors end with exit code 2 (3 when infeasible), file/row/field named, no traceback, no output."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from territory_opt.cli import app

from ..conftest import CUSTOMER_COLUMNS, tiny_customers, tiny_reps, tiny_scenario_dict

RUNNER = CliRunner()
Rows = list[dict[str, Any]]


def invoke(command: str, scenario: Path) -> tuple[int, str]:
    result = RUNNER.invoke(app, [command, str(scenario)])
    return result.exit_code, result.output


def assert_clean_failure(scenario: Path, code: int, *fragments: str) -> str:
    """Both commands fail the same way; `run` leaves no output folder and no temporary folder."""
    for command in ("validate", "run"):
        exit_code, output = invoke(command, scenario)
        assert exit_code == code, output
        assert "Traceback" not in output
        for fragment in fragments:
            assert fragment in output, f"{fragment!r} not in:\n{output}"
        if code == 3:
            break  # validate solves nothing, so it cannot see infeasibility
    assert not (scenario.parent / "out").exists()
    assert not [p for p in scenario.parent.iterdir() if p.name.startswith(".out")]
    return output


def customers_with(change: Callable[[Rows], None]) -> Rows:
    rows = tiny_customers()
    change(rows)
    return rows


def set_value(row: int, column: str, value: Any) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        rows[row][column] = value

    return change


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (set_value(15, "lat", 95.2), ("customers.csv", "row 17", "lat", "95.2")),
        (set_value(3, "lon", -190), ("customers.csv", "row 5", "lon")),
        (set_value(4, "lat", ""), ("customers.csv", "row 6", "lat", "missing")),
        (set_value(8, "current_value", "12k"), ("customers.csv", "row 10", "current_value", "12k")),
        (set_value(9, "lon", "abc"), ("customers.csv", "row 11", "lon")),
        (set_value(6, "customer_id", "C006"), ("customers.csv", "row 8", "customer_id", "C006")),
        (set_value(2, "customer_id", ""), ("customers.csv", "row 4", "customer_id")),
    ],
    ids=["lat-out-of-range", "lon-out-of-range", "lat-missing", "non-numeric-value", "non-numeric-lon",
         "duplicate-id", "missing-id"],
)
def test_bad_customer_values(write_case: Callable[..., Path], change: Callable[[Rows], None],
                             fragments: tuple[str, ...]) -> None:
    scenario = write_case(customers=customers_with(change))
    assert_clean_failure(scenario, 2, *fragments)


def test_swapped_coordinates_are_outside_the_datas_region(write_case: Callable[..., Path]) -> None:
    def swap(rows: Rows) -> None:
        rows[11]["lon"], rows[11]["lat"] = rows[11]["lat"], rows[11]["lon"]

    scenario = write_case(customers=customers_with(swap))
    assert_clean_failure(scenario, 2, "customers.csv", "row 13")


def test_a_customers_file_with_lat_and_lon_swapped_is_the_one_named(write_case: Callable[..., Path]) -> None:
    """Issue 18: every customer's lat and lon swapped used to blame every rep and depot (their points far from the
    customers' region) and never name customers.csv. Beside reps and depots, the customers file is the odd one."""
    def swap_all(rows: Rows) -> None:
        for row in rows:
            row["lon"], row["lat"] = row["lat"], row["lon"]

    scenario = write_case(customers=customers_with(swap_all))
    depots = scenario.parent / "depots.csv"
    depots.write_text("depot_id,lon,lat\nD1,16.93,52.41\nD2,17.05,52.50\n", encoding="utf-8")
    data = yaml.safe_load(scenario.read_text())
    data["inputs"]["depots"] = "depots.csv"
    scenario.write_text(yaml.safe_dump(data))
    output = assert_clean_failure(scenario, 2, "customers.csv, field 'lon/lat': lat and lon look swapped in "
                                  "customers.csv (columns 'lon' and 'lat'): its 40 rows", "from reps.csv, depots.csv",
                                  "add  lon: lat  and  lat: lon  under inputs.customers")
    assert "problems found" not in output and "reps.csv, row" not in output and "depots.csv, row" not in output


def test_every_problem_is_listed_at_once(write_case: Callable[..., Path]) -> None:
    def two(rows: Rows) -> None:
        rows[1]["lat"] = 123
        rows[20]["current_value"] = "n/a"

    output = assert_clean_failure(write_case(customers=customers_with(two)), 2, "row 3", "row 22")
    assert "2 problems" in output


def test_a_bad_row_does_not_hide_the_other_files_problems_and_rows_come_in_order(
        write_case: Callable[..., Path]) -> None:
    """A rep without a location (row 3) used to stop the checks that span files: the unknown team on row 5 only
    showed up on the next run."""
    reps = tiny_reps()
    reps[1]["lon"] = ""
    reps[3]["team"] = "feild"

    def late_first(rows: Rows) -> None:
        rows[30]["current_value"] = "n/a"
        rows[4]["lat"] = 123

    output = assert_clean_failure(write_case(customers=customers_with(late_first), reps=reps), 2,
                                  "row 3, field 'lon'", "row 5, field 'team': unknown team 'feild'")
    assert "5 problems" in output and "team 'key_accounts' has no reps" in output  # K1 was its only rep
    assert output.index("row 6") < output.index("row 32") < output.index("reps.csv, row 3") \
        < output.index("reps.csv, row 5")


def test_a_team_typo_on_many_rows_is_one_line_with_a_suggestion(write_case: Callable[..., Path]) -> None:
    reps = [*tiny_reps(), *({"rep_id": f"X{i}", "team": "Field", "lon": 16.9, "lat": 52.4, "capacity_hours": 40}
                            for i in range(11))]
    reps[1]["team"] = "Field"
    output = assert_clean_failure(write_case(reps=reps), 2, "reps.csv, row 3, field 'team': unknown team 'Field'",
                                  "did you mean 'field'?", "and 11 more row(s): 6, 7, 8")
    assert output.count("unknown team") == 1


def test_two_layers_of_one_geopackage_are_named_apart(write_case: Callable[..., Path]) -> None:
    import geopandas as gpd
    import pandas as pd

    path = write_case()
    folder = path.parent
    for name in ("customers", "reps"):
        table = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        layer = gpd.GeoDataFrame(table.drop(columns=["lon", "lat"]), crs=4326,
                                 geometry=gpd.points_from_xy(table["lon"].astype(float), table["lat"].astype(float)))
        if name == "customers":
            layer.loc[3, "current_value"] = "n/a"
        else:
            layer.loc[1, "rep_id"] = layer.loc[0, "rep_id"]
        layer.to_file(folder / "all.gpkg", layer=name, engine="pyogrio")
    scenario = yaml.safe_load(path.read_text())
    scenario["inputs"] = {"customers": {"path": "all.gpkg", "layer": "customers"},
                          "reps": {"path": "all.gpkg", "layer": "reps"}}
    path.write_text(yaml.safe_dump(scenario))
    output = assert_clean_failure(path, 2, "all.gpkg layer customers, row 4, field 'current_value'",
                                  "all.gpkg layer reps, row 2, field 'rep_id'")
    assert output.index("layer customers, row 4") < output.index("layer reps, row 2")


@pytest.mark.parametrize("column", ["sector", "current_value", "lat", "customer_id"])
def test_missing_required_column(write_case: Callable[..., Path], column: str) -> None:
    columns = [c for c in CUSTOMER_COLUMNS if c != column]
    scenario = write_case(customer_columns=columns)
    assert_clean_failure(scenario, 2, "customers.csv", column)


def test_rep_without_location(write_case: Callable[..., Path]) -> None:
    reps = tiny_reps()
    reps[1]["lon"] = ""
    reps[1]["lat"] = ""
    assert_clean_failure(write_case(reps=reps), 2, "reps.csv", "row 3")


def test_duplicate_rep_id(write_case: Callable[..., Path]) -> None:
    reps = tiny_reps()
    reps[2]["rep_id"] = "F1"
    assert_clean_failure(write_case(reps=reps), 2, "reps.csv", "row 4", "F1")


def test_rep_in_an_unknown_team(write_case: Callable[..., Path]) -> None:
    reps = tiny_reps()
    reps[0]["team"] = "feild"
    assert_clean_failure(write_case(reps=reps), 2, "reps.csv", "feild")


def test_empty_team(write_case: Callable[..., Path]) -> None:
    scenario = tiny_scenario_dict()
    scenario["teams"].append({"name": "horeca", "covers": {"sectors": ["horeca"]}})
    assert_clean_failure(write_case(scenario=scenario), 2, "horeca")


def test_unknown_current_rep_is_a_lost_rep_not_an_error(write_case: Callable[..., Path]) -> None:
    """Reps leave: their customers are reassigned, with a warning naming the file, row and field."""
    scenario = write_case(customers=customers_with(set_value(5, "current_rep_id", "GHOST")))
    out = scenario.parent / "out"
    result = RUNNER.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "customers.csv, row 7, field 'current_rep_id'" in result.output and "GHOST" in result.output
    changes = (out / "changes.csv").read_text()
    assert "GHOST" in changes and "lost rep" in changes


def test_capacity_that_cannot_cover_the_workload(write_case: Callable[..., Path]) -> None:
    reps = tiny_reps()
    for rep in reps:
        rep["capacity_hours"] = 2
    output = assert_clean_failure(write_case(reps=reps), 3, "field")
    assert "short by" in output


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("name: [unclosed\n", ("scenario.yaml", "YAML")),
        ("- just\n- a list\n", ("scenario.yaml", "mapping")),
    ],
    ids=["bad-syntax", "not-a-mapping"],
)
def test_bad_yaml(write_case: Callable[..., Path], text: str, fragments: tuple[str, ...]) -> None:
    scenario = write_case()
    scenario.write_text(text)
    assert_clean_failure(scenario, 2, *fragments)


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda s: s.update(colour="red"), ("colour", "unknown key")),
        (lambda s: s["rules"].update(balance_tolerance="abc"), ("rules.balance_tolerance",)),
        (lambda s: s["rules"].update(max_reps_per_customer=0), ("rules.max_reps_per_customer",)),
        (lambda s: s.update(crs="EPSG:4326"), ("crs", "projected")),
        (lambda s: s.pop("teams"), ("teams",)),
    ],
    ids=["unknown-key", "wrong-type", "out-of-range", "geographic-crs", "missing-teams"],
)
def test_bad_scenario_fields(write_case: Callable[..., Path], edit: Callable[[dict[str, Any]], None],
                             fragments: tuple[str, ...]) -> None:
    data = tiny_scenario_dict()
    edit(data)
    assert_clean_failure(write_case(scenario=data), 2, "scenario.yaml", *fragments)


def test_missing_scenario_file(tmp_path: Path) -> None:
    code, output = invoke("run", tmp_path / "nowhere.yaml")
    assert code == 2 and "nowhere.yaml" in output and "not found" in output


def test_missing_input_file(write_case: Callable[..., Path]) -> None:
    scenario = write_case()
    (scenario.parent / "customers.csv").unlink()
    assert_clean_failure(scenario, 2, "customers.csv", "not found")


def test_folder_instead_of_file(write_case: Callable[..., Path]) -> None:
    scenario = write_case()
    path = scenario.parent / "customers.csv"
    path.unlink()
    path.mkdir()
    assert_clean_failure(scenario, 2, "customers.csv")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode; CI runs as root")
def test_unreadable_file(write_case: Callable[..., Path]) -> None:
    scenario = write_case()
    (scenario.parent / "customers.csv").chmod(0)
    assert_clean_failure(scenario, 2, "customers.csv")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("customers.csv", b"\x00\x01\x02\xff\xfe binary \x00\x00"),
        ("customers.geojson", b"{ this is not json"),
        ("customers.xlsx", b"PK\x03\x04 spreadsheet"),
    ],
    ids=["binary-csv", "broken-geojson", "unknown-format"],
)
def test_wrong_format(write_case: Callable[..., Path], name: str, content: bytes) -> None:
    data = tiny_scenario_dict()
    data["inputs"]["customers"] = name
    scenario = write_case(scenario=data)
    (scenario.parent / name).write_bytes(content)
    assert_clean_failure(scenario, 2, name)


def test_a_failed_run_keeps_the_previous_answer(write_case: Callable[..., Path]) -> None:
    scenario = write_case()
    code, output = invoke("run", scenario)
    assert code == 0, output
    before = {p.name: p.read_bytes() for p in (scenario.parent / "out").iterdir()}
    rows = tiny_customers()
    rows[0]["lat"] = 99
    data = yaml.safe_load(scenario.read_text())
    write_case(customers=rows, scenario=data)
    code, output = invoke("run", scenario)
    assert code == 2
    assert {p.name: p.read_bytes() for p in (scenario.parent / "out").iterdir()} == before


def test_sandbox_root_refuses_paths_outside_it(write_case: Callable[..., Path], tmp_path: Path) -> None:
    scenario = tiny_scenario_dict()
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    outside.mkdir()
    (outside / "reps.csv").write_text((write_case().parent / "reps.csv").read_text())
    scenario["inputs"]["reps"] = str(outside / "reps.csv")
    path = write_case(scenario=scenario)
    out = path.parent / "out"
    refused = RUNNER.invoke(app, ["run", str(path), "--out", str(out), "--sandbox-root", str(path.parent)])
    assert refused.exit_code == 2 and "inputs.reps" in refused.output and "outside the allowed roots" in refused.output
    assert not out.exists()
    escaped = RUNNER.invoke(app, ["run", str(write_case()), "--out", str(outside / "out"), "--sandbox-root",
                                  str(path.parent)])
    assert escaped.exit_code == 2 and "output.dir" in escaped.output
    allowed = RUNNER.invoke(app, ["run", str(path), "--out", str(out), "--sandbox-root", str(path.parent),
                                  "--sandbox-root", str(outside)])
    assert allowed.exit_code == 0, allowed.output
