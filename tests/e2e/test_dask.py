"""Decomposed solving on Dask (docs/dask.md): a LocalCluster of 2 worker processes gives the local executor's
answer byte for byte, on the demo and on a 50,000-customer instance with independent parts, and still does when a
worker dies mid-run."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster
from typer.testing import CliRunner

from territory_opt.cli import app

from ..conftest import DEMO, DEMO_TIME_LIMIT, REPO
from ..dask_helpers import KillOnFirstPart
from .test_routing import routed_scenario

RUNNER = CliRunner()
COMPARED = ("assignments.csv", "reps.csv", "territories.geojson", "customers.geojson", "changes.csv")
# demo-sized runs (two in one test or fixture, about 90 s each on 2 cores): more than the default 300 s may pass
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def run(scenario: Path, out: Path, *extra: str) -> Path:
    result = RUNNER.invoke(app, ["run", str(scenario), "--out", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return out


def kpis_without_clocks(out: Path) -> dict:
    """kpis.json minus what a clock measured (runtime_s, solver seconds)."""
    kpis = json.loads((out / "kpis.json").read_text())
    kpis.pop("runtime_s")
    kpis["solver_stats"] = {k: v for k, v in kpis["solver_stats"].items() if not k.endswith("_seconds")}
    return kpis


def assert_same_answer(a: Path, b: Path) -> None:
    for name in COMPARED:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert kpis_without_clocks(a) == kpis_without_clocks(b)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      memory_limit=0) as started:
        yield started


@pytest.fixture(scope="module")
def instance_50k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bench/scale.py's generator: 50,000 outlets, 150 reps, the field team bound to depot areas (4 parts)."""
    spec = importlib.util.spec_from_file_location("bench_scale", REPO / "bench" / "scale.py")
    assert spec is not None and spec.loader is not None
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    folder = tmp_path_factory.mktemp("scale50k")
    scale.make_case(folder, 50_000, 150)
    scenario = folder / "scale.yaml"
    scenario.write_text(scale.SCENARIO.format(time_limit=5, routing="", workers=1, gold=40, silver=30, bronze=20,
                                              depots=scale.DEPOTS, field_boundary=scale.BOUNDARY)
                        # customer by customer: this instance is here for the large engine's parts on a cluster
                        + "units: {source: off}\n")
    return scenario


@pytest.fixture(scope="module")
def local_50k(instance_50k: Path) -> Path:
    out = run(instance_50k, instance_50k.parent / "local")
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["engine"] == "large" and kpis["solver_stats"]["parts"] > 1, "the instance should decompose"
    return out


def test_demo_on_a_local_cluster_equals_the_local_executor(demo_output: Path, tmp_path: Path) -> None:
    remote = run(DEMO, tmp_path / "dask", "--time-limit", DEMO_TIME_LIMIT, "--set", "executor.kind=dask",
                 "--set", "executor.workers=2")
    assert_same_answer(demo_output, remote)


def test_routing_per_rep_on_a_dask_cluster_equals_the_local_executor(write_case: Callable[..., Path],
                                                                     cluster: LocalCluster) -> None:
    scenario = write_case(scenario=routed_scenario())
    local = run(scenario, scenario.parent / "local")
    remote = run(scenario, scenario.parent / "dask", "--set", "executor.kind=dask",
                 "--set", f"executor.scheduler={cluster.scheduler_address}")
    assert_same_answer(local, remote)
    for name in ("schedule.csv", "routes.geojson"):
        assert (local / name).read_bytes() == (remote / name).read_bytes(), name


def test_50k_parts_on_a_dask_cluster_equal_the_local_executor(instance_50k: Path, local_50k: Path,
                                                              cluster: LocalCluster) -> None:
    remote = run(instance_50k, instance_50k.parent / "dask", "--set", "executor.kind=dask",
                 "--set", f"executor.scheduler={cluster.scheduler_address}")
    assert_same_answer(local_50k, remote)


def test_a_worker_killed_mid_run_gives_the_same_answer(instance_50k: Path, local_50k: Path, cluster: LocalCluster,
                                                       tmp_path: Path) -> None:
    with Client(cluster, set_as_default=False) as client:
        client.register_plugin(KillOnFirstPart("territory-opt-solve", str(tmp_path)), name="kill-on-first-part")
        try:
            remote = run(instance_50k, instance_50k.parent / "killed", "--set", "executor.kind=dask",
                         "--set", f"executor.scheduler={cluster.scheduler_address}")
        finally:
            client.unregister_worker_plugin("kill-on-first-part")
    assert (tmp_path / "killed").exists(), "no worker was killed: the test did not test anything"
    assert_same_answer(local_50k, remote)
