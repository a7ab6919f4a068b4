"""report.html at a laptop's 1,400 px and a phone's 390 px in headless Chromium, on the tiny scenario's run (a
second to solve) given the demo's wide tables: an advice table of 15 columns with long reasons, a segments table of
14, and 260 changed rows. Nothing may make the page wider than the window; the key columns stay in view; the
workload chart has an hour axis and every rep's hours; every territory carries its rep's label and no two shown
labels overlap."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from territory_opt.config import load_scenario
from territory_opt.pipeline import run_scenario
from territory_opt.results.report import build_report
from territory_opt.results.run import RunResult

from ..browser import layout_problems, measure_report, overlapping
from ..conftest import CUSTOMER_COLUMNS, REP_COLUMNS, tiny_customers, tiny_reps, tiny_scenario_dict, write_csv

REASON = ("5 buyer roles (>= 2) and 25.5 specialist calls per rep-week across 23 reps (>= 5); 100% of its customers "
          "buy another line, most with core, so specialists join the generalists' calls")


def wide_advice() -> pd.DataFrame:
    lines = ["core", "foodservice", "premium"]
    return pd.DataFrame({
        "product_line": lines, "n_customers": [6000, 1552, 2407], "share_of_customers": [1.0, 0.2587, 0.4012],
        "distinct_buyer_roles": [5, 2, 5], "buyer_roles": ["category_manager;chef;owner;purchasing;technical"] * 3,
        "specialist_visits_per_cycle": [4200.0, 988.0, 2344.0], "reps_carrying": [23, 23, 23],
        "specialist_calls_per_rep_week": [45.6522, 10.7391, 25.4783], "overlap_with_other_lines": [0.57, 1.0, 1.0],
        "most_overlapping_line": ["premium", "core", "core"], "most_overlapping_share": [0.4, 1.0, 1.0],
        "workload_hours": [2500.0, 567.3, 1422.0], "fte_needed": [16.67, 3.78, 9.48],
        "recommendation": ["keep with generalists", "specialist overlay", "specialist overlay"],
        "reason": [REASON] * 3})


def wide_segments(n: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "segment_id": [f"S{i + 1:03d}" for i in range(n)], "sector": ["traditional_trade"] * n,
        "product_version": ["economy"] * n, "payment_format": ["credit_14"] * n, "sales_approach": ["consultative"] * n,
        "n_customers": rng.integers(30, 160, n), "merged_keys": rng.integers(1, 4, n),
        "value": rng.uniform(1e6, 3e7, n).round(0), "potential": rng.uniform(1e6, 5e7, n).round(0),
        "growth": rng.random(n).round(4), "share_of_wallet": rng.random(n).round(4),
        "attractiveness": rng.uniform(0, 100, n).round(1), "competitiveness": rng.uniform(0, 100, n).round(1),
        "buyer_attractiveness": [np.nan] * n})


def many_changes(run: RunResult, n: int = 260) -> pd.DataFrame:
    ids = run.prepared.customers["customer_id"].astype(str).to_numpy()
    reps = ["F1", "F2", "F3"]
    return pd.DataFrame({"customer_id": [ids[i % len(ids)] for i in range(n)], "team": ["field"] * n,
                         "old_rep_id": [reps[i % 3] if i % 7 else "" for i in range(n)],
                         "new_rep_id": [reps[(i + 1) % 3] for i in range(n)],
                         "reason": ["balance" if i % 7 else "new customer" for i in range(n)]})


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult]:
    folder = tmp_path_factory.mktemp("layout")
    write_csv(folder / "customers.csv", tiny_customers(), CUSTOMER_COLUMNS)
    write_csv(folder / "reps.csv", tiny_reps(), REP_COLUMNS)
    scenario = tiny_scenario_dict()
    scenario["programmes"] = {"margin_pct": 0.03, "tiers": {  # a thin margin: flagged customers to list
        "gold": {"name": "gold_partner", "terms": {"payment_days": 30, "rebates": [
            {"share_of_wallet": [0.9, 0.6], "rebate_pct": [2, 1]}, {"on_time_share": [0.95], "rebate_pct": [1]}]}},
        "silver": {"name": "silver_growth", "terms": {"payment_days": 14}}}}
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    run = run_scenario(load_scenario(folder / "scenario.yaml"), seed=0, time_limit_s=2)
    prepared = dataclasses.replace(run.prepared, advice=wide_advice(), segments=wide_segments())
    run = dataclasses.replace(run, prepared=prepared, changes=many_changes(run))
    path = folder / "report.html"
    path.write_text(build_report(run), encoding="utf-8")
    return path, run


@pytest.fixture(scope="module", params=[1400, 390], ids=["laptop", "phone"])
def measured(request: pytest.FixtureRequest, report: tuple[Path, RunResult],
             tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], RunResult]:
    path, run = report
    return request.param, measure_report(path, request.param, tmp_path_factory.mktemp("chromium")), run


def test_no_section_is_wider_than_the_window(measured: tuple[int, dict[str, Any], RunResult]) -> None:
    width, m, _ = measured
    assert m["inner"] == width
    assert layout_problems(m) == []
    assert {s["id"] for s in m["sections"]} >= {"map-section", "workload-section", "kpis-section", "changes-section",
                                                "segments-section", "advice-section", "programmes-section",
                                                "warnings-section"}
    assert m["map"]["right"] <= m["viewport"] + 0.5


def test_the_advice_shows_its_recommendation_and_reason_in_view(
        measured: tuple[int, dict[str, Any], RunResult]) -> None:
    _, m, _ = measured
    cells = {c["label"]: c for c in m["advice"]}
    assert set(cells) == {"product_line", "n_customers", "share_of_customers", "fte_needed", "recommendation",
                          "reason"}  # the key columns; the other nine are folded
    for key in ("recommendation", "reason"):
        assert cells[key]["left"] >= 0 and cells[key]["right"] <= m["viewport"] + 0.5, cells[key]
        assert cells[key]["width"] > 100
    assert cells["reason"]["bottom"] - cells["reason"]["top"] > 20  # the long reason wraps instead of widening


def test_the_workload_chart_has_an_hour_axis_and_every_reps_number(
        measured: tuple[int, dict[str, Any], RunResult]) -> None:
    _, m, run = measured
    chart = m["chart"]
    ticks = [float(t) for t in chart["ticks"]]
    top, bottom = ticks[:len(ticks) // 2], ticks[len(ticks) // 2:]  # an axis above the rows and one below
    assert top == bottom and top[0] == 0 and len(top) >= 4 and top == sorted(top)
    assert top[-1] >= run.reps[["workload_hours", "max_hours"]].to_numpy().max()
    lefts = [b["left"] for b in chart["tickBoxes"]]
    assert all(b["right"] <= a for a, b in zip(lefts[1:], chart["tickBoxes"][:-1], strict=False))  # no overlap
    reps = run.reps.sort_values(["team", "rep_id"])
    assert chart["reps"] == reps["rep_id"].tolist()
    assert chart["hours"] == [f"{h:,.1f} h" for h in reps["workload_hours"]]
    assert [b[0] for b in chart["bars"]] == reps["rep_id"].tolist() and all(b[1] > 0 for b in chart["bars"])
    assert len(chart["bands"]) == len(reps) and all(w > 0 for w in chart["bands"])
    assert chart["box"]["right"] <= m["viewport"] + 0.5


def test_every_shown_territory_carries_its_rep_and_labels_do_not_overlap(
        measured: tuple[int, dict[str, Any], RunResult]) -> None:
    _, m, run = measured
    field = sorted(run.territories.loc[run.territories["team"] == "field", "rep_id"])  # the team the map opens on
    assert sorted(label["rep"] for label in m["labels"]) == field
    shown = [label for label in m["labels"] if not label["hidden"]]
    assert shown and overlapping(shown) == []
    assert all(m["map"]["left"] <= label["left"] and label["right"] <= m["map"]["right"] for label in shown)
    for team, labels in m["teams"].items():  # each team's round button brings its own labels, decluttered
        reps = run.territories.loc[run.territories["team"] == team.removeprefix("territories: "), "rep_id"]
        assert sorted(label["rep"] for label in labels) == sorted(reps), team
        assert overlapping([label for label in labels if not label["hidden"]]) == []
    assert len(m["teams"]) == run.territories["team"].nunique()


def test_what_changed_is_summarised_first_with_the_rows_folded_and_capped(
        measured: tuple[int, dict[str, Any], RunResult]) -> None:
    _, m, _ = measured
    assert m["changes"][0] == "By reason and team" and m["changes"][1].startswith("Largest moves between reps")
    assert m["changeRows"] == {"open": False, "rows": 200}
