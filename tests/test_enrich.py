"""Tiers, the service policy and score-based raises, on hand-made customers with exact expected answers."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from territory_opt.config import ServiceRaise, Tiers, parse_scenario
from territory_opt.errors import ConfigError, Finding
from territory_opt.prepare.enrich import apply_service_raises, assign_tiers, enrich

from .conftest import tiny_scenario_dict

THRESHOLDS = {"method": "thresholds", "thresholds": [50000, 10000]}


def customers(scores: list[float], sectors: list[str] | None = None, xs: list[float] | None = None,
              current: list[float] | None = None) -> gpd.GeoDataFrame:
    """Customers C1.. whose tier score (0.5 x current + 0.5 x potential) is `scores`, current = potential."""
    n = len(scores)
    xs = xs or [1000.0 * i for i in range(n)]
    current = current or scores
    return gpd.GeoDataFrame({
        "customer_id": [f"C{i + 1}" for i in range(n)],
        "sector": sectors or ["retail"] * n,
        "current_value": [float(c) for c in current],
        "potential_value": [2.0 * s - c for s, c in zip(scores, current, strict=True)],
    }, geometry=shapely.points([(x, 0.0) for x in xs]), crs=2180)


def scenario(**overrides: Any):
    return parse_scenario(tiny_scenario_dict() | overrides)


def run(frame: gpd.GeoDataFrame, **overrides: Any) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    warnings: list[Finding] = []
    depots = overrides.pop("depots", None)
    return enrich(frame, scenario(**overrides), depots=depots, warnings=warnings), warnings


# --- tiers -----------------------------------------------------------------------------------------------------------


def test_thresholds_cut_the_weighted_score_at_fixed_edges() -> None:
    ids = np.array(["a", "b", "c", "d", "e"], dtype=object)
    current = np.array([60000.0, 40000.0, 99999.0, 10000.0, 9999.0])
    potential = np.array([60000.0, 60000.0, 0.0, 10000.0, 9999.0])  # scores 60000, 50000, 49999.5, 10000, 9999
    tiers = Tiers(**THRESHOLDS)
    assert list(assign_tiers(ids, current, potential, tiers)) == ["gold", "gold", "silver", "silver", "bronze"]
    by_current = Tiers(**THRESHOLDS, current_weight=1, potential_weight=0)
    assert list(assign_tiers(ids, current, potential, by_current)) == ["gold", "silver", "gold", "silver", "bronze"]


def test_quantile_cuts_the_ranking_by_shares() -> None:
    frame = customers([10.0, 50.0, 30.0, 40.0, 20.0])
    out, warnings = run(frame, tiers={"shares": [0.2, 0.4, 0.4]})
    assert out["tier"].tolist() == ["bronze", "gold", "silver", "silver", "bronze"]
    assert warnings == []


def test_the_default_policy_reproduces_the_tier_service() -> None:
    out, _ = run(customers([60000.0, 20000.0, 100.0]), tiers=THRESHOLDS)
    assert out["tier"].tolist() == ["gold", "silver", "bronze"]
    assert out["visits_per_cycle"].tolist() == [2.0, 1.0, 1.0]
    assert out["call_minutes"].tolist() == [60.0, 60.0, 30.0]
    assert out["workload_hours"].tolist() == [2.0, 1.0, 0.5]
    assert out["channel"].tolist() == ["field"] * 3
    assert out["channel_reason"].tolist() == [""] * 3


@pytest.mark.parametrize(("tiers", "scores", "field", "messages"), [
    (THRESHOLDS, [20000.0, 100.0], "tiers.thresholds", ["tier 'gold' is empty: score >= 50000 holds for no customer"]),
    ({"method": "thresholds", "thresholds": [5, 1]}, [9.0, 0.5], "tiers.thresholds",
     ["tier 'silver' is empty: 1 <= score < 5 holds for no customer"]),
    ({}, [5.0, 1.0], "tiers.shares", ["tier 'gold' is empty: a share of 0.2 of 2 customers holds for no customer"]),
])
def test_a_tier_left_empty_warns_and_does_not_crash(tiers: dict, scores: list[float], field: str,
                                                    messages: list[str]) -> None:
    out, warnings = run(customers(scores), tiers=tiers)
    assert len(out) == len(scores)
    assert [w.message for w in warnings] == messages
    assert {w.field for w in warnings} == {field}


# --- service policy --------------------------------------------------------------------------------------------------


def test_sector_exceptions_replace_the_tiers_values() -> None:
    service = tiny_scenario_dict()["service"]
    service["gold"] = {"visits_per_cycle": 2, "call_minutes": 60, "by_sector": {
        "horeca": {"visits_per_cycle": 3, "channel": "inside"},
        "retail": {"call_minutes": 15},
    }}
    service["bronze"] = {"visits_per_cycle": 1, "call_minutes": 30, "channel": "inside",
                         "by_sector": {"b2b": {"channel": "field"}}}
    frame = customers([60000.0, 60000.0, 60000.0, 100.0, 100.0, 20000.0],
                      sectors=["horeca", "retail", "b2b", "b2b", "retail", "horeca"])
    out, warnings = run(frame, tiers=THRESHOLDS, service=service)
    assert out["tier"].tolist() == ["gold", "gold", "gold", "bronze", "bronze", "silver"]
    assert out["visits_per_cycle"].tolist() == [3.0, 2.0, 2.0, 1.0, 1.0, 1.0]
    assert out["call_minutes"].tolist() == [60.0, 15.0, 60.0, 30.0, 30.0, 60.0]
    assert out["workload_hours"].tolist() == [3.0, 0.5, 2.0, 0.5, 0.5, 1.0]
    assert out["channel"].tolist() == ["inside", "field", "field", "field", "inside", "field"]
    assert out["channel_reason"].tolist() == ["tier", "", "", "", "tier", ""]
    assert warnings == []


def test_a_sector_exception_no_customer_has_warns() -> None:
    service = tiny_scenario_dict()["service"]
    service["silver"]["by_sector"] = {"horeka": {"visits_per_cycle": 5}}
    out, warnings = run(customers([20000.0]), tiers=THRESHOLDS, service=service)
    assert out["visits_per_cycle"].tolist() == [1.0]
    assert [(w.field, w.message) for w in warnings if w.field.startswith("service")] == [
        ("service.silver.by_sector", "no customer has sector 'horeka'; this exception applies to no one")]


def test_min_order_value_sends_small_orders_inside() -> None:
    service = tiny_scenario_dict()["service"]
    service["gold"]["min_order_value"] = 1000  # 2 visits x 13 cycles a year: 26,000 a year is the bar
    service["silver"]["min_order_value"] = 1000  # 1 visit x 13 cycles: 13,000 a year
    frame = customers([60000.0, 60000.0, 20000.0, 20000.0, 100.0],
                      current=[26000.0, 25999.0, 13000.0, 12999.0, 0.0])
    out, _ = run(frame, tiers=THRESHOLDS, service=service, cycle_weeks=4)
    assert out["tier"].tolist() == ["gold", "gold", "silver", "silver", "bronze"]
    assert out["channel"].tolist() == ["field", "inside", "field", "inside", "field"]
    assert out["channel_reason"].tolist() == ["", "min_order", "", "min_order", ""]
    assert out["visits_per_cycle"].tolist() == [2.0, 2.0, 1.0, 1.0, 1.0]  # the channel changes, not the service


def test_min_order_value_follows_the_cycle_length() -> None:
    service = tiny_scenario_dict()["service"]
    service["silver"]["min_order_value"] = 1000  # 2-week cycles: 26 visits a year
    out, _ = run(customers([20000.0, 20000.0], current=[26000.0, 13000.0]), tiers=THRESHOLDS, service=service,
                 cycle_weeks=2)
    assert out["channel_reason"].tolist() == ["", "min_order"]


def test_far_shoulders_go_inside_and_the_first_reason_is_kept() -> None:
    service = tiny_scenario_dict()["service"]
    service["bronze"]["channel"] = "inside"
    service["silver"]["min_order_value"] = 1e9
    depots = gpd.GeoDataFrame({"depot_id": ["D1"]}, geometry=shapely.points([(0.0, 0.0)]), crs=2180)
    # no routes: shoulder = straight line x 1.3, so 20 km -> 26 km and 25 km -> 32.5 km
    frame = customers([60000.0, 60000.0, 100.0, 20000.0], xs=[20000.0, 25000.0, 25000.0, 25000.0])
    out, warnings = run(frame, tiers=THRESHOLDS, service=service, depots=depots,
                        logistics={"inside_beyond_km": 30})
    assert out["shoulder_km"].tolist() == [26.0, 32.5, 32.5, 32.5]
    assert out["channel"].tolist() == ["field", "inside", "inside", "inside"]
    assert out["channel_reason"].tolist() == ["", "far_shoulder", "tier", "min_order"]
    assert warnings == []


def test_a_shoulder_limit_without_depots_warns() -> None:
    out, warnings = run(customers([100.0]), logistics={"inside_beyond_km": 30})
    assert out["channel"].tolist() == ["field"]
    assert [w.field for w in warnings if not w.field.startswith("tiers")] == ["logistics.inside_beyond_km"]


# --- score-based raises ----------------------------------------------------------------------------------------------


def test_raises_add_visits_to_the_customers_of_passing_segments() -> None:
    segments = pd.DataFrame({"segment_id": ["S001", "S002", "S003"], "attractiveness": [80.0, 70.0, 69.9],
                             "competitiveness": [10.0, 95.0, np.nan]})
    table = pd.DataFrame({"customer_id": ["A", "B", "C", "D", "E"],
                          "segment_id": ["S001", "S002", "S003", "S999", "S002"],
                          "visits_per_cycle": [1.0, 2.0, 1.0, 1.0, 0.0], "call_minutes": [30.0, 60.0, 30.0, 30.0, 60.0],
                          "workload_hours": [0.5, 2.0, 0.5, 0.5, 0.0]})
    raises = [ServiceRaise(score="attractiveness", at_least=70, extra_visits=1),
              ServiceRaise(score="competitiveness", at_least=90, extra_visits=2)]
    out, n = apply_service_raises(table, segments, raises)
    assert n == 3
    assert out["visits_per_cycle"].tolist() == [2.0, 5.0, 1.0, 1.0, 3.0]
    assert out["workload_hours"].tolist() == [1.0, 5.0, 0.5, 0.5, 3.0]
    assert table["visits_per_cycle"].tolist() == [1.0, 2.0, 1.0, 1.0, 0.0]  # the input is left alone
    assert apply_service_raises(table, segments, []) == (table, 0)


# --- validation ------------------------------------------------------------------------------------------------------


def problems(**overrides: Any) -> list[Finding]:
    with pytest.raises(ConfigError) as caught:
        scenario(**overrides)
    return caught.value.findings


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"tiers": {"method": "thresholds", "thresholds": [10000, 50000]}}, "tiers",
     "thresholds must decrease (best tier first): 50000 is not below 10000"),
    ({"tiers": {"method": "thresholds", "thresholds": [50000]}}, "tiers", "thresholds has 1 values but names has 3"),
    ({"tiers": {"method": "thresholds"}}, "tiers", "method thresholds needs `thresholds`"),
    ({"tiers": {"thresholds": [5, 1]}}, "tiers", "thresholds apply to method thresholds only"),
    ({"tiers": {"method": "thresholds", "thresholds": [5, 1], "shares": [0.2, 0.3, 0.5]}}, "tiers",
     "shares apply to method quantile only"),
    ({"tiers": {"method": "score"}}, "tiers.method", "`score` is not a method"),
    ({"tiers": {"method": "thresholds", "thresholds": [float("inf"), 1]}}, "tiers.thresholds[0]", "finite"),
    ({"service_raises": [{"score": "buyer_attractiveness", "at_least": 50, "extra_visits": 1}]},
     "service_raises[0].score", "needs segments.scores.buyer_columns"),
    ({"service_raises": [{"score": "value", "at_least": 150, "extra_visits": 0}]}, "service_raises[0].at_least",
     "less than or equal to 100"),
    ({"logistics": {"inside_beyond_km": -5}}, "logistics.inside_beyond_km", "greater than 0"),
])
def test_bad_tier_and_service_settings_are_named(overrides: dict, field: str, message: str) -> None:
    found = problems(**overrides)
    assert any(f.field == field and message in f.message for f in found), found


def test_every_threshold_problem_is_listed_at_once() -> None:
    [finding] = problems(tiers={"method": "thresholds", "thresholds": [10000, 50000, 100], "names": ["a", "b", "a"],
                                "shares": [1.0]})
    assert finding.field == "tiers"
    for part in ("shares apply to method quantile only", "thresholds has 3 values but names has 3",
                 "50000 is not below 10000", "names must be unique"):
        assert part in finding.message


def test_sector_names_are_free_but_their_settings_are_checked() -> None:
    service = tiny_scenario_dict()["service"]
    service["gold"]["by_sector"] = {"any sector at all": {"visits_per_cycle": 3}}
    scenario(service=service)
    service["gold"]["by_sector"] = {"retail": {"visits": 3, "channel": "phone"}}
    service["silver"]["channel"] = "email"
    fields = {f.field for f in problems(service=service)}
    assert fields == {"service.gold.by_sector.retail.visits", "service.gold.by_sector.retail.channel",
                      "service.silver.channel"}


def test_customers_without_a_sector_column_get_the_tiers_values() -> None:
    service = tiny_scenario_dict()["service"]
    service["silver"]["by_sector"] = {"retail": {"visits_per_cycle": 5}}
    out, warnings = run(customers([60000.0, 20000.0, 100.0]).drop(columns="sector"), tiers=THRESHOLDS,
                        service=service)
    assert out["visits_per_cycle"].tolist() == [2.0, 1.0, 1.0]
    assert [w.field for w in warnings] == ["service.silver.by_sector"]


def test_the_crm_call_plan_overrides_the_tier_policy_row_by_row() -> None:
    """A CRM's own visits_per_cycle, call_minutes and channel win over the tier's; blank cells keep the policy."""
    frame = customers([60000.0, 60000.0, 100.0, 100.0])
    frame["visits_per_cycle"] = [4.0, np.nan, np.nan, 0.5]
    frame["call_minutes"] = [np.nan, 90.0, np.nan, 45.0]
    frame["channel"] = ["", "inside", "field", ""]
    out, _ = run(frame, tiers=THRESHOLDS)
    assert out["tier"].tolist() == ["gold", "gold", "bronze", "bronze"]
    assert out["visits_per_cycle"].tolist() == [4.0, 2.0, 1.0, 0.5]
    assert out["call_minutes"].tolist() == [60.0, 90.0, 30.0, 45.0]
    assert out["workload_hours"].tolist() == [4.0, 3.0, 0.5, 0.375]
    assert out["call_plan"].tolist() == ["crm", "crm", "policy", "crm"]
    assert out["channel"].tolist() == ["field", "inside", "field", "field"]
    assert out["channel_reason"].tolist() == ["", "crm", "", ""]
