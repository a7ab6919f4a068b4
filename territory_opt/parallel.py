"""One way to run independent jobs in processes, shared by the large engine's parts and the per-rep routing.

Processes are spawned, not forked: OR-Tools keeps threads, and forking a process that holds them can deadlock.
Results come back in input order whatever finishes first, so a run is as deterministic as its jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import TypeVar

Item = TypeVar("Item")
Out = TypeVar("Out")


def map_in_processes(job: Callable[..., Out], items: Sequence[Item], *shared: object, workers: int = 1) -> list[Out]:
    """`[job(item, *shared) for item in items]`, in `workers` spawned processes when more than one is asked for
    and there is more than one item (`job` must be a module-level function)."""
    if workers <= 1 or len(items) <= 1:
        return [job(item, *shared) for item in items]
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=get_context("spawn")) as pool:
        chunk = max(1, len(items) // (4 * workers))
        columns = [[value] * len(items) for value in shared]
        return list(pool.map(job, items, *columns, chunksize=chunk))
