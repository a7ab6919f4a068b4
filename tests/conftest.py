"""Shared fixtures: a tiny but complete scenario written to real files, and the shipped demo."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "configs" / "demo.yaml"

# the units cache (prepare/units_cache.py) of this test session lives in a folder of its own, not the user's; the CLI
# runs the tests start inherit it
os.environ.setdefault("TERRITORY_OPT_CACHE", tempfile.mkdtemp(prefix="territory-opt-cache-"))

CUSTOMER_COLUMNS = ["customer_id", "lon", "lat", "sector", "current_value", "potential_value", "key_account",
                    "current_rep_id"]
REP_COLUMNS = ["rep_id", "team", "lon", "lat", "capacity_hours"]
# the demo's work budget in the end-to-end tests: short, and still reproducible
DEMO_TIME_LIMIT = "8"


def skip_unless_ci(reason: str) -> None:
    """Skip a test whose system component is missing on a developer's machine; in CI (CI=true) the component is
    part of the contract (.ci/run installs it), so its absence fails the run instead of hiding behind a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason)


def tiny_customers(n: int = 40, seed: int = 7) -> list[dict[str, Any]]:
    """Customers scattered around Poznań: half retail, a quarter HoReCa, a quarter B2B."""
    rng = np.random.default_rng(seed)
    sectors = ["retail", "retail", "horeca", "b2b"]
    rows = []
    for i in range(n):
        rows.append({
            "customer_id": f"C{i + 1:03d}",
            "lon": round(16.70 + 0.5 * float(rng.random()), 6),
            "lat": round(52.25 + 0.3 * float(rng.random()), 6),
            "sector": sectors[i % 4],
            "current_value": int(rng.integers(1000, 50000)),
            "potential_value": int(rng.integers(1000, 80000)),
            "key_account": "true" if i == 0 else "false",
            "current_rep_id": "",
        })
    return rows


def tiny_reps() -> list[dict[str, Any]]:
    return [
        {"rep_id": "F1", "team": "field", "lon": 16.75, "lat": 52.30, "capacity_hours": 40},
        {"rep_id": "F2", "team": "field", "lon": 17.15, "lat": 52.30, "capacity_hours": 40},
        {"rep_id": "F3", "team": "field", "lon": 16.95, "lat": 52.50, "capacity_hours": 40},
        {"rep_id": "K1", "team": "key_accounts", "lon": 16.93, "lat": 52.41, "capacity_hours": 40},
    ]


def tiny_scenario_dict() -> dict[str, Any]:
    return {
        "name": "tiny",
        "inputs": {"customers": "customers.csv", "reps": "reps.csv"},
        "service": {
            "gold": {"visits_per_cycle": 2, "call_minutes": 60},
            "silver": {"visits_per_cycle": 1, "call_minutes": 60},
            "bronze": {"visits_per_cycle": 1, "call_minutes": 30},
        },
        "teams": [
            {"name": "key_accounts", "exclusive": True, "covers": {"key_account": True}},
            {"name": "field"},
        ],
        "rules": {"balance_tolerance": 0.2, "candidate_reps": 2},
        "solver": {"time_limit_s": 5},
        "output": {"dir": "out"},
    }


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    columns = columns or (list(rows[0]) if rows else [])
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


CaseWriter = Callable[..., Path]


@pytest.fixture
def write_case(tmp_path: Path) -> CaseWriter:
    """Write a tiny scenario (optionally altered) into tmp_path and return the scenario file's path."""

    def write(customers: list[dict[str, Any]] | None = None, reps: list[dict[str, Any]] | None = None,
              scenario: dict[str, Any] | None = None, customer_columns: list[str] | None = None,
              rep_columns: list[str] | None = None) -> Path:
        write_csv(tmp_path / "customers.csv", tiny_customers() if customers is None else customers,
                  customer_columns or CUSTOMER_COLUMNS)
        write_csv(tmp_path / "reps.csv", tiny_reps() if reps is None else reps, rep_columns or REP_COLUMNS)
        path = tmp_path / "scenario.yaml"
        path.write_text(yaml.safe_dump(tiny_scenario_dict() if scenario is None else scenario, sort_keys=False))
        return path

    return write


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the shipped demo (about two minutes on 2 cores), shared by every test that compares another run
    with it (a rerun, the same inputs from PostGIS, the same run on Dask). Tests only read it."""
    from typer.testing import CliRunner

    from territory_opt.cli import app

    out = tmp_path_factory.mktemp("demo_shared") / "out"
    result = CliRunner().invoke(app, ["run", str(DEMO), "--out", str(out), "--time-limit", DEMO_TIME_LIMIT])
    assert result.exit_code == 0, result.output
    return out
