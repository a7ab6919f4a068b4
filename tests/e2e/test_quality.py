"""Data-quality warnings end to end: far customers, shared locations, idle reps, sudden changes; --strict fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from territory_opt.cli import app

from ..conftest import tiny_customers, tiny_reps, tiny_scenario_dict

RUNNER = CliRunner()


def warnings_of(out: Path) -> list[str]:
    return pd.read_csv(out / "warnings.csv", dtype=str, keep_default_na=False)["message"].tolist()


def test_far_and_co_located_customers_are_warned_about_and_strict_fails(write_case: Callable[..., Path]) -> None:
    customers = tiny_customers()
    customers[4].update(lon=17.6, lat=52.62)  # about 60 km by road from the nearest field rep
    customers[9].update(lon=customers[8]["lon"], lat=customers[8]["lat"])
    scenario = tiny_scenario_dict()
    scenario["quality"] = {"far_km": 50}
    scenario["rules"]["balance_tolerance"] = 0.5
    path = write_case(customers=customers, scenario=scenario)
    out = path.parent / "out"
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    found = warnings_of(out)
    assert any("more than 50 km" in w and "C005" in w for w in found)
    assert any(w.startswith("far_from_own_rep: customer C005") for w in found)  # also far from its own rep's others
    team_km = json.loads((out / "kpis.json").read_text())["team_km"]
    assert set(team_km) == {"key_accounts", "field"} and team_km["field"]["max_km"] > 50
    assert team_km["field"]["p95_km"] <= team_km["field"]["max_km"]
    assert any("share their exact location" in w and "C009" in w and "C010" in w for w in found)
    strict = path.parent / "strict"
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(strict), "--strict"])
    assert result.exit_code == 2 and "--strict" in result.output and "C005" in result.output
    assert not strict.exists()


def test_idle_reps_and_sudden_changes(write_case: Callable[..., Path]) -> None:
    scenario = tiny_scenario_dict()
    scenario["rules"]["balance_tolerance"] = None  # no band: a rep may end up with nothing
    reps = [*tiny_reps(), {"rep_id": "F9", "team": "field", "lon": 16.4, "lat": 52.1, "capacity_hours": 40}]
    path = write_case(reps=reps, scenario=scenario)
    first = path.parent / "first"
    assert RUNNER.invoke(app, ["run", str(path), "--out", str(first)]).exit_code == 0
    assert any("reps have no customers" in w and "F9" in w for w in warnings_of(first))
    path = write_case(customers=tiny_customers()[:25], reps=reps, scenario=scenario)
    second = path.parent / "second"
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(second), "--previous", str(first)])
    assert result.exit_code == 0, result.output
    assert any("n_customers changed by -37.5 %" in w for w in warnings_of(second))
