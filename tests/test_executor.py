"""The executor: the same results in input order on every kind, shared data, errors as their own types, legacy
worker settings, and the large engine's parts on Dask equal to a local run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask
import numpy as np
import pytest

from territory_opt.config import Executor
from territory_opt.errors import ClusterError, InfeasibleError
from territory_opt.executor import DaskExecutor, PartExecutor, ProcessExecutor, make_executor, stage_executors
from territory_opt.metrics import check
from territory_opt.solve.engine import SolveParams, _solve_large

from .dask_helpers import (
    broken_on,
    die_once,
    every_worker_dies_once,
    infeasible_on,
    raise_two_part,
    scaled,
    short_then_broken,
)
from .test_parts import regional_problem


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[DaskExecutor]:
    with DaskExecutor(workers=2) as executor:  # a LocalCluster of 2 processes, started once
        yield executor


@pytest.fixture(params=["local", "processes", "dask"])
def executor(request: pytest.FixtureRequest, dask_executor: DaskExecutor) -> PartExecutor:
    if request.param == "dask":
        return dask_executor
    return make_executor(request.param, workers=2)


def test_results_in_input_order_with_shared_data(executor: PartExecutor) -> None:
    items = [5, 3, 8, 1, 9, 2, 7]
    assert executor.map(scaled, items, 10, np.arange(4)) == [10 * i + 6 for i in items]
    assert executor.map(scaled, [], 10, np.arange(4)) == []
    assert [t.index for t in executor.part_times[-len(items):]] == list(range(len(items)))


def test_each_finished_part_is_reported_once_counting_up_to_all(executor: PartExecutor) -> None:
    heard: list[tuple[str, int, int]] = []
    executor.on_part = lambda label, done, total: heard.append((label, done, total))
    try:
        executor.map(scaled, [5, 3, 8, 1, 9], 10, np.arange(4), stage="routing")
    finally:
        executor.on_part = None
    assert heard == [("reps", done, 5) for done in range(1, 6)]


def test_user_errors_keep_their_type_findings_and_exit_code(executor: PartExecutor) -> None:
    with pytest.raises(InfeasibleError) as caught:
        executor.map(infeasible_on, [0, 1, 2, 3], 2)
    assert caught.value.exit_code == 3
    assert [(f.message, f.source, f.row, f.field) for f in caught.value.findings] == [
        ("part 2 is short", "reps.csv", 2, "capacity")]


def test_the_first_failure_in_input_order_decides_on_every_kind(executor: PartExecutor) -> None:
    """Part 1 is larger, so pools and clusters start it first and it fails first; part 0's error still wins."""
    items = [(np.zeros(1), 0), (np.zeros(10_000), 1)]
    with pytest.raises(InfeasibleError) as caught:
        executor.map(short_then_broken, items)
    assert caught.value.exit_code == 3
    with pytest.raises(RuntimeError, match="bug in part 1") as crashed:
        executor.map(short_then_broken, [items[1], (np.zeros(5), 2)])
    if executor.kind != "local":  # where it broke travels with it
        assert "short_then_broken" in "\n".join(getattr(crashed.value, "__notes__", []))


def test_other_errors_keep_their_type(executor: PartExecutor) -> None:
    with pytest.raises(ValueError, match="bug in part 1"):
        executor.map(broken_on, [0, 1, 2], 1)


def test_maps_in_a_row_with_the_same_shared_data(dask_executor: DaskExecutor) -> None:
    """Routing maps every rep once per round with the same settings: with content-hashed scatter keys the second
    map's tasks lost their shared data to the first map's release (115 of 150 maps failed, 'lost dependencies')."""
    for _ in range(12):
        assert dask_executor.map(scaled, list(range(6)), 3, np.arange(1000)) == [3 * k + 499_500 for k in range(6)]


def test_a_lost_worker_is_replaced_and_its_part_rerun(dask_executor: DaskExecutor, tmp_path: Path) -> None:
    assert dask_executor.map(die_once, [0, 1, 2, 3], str(tmp_path)) == [0, 10, 20, 30]
    assert (tmp_path / "died").exists()


def test_shared_data_lost_with_every_copy_is_rebuilt_and_parts_rerun(dask_executor: DaskExecutor,
                                                                     tmp_path: Path) -> None:
    """Scattered data has no recipe: once the last worker holding it died (the memory manager keeps one copy of
    broadcast data when no part waits for it elsewhere), the scheduler forgot it and cancelled the parts that needed
    it ('lost dependencies'). Shared data is now a task, rebuilt like any other lost result."""
    items = [0, 1, 2, 3, 4, 5]
    assert dask_executor.map(every_worker_dies_once, items, str(tmp_path)) == [10 * i for i in items]
    assert (tmp_path / "all died").exists()
    assert [t.index for t in dask_executor.part_times[-len(items):]] == list(range(len(items)))


def test_large_engine_parts_on_dask_equal_local(dask_executor: DaskExecutor) -> None:
    problem = regional_problem(n_regions=3, per_region=300, reps_per_region=4)
    params = SolveParams(candidate_reps=4)
    local = _solve_large(problem, params, {}, PartExecutor())
    remote = _solve_large(problem, params, {}, dask_executor)
    assert local.stats["parts"] == 3 and check(problem, remote.assignment) == []
    assert (local.assignment == remote.assignment).all()
    assert (local.objective, local.bound, local.gap) == (remote.objective, remote.bound, remote.gap)


def test_stage_executors_keep_the_legacy_worker_settings() -> None:
    legacy = stage_executors(Executor(), solver_workers=3, routing_workers=1)
    assert isinstance(legacy.solve, ProcessExecutor) and legacy.solve.workers == 3
    assert type(legacy.routing) is PartExecutor and type(legacy.territories) is PartExecutor
    pooled = stage_executors(Executor(kind="processes", workers=4), solver_workers=3, routing_workers=2)
    assert pooled.solve is pooled.routing is pooled.territories and pooled.solve.workers == 4
    remote = stage_executors(Executor(kind="dask", scheduler="tcp://scheduler:8786"))
    assert isinstance(remote.solve, DaskExecutor) and remote.solve.scheduler == "tcp://scheduler:8786"
    remote.close()  # nothing was started: a client connects on first use only


def test_a_process_pool_worker_that_dies_fails_the_map_instead_of_hanging(tmp_path: Path) -> None:
    """A worker killed (the OOM killer, a native crash) must end the run with an error, never wait for ever."""
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        ProcessExecutor(workers=2).map(die_once, [0, 1, 2, 3], str(tmp_path))
    with pytest.raises(RuntimeError, match="TwoPartError: odd failure in part 0"):  # pickles, cannot be rebuilt
        ProcessExecutor(workers=2).map(raise_two_part, [0, 1])


def test_a_scheduler_address_this_machine_cannot_use_is_an_outage_too() -> None:
    with DaskExecutor(scheduler="inproc://nowhere") as executor, pytest.raises(ClusterError) as caught:
        executor.start()
    assert caught.value.exit_code == 6 and "inproc://nowhere" in str(caught.value)


@pytest.mark.parametrize("address", ["tls://scheduler:8786", "ucx://scheduler:8786", "scheduler:8786"])
def test_the_scenario_takes_plain_tcp_or_ws_scheduler_addresses_only(address: str) -> None:
    """TLS needs certificates the scenario has no place for: refused up front (a half-built TLS client can hang
    the process at exit)."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="should match pattern"):
        Executor(kind="dask", scheduler=address)


def test_an_unreachable_scheduler_is_an_outage() -> None:
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            DaskExecutor(scheduler="tcp://127.0.0.1:9") as executor, pytest.raises(ClusterError) as caught:
        executor.map(scaled, [1, 2], 1, np.zeros(1))
    assert caught.value.exit_code == 6 and caught.value.findings[0].field == "executor.scheduler"
