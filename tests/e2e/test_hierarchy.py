"""Territories roll up to districts and regions: from reps.csv columns or the scenario's lists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from territory_opt.cli import app

from ..conftest import REP_COLUMNS, tiny_reps, tiny_scenario_dict

RUNNER = CliRunner()


def test_districts_and_regions_are_dissolved_from_the_territories(write_case: Callable[..., Path]) -> None:
    reps = tiny_reps()
    for rep in reps:
        rep["district"] = {"F1": "West", "F2": "East", "F3": "West"}.get(rep["rep_id"], "")
    scenario = tiny_scenario_dict()
    scenario["hierarchy"] = {"districts": {"Centre": ["K1"]}, "regions": {"Wielkopolska": ["West", "East"],
                                                                            "HQ": ["Centre"]}}
    path = write_case(reps=reps, scenario=scenario, rep_columns=[*REP_COLUMNS, "district"])
    out = path.parent / "out"
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    territories = pyogrio.read_dataframe(out / "territories.geojson")
    levels = dict(zip(territories["rep_id"], zip(territories["district"], territories["region"], strict=True),
                      strict=True))
    assert levels == {"F1": ("West", "Wielkopolska"), "F2": ("East", "Wielkopolska"), "F3": ("West", "Wielkopolska"),
                      "K1": ("Centre", "HQ")}
    districts = pyogrio.read_dataframe(out / "districts.geojson")
    assert sorted(zip(districts["team"], districts["district"], strict=True)) == [
        ("field", "East"), ("field", "West"), ("key_accounts", "Centre")]
    for row in districts.itertuples():
        members = territories[(territories["team"] == row.team) & (territories["district"] == row.district)]
        assert row.n_reps == len(members) and row.n_customers == members["n_customers"].sum()
        assert row.workload_hours == pytest.approx(members["workload_hours"].sum(), abs=1e-3)
        union = shapely.union_all(members.geometry.to_numpy())
        assert shapely.equals_exact(shapely.normalize(row.geometry), shapely.normalize(union), tolerance=1e-6) or \
            abs(row.geometry.area - union.area) <= 1e-9 * union.area
    regions = pyogrio.read_dataframe(out / "regions.geojson")
    field = regions[(regions["team"] == "field") & (regions["region"] == "Wielkopolska")]
    assert len(field) == 1 and int(field["n_reps"].iloc[0]) == 3


def test_no_hierarchy_no_extra_files(write_case: Callable[..., Path]) -> None:
    path = write_case()
    out = path.parent / "out"
    assert RUNNER.invoke(app, ["run", str(path), "--out", str(out)]).exit_code == 0
    assert not (out / "districts.geojson").exists() and not (out / "regions.geojson").exists()


def test_a_rep_in_two_districts_is_a_scenario_error(write_case: Callable[..., Path]) -> None:
    scenario = tiny_scenario_dict()
    scenario["hierarchy"] = {"districts": {"A": ["F1"], "B": ["F1"]}}
    result = RUNNER.invoke(app, ["run", str(write_case(scenario=scenario)), "--out", "unused"])
    assert result.exit_code == 2 and "'F1' is in both 'A' and 'B'" in result.output


def test_a_district_naming_an_unknown_rep_is_an_input_error(write_case: Callable[..., Path]) -> None:
    scenario = tiny_scenario_dict()
    scenario["hierarchy"] = {"districts": {"A": ["F9"]}}
    result = RUNNER.invoke(app, ["run", str(write_case(scenario=scenario)), "--out", "unused"])
    assert result.exit_code == 2 and "hierarchy.districts.A" in result.output and "'F9'" in result.output
