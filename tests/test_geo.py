"""Logistical shoulders: a hand-computed network, the fallbacks, bands, and the shipped sample data.

The hand network (metres, speeds in km/h):

    L1  (0,0) -> (10000,0) -> (10000,10000)   60   an L; depot D1 300 m below its start, D2 300 m beside its
                                                   vertical leg at y = 8000
    L2  (5000,0) -> (5000,4000)               30   starts on L1: a T junction
    L3  (7000,3000) -> (9980,3000)            40   ends 20 m short of L1: joined by a 20 m edge at (10000,3000)
    L4  (13800,11000) -> (13800,14000)        60   a piece with no depot: customers by it fall back

Legs (depot or customer to the network) run at 30 km/h, i.e. 2 min per km; 60 km/h is 1 min per km.
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from territory_opt.config import Logistics, load_scenario, parse_scenario
from territory_opt.errors import ConfigError, Finding
from territory_opt.pipeline import prepare
from territory_opt.prepare.enrich import enrich
from territory_opt.prepare.geo import Network, build_network, customer_shoulders, route_network, shoulder_bands

from .conftest import DEMO, tiny_scenario_dict

DETOUR = 1.3
LINES = [
    [(0, 0), (10000, 0), (10000, 10000)],
    [(5000, 0), (5000, 4000)],
    [(7000, 3000), (9980, 3000)],
    [(13800, 11000), (13800, 14000)],
]
SPEEDS = [60.0, 30.0, 40.0, 60.0]
DEPOTS = np.array([(0, -300), (10300, 8000)], dtype=float)


def hand_network(snap_tolerance_m: float = 50.0) -> Network:
    return build_network(np.array([shapely.LineString(c) for c in LINES]), np.array(SPEEDS),
                         snap_tolerance_m=snap_tolerance_m)


def shoulders_of(xy: list[tuple[float, float]], net: Network | None, depots: np.ndarray = DEPOTS):
    return customer_shoulders(np.array(xy, dtype=float), depots, net, detour_factor=DETOUR, leg_speed_kmh=30,
                              road_speed_kmh=60)


# --- the hand-computed network ---------------------------------------------------------------------------------------


def test_graph_splits_at_the_junction_and_joins_the_gap() -> None:
    net = hand_network()
    # vertices: 3 of L1, the T at (5000,0) is L2's start, 1 of L2, 2 of L3, 2 of L4, plus (10000,3000) for the gap
    assert (net.n_nodes, net.n_edges, net.n_joined) == (10, 8, 1)
    degree = np.bincount(np.r_[net.edge_u, net.edge_v])
    node = {tuple(xy): i for i, xy in enumerate(net.node_xy.tolist())}
    assert degree[node[(5000.0, 0.0)]] == 3 and degree[node[(10000.0, 3000.0)]] == 3
    assert net.edge_m.sum() == pytest.approx(20000 + 4000 + 2980 + 3000 + 20, abs=1e-9)


@pytest.mark.parametrize(("customer", "depot", "km", "minutes"), [
    # beside the middle of L1's first segment: 300 leg + 2500 along + 400 leg; 0.6 + 2.5 + 0.8 min
    ((2500, 400), 0, 3.2, 3.9),
    # beside L2, through the T: 300 + 5000 + 3000 (at 30 km/h) + 200; 0.6 + 5 + 6 + 0.4 min
    ((5200, 3000), 0, 8.5, 12.0),
    # beside L3, which reaches D2 only through the 20 m gap: 300 + 5000 down L1 + 20 + 1480 (at 40) + 100;
    # 0.6 + 5 + 0.03 + 2.22 + 0.2 min
    ((8500, 3100), 1, 6.9, 8.05),
])
def test_shoulders_match_the_hand_computation(customer: tuple[float, float], depot: int, km: float,
                                              minutes: float) -> None:
    result = shoulders_of([customer], hand_network())
    assert result.depot.tolist() == [depot]
    assert result.km[0] == pytest.approx(km, abs=1e-9)
    assert result.minutes[0] == pytest.approx(minutes, abs=1e-9)
    assert not result.fallback[0]


def test_piece_without_a_depot_falls_back_to_the_straight_line() -> None:
    # nearest network is L4 (500 m away), which reaches no depot; the nearest depot is D2, 5000 m in a straight line
    result = shoulders_of([(13300, 12000)], hand_network())
    assert result.fallback.tolist() == [True]
    assert result.depot.tolist() == [1]
    assert result.km[0] == pytest.approx(5.0 * DETOUR, abs=1e-9)
    assert result.minutes[0] == pytest.approx(5.0 * DETOUR, abs=1e-9)  # road speed 60 km/h: 1 min per km


def test_gap_wider_than_the_tolerance_stays_open() -> None:
    net = hand_network(snap_tolerance_m=10)
    assert net.n_joined == 0
    result = shoulders_of([(8500, 3100)], net)  # L3 is now an island: straight line to D2 x detour
    assert result.fallback.tolist() == [True]
    assert result.km[0] == pytest.approx(np.hypot(1800, 4900) * DETOUR / 1000, abs=1e-9)


def test_crossing_lines_are_split_and_missing_speeds_take_the_default() -> None:
    routes = gpd.GeoDataFrame({"speed_kmh": [np.nan, 40.0]}, geometry=[
        shapely.LineString([(-1000, 0), (1000, 0)]), shapely.LineString([(0, -1000), (0, 1000)])])
    net = route_network(routes, default_speed_kmh=60, snap_tolerance_m=50)
    assert (net.n_nodes, net.n_edges) == (5, 4)
    # depot 100 m below the west end; customer 50 m east of the north arm: 100 + 1000 + 900 + 50
    result = shoulders_of([(50, 900)], net, depots=np.array([(-1000, -100)], dtype=float))
    assert result.km[0] == pytest.approx(2.05, abs=1e-9)
    assert result.minutes[0] == pytest.approx(0.2 + 1.0 + 1.35 + 0.1, abs=1e-9)


def test_without_routes_the_detour_factor_applies() -> None:
    result = shoulders_of([(3000, 3700), (10300, 8000)], None)
    assert result.depot.tolist() == [0, 1]
    assert result.km == pytest.approx([5.0 * DETOUR, 0.0], abs=1e-9)
    assert result.minutes == pytest.approx([5.0 * DETOUR, 0.0], abs=1e-9)
    assert not result.fallback.any()


def test_without_depots_there_is_no_shoulder() -> None:
    result = shoulders_of([(2500, 400)], hand_network(), depots=np.zeros((0, 2)))
    assert result.depot.tolist() == [-1]
    assert np.isnan(result.km).all() and np.isnan(result.minutes).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-2000, 16000), st.floats(-2000, 16000)), min_size=1, max_size=30))
def test_shoulder_is_never_shorter_than_the_straight_line(xy: list[tuple[float, float]]) -> None:
    result = shoulders_of(xy, hand_network())
    straight = np.hypot(*(np.array(xy) - DEPOTS[result.depot]).T) / 1000
    assert (result.km >= straight - 1e-9).all()


# --- bands and their configuration -----------------------------------------------------------------------------------


def test_bands_put_an_edge_into_the_next_band() -> None:
    km = np.array([0.0, 24.999, 25.0, 59.9, 60.0, 500.0, np.nan])
    bands = shoulder_bands(km, ["near", "mid", "far"], [25.0, 60.0])
    assert bands.tolist() == ["near", "near", "mid", "mid", "far", "far", ""]


def test_logistics_defaults() -> None:
    logistics = Logistics()
    assert (logistics.snap_tolerance_m, logistics.default_speed_kmh, logistics.leg_speed_kmh) == (50, 60, 30)
    assert logistics.band_names == ["near", "mid", "far"] and logistics.band_upper_km == [25, 60]


@pytest.mark.parametrize(("bands", "message"), [
    ({"near": 60, "mid": 25, "far": None}, "must increase"),
    ({"near": 25, "far": 60}, "unbounded"),
    ({"near": None, "far": None}, "no upper edge"),
    ({}, "at least one band"),
])
def test_bad_bands_are_reported(bands: dict[str, float | None], message: str) -> None:
    data = tiny_scenario_dict()
    data["logistics"] = {"bands": bands}
    with pytest.raises(ConfigError) as caught:
        parse_scenario(data)
    assert message in caught.value.render()
    assert any(f.field == "logistics.bands" for f in caught.value.findings)


# --- wired into enrichment -------------------------------------------------------------------------------------------


def test_enrich_sets_the_shoulder_columns_and_warns_about_fallbacks() -> None:
    scenario = parse_scenario(tiny_scenario_dict())
    customers = gpd.GeoDataFrame({"customer_id": ["A", "B"], "current_value": [1.0, 2.0],
                                  "potential_value": [1.0, 2.0]},
                                 geometry=shapely.points([(2500, 400), (13300, 12000)]), crs=2180)
    depots = gpd.GeoDataFrame({"depot_id": ["D1", "D2"]}, geometry=shapely.points(DEPOTS), crs=2180)
    routes = gpd.GeoDataFrame({"speed_kmh": SPEEDS}, geometry=[shapely.LineString(c) for c in LINES], crs=2180)
    warnings: list[Finding] = []
    out = enrich(customers, scenario, depots=depots, routes=routes, warnings=warnings)
    assert out["depot_id"].tolist() == ["D1", "D2"]
    assert out["shoulder_km"].tolist() == [3.2, 6.5]
    assert out["shoulder_min"].tolist() == [3.9, 6.5]
    assert out["shoulder_band"].tolist() == ["near", "near"]
    fallbacks = [w for w in warnings if w.field == "geometry"]  # (two customers also leave tier gold empty)
    assert len(fallbacks) == 1 and "1 customer lies" in fallbacks[0].message and "B" in fallbacks[0].message


# --- the shipped sample data -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_prepared():
    return prepare(load_scenario(DEMO))


def test_every_sample_customer_has_a_depot_and_a_finite_shoulder(demo_prepared) -> None:
    customers = demo_prepared.customers
    depots = demo_prepared.inputs.depots.set_index("depot_id").geometry
    assert (customers["depot_id"] != "").all()
    assert np.isfinite(customers["shoulder_km"]).all() and np.isfinite(customers["shoulder_min"]).all()
    assert set(customers["shoulder_band"]) <= {"near", "mid", "far"}
    straight = customers.geometry.distance(depots.loc[customers["depot_id"]].set_axis(customers.index)) / 1000
    assert (customers["shoulder_km"] >= straight - 5e-4).all()  # shoulders are rounded to the metre


def test_sample_shoulders_take_well_under_a_second(demo_prepared) -> None:
    inputs, logistics = demo_prepared.inputs, demo_prepared.scenario.logistics
    xy = np.column_stack([inputs.customers.geometry.x, inputs.customers.geometry.y])
    depot_xy = np.column_stack([inputs.depots.geometry.x, inputs.depots.geometry.y])
    started = time.perf_counter()
    net = route_network(inputs.routes, default_speed_kmh=logistics.default_speed_kmh,
                        snap_tolerance_m=logistics.snap_tolerance_m)
    customer_shoulders(xy, depot_xy, net, detour_factor=1.3, leg_speed_kmh=30, road_speed_kmh=60)
    assert time.perf_counter() - started < 1.0
