"""One way to run independent jobs in processes, shared by the large engine's parts and the per-rep routing.

Processes are spawned, not forked: OR-Tools keeps threads, and forking a process that holds them can deadlock.
Results come back in input order whatever finishes first, so a run is as deterministic as its jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from typing import TypeVar

Item = TypeVar("Item")
Out = TypeVar("Out")


_SHARED: tuple[object, ...] = ()


def _receive(shared: tuple[object, ...]) -> None:
    global _SHARED
    _SHARED = shared


def _call(job: Callable[..., Out], item: object) -> Out:
    return job(item, *_SHARED)


def map_in_processes(job: Callable[..., Out], items: Sequence[Item], *shared: object, workers: int = 1) -> list[Out]:
    """`[job(item, *shared) for item in items]`, in `workers` spawned processes when more than one is asked for
    and there is more than one item (`job` must be a module-level function). `shared` (e.g. a travel matrix) is
    sent once to each process, not once per item."""
    if workers <= 1 or len(items) <= 1:
        return [job(item, *shared) for item in items]
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=get_context("spawn"),
                             initializer=_receive, initargs=(shared,)) as pool:
        chunk = max(1, len(items) // (4 * workers))
        return list(pool.map(partial(_call, job), items, chunksize=chunk))
