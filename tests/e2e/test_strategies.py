"""The strategy scenarios on the sample data: the playbook's rules hold, judged from the output files alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from territory_opt.cli import app
from territory_opt.config import load_scenario
from territory_opt.metrics import reps_crossing

from ..conftest import REPO

# demo-sized runs (two in one test or fixture, about 90 s each on 2 cores): more than the default 300 s may pass
pytestmark = pytest.mark.timeout(900)

CONFIGS = REPO / "configs"


def run_config(name: str, base: Path) -> Path:
    out = base / "out"
    result = CliRunner().invoke(app, ["run", str(CONFIGS / f"{name}.yaml"), "--out", str(out), "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def geographic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_config("geographic", tmp_path_factory.mktemp("geographic"))


@pytest.fixture(scope="module")
def sector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_config("sector", tmp_path_factory.mktemp("sector"))


@pytest.mark.parametrize("name", ["geographic", "sector"])
def test_carve_outs_and_contact_cap_hold(name: str, request: pytest.FixtureRequest) -> None:
    out: Path = request.getfixturevalue(name)
    assignments = pd.read_csv(out / "assignments.csv")
    customers = pd.read_csv(REPO / "data" / "customers.csv")
    key_ids = set(customers.loc[customers["key_account"], "customer_id"])
    of_key = assignments[assignments["customer_id"].isin(key_ids)]
    assert set(of_key["team"]) == {"key_accounts"} and set(of_key["customer_id"]) == key_ids
    bronze = assignments[(assignments["tier"] == "bronze") & ~assignments["customer_id"].isin(key_ids)]
    assert set(bronze["team"]) == {"inside_sales"}
    inside = assignments[assignments["team"] == "inside_sales"]
    limit = 120.0 if name == "geographic" else float("inf")  # geographic also sends far shoulders inside
    assert ((inside["tier"] == "bronze") | (inside["shoulder_km"] > limit)).all()
    assert assignments.groupby("customer_id")["rep_id"].nunique().max() <= 2


def test_geographic_territories_never_cross_a_distributor(geographic: Path) -> None:
    assignments = pd.read_csv(geographic / "assignments.csv")
    assert reps_crossing(assignments, "distributor_id", ["field"]).empty
    # the geographic config's field team lists the sample's field and HoReCa reps
    field = next(t for t in load_scenario(CONFIGS / "geographic.yaml").teams if t.name == "field")
    assert assignments.loc[assignments["team"] == "field", "rep_id"].nunique() == len(field.reps or ())


def test_sector_teams_own_their_sectors(sector: Path) -> None:
    assignments = pd.read_csv(sector / "assignments.csv")
    customers = pd.read_csv(REPO / "data" / "customers.csv")[["customer_id", "sector"]]
    field = assignments[~assignments["team"].isin(["key_accounts", "inside_sales"])].merge(customers)
    directions = {team.name: set(team.covers[0].sectors or ()) for team in load_scenario(CONFIGS / "sector.yaml").teams
                  if team.name not in ("key_accounts", "inside_sales")}
    assert set(directions["b2b_specialty"]) == {"b2b", "specialty"}
    pairs = zip(field["team"], field["sector"], strict=True)
    mismatched = field[[sector not in directions[team] for team, sector in pairs]]
    assert mismatched.empty and set(field["team"]) == set(directions)
