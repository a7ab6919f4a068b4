"""changes.csv: exactly the customer-teams whose rep differs from the baseline, checked from the files alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from territory_opt.cli import app

from ..conftest import CUSTOMER_COLUMNS, tiny_customers, tiny_reps, tiny_scenario_dict

RUNNER = CliRunner()


def run(path: Path, out: Path, *extra: str) -> pd.DataFrame:
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False)


def differing(before: Path, after: Path) -> set[tuple[str, str, str, str]]:
    """Independently of the tool: (customer, team, old, new) where the two assignments.csv files disagree."""
    a = pd.read_csv(before / "assignments.csv", dtype=str)[["customer_id", "team", "rep_id"]]
    b = pd.read_csv(after / "assignments.csv", dtype=str)[["customer_id", "team", "rep_id"]]
    both = a.merge(b, on=["customer_id", "team"], how="outer", suffixes=("_a", "_b")).fillna("")
    both = both[both["rep_id_a"] != both["rep_id_b"]]
    return set(both[["customer_id", "team", "rep_id_a", "rep_id_b"]].itertuples(index=False, name=None))


def rows(changes: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    return set(changes[["customer_id", "team", "old_rep_id", "new_rep_id"]].itertuples(index=False, name=None))


def test_against_a_previous_run_lists_exactly_the_moves_with_reasons(write_case: Callable[..., Path]) -> None:
    path = write_case()
    first = path.parent / "first"
    run(path, first)
    # tomorrow: rep F2 has left, one customer is locked to F3, and a new outlet opened
    customers = tiny_customers()
    customers[5]["locked_rep_id"] = "F3"
    customers.append(dict(customers[7], customer_id="C999", key_account="false"))
    reps = [r for r in tiny_reps() if r["rep_id"] != "F2"]
    scenario = tiny_scenario_dict()
    scenario["rules"]["balance_tolerance"] = 0.5
    path = write_case(customers=customers, reps=reps, scenario=scenario,
                      customer_columns=[*CUSTOMER_COLUMNS, "locked_rep_id"])
    second = path.parent / "second"
    changes = run(path, second, "--previous", str(first))
    assert rows(changes) == differing(first, second)
    reason = dict(zip(changes["customer_id"] + "/" + changes["team"], changes["reason"], strict=True))
    assert reason["C999/field"] == "new customer"
    assert all(r == "lost rep" for key, r in zip(changes["customer_id"], changes["reason"], strict=True)
               if changes.set_index("customer_id").loc[key, "old_rep_id"] == "F2")
    first_assignments = pd.read_csv(first / "assignments.csv", dtype=str).set_index(["customer_id", "team"])
    if first_assignments.loc[("C006", "field"), "rep_id"] != "F3":
        assert reason["C006/field"] == "lock"
    compared = RUNNER.invoke(app, ["compare", str(first), str(second), "--json"])
    assert compared.exit_code == 0, compared.output
    report = json.loads(compared.output)
    assert report["moved"]["customer_teams"] == len(differing(first, second))
    hours = {(r["rep_id"]): (r["workload_hours_a"], r["workload_hours_b"]) for r in report["reps"]}
    assert hours["F2"][1] is None and hours["F2"][0] > 0  # the rep who left has no workload in the second run
    reps_a = pd.read_csv(first / "reps.csv").set_index("rep_id")["workload_hours"]
    reps_b = pd.read_csv(second / "reps.csv").set_index("rep_id")["workload_hours"]
    assert hours["F1"] == (reps_a["F1"], reps_b["F1"])
    labels = {row["name"]: row["label"] for row in report["kpis"]}  # not read as moves between the two runs
    assert labels["moved_customers"] == "moved_customers (each run vs its current_rep_id)"
    table = RUNNER.invoke(app, ["compare", str(first), str(second)])
    assert f"({report['moved']['customer_teams']} customer-teams) have another rep in the" in table.output


def test_compare_names_what_is_missing(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path)])
    assert result.exit_code == 2 and "run folder not found" in result.output
    result = RUNNER.invoke(app, ["compare", str(tmp_path), str(tmp_path)])
    assert result.exit_code == 2 and "kpis.json is missing" in result.output


def test_against_current_reps_nothing_changes_when_today_is_the_answer(write_case: Callable[..., Path]) -> None:
    path = write_case()
    first = path.parent / "first"
    fresh = run(path, first)
    assert (fresh["reason"] == "new customer").all() and fresh["old_rep_id"].eq("").all()
    assigned = pd.read_csv(first / "assignments.csv", dtype=str)
    field = assigned[assigned["team"].isin(["field", "key_accounts"])].set_index("customer_id")["rep_id"]
    customers = tiny_customers()
    for row in customers:
        row["current_rep_id"] = field[row["customer_id"]]
    path = write_case(customers=customers)
    again = run(path, path.parent / "again")
    assert again.empty, again
    customers[3]["current_rep_id"] = "GONE"  # a rep who left: their customer is a "lost rep" change
    path = write_case(customers=customers)
    lost = run(path, path.parent / "lost")
    assert lost[["customer_id", "old_rep_id", "reason"]].values.tolist() == [["C004", "GONE", "lost rep"]]


def test_a_missing_previous_folder_is_an_input_error(write_case: Callable[..., Path]) -> None:
    path = write_case()
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(path.parent / "out"), "--previous",
                                 str(path.parent / "nowhere")])
    assert result.exit_code == 2 and "nowhere" in result.output and not (path.parent / "out").exists()
