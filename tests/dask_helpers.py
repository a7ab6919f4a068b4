"""Module-level jobs and a Dask worker plugin for the executor tests: spawned processes and Dask workers import
them by name, so they cannot live inside a test function."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin

from territory_opt.errors import Finding, InfeasibleError


def scaled(item: int, factor: int, offset: np.ndarray) -> int:
    return item * factor + int(offset.sum())


def infeasible_on(item: int, bad: int) -> int:
    if item == bad:
        raise InfeasibleError([Finding(f"part {item} is short", source="reps.csv", row=item, field="capacity")])
    return item


def broken_on(item: int, bad: int) -> int:
    if item == bad:
        raise ValueError(f"bug in part {item}")
    return item


def _first_time(marker: Path) -> bool:
    """True for the one process, across the cluster, that creates `marker`."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def die_once(item: int, marker_dir: str) -> int:
    """The first time any process runs part 1, that process dies at once (as a lost worker would)."""
    if item == 1 and _first_time(Path(marker_dir) / "died"):
        os._exit(1)
    return item * 10


def every_worker_dies_once(item: int, marker_dir: str) -> int:
    """The first time any worker runs part 1, it ends every worker of the cluster, itself last: no copy of the
    map's shared data survives (as when the one worker holding it dies) and every part must run again."""
    if item == 1 and _first_time(Path(marker_dir) / "all died"):
        from distributed import get_client

        others = [pid for pid in get_client().run(os.getpid).values() if pid != os.getpid()]
        for pid in others:
            os.kill(pid, signal.SIGKILL)
        os._exit(1)
    return item * 10


class KillOnFirstPart(WorkerPlugin):
    """Ends its worker's process the first time (across the cluster: a marker file decides) a task whose key starts
    with `prefix` starts executing: a worker lost mid-run."""

    def __init__(self, prefix: str, marker_dir: str) -> None:
        self.prefix, self.marker_dir = prefix, marker_dir

    def transition(self, key, start, finish, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if finish == "executing" and str(key).startswith(self.prefix) and _first_time(Path(self.marker_dir) / "killed"):
            os._exit(1)


def short_then_broken(item: tuple[np.ndarray, int]) -> int:
    """Part 0 (small) is short of capacity, part 1 (large, so started first) is a bug."""
    array, index = item
    if index == 0:
        raise InfeasibleError([Finding("part 0 is short", source="reps.csv", field="capacity")])
    raise RuntimeError(f"bug in part {index} ({len(array)} values)")


class TwoPartError(Exception):
    """Pickles, but cannot be rebuilt from its args alone (its __init__ wants two)."""

    def __init__(self, what: str, where: int) -> None:
        super().__init__(f"{what} in part {where}")


def raise_two_part(item: int) -> int:
    raise TwoPartError("odd failure", item)
