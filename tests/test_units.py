"""Fast unit tests per module: scenario, enrichment, coverage, metrics, territories, sample data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from territory_opt.config import Tiers, load_scenario, parse_scenario, scenario_json_schema
from territory_opt.errors import ConfigError
from territory_opt.metrics import check, kpis
from territory_opt.model.bands import balance_targets
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.prepare.enrich import assign_tiers
from territory_opt.prepare.segment import build_coverage
from territory_opt.results.territories import study_area, team_territories
from territory_opt.sample import TEAM_SIZES, demo_scenario_text, sample_files

from .conftest import DEMO, REPO, tiny_scenario_dict
from .problems import build_problem

# --- scenario ---------------------------------------------------------------------------------------------------


def test_paths_resolve_against_the_scenario_file() -> None:
    scenario = load_scenario(DEMO)
    assert scenario.inputs.customers.path == (REPO / "configs" / "../data/customers.csv")
    assert scenario.inputs.customers.path.resolve() == (REPO / "data" / "customers.csv").resolve()
    assert len(scenario.source_sha256) == 64


def test_scenario_is_frozen() -> None:
    scenario = parse_scenario(tiny_scenario_dict(), base_dir=Path("/x"))
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError
        scenario.name = "other"  # type: ignore[misc]


def test_every_problem_is_listed_with_its_location() -> None:
    data = tiny_scenario_dict()
    data["rules"] = {"balance_tolerance": 2, "max_reps_per_customer": 0}
    data["teams"][1]["colour"] = "red"
    with pytest.raises(ConfigError) as caught:
        parse_scenario(data, source="s.yaml")
    fields = {f.field for f in caught.value.findings}
    assert {"rules.balance_tolerance", "rules.max_reps_per_customer", "teams[1].colour"} <= fields
    assert all(f.source == "s.yaml" for f in caught.value.findings)


def test_cross_checks_tiers_services_and_teams() -> None:
    data = tiny_scenario_dict()
    data["teams"].append({"name": "field"})
    data["teams"][0]["covers"] = {"tiers": ["platinum"]}
    del data["service"]["bronze"]
    with pytest.raises(ConfigError) as caught:
        parse_scenario(data)
    text = caught.value.render()
    assert "defined twice" in text and "platinum" in text and "bronze" in text


def test_crs_must_be_projected() -> None:
    data = tiny_scenario_dict() | {"crs": "EPSG:4326"}
    with pytest.raises(ConfigError, match="projected"):
        parse_scenario(data)


def test_json_schema_lists_the_sections() -> None:
    schema = scenario_json_schema()
    assert schema["additionalProperties"] is False
    assert "teams" in schema["required"]


# --- enrichment and coverage -------------------------------------------------------------------------------------


def test_tiers_follow_shares_and_break_ties_by_id() -> None:
    ids = np.array([f"C{i:02d}" for i in range(10)], dtype=object)
    value = np.array([5.0] * 10)
    tiers = assign_tiers(ids, value, value, Tiers())
    assert list(tiers) == ["gold"] * 2 + ["silver"] * 3 + ["bronze"] * 5
    shuffled = np.random.default_rng(0).permutation(10)
    again = assign_tiers(ids[shuffled], value, value, Tiers())
    assert dict(zip(ids[shuffled], again, strict=True)) == dict(zip(ids, tiers, strict=True))


def test_tiers_rank_by_weighted_score() -> None:
    ids = np.array(["a", "b", "c", "d"], dtype=object)
    current = np.array([100.0, 0.0, 0.0, 0.0])
    potential = np.array([0.0, 0.0, 50.0, 1.0])
    tiers = Tiers(names=["top", "rest"], shares=[0.5, 0.5], current_weight=0.0, potential_weight=1.0)
    assert list(assign_tiers(ids, current, potential, tiers)) == ["rest", "rest", "top", "top"]


def test_exclusive_teams_carve_out_first_and_overlays_add() -> None:
    scenario = parse_scenario({
        **tiny_scenario_dict(),
        "teams": [
            {"name": "key", "exclusive": True, "covers": {"key_account": True}},
            {"name": "inside", "exclusive": True, "covers": {"tiers": ["bronze"]}},
            {"name": "field"},
            {"name": "horeca", "covers": {"sectors": ["horeca"]}},
        ],
    })
    customers = pd.DataFrame({
        "sector": ["horeca", "horeca", "retail", "horeca"],
        "tier": ["gold", "bronze", "silver", "gold"],
        "key_account": [False, False, False, True],
    })
    coverage = build_coverage(customers, scenario)
    assert coverage.teams_of_customers(4) == ["field;horeca", "inside", "field", "key"]
    assert len(coverage.uncovered) == 0


# --- metrics: the judge must catch every broken rule -------------------------------------------------------------


def small_problem(**changes: object) -> Problem:
    """Customers a, b near rep W and c, d near rep E on a 10 km line; each rep must hold exactly two hours."""
    return build_problem([[0.0, 0.0], [1000.0, 0.0], [9000.0, 0.0], [10000.0, 0.0]], [[0.0, 0.0], [10000.0, 0.0]],
                         customer_ids=np.array(["a", "b", "c", "d"], dtype=object),
                         rep_ids=np.array(["W", "E"], dtype=object), team_names=("field",),
                         tolerance=0.0).replace(**changes)


def test_metrics_accepts_a_feasible_alignment() -> None:
    problem = small_problem()
    assert check(problem, np.array([0, 0, 1, 1])) == []
    values = kpis(problem, np.array([0, 0, 1, 1]))
    assert values["travel_visit_km"] == pytest.approx(2.0)
    assert values["max_workload_deviation"] == 0.0


@pytest.mark.parametrize(
    ("changes", "assignment", "rule"),
    [
        ({}, np.array([0, 0, 0, 1]), "balance"),
        ({}, np.array([0, 0, 1, 2]), "coverage"),
        ({"need_locked_rep": np.array([1, NO_REP, NO_REP, NO_REP])}, np.array([0, 0, 1, 1]), "lock"),
        ({"rep_in_team": np.array([[True, False], [False, True]]), "team_names": ("field", "other")},
         np.array([0, 0, 1, 1]), "team"),
    ],
)
def test_metrics_catches_each_broken_rule(changes: dict[str, object], assignment: np.ndarray, rule: str) -> None:
    problem = small_problem(**changes)
    assert rule in {v.rule for v in check(problem, assignment)}


def test_metrics_catches_the_contact_cap() -> None:
    problem = small_problem(
        need_customer=np.array([0, 0, 1, 1]),
        need_team=np.array([0, 1, 0, 1]),
        team_names=("field", "other"),
        rep_in_team=np.array([[True, True], [True, True]]),
        rep_min_s=np.zeros(2, dtype=np.int64),
        rep_max_s=np.full(2, 99_999),
    )
    assert [v.rule for v in check(problem, np.array([0, 1, 0, 0]))] == ["contact_cap"]


def test_problem_rejects_inconsistent_arrays() -> None:
    with pytest.raises(ValueError, match="need arrays"):
        small_problem(need_visits=np.ones(3))
    problem = small_problem()
    with pytest.raises(ValueError):
        problem.need_workload_s[0] = 1  # arrays are read-only


def test_balance_targets_follow_capacity_and_never_exceed_it() -> None:
    target, lo, hi = balance_targets(np.array([[True], [True]]), np.zeros(3, dtype=np.int64),
                                     np.array([1000, 1000, 1000], dtype=np.int64), np.array([1000.0, 2000.0]), 0.5)
    assert target.tolist() == pytest.approx([1000.0, 2000.0])
    assert hi.tolist() == [1000, 2000] and lo.tolist() == [500, 1000]


# --- territories -------------------------------------------------------------------------------------------------


def test_territories_tile_the_area_without_overlap() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10_000, size=(200, 2))
    xy[1] = xy[0]  # co-located customers must not break the tiling
    owner = np.where(xy[:, 0] < 5000, "W", np.where(xy[:, 1] < 5000, "SE", "NE")).astype(object)
    area = study_area(xy)
    shapes = team_territories(xy, owner, area)
    geoms = list(shapes.values())
    assert all(g.is_valid and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms)
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert geoms[i].intersection(geoms[j]).area < 1e-6
    assert shapely.union_all(geoms).area == pytest.approx(area.area, rel=1e-9)
    for rep, geom in shapes.items():  # every customer lies in its own rep's territory
        mine = xy[owner == rep]
        assert shapely.contains_xy(geom.buffer(1e-6), mine[:, 0], mine[:, 1]).all()


# --- sample data -------------------------------------------------------------------------------------------------


def test_committed_sample_data_is_the_generators_output() -> None:
    for name, text in sample_files().items():
        assert (REPO / "data" / name).read_text(encoding="utf-8") == text, name
    assert DEMO.read_text(encoding="utf-8") == demo_scenario_text("../data", "../out/demo")


def test_sample_market_is_believable() -> None:
    customers = pd.read_csv(REPO / "data" / "customers.csv")
    reps = pd.read_csv(REPO / "data" / "reps.csv")
    assert 5500 <= len(customers) <= 6500 and customers["customer_id"].is_unique
    assert set(customers["sector"]) == {"traditional_trade", "modern_trade", "horeca", "specialty", "b2b"}
    assert reps["team"].value_counts().to_dict() == TEAM_SIZES
    value = customers.loc[customers["current_value"] > 0, "current_value"]
    assert np.log(value).skew() == pytest.approx(0.0, abs=0.5)  # lognormal: log values near symmetric
    assert customers["lon"].between(15.7, 19.2).all() and customers["lat"].between(51.0, 53.7).all()
