"""Tiered account programmes (issue 20): the config's checks and the service migration, every rule of
prepare/programmes.py on small frames, and programmes.csv, the report section and `explain` on a tiny run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from territory_opt.cli import app
from territory_opt.config import parse_scenario
from territory_opt.config.programmes import Programmes
from territory_opt.errors import ConfigError
from territory_opt.prepare.programmes import (
    PROGRAMME_COLUMNS,
    ServeHours,
    programme_findings,
    programme_summary,
    programme_table,
)

from .conftest import CUSTOMER_COLUMNS, tiny_customers, tiny_scenario_dict

RUNNER = CliRunner()


def settings(**tiers: Any) -> Programmes:
    return Programmes.model_validate({"margin_pct": 0.2, "field_hour_cost": 50, "inside_hour_cost": 30,
                                      "order_cost": 10, "tiers": tiers})


def customers(n: int, **columns: Any) -> pd.DataFrame:
    base = {"customer_id": [f"C{i}" for i in range(n)], "tier": ["gold"] * n, "sector": ["retail"] * n,
            "channel": ["field"] * n, "current_value": [10_000.0] * n, "potential_value": [20_000.0] * n}
    base.update({k: (v if isinstance(v, list) else [v] * n) for k, v in columns.items()})
    return pd.DataFrame(base)


def no_hours(n: int) -> ServeHours:
    return ServeHours(field=np.zeros(n), field_calls=np.zeros(n), inside=np.zeros(n))


ON_TIME = {"name": "gold_partner", "terms": {"payment_days": 30,
                                             "rebates": {"on_time_share": [0.95, 0.8], "rebate_pct": [3, 1]}}}


# --- rebate ladders at their edges -------------------------------------------------------------------------------

def test_on_time_ladder_at_its_edges_and_unknown() -> None:
    values = [1.0, 0.95, 0.9499, 0.8, 0.7999, 0.0, math.nan]
    frame = customers(len(values), on_time_share=values)
    out = programme_table(frame, settings(gold=ON_TIME), no_hours(len(values)))
    assert out["rebate_pct"].tolist() == [3, 3, 1, 1, 0, 0, 0]
    assert out["rebate_band"].tolist() == ["on_time_share 1", "on_time_share 1", "on_time_share 2",
                                           "on_time_share 2", "on_time_share base", "on_time_share base",
                                           "on_time_share base"]
    assert out["earned_by"].iloc[1] == "on_time_share 0.95 >= 0.95"
    assert out["earned_by"].iloc[4] == "on_time_share 0.7999 < 0.8"
    assert out["earned_by"].iloc[6] == "on_time_share unknown: behaviour unknown"
    assert out["rebate_cost"].tolist() == [300, 300, 100, 100, 0, 0, 0]
    assert out["payment_days"].tolist() == [30] * len(values)


def test_days_late_ladder_is_lower_is_better() -> None:
    gold = {"name": "g", "terms": {"rebates": {"days_late": [0, 10], "rebate_pct": [2, 0.5]}}}
    frame = customers(4, days_late=[0.0, 10.0, 10.5, math.nan])
    out = programme_table(frame, settings(gold=gold), no_hours(4))
    assert out["rebate_pct"].tolist() == [2, 0.5, 0, 0]
    assert out["earned_by"].tolist() == ["days_late 0 <= 0", "days_late 10 <= 10", "days_late 10.5 > 10",
                                         "days_late unknown: behaviour unknown"]


def test_ladders_add_up_and_share_of_wallet_comes_from_the_values() -> None:
    gold = {"name": "g", "terms": {"rebates": [{"on_time_share": [0.9], "rebate_pct": [2]},
                                               {"share_of_wallet": [0.5], "rebate_pct": [1]}]}}
    frame = customers(3, on_time_share=[0.95, 0.5, 0.95], potential_value=[20_000.0, 10_000.0, 0.0])
    out = programme_table(frame, settings(gold=gold), no_hours(3))
    assert out["rebate_pct"].tolist() == [3, 1, 2]  # 10,000 / 20,000 = 0.5 reaches 0.5; potential 0: unknown
    assert out["rebate_band"].iloc[0] == "on_time_share 1; share_of_wallet 1"
    assert out["earned_by"].iloc[2].endswith("share_of_wallet unknown: behaviour unknown")


def test_a_missing_behaviour_column_is_the_base_band_and_a_warning() -> None:
    frame = customers(2)  # no on_time_share column at all
    programmes = settings(gold=ON_TIME)
    out = programme_table(frame, programmes, no_hours(2))
    assert out["rebate_pct"].tolist() == [0, 0] and (out["earned_by"].str.contains("behaviour unknown")).all()
    findings = programme_findings(frame, programmes)
    assert [f.field for f in findings] == ["programmes.tiers.gold.terms.rebates[0]"]
    assert "no 'on_time_share' column" in findings[0].message


# --- programmes, contribution, flags --------------------------------------------------------------------------

def test_a_tier_without_a_programme_is_costed_and_flagged_but_gets_no_terms() -> None:
    frame = customers(2, tier=["gold", "bronze"], on_time_share=1.0, current_value=[10_000.0, 100.0])
    hours = ServeHours(field=np.array([2.0, 2.0]), field_calls=np.array([1.0, 1.0]), inside=np.zeros(2))
    out = programme_table(frame, settings(gold=ON_TIME), hours)
    bronze = out.iloc[1]
    assert bronze["programme"] == "none" and pd.isna(bronze["payment_days"]) and bronze["rebate_pct"] == 0
    assert bronze["rebate_band"] == "" and bronze["earned_by"] == "no programme"
    # margin 20 - (2 h x 50 + 12 default orders x 10) = -200
    assert bronze["contribution"] == pytest.approx(20 - 100 - 120)
    assert bronze["flag"] == "unprofitable" and bronze["flag_rule"].startswith("contribution -200 < 0")


def test_contribution_is_margin_minus_cost_to_serve_minus_rebate() -> None:
    frame = customers(2, on_time_share=0.96, orders_per_year=[20.0, 20.0], cost_to_serve=[math.nan, 999.0])
    hours = ServeHours(field=np.array([10.0, 10.0]), field_calls=np.array([6.0, 6.0]), inside=np.array([1.0, 1.0]))
    out = programme_table(frame, settings(gold=ON_TIME), hours)
    estimate = 10 * 50 + 1 * 30 + 20 * 10
    assert out["cost_to_serve"].tolist() == [estimate, 999.0]
    assert out["cost_basis"].tolist() == ["estimate", "given"]
    assert out["contribution"].tolist() == [2000 - estimate - 300, 2000 - 999 - 300]
    assert list(out.columns) == list(PROGRAMME_COLUMNS)


def test_orders_come_from_the_customer_its_average_order_the_offer_or_the_default() -> None:
    gold = {"name": "g", "offer": {"orders_per_year": 26}}
    frame = customers(5, tier=["gold", "gold", "gold", "silver", "gold"],
                      orders_per_year=[40.0, math.nan, math.nan, math.nan, math.nan],
                      avg_order_value=[math.nan, 500.0, math.nan, math.nan, math.nan],
                      current_value=[10_000.0, 10_000.0, 10_000.0, 10_000.0, 0.0])
    out = programme_table(frame, settings(gold=gold), no_hours(5))
    assert out["orders_per_year"].tolist() == [40, 20, 26, 12, 0]
    assert out["orders_basis"].tolist() == ["customer", "avg_order_value", "offer", "default", "no sales"]
    assert out["flag"].iloc[4] == "prospect"  # no sales: never judged


@pytest.mark.parametrize(("field_hours", "calls", "orders", "value", "suggestion"), [
    (20.0, 2.0, 12.0, 5_000.0, "inside sales"),   # 1000 - (1000 + 120) < 0; by phone 1000 - (60 + 120) >= 0
    (0.0, 0.0, 110.0, 5_000.0, "stricter terms"),  # 1000 - 1100 < 0; orders capped at 12: 1000 - 120 >= 0
    (20.0, 20.0, 100.0, 1_000.0, "exit"),          # 200 against 600 by phone, or 120 for 12 orders: no way
])
def test_flagged_customers_get_a_suggestion(field_hours: float, calls: float, orders: float, value: float,
                                            suggestion: str) -> None:
    frame = customers(1, orders_per_year=orders, current_value=value)
    hours = ServeHours(field=np.array([field_hours]), field_calls=np.array([calls]), inside=np.zeros(1))
    out = programme_table(frame, settings(gold={"name": "g"}), hours)
    assert out["flag"].iloc[0] == "unprofitable" and out["suggestion"].iloc[0] == suggestion


def test_a_sector_variant_replaces_name_offer_and_terms() -> None:
    gold = {**ON_TIME, "offer": {"order_min_value": 300, "orders_per_year": 52},
            "by_sector": {"horeca": {"name": "gold_horeca", "offer": {"order_min_value": 100},
                                     "terms": {"payment_days": 7}}}}
    frame = customers(2, sector=["retail", "horeca"], on_time_share=1.0)
    out = programme_table(frame, settings(gold=gold), no_hours(2)).set_index("sector")
    assert out.loc["horeca", "programme"] == "gold_horeca" and out.loc["horeca", "order_min_value"] == 100
    assert out.loc["horeca", "payment_days"] == 7 and out.loc["horeca", "rebate_pct"] == 0  # terms replaced whole
    assert out.loc["retail", "programme"] == "gold_partner" and out.loc["retail", "rebate_pct"] == 3


def test_segment_variants_lay_over_the_sector_first_match_wins() -> None:
    gold = {**ON_TIME, "offer": {"orders_per_year": 52},
            "by_sector": {"horeca": {"name": "gold_horeca", "terms": {"payment_days": 7}}},
            "by_segment": [{"covers": {"columns": {"payment_format": ["cash"]}}, "name": "gold_cash",
                            "offer": {"orders_per_year": 12}, "terms": {"payment_days": 0}},
                           {"covers": {"columns": {"payment_format": ["cash", "credit_30"]}},
                            "terms": {"payment_days": 45}}]}
    frame = customers(4, sector=["retail", "horeca", "horeca", "retail"], on_time_share=1.0,
                      payment_format=["cash", "cash", "credit_30", "credit_14"])
    out = programme_table(frame, settings(gold=gold), no_hours(4))
    assert out["programme"].tolist() == ["gold_cash", "gold_cash", "gold_horeca", "gold_partner"]
    assert out["payment_days"].tolist() == [0, 0, 45, 30] and out["orders_per_year"].tolist() == [12, 12, 52, 52]
    assert out["rebate_pct"].tolist() == [0, 0, 0, 3]  # a variant's terms replace the whole terms


def test_a_segment_variant_may_not_change_the_workload_and_needs_its_columns() -> None:
    bad = {"name": "g", "by_segment": [{"covers": {"columns": {"payment_format": ["cash"]}},
                                        "offer": {"visits_per_cycle": 3}}]}
    with pytest.raises(ConfigError) as err:
        parse_scenario(scenario_with({"tiers": {"gold": bad}}))
    assert any("set per tier or sector" in f.message and f.field.startswith("programmes.tiers.gold.by_segment")
               for f in err.value.findings)
    gold = {"name": "g", "by_segment": [{"covers": {"columns": {"payment_format": ["cash"]}}}]}
    with pytest.raises(ConfigError) as missing:
        programme_table(customers(1), settings(gold=gold), no_hours(1))
    assert missing.value.findings[0].field == "programmes.tiers.gold.by_segment[0].covers.columns"


def test_summary_sums_the_rows_per_tier_and_programme() -> None:
    frame = customers(4, tier=["gold", "gold", "bronze", "silver"], on_time_share=[1.0, 0.5, 1.0, 1.0])
    out = programme_table(frame, settings(gold=ON_TIME), no_hours(4))
    summary = programme_summary(out, ["gold", "silver", "bronze"])
    assert summary[["tier", "programme"]].values.tolist() == [["gold", "gold_partner"], ["silver", "none"],
                                                                 ["bronze", "none"]]
    assert summary["customers"].tolist() == [2, 1, 1] and summary["rebate_cost"].tolist() == [300, 0, 0]


# --- config: ladders and the migration from `service:` ----------------------------------------------------------

def scenario_with(programmes: dict[str, Any], service: bool = True) -> dict[str, Any]:
    data = tiny_scenario_dict()
    if not service:
        del data["service"]
    return {**data, "programmes": programmes}


@pytest.mark.parametrize(("ladder", "field", "text"), [
    ({"on_time_share": [0.8, 0.95], "rebate_pct": [3, 1]}, "programmes.tiers.gold.terms.rebates.0",
     "strictly decreasing"),
    ({"days_late": [10, 0], "rebate_pct": [3, 1]}, "programmes.tiers.gold.terms.rebates.0", "strictly increasing"),
    ({"on_time_share": [0.95, 0.8], "rebate_pct": [3]}, "programmes.tiers.gold.terms.rebates.0",
     "one rebate per threshold"),
    ({"on_time_share": [1.7], "rebate_pct": [3]}, "programmes.tiers.gold.terms.rebates.0", "outside [0, 1]"),
    ({"on_time_share": [0.9], "days_late": [3], "rebate_pct": [3]}, "programmes.tiers.gold.terms.rebates.0",
     "exactly one behaviour"),
    ({"on_time_share": [0.95, 0.8], "rebate_pct": [1, 3]}, "programmes.tiers.gold.terms.rebates.0",
     "must not increase"),
    ({"on_time_share": [0.9], "rebate_pct": [80]}, "programmes.tiers.gold.terms.rebates.0.rebate_pct.0",
     "less than or equal to 50"),
])
def test_bad_ladders_name_their_scenario_key(ladder: dict[str, Any], field: str, text: str) -> None:
    data = scenario_with({"tiers": {"gold": {"name": "g", "terms": {"rebates": ladder}}}})
    with pytest.raises(ConfigError) as err:
        parse_scenario(data)
    assert any(f.field.replace("[", ".").replace("]", "") == field and text in f.message
               for f in err.value.findings), err.value.findings


def test_an_unknown_tier_in_programmes_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        parse_scenario(scenario_with({"tiers": {"platinum": {"name": "p"}}}))
    assert any(f.field == "programmes.tiers" and "platinum" in f.message for f in err.value.findings)


def test_offers_replace_the_service_keys_tier_by_tier() -> None:
    data = scenario_with({"tiers": {"gold": {"name": "g", "offer": {"visits_per_cycle": 3, "channel": "inside"},
                                             "by_sector": {"horeca": {"offer": {"call_minutes": 15}}}}}})
    levels = parse_scenario(data).service_levels
    assert (levels["gold"].visits_per_cycle, levels["gold"].call_minutes, levels["gold"].channel) == (3, 60, "inside")
    assert levels["gold"].by_sector["horeca"].call_minutes == 15
    assert levels["silver"] == parse_scenario(tiny_scenario_dict()).service_levels["silver"]  # untouched


def test_programmes_alone_may_carry_the_whole_service_policy() -> None:
    offers = {t: {"name": t, "offer": {"visits_per_cycle": v, "call_minutes": 20}}
              for t, v in (("gold", 3), ("silver", 2), ("bronze", 1))}
    levels = parse_scenario(scenario_with({"tiers": offers}, service=False)).service_levels
    assert [levels[t].visits_per_cycle for t in ("gold", "silver", "bronze")] == [3, 2, 1]
    data = scenario_with({"tiers": offers}, service=False)
    data["tiers"] = {"names": ["a", "b"], "shares": [0.5, 0.5]}
    with pytest.raises(ConfigError) as err:
        parse_scenario(data)
    messages = " | ".join(f.message for f in err.value.findings)
    assert "no service level for tier(s) a, b" in messages and "gold, silver, bronze are not in tiers.names" in messages


# --- a tiny run: programmes.csv, the report section, explain ----------------------------------------------------

BEHAVIOUR = ["on_time_share", "orders_per_year", "avg_order_value"]


@pytest.fixture
def programme_run(tmp_path: Path, write_case) -> Path:  # type: ignore[no-untyped-def]
    rows = tiny_customers()
    for i, row in enumerate(rows):
        row["on_time_share"] = "" if i % 7 == 3 else f"{0.7 + 0.3 * ((i * 37) % 10) / 10:.2f}"
        row["orders_per_year"] = "" if i % 5 == 2 else str(4 + (i * 13) % 60)
        row["avg_order_value"] = str(100 + (i * 53) % 900)
    scenario = tiny_scenario_dict()
    scenario["programmes"] = {"margin_pct": 0.1, "order_cost": 20, "tiers": {
        "gold": {"name": "gold_partner", "offer": {"order_min_value": 300, "orders_per_year": 52},
                 "terms": {"payment_days": 30, "rebates": {"on_time_share": [0.95, 0.8], "rebate_pct": [3, 1]}}},
        "silver": {"name": "silver_growth", "terms": {"payment_days": 14}},
    }}  # bronze: no programme
    path = write_case(customers=rows, scenario=scenario, customer_columns=[*CUSTOMER_COLUMNS, *BEHAVIOUR])
    out = tmp_path / "out"
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_the_run_writes_programmes_csv_and_a_report_section(programme_run: Path) -> None:
    table = pd.read_csv(programme_run / "programmes.csv", dtype={"customer_id": str}, keep_default_na=False)
    assert list(table.columns) == list(PROGRAMME_COLUMNS) and len(table) == 40
    assert set(table["programme"]) == {"gold_partner", "silver_growth", "none"}
    gold = table[table["programme"] == "gold_partner"]
    assert (gold["payment_days"].astype(int) == 30).all()
    unknown = gold[gold["earned_by"].str.contains("behaviour unknown")]
    assert (unknown["rebate_pct"] == 0).all()
    assert "programmes.csv" in json.loads((programme_run / "manifest.json").read_text())["files"]
    page = (programme_run / "report.html").read_text(encoding="utf-8")
    assert "id='programmes-section'" in page and "<a href='#programmes-section'>Programmes</a>" in page
    assert f"data-flagged='{int((table['flag'] == 'unprofitable').sum())}'" in page
    assert f"data-rebate-cost='{table['rebate_cost'].sum():.0f}'" in page


def test_explain_shows_the_programme_and_why(programme_run: Path) -> None:
    table = pd.read_csv(programme_run / "programmes.csv", dtype={"customer_id": str}, keep_default_na=False)
    row = table[table["programme"] == "gold_partner"].iloc[0]
    result = RUNNER.invoke(app, ["explain", str(programme_run), row["customer_id"], "--json"])
    assert result.exit_code == 0, result.output
    programme = json.loads(result.output)["programme"]
    assert programme["programme"] == "gold_partner"
    assert programme["contribution"] == pytest.approx(float(row["contribution"]))
    for column, value in row.items():  # explain builds the customer's one row: it must equal programmes.csv's
        if column in programme and isinstance(programme[column], float):
            assert programme[column] == pytest.approx(float(value)), column
        elif column in programme:
            assert str(programme[column] if programme[column] is not None else "") == str(value), column
    assert programme["why"][0] == "tier gold -> programme gold_partner"
    text = RUNNER.invoke(app, ["explain", str(programme_run), row["customer_id"]]).output
    assert "programme: gold_partner" in text and "payment terms 30 days" in text


def test_without_programmes_nothing_changes(tmp_path: Path, write_case) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "plain"
    result = RUNNER.invoke(app, ["run", str(write_case()), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert not (out / "programmes.csv").exists()
    assert "programmes-section" not in (out / "report.html").read_text(encoding="utf-8")
