"""The run's CRS: chosen from the data's median point, or the scenario's own refused when it distorts distances."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pyproj import CRS, Geod
from typer.testing import CliRunner

from territory_opt.cli import app
from territory_opt.errors import InputError
from territory_opt.io.projection import choose_projection, scale_error, scenario_projection, utm_of

from .conftest import CaseWriter, tiny_customers, tiny_reps, tiny_scenario_dict

RUNNER = CliRunner()
COLUMBUS, CLEVELAND, CHICAGO = (-82.9988, 39.9612), (-81.6944, 41.4993), (-87.6298, 41.8781)


def ohio(n: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-84.8, -80.5, n), rng.uniform(38.4, 42.0, n)


def projected_km(crs: CRS, a: tuple[float, float], b: tuple[float, float]) -> float:
    from pyproj import Transformer

    to = Transformer.from_crs(4326, crs, always_xy=True)
    (xa, ya), (xb, yb) = to.transform(*a), to.transform(*b)
    return float(np.hypot(xa - xb, ya - yb)) / 1000.0


def test_ohio_data_gets_its_utm_zone_and_true_distances() -> None:
    lon, lat = ohio()
    chosen = choose_projection(lon, lat)
    assert chosen.crs.to_epsg() == 32617
    true_km = Geod(ellps="WGS84").inv(*COLUMBUS, *CLEVELAND)[2] / 1000.0
    assert projected_km(chosen.crs, COLUMBUS, CLEVELAND) == pytest.approx(true_km, rel=0.002)
    assert chosen.scale_error < 0.002


def test_one_stray_customer_does_not_switch_the_projection() -> None:
    lon, lat = ohio()
    alone = choose_projection(lon, lat)
    with_stray = choose_projection(np.append(lon, CHICAGO[0]), np.append(lat, CHICAGO[1]))
    assert with_stray.crs == alone.crs
    # the centroid of the bounding box would have moved to zone 16 with enough strays; the median does not
    many = choose_projection(np.append(lon, [CHICAGO[0]] * 5), np.append(lat, [CHICAGO[1]] * 5))
    assert many.crs == alone.crs


def test_continent_wide_data_gets_an_equidistant_projection_with_its_error_said() -> None:
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-124, -70, 2000), rng.uniform(26, 48, 2000)
    chosen = choose_projection(lon, lat)
    assert chosen.crs.coordinate_operation.method_name == "Azimuthal Equidistant"
    assert scale_error(utm_of(float(np.median(lon)), float(np.median(lat))), lon, lat) > 0.05
    assert 0.01 < chosen.scale_error < 0.04
    assert "off by" in chosen.note


def test_the_sample_projection_is_refused_for_ohio_data_naming_area_extent_and_the_choice() -> None:
    lon, lat = ohio()
    with pytest.raises(InputError) as caught:
        scenario_projection("EPSG:2180", lon, lat, "scenario.yaml")
    text = str(caught.value)
    assert "scenario.yaml, field 'crs'" in text
    assert "Poland" in text and "lon -84.8" in text and "UTM zone 17N" in text


def test_a_national_grid_on_its_own_country_is_kept() -> None:
    rng = np.random.default_rng(2)
    kept = scenario_projection("EPSG:2180", rng.uniform(14.2, 24.0, 500), rng.uniform(49.1, 54.8, 500), "s.yaml")
    assert kept.crs.to_epsg() == 2180 and kept.scale_error < 0.002


def test_validate_and_run_choose_the_crs_and_say_which(write_case: CaseWriter, tmp_path: Path) -> None:
    columbus = [dict(row, lon=round(row["lon"] - 99.7, 6), lat=round(row["lat"] - 12.3, 6)) for row in tiny_customers()]
    reps = [dict(row, lon=row["lon"] - 99.7, lat=row["lat"] - 12.3) for row in tiny_reps()]
    path = write_case(customers=columbus, reps=reps)
    checked = RUNNER.invoke(app, ["validate", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "UTM zone 17N" in checked.output
    ran = RUNNER.invoke(app, ["run", str(path), "--time-limit", "2", "--quiet"])
    assert ran.exit_code == 0, ran.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["crs"] == "EPSG:32617"
    assert "median point" in manifest["crs_note"]


def test_a_refused_crs_writes_nothing(write_case: CaseWriter, tmp_path: Path) -> None:
    path = write_case(scenario=tiny_scenario_dict() | {"crs": "EPSG:3735"})
    result = RUNNER.invoke(app, ["run", str(path), "--time-limit", "2"])
    assert result.exit_code == 2, result.output
    assert "field 'crs'" in result.output and "does not fit the data" in result.output
    assert not (tmp_path / "out").exists()
