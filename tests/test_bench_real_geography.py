"""bench/real_geography.py's pure helpers: the postcode-like units layer, nearest-rep distances, moved units."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rg():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_real_geography", REPO / "bench" / "real_geography.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_voronoi_units_tile_the_area_without_overlap_one_per_distinct_town(rg) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    area = Polygon([(-5_000, -5_000), (105_000, 0), (90_000, 110_000), (50_000, 60_000), (0, 100_000)])
    towns = rng.uniform(0, 100_000, size=(200, 2))
    towns = towns[shapely.contains_xy(area, towns[:, 0], towns[:, 1])][:60]  # towns lie in the study region
    towns = np.vstack([towns, towns[:5]])  # two towns on the same spot make one unit
    cells = rg.voronoi_units(towns, area)
    assert len(cells) == 60
    assert all(c.is_valid and not c.is_empty for c in cells)
    assert sum(c.area for c in cells) == pytest.approx(area.area, rel=1e-9)  # no overlap ...
    assert shapely.union_all(cells).symmetric_difference(area).area < 1e-6 * area.area  # ... and covers the area
    for i in range(60):  # each town lies in its own unit (the i-th: first occurrences, in order)
        assert cells[i].covers(shapely.Point(towns[i]))


def test_units_layer_is_wgs84_geojson_with_unit_ids(rg) -> None:  # type: ignore[no-untyped-def]
    cells = [box(500_000, 4_400_000, 510_000, 4_410_000), box(510_000, 4_400_000, 520_000, 4_410_000)]
    layer = json.loads(rg.units_layer_text(cells, "EPSG:32617"))
    assert [f["properties"]["unit_id"] for f in layer["features"]] == ["Z0001", "Z0002"]
    lon, lat = layer["features"][0]["geometry"]["coordinates"][0][0]
    assert -82 < lon < -80 and 39 < lat < 40.5  # UTM 17N around Ohio


def test_utm_zone(rg) -> None:  # type: ignore[no-untyped-def]
    assert rg.utm_crs(-82.7, 40.3) == "EPSG:32617"
    assert rg.utm_crs(17.0, 52.3) == "EPSG:32633"
    assert rg.utm_crs(151.2, -33.9) == "EPSG:32756"


def test_nearest_rep_km_per_team_with_the_detour(rg) -> None:  # type: ignore[no-untyped-def]
    customers = np.array([[0.0, 0.0], [10_000.0, 0.0], [0.0, 0.0]])
    teams = np.array(["field", "field", "horeca"], dtype=object)
    reps = np.array([[3_000.0, 4_000.0], [10_000.0, 1_000.0], [0.0, 2_000.0]])
    rep_teams = [{"field"}, {"field"}, {"horeca", "key"}]
    km = rg.nearest_rep_km(customers, teams, reps, rep_teams, 1.5)
    np.testing.assert_allclose(km, [5.0 * 1.5, 1.0 * 1.5, 2.0 * 1.5])
    assert np.isnan(rg.nearest_rep_km(customers[:1], np.array(["nobody"], dtype=object), reps, rep_teams, 1.0)[0])


def test_moved_units_counts_a_changed_rep_only_where_both_runs_have_one(rg) -> None:  # type: ignore[no-untyped-def]
    base = pd.DataFrame({"unit_id": ["A", "B", "C", "D"], "rep_field": ["F1", "F1", "F2", ""],
                         "rep_horeca": ["H1", "", "H1", "H2"]})
    other = pd.DataFrame({"unit_id": ["A", "B", "C", "D", "E"], "rep_field": ["F1", "F2", "F2", "F1", "F3"],
                          "rep_horeca": ["H1", "", "H2", "H2", ""]})
    # B: field F1 -> F2; C: horeca H1 -> H2; D gains a field rep (no move); E is new
    assert rg.moved_units(base, other) == (2, 4)


def test_child_peak_rss_is_the_childs_own_not_the_bench_scripts() -> None:
    """bench/child_usage.py: a small child of a script that once held 200 MB reports its own peak (it used to
    inherit the script's high-water mark through vfork and exec)."""
    spec = importlib.util.spec_from_file_location("bench_child_usage", REPO / "bench" / "child_usage.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    held = np.ones(200 * 1024 * 1024 // 8)  # touched: 200 MB resident in this process
    done = module.run_measured([sys.executable, "-c", "import sys; print('ok'); sys.exit(3)"])
    del held
    assert done.returncode == 3 and done.stdout.strip() == "ok"
    assert 0 < done.peak_rss_mb < 100
