"""results.units: territories as dissolves of alignment units, units.geojson, and the unit columns and KPIs.

The first tests build `Units` by hand (a 3 x 3 grid of 10 km squares) with a small assignment table; the last ones
put units on the tiny scenario's solved run and write its output folder through GDAL.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from territory_opt.config import load_scenario
from territory_opt.io.write import OUTPUT_FILES, write_outputs
from territory_opt.pipeline import run_scenario
from territory_opt.prepare.units import Units
from territory_opt.results.assemble import RunContext, assemble_run, territory_shapes
from territory_opt.results.run import RunResult
from territory_opt.results.units import (
    filled_holders,
    polsby_popper,
    rep_shape_columns,
    team_shape_table,
    unit_holders,
    unit_territories,
    units_layer,
    units_summary,
)

from .conftest import CUSTOMER_COLUMNS, REP_COLUMNS, tiny_customers, tiny_reps, tiny_scenario_dict
from .conftest import write_csv as write_rows

CRS = "EPSG:32633"
SIDE = 10_000.0


def grid(n: int = 3, x0: float = 600_000.0, y0: float = 5_800_000.0) -> list[shapely.Polygon]:
    """n x n squares, row by row from the south-west: unit k = (row k // n, column k % n)."""
    return [shapely.box(x0 + c * SIDE, y0 + r * SIDE, x0 + (c + 1) * SIDE, y0 + (r + 1) * SIDE)
            for r in range(n) for c in range(n)]


def grid_units(customer_unit: list[int]) -> Units:
    return Units(ids=np.array([f"U{k}" for k in range(9)]), shapes=gpd.GeoSeries(grid(), crs=CRS),
                 customer_unit=np.array(customer_unit, dtype=np.int64), edges=np.zeros((0, 2), np.int64),
                 source="layer", joins=np.zeros((0, 2), np.int64))


def table(rows: list[tuple[int, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_index", "team", "rep_id", "workload_hours"])


# customer c lies in unit UNIT[c]; team "field": A holds the west column and the two south squares of the middle one,
# B the east column (0, 3, 6 | 1, 4 | 2, 5, 8) and the north-middle unit 7 by a majority of two to one; team "ka"
# has one customer (in unit 4), rep K.
UNIT = [0, 3, 6, 1, 4, 2, 5, 8, 7, 7, 7, 4]
FIELD = [(0, "A"), (1, "A"), (2, "A"), (3, "A"), (4, "A"), (5, "B"), (6, "B"), (7, "B"), (8, "B"), (9, "B"),
         (10, "A"), (11, "A")]


@pytest.fixture
def case() -> tuple[Units, pd.DataFrame]:
    rows = [(c, "field", rep, 1.0 + c) for c, rep in FIELD] + [(4, "ka", "K", 2.5)]
    return grid_units(UNIT), table(rows)


def test_a_unit_goes_to_the_rep_with_most_of_the_teams_customers_in_it(case: tuple[Units, pd.DataFrame]) -> None:
    units, assignments = case
    held = unit_holders(units, assignments)
    assert held["field"].tolist() == ["A", "A", "B", "A", "A", "B", "A", "B", "B"]
    assert held["ka"].tolist() == ["", "", "", "", "K", "", "", "", ""]


def test_a_tie_goes_to_the_larger_workload_then_the_first_rep_id() -> None:
    units = grid_units([0, 0, 1, 1])
    held = unit_holders(units, table([(0, "t", "B", 2.0), (1, "t", "A", 1.0), (2, "t", "B", 1.0),
                                      (3, "t", "A", 1.0)]))
    assert held["t"][:2].tolist() == ["B", "A"]


def test_territories_dissolve_held_units_with_parts_and_compactness(case: tuple[Units, pd.DataFrame]) -> None:
    units, assignments = case
    territories = unit_territories(units, assignments, CRS)
    assert territories.columns.tolist() == ["team", "rep_id", "n_customers", "workload_hours", "n_parts",
                                            "compactness", "geometry"]
    assert list(zip(territories["team"], territories["rep_id"], strict=True)) == [("field", "A"), ("field", "B"),
                                                                                  ("ka", "K")]
    a, b, k = (territories.iloc[i] for i in range(3))
    assert a.geometry.area == pytest.approx(5 * SIDE**2) and a.n_parts == 1
    assert b.geometry.area == pytest.approx(4 * SIDE**2) and b.n_parts == 1
    assert (a.n_customers, b.n_customers, k.n_customers) == (7, 5, 1)
    assert a.workload_hours == pytest.approx(sum(1.0 + c for c, rep in FIELD if rep == "A"))
    # A: the west column and the two southern middle squares, 5 squares with the perimeter of their 3 x 2 block
    assert a.compactness == round(4 * math.pi * 5 / 10**2, 3)
    assert k.compactness == round(math.pi / 4, 3) and k.geometry.equals(grid()[4])
    # one team's territories never overlap and together cover the units its customers are in
    assert a.geometry.intersection(b.geometry).area == pytest.approx(0.0)


def test_a_rep_holding_no_unit_keeps_its_row_with_an_empty_shape() -> None:
    units = grid_units([0, 0, 0, 8, 8])
    territories = unit_territories(units, table([(0, "t", "A", 1.0), (1, "t", "A", 1.0), (2, "t", "B", 1.0),
                                                 (3, "t", "A", 1.0), (4, "t", "A", 1.0)]), CRS)
    assert territories["rep_id"].tolist() == ["A", "B"]
    assert territories["n_parts"].tolist() == [2, 0]  # A: two corners, an island
    assert territories.geometry.iloc[1].is_empty and np.isnan(territories["compactness"].iloc[1])
    assert territories["compactness"].iloc[0] == round(4 * math.pi * 2 / 8**2, 3)  # two squares' total P = 8 sides


def test_compactness_is_measured_in_metres_even_when_the_shapes_are_in_degrees() -> None:
    square = gpd.GeoSeries([shapely.box(16.9, 52.4, 17.0, 52.5)], crs=4326)
    units = Units(ids=np.array(["Q"]), shapes=square, customer_unit=np.array([0]), edges=np.zeros((0, 2), np.int64),
                  source="layer", joins=np.zeros((0, 2), np.int64))
    territories = unit_territories(units, table([(0, "t", "A", 1.0)]), 4326)
    in_degrees = polsby_popper(square.iloc[0])  # a square in degrees: pi / 4 exactly
    assert territories["compactness"].iloc[0] != round(in_degrees, 3)
    in_metres = polsby_popper(square.to_crs(square.estimate_utm_crs()).iloc[0])
    assert territories["compactness"].iloc[0] == round(in_metres, 3)


def test_the_units_layer_sums_customers_hours_and_value_per_unit(case: tuple[Units, pd.DataFrame]) -> None:
    units, assignments = case
    customers = pd.DataFrame({"current_value": [10.0 * (c + 1) for c in range(len(UNIT))]})
    layer = units_layer(units, customers, assignments, ["field", "ka"])
    assert layer.columns.tolist() == ["unit_id", "n_customers", "workload_hours", "value", "rep_field", "rep_ka",
                                      "geometry"]
    assert layer["unit_id"].tolist() == [f"U{k}" for k in range(9)]
    u4 = layer.set_index("unit_id").loc["U4"]
    assert (u4.n_customers, u4.rep_field, u4.rep_ka) == (2, "A", "K")  # customers 4 and 11
    assert u4.workload_hours == pytest.approx((1.0 + 4) + (1.0 + 11) + 2.5)
    assert u4.value == pytest.approx(50.0 + 120.0)
    assert layer["n_customers"].sum() == len(UNIT)
    assert layer.geometry.iloc[4].equals(grid()[4])


def test_rep_columns_kpis_and_the_report_table(case: tuple[Units, pd.DataFrame]) -> None:
    units, assignments = case
    territories = unit_territories(units, assignments, CRS)
    columns = rep_shape_columns(pd.Series(["A", "K", "Z"]), territories)
    assert columns["n_parts"].tolist() == [1, 1, 0]
    assert columns["compactness"].iloc[1] == round(math.pi / 4, 3) and np.isnan(columns["compactness"].iloc[2])
    summary = units_summary(units, territories)
    assert summary == {"source": "layer", "n_units": 9, "resolution": None, "territories_with_several_parts": 0,
                       "mean_compactness": round(float(territories["compactness"].mean()), 3)}
    shapes = team_shape_table(territories)
    assert shapes["team"].tolist() == ["field", "ka"] and shapes["pieces"].tolist() == [2, 1]


# --- through the writer, on the tiny scenario's run ----------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    folder = tmp_path_factory.mktemp("tiny")
    write_rows(folder / "customers.csv", tiny_customers(), CUSTOMER_COLUMNS)
    write_rows(folder / "reps.csv", tiny_reps(), REP_COLUMNS)
    scenario = tiny_scenario_dict() | {"units": {"source": "off"}}  # the run without units; grid units laid on later
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return run_scenario(load_scenario(folder / "scenario.yaml"), seed=0, time_limit_s=2)


def with_grid_units(run: RunResult) -> RunResult:
    """The same run with the customers' bounding box cut in 3 x 3 units, reassembled as the pipeline would."""
    prepared = run.prepared
    xy = prepared.problem.customer_xy
    x0, y0 = xy.min(axis=0) - 1.0
    x1, y1 = xy.max(axis=0) + 1.0
    w, h = (x1 - x0) / 3, (y1 - y0) / 3
    shapes = [shapely.box(x0 + c * w, y0 + r * h, x0 + (c + 1) * w, y0 + (r + 1) * h) for r in range(3)
              for c in range(3)]
    column = np.minimum(((xy[:, 0] - x0) // w).astype(np.int64), 2)
    row = np.minimum(((xy[:, 1] - y0) // h).astype(np.int64), 2)
    units = Units(ids=np.array([f"G{k}" for k in range(9)]), shapes=gpd.GeoSeries(shapes, crs=prepared.inputs.crs),
                  customer_unit=row * 3 + column, edges=np.zeros((0, 2), np.int64), source="h3",
                  joins=np.zeros((0, 2), np.int64), resolution=7)
    prepared = dataclasses.replace(prepared, units=units)
    assignments, territories = territory_shapes(prepared, run.result)
    context = RunContext(seed=0, time_limit_s=2.0, previous=None, strict=False, timings={}, part_times=[],
                         started=time.perf_counter())
    return assemble_run(prepared, run.result, assignments, territories, context)


def test_without_units_the_outputs_are_as_before(run: RunResult) -> None:
    assert run.prepared.units is None
    assert "compactness" not in run.territories and "units" not in run.kpis
    assert "n_parts" not in run.reps


def test_a_run_with_units_writes_units_geojson_and_the_unit_columns(run: RunResult, tmp_path: Path) -> None:
    united = with_grid_units(run)
    out = write_outputs(united, tmp_path / "out")
    assert {p.name for p in out.iterdir()} == {*OUTPUT_FILES, "units.geojson"}
    layer = json.loads((out / "units.geojson").read_text(encoding="utf-8"))
    assert "crs" not in layer  # RFC 7946: WGS84 implied
    props = [f["properties"] for f in layer["features"]]
    assert [p["unit_id"] for p in props] == [f"G{k}" for k in range(9)]
    assert set(props[0]) == {"unit_id", "n_customers", "workload_hours", "value", "rep_key_accounts", "rep_field"}
    assert sum(p["n_customers"] for p in props) == run.prepared.problem.n_customers
    lon, lat = layer["features"][0]["geometry"]["coordinates"][0][0]
    assert 16 < lon < 18 and 52 < lat < 53
    assignments = pd.read_csv(out / "assignments.csv", dtype=str)
    assert assignments["unit_id"].str.fullmatch(r"G\d").all()
    reps = pd.read_csv(out / "reps.csv")
    assert {"n_parts", "compactness"} <= set(reps.columns)
    territories = gpd.read_file(out / "territories.geojson")
    assert {"n_parts", "compactness"} <= set(territories.columns)
    field = territories[territories["team"] == "field"]
    assert field.to_crs(run.prepared.inputs.crs).area.sum() == pytest.approx(
        sum(shapely.area(united.prepared.units.shapes.to_numpy()[np.unique(united.prepared.units.customer_unit)])),
        rel=1e-6)
    kpis = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["units"]["source"] == "h3" and kpis["units"]["n_units"] == 9 and kpis["units"]["resolution"] == 7
    assert 0 < kpis["units"]["mean_compactness"] <= 1
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "units.geojson" in manifest["files"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Territories</h2>" in report and "H3 cells made from the customers (resolution 7)" in report


def test_the_map_draws_units_without_customers_in_the_colour_of_their_catchment() -> None:
    """A holds units 0 and 3, B units 4 to 7; 1 and 2 have no customers of the team and join their nearest
    held unit along the borders, so each territory is drawn whole where the solver's graph says it is."""
    held = np.array(["A", "", "", "A", "B", "B", "B", "B"], dtype=object)
    edges = np.array([[0, 1], [1, 2], [2, 3], [1, 4], [1, 5], [2, 6], [2, 7], [4, 5], [5, 6], [6, 7]])
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0], [3000.0, 0.0],
                   [500.0, 5000.0], [1000.0, 5000.0], [2000.0, 5000.0], [2500.0, 5000.0]])
    assert filled_holders(held, edges, xy).tolist() == ["A", "A", "A", "A", "B", "B", "B", "B"]
    near_b = xy.copy()
    near_b[[4, 5, 6, 7], 1] = 100.0  # B's units now sit right beside 1 and 2
    drawn = filled_holders(held, edges, near_b)
    assert drawn[[0, 3]].tolist() == ["A", "A"] and set(drawn[[1, 2]]) <= {"A", "B"}
    assert filled_holders(np.array(["A", ""], dtype=object), np.zeros((0, 2), np.int64),
                          xy[:2]).tolist() == ["A", ""]

