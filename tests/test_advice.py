"""Specialist or generalist advice: exact numbers on a hand-made market, the sample data, edge cases, determinism."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from territory_opt.errors import InputError
from territory_opt.prepare.advice import COLUMNS, KEEP, OVERLAY, TEAM, product_line_advice

from .conftest import REPO

NAN = math.nan
# customer_id, products, sector, buyer_roles, visits_per_cycle, workload_hours, tier
ROWS = [
    ("c01", "core;wine", "horeca", NAN, 4, 40, "gold"),
    ("c02", " wine; core;wine", "horeca", "Sommelier;owner", 4, 40, "gold"),  # messy text: same set as c01
    ("c03", "core;wine;snacks", "modern_trade", NAN, 2, 10, "silver"),
    ("c04", "core;snacks", "traditional_trade", NAN, 1, 5, "silver"),
    ("c05", "core", "traditional_trade", NAN, 1, 5, "bronze"),
    ("c06", "core", "traditional_trade", " ", 1, 5, "bronze"),  # blank roles: the sector's default
    ("c07", "tools", "b2b", NAN, 2, 60, "bronze"),
    ("c08", "tools", "b2b", NAN, 2, 60, "silver"),
    ("c09", "tools", "b2b", NAN, 2, 60, "silver"),
    ("c10", "tools;snacks", "b2b", NAN, 2, 60, "silver"),
    ("c11", "", "specialty", NAN, 1, 2, "bronze"),  # buys nothing: counts in the share's denominator only
    ("c12", NAN, "specialty", NAN, 1, 2, "bronze"),
]
# A 2-week cycle with 10-hour weeks: one full-time rep is 20 h per cycle; 3 generalists, wine has 1 specialist.
PARAMS = {"cycle_weeks": 2, "field_reps": 3, "reps_per_line": {"wine": 1}, "rep_hours_per_week": 10.0}


def market() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["customer_id", "products", "sector", "buyer_roles", "visits_per_cycle",
                                       "workload_hours", "tier"])


def by_line(table: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {row["product_line"]: row for row in table.to_dict("records")}


def test_hand_made_market_numbers_and_recommendations() -> None:
    table = product_line_advice(market(), **PARAMS)
    assert list(table.columns) == COLUMNS
    assert list(table["product_line"]) == ["core", "snacks", "tools", "wine"]
    rows = by_line(table)

    core = rows["core"]  # bought by half the market (c01-c06): the generalists' everyday work
    assert (core["n_customers"], core["share_of_customers"]) == (6, 0.5)
    assert core["distinct_buyer_roles"] == 5
    assert core["buyer_roles"] == "category_manager;chef;owner;purchasing;sommelier"
    assert core["overlap_with_other_lines"] == 4 / 6
    assert (core["most_overlapping_line"], core["most_overlapping_share"]) == ("wine", 3 / 6)
    assert (core["specialist_visits_per_cycle"], core["reps_carrying"]) == (13.0, 3)
    assert core["specialist_calls_per_rep_week"] == 13 / 2 / 3
    assert (core["workload_hours"], core["fte_needed"]) == (105.0, 105 / 20)
    assert core["recommendation"] == KEEP
    assert core["reason"].startswith("bought by 50% of customers (6; >= 50%)")

    wine = rows["wine"]  # always bought with core, five roles, its one specialist makes 5 calls a week
    assert (wine["n_customers"], wine["share_of_customers"]) == (3, 0.25)
    assert wine["distinct_buyer_roles"] == 5
    assert wine["buyer_roles"] == "category_manager;chef;owner;purchasing;sommelier"
    assert wine["overlap_with_other_lines"] == 1.0
    assert (wine["most_overlapping_line"], wine["most_overlapping_share"]) == ("core", 1.0)
    assert (wine["specialist_visits_per_cycle"], wine["reps_carrying"]) == (10.0, 1)
    assert wine["specialist_calls_per_rep_week"] == 5.0
    assert (wine["workload_hours"], wine["fte_needed"]) == (90.0, 4.5)
    assert wine["recommendation"] == OVERLAY
    assert wine["reason"].startswith("5 buyer roles (>= 2) and 5.0 specialist calls per rep-week across 1 rep (>= 5)")

    tools = rows["tools"]  # its own buyers (one of four also buys snacks) and 12 full-time reps of work
    assert (tools["n_customers"], tools["share_of_customers"]) == (4, 1 / 3)
    assert (tools["distinct_buyer_roles"], tools["buyer_roles"]) == (2, "purchasing;technical")
    assert tools["overlap_with_other_lines"] == 0.25
    assert (tools["most_overlapping_line"], tools["most_overlapping_share"]) == ("snacks", 0.25)
    assert (tools["specialist_visits_per_cycle"], tools["reps_carrying"]) == (8.0, 3)
    assert (tools["workload_hours"], tools["fte_needed"]) == (240.0, 12.0)
    assert tools["recommendation"] == TEAM
    assert tools["reason"] == ("only 25% of its 4 customers buy another line (<= 30%) and its 240 h per cycle need "
                               "12.0 full-time reps (>= 1)")

    snacks = rows["snacks"]  # overlaps everything, and under one call a week per generalist
    assert (snacks["n_customers"], snacks["share_of_customers"]) == (3, 0.25)
    assert (snacks["distinct_buyer_roles"], snacks["buyer_roles"]) == (4, "category_manager;owner;purchasing;technical")
    assert snacks["overlap_with_other_lines"] == 1.0
    assert (snacks["most_overlapping_line"], snacks["most_overlapping_share"]) == ("core", 2 / 3)
    assert snacks["specialist_calls_per_rep_week"] == 5 / 2 / 3
    assert snacks["recommendation"] == KEEP
    assert "0.8 specialist calls per rep-week across 3 reps (< 5)" in snacks["reason"]
    assert "100% of its customers buy another line, most with core (> 30%)" in snacks["reason"]


def test_thresholds_are_parameters() -> None:
    """Each threshold moves the decision: a higher call bar, a looser team bar, a higher bar for 'broad'."""
    rows = by_line(product_line_advice(market(), **PARAMS, min_calls_per_rep_week=6))
    assert rows["wine"]["recommendation"] == KEEP
    rows = by_line(product_line_advice(market(), **PARAMS, max_overlap_for_team=1.0, min_roles_for_overlay=9))
    assert (rows["snacks"]["recommendation"], rows["wine"]["recommendation"]) == (TEAM, TEAM)
    rows = by_line(product_line_advice(market(), **PARAMS, broad_share=0.6, min_calls_per_rep_week=2))
    assert rows["core"]["recommendation"] == OVERLAY


def test_one_role_is_too_few_for_an_overlay() -> None:
    frame = market()
    frame["buyer_roles"] = "owner"
    rows = by_line(product_line_advice(frame, **PARAMS))
    assert rows["wine"]["distinct_buyer_roles"] == 1
    assert rows["wine"]["recommendation"] == KEEP
    assert "1 buyer role (< 2)" in rows["wine"]["reason"]


def test_inside_sales_tiers_leave_field_visits_and_workload() -> None:
    rows = by_line(product_line_advice(market(), **PARAMS, inside_tiers=["bronze"]))
    assert (rows["tools"]["n_customers"], rows["tools"]["specialist_visits_per_cycle"]) == (4, 6.0)
    assert rows["tools"]["workload_hours"] == 180.0
    assert rows["core"]["specialist_visits_per_cycle"] == 11.0


def test_sector_roles_mapping_can_be_replaced() -> None:
    frame = market().drop(columns="buyer_roles")
    rows = by_line(product_line_advice(frame, **PARAMS, sector_roles={"B2B": ["engineer"]}, default_roles=["boss"]))
    assert rows["tools"]["buyer_roles"] == "engineer"
    assert rows["wine"]["buyer_roles"] == "boss"


def test_sample_data_keeps_core_with_generalists() -> None:
    customers = pd.read_csv(REPO / "data" / "customers.csv")
    customers["visits_per_cycle"] = 1.0
    customers["workload_hours"] = 0.5
    table = product_line_advice(customers, field_reps=18)
    assert list(table["product_line"]) == ["core", "foodservice", "premium"]
    rows = by_line(table)
    assert (rows["core"]["n_customers"], rows["core"]["share_of_customers"]) == (len(customers), 1.0)
    assert rows["core"]["recommendation"] == KEEP
    assert rows["foodservice"]["buyer_roles"] == "chef;owner"  # HoReCa buyers only, from the sector default


def test_no_products_at_all_gives_an_empty_table() -> None:
    frame = market()
    frame["products"] = ["", NAN, " ; "] * 4
    table = product_line_advice(frame)  # no line, so no rep count is needed
    assert table.empty and list(table.columns) == COLUMNS
    empty = product_line_advice(frame.iloc[:0])
    assert empty.empty
    expected = product_line_advice(market(), **PARAMS)
    pd.testing.assert_series_equal(empty.dtypes, expected.dtypes)  # same schema with or without lines


def test_a_single_line_has_no_overlapping_line() -> None:
    frame = market()
    frame["products"] = "core"
    row = by_line(product_line_advice(frame, field_reps=2))["core"]
    assert pd.isna(row["most_overlapping_line"])
    assert (row["overlap_with_other_lines"], row["most_overlapping_share"]) == (0.0, 0.0)


def test_same_output_whatever_the_row_order() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    lines = np.array(["core", "core;premium", "premium;core", "tools", "core;foodservice;premium", "", "snacks"])
    big = pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(n)],
        "products": lines[rng.integers(0, len(lines), n)],
        "sector": np.array(["horeca", "b2b", "modern_trade", "other"])[rng.integers(0, 4, n)],
        "visits_per_cycle": rng.random(n) * 3,
        "workload_hours": rng.random(n) * 7,
    })
    for frame in (market(), big):
        expected = product_line_advice(frame, **PARAMS)
        for seed in range(3):
            shuffled = frame.sample(frac=1.0, random_state=seed)
            pd.testing.assert_frame_equal(product_line_advice(shuffled, **PARAMS), expected, check_exact=True)


def test_bad_input_is_reported() -> None:
    with pytest.raises(InputError, match="workload_hours"):
        product_line_advice(market().drop(columns="workload_hours"), **PARAMS)
    with pytest.raises(InputError, match="tier"):
        product_line_advice(market().drop(columns="tier"), **PARAMS, inside_tiers=["bronze"])
    bad = market()
    bad.loc[3, "visits_per_cycle"] = -1
    with pytest.raises(InputError, match="visits_per_cycle"):
        product_line_advice(bad, **PARAMS)
    with pytest.raises(ValueError, match="field_reps is needed for lines without reps_per_line: core, snacks, tools"):
        product_line_advice(market(), reps_per_line={"wine": 1})
    with pytest.raises(ValueError, match="cycle_weeks"):
        product_line_advice(market(), **{**PARAMS, "cycle_weeks": 0})
