"""Coverage under the contact cap: least important teams are dropped and absorbed, teams sharing reps count once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from territory_opt.cli import app
from territory_opt.prepare.segment import resolve_contact_cap

from .conftest import tiny_reps, tiny_scenario_dict


def test_drops_the_least_important_teams_first() -> None:
    stacked = np.array([[True, True, True], [True, False, True], [False, True, False]])
    result, events = resolve_contact_cap(stacked, cap=1, order=[2, 0, 1], component=np.arange(3))
    assert result.tolist() == [[False, False, True], [False, False, True], [False, True, False]]
    assert events == [(0, 0, 2), (0, 1, 2), (1, 0, 2)]


def test_teams_sharing_reps_count_once() -> None:
    stacked = np.array([[True, True, True]])
    result, events = resolve_contact_cap(stacked, cap=2, order=[0, 1, 2], component=np.array([0, 0, 1]))
    assert result.all() and events == []
    result, events = resolve_contact_cap(stacked, cap=1, order=[0, 1, 2], component=np.array([0, 0, 1]))
    assert result.tolist() == [[True, True, False]] and events == [(0, 2, 0)]


def test_overlay_beyond_the_cap_is_absorbed_and_reported(write_case: Callable[..., Path], tmp_path: Path) -> None:
    """Cap 1 with a HoReCa overlay: HoReCa outlets keep only their field rep, who takes on the HoReCa calls."""
    scenario = tiny_scenario_dict()
    scenario["teams"].append({"name": "horeca", "covers": {"sectors": ["horeca"]}})
    scenario["rules"] |= {"max_reps_per_customer": 1, "precedence": ["key_accounts", "field"],
                          "balance_tolerance": 0.6}
    reps = [*tiny_reps(), {"rep_id": "H1", "team": "horeca", "lon": 16.9, "lat": 52.4, "capacity_hours": 40}]
    path = write_case(scenario=scenario, reps=reps)
    # call time only: each row's workload_hours is then its calls (with drive it also holds its own distance's drive)
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "run"), "--set",
                                      "workload.drive=false"])
    assert result.exit_code == 0, result.output
    capped = pd.read_csv(tmp_path / "run" / "contact_cap.csv")
    customers = pd.read_csv(tmp_path / "customers.csv")
    horeca = set(customers.loc[(customers["sector"] == "horeca") & (customers["key_account"] == False),  # noqa: E712
                               "customer_id"])
    assert set(capped["customer_id"]) == horeca
    assert set(capped["dropped_team"]) == {"horeca"} and set(capped["absorbed_by"]) == {"field"}
    assignments = pd.read_csv(tmp_path / "run" / "assignments.csv")
    assert assignments.groupby("customer_id")["rep_id"].nunique().max() == 1
    field = assignments[assignments["team"] == "field"].set_index("customer_id")["workload_hours"]
    one = next(iter(horeca))
    tier = assignments.set_index("customer_id").loc[one, "tier"]
    plain = assignments[(assignments["team"] == "field") & (assignments["tier"] == tier)
                        & ~assignments["customer_id"].isin(horeca)]["workload_hours"].iloc[0]
    assert field[one] == 2 * plain  # the field rep makes the HoReCa calls too


def test_key_accounts_by_flag_top_n_and_product() -> None:
    from territory_opt.config import KeyAccounts
    from territory_opt.prepare.segment import mark_key_accounts

    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "key_account": [True, False, False, False, False],
        "current_value": [1.0, 900.0, 900.0, 5.0, 1.0],
        "products": ["core", "core", "core", "core;launch", ""],
    })
    marked = mark_key_accounts(customers, KeyAccounts(top_n_by_value=1, products=["launch"]))
    assert marked["key_account_reason"].tolist() == ["flag", "top_n", "", "product", ""]  # tie on value: id b first
    assert marked["key_account"].tolist() == [True, True, False, True, False]


def test_covers_blocks_match_any() -> None:
    from territory_opt.config import parse_scenario
    from territory_opt.prepare.segment import team_mask

    scenario = parse_scenario({**tiny_scenario_dict(), "teams": [
        {"name": "inside", "covers": [{"tiers": ["bronze"]}, {"shoulder_bands": ["far"]}]}]})
    customers = pd.DataFrame({"tier": ["gold", "bronze", "gold"], "shoulder_band": ["far", "near", "near"],
                              "key_account": [False] * 3, "sector": ["x"] * 3})
    assert team_mask(customers, scenario.teams[0], 0, "s").tolist() == [True, True, False]
