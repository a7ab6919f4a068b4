"""Segmentation's awkward inputs end in a clear message or a reported fallback, never a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from typer.testing import CliRunner

from territory_opt.cli import app

from ..conftest import tiny_customers, tiny_scenario_dict

RUNNER = CliRunner()


def footprints(path: Path, overlap: bool) -> None:
    """Two footprints over the west and east of the tiny area; the east one overlaps the west when asked."""
    west_edge = 16.90 if overlap else 16.95
    features = [
        {"type": "Feature", "properties": {"distributor_id": "W"},
         "geometry": {"type": "Polygon", "coordinates": [[[16.6, 52.2], [16.95, 52.2], [16.95, 52.6], [16.6, 52.6],
                                                          [16.6, 52.2]]]}},
        {"type": "Feature", "properties": {"distributor_id": "E"},
         "geometry": {"type": "Polygon", "coordinates": [[[west_edge, 52.2], [17.1, 52.2], [17.1, 52.6],
                                                          [west_edge, 52.6], [west_edge, 52.2]]]}},
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def case(write_case: Callable[..., Path], rule: str, overlap: bool = False, **extra: Any) -> Path:
    scenario = tiny_scenario_dict()
    scenario["inputs"]["distributors"] = "distributors.geojson"
    scenario["rules"]["outside_footprint"] = rule
    scenario.update(extra)
    path = write_case(scenario=scenario, customers=tiny_customers())
    footprints(path.parent / "distributors.geojson", overlap)
    return path


def outside_ids(path: Path) -> list[str]:
    customers = pd.read_csv(path.parent / "customers.csv")
    return customers.loc[customers["lon"] > 17.1, "customer_id"].tolist()


def test_outside_customers_refused_with_their_rows(write_case: Callable[..., Path]) -> None:
    path = case(write_case, "error")
    assert outside_ids(path), "the fixture must put some customers east of both footprints"
    result = RUNNER.invoke(app, ["run", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "customers.csv, row" in result.output and "outside every distributor footprint" in result.output
    assert not (path.parent / "out").exists()


def test_outside_customers_served_by_the_nearest_footprint_and_reported(write_case: Callable[..., Path]) -> None:
    path = case(write_case, "nearest", overlap=True)
    result = RUNNER.invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    out = path.parent / "out"
    warnings = pd.read_csv(out / "warnings.csv")["message"].str.cat(sep="\n")
    assert "overlap" in warnings and "outside every distributor footprint" in warnings
    assignments = pd.read_csv(out / "assignments.csv")
    moved = assignments[assignments["customer_id"].isin(outside_ids(path))]
    assert set(moved["distributor_id"]) == {"E"}


def test_outside_customers_go_to_inside_sales(write_case: Callable[..., Path]) -> None:
    scenario_teams = [
        {"name": "key_accounts", "exclusive": True, "covers": {"key_account": True}},
        {"name": "inside", "exclusive": True, "covers": {"channels": ["inside"]}, "travel_weight": 0},
        {"name": "field"},
    ]
    path = case(write_case, "inside", teams=scenario_teams)
    reps = pd.read_csv(path.parent / "reps.csv")
    reps.loc[len(reps)] = {"rep_id": "I1", "team": "inside", "lon": 16.9, "lat": 52.4, "capacity_hours": 40}
    reps.to_csv(path.parent / "reps.csv", index=False)
    result = RUNNER.invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assignments = pd.read_csv(path.parent / "out" / "assignments.csv")
    inside = set(assignments.loc[assignments["team"] == "inside", "customer_id"])
    assert inside == set(outside_ids(path)) - {"C001"}  # C001 is the key account
