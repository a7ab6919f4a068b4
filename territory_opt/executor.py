"""Where independent parts run: in this process, in a pool of processes on this machine, or on a Dask cluster.

Three kinds of part go through one `map(job, items, *shared)`: the large engine's independent parts
(`solve.engine._large_part` over `Problem.part` slices), each rep's call cycle (`routing.cycle.plan_rep`) and each
team's territory shapes (`results.territories.team_shapes`). Items carry only numpy arrays and small frozen
dataclasses (never GeoDataFrames), so they pickle cheaply; `shared` (solver parameters, routing settings, the study
area) is sent once per process, or once per map to a Dask cluster as a task of its own that workers fetch.

Determinism: a part's result depends only on the part and what is shared (the seed among it), never on the worker
or the order parts finish; results come back in input order and the first failing part in input order decides the
error, so every kind gives the same answer byte for byte. Errors a user can cause (`TerritoryOptError`) are
returned from the part as a value and raised again here with all their findings: they keep their exit code, and
Dask never retries them (a part is deterministic, a retry would fail the same way). Dask re-runs the parts of a
lost worker by itself (up to the scheduler's `distributed.scheduler.allowed-failures`, 3 by default) and
`retries` re-runs a part that raised anything else (e.g. a MemoryError on a crowded node).
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ClusterError, Finding, TerritoryOptError

if TYPE_CHECKING:
    from .config import Executor as ExecutorSettings

KEY_PREFIX = "territory-opt"
CONNECT_TIMEOUT_S = 10  # a scheduler that does not answer in this time is down (dask's default waits 30 s)
PART_LABELS = {"solve": "parts", "routing": "reps", "territories": "teams"}  # what one part is, for progress bars
PartProgress = Callable[[str, int, int], None]  # (what a part is, parts done, parts in all)


@dataclass(frozen=True)
class PartTime:
    """How long one part took, where (host:pid) and in which stage; bench/dask_scale.py projects cluster times."""

    stage: str
    index: int
    seconds: float
    where: str


@dataclass(frozen=True)
class _Done:
    value: Any
    seconds: float
    where: str


@dataclass(frozen=True)
class _Failure:
    error_type: type[TerritoryOptError]
    findings: list[Finding]


@dataclass(frozen=True)
class _Crash:
    """Any other exception of a part (a bug, a lost Dask worker past its retries), kept as a value so that every kind
    raises the first failure in input order, whichever part failed first in time."""

    error: BaseException


def _crash(exc: Exception) -> _Crash:
    """`exc` with its worker-side traceback as a note; an exception that cannot travel back is described instead."""
    exc.add_note("in the worker:\n" + "".join(traceback.format_exception(exc)).rstrip())
    try:
        pickle.loads(pickle.dumps(exc))  # it must also be rebuilt on the other side (an __init__ may need more)
    except Exception:  # an exception holding an unpicklable object
        return _Crash(RuntimeError(f"{type(exc).__name__}: {exc}"))
    return _Crash(exc)


def part_size(item: object) -> int:
    """Bytes of the numpy arrays a part carries (its fields, or its elements for a tuple): the cost estimate by
    which parts are started, largest first, so a big part never waits behind small ones."""
    values = item if isinstance(item, tuple | list) else getattr(item, "__dict__", {}).values()
    return sum(int(v.nbytes) for v in values if isinstance(v, np.ndarray))


def largest_first(items: Sequence[Any]) -> list[int]:
    """Item indices by decreasing `part_size`, ties in input order (deterministic)."""
    sizes = [part_size(item) for item in items]
    return sorted(range(len(items)), key=lambda i: (-sizes[i], i))


def run_part(job: Callable[..., Any], item: object, *shared: object) -> _Done | _Failure:
    """Run one part, timed; a user error comes back as a value (see the module docstring). Module level: it runs in
    spawned processes and on Dask workers."""
    start = time.perf_counter()
    try:
        value = job(item, *shared)
    except TerritoryOptError as exc:
        return _Failure(type(exc), list(exc.findings))
    return _Done(value, time.perf_counter() - start, f"{socket.gethostname()}:{os.getpid()}")


_SHARED: tuple[object, ...] = ()


def _receive(shared: tuple[object, ...]) -> None:
    global _SHARED
    _SHARED = shared


def _run_with_shared(job: Callable[..., Any], item: object) -> _Done | _Failure | _Crash:
    try:
        return run_part(job, item, *_SHARED)
    except Exception as exc:  # kept in its place (see `_Crash`); the pool would raise it at its own position
        return _crash(exc)


@dataclass
class PartExecutor(AbstractContextManager["PartExecutor"]):
    """Runs parts in this process, one after the other (the `local` kind); the base of the others."""

    kind: str = field(default="local", init=False)
    part_times: list[PartTime] = field(default_factory=list, init=False)
    map_seconds: list[tuple[str, float]] = field(default_factory=list, init=False)  # (stage, wall s) per `map`
    on_part: PartProgress | None = field(default=None, init=False)  # hears of each part as it finishes

    def map(self, job: Callable[..., Any], items: Sequence[Any], *shared: object, stage: str = "") -> list[Any]:
        """`[job(item, *shared) for item in items]`, in input order whatever finishes first; `job` must be a
        module-level function (it is pickled by reference). The first failing part, in input order, raises."""
        items = list(items)
        if not items:
            return []
        started = time.perf_counter()
        label, total = PART_LABELS.get(stage, stage or "parts"), len(items)

        def finished(done: int) -> None:
            if self.on_part is not None:
                self.on_part(label, done, total)

        outcomes = self._run(job, items, shared, stage or job.__name__, finished)
        self.map_seconds.append((stage or job.__name__, round(time.perf_counter() - started, 4)))
        values = []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, _Failure):
                raise outcome.error_type(outcome.findings)
            if isinstance(outcome, _Crash):
                raise outcome.error
            self.part_times.append(PartTime(stage or job.__name__, index, round(outcome.seconds, 4), outcome.where))
            values.append(outcome.value)
        return values

    def _run(self, job: Callable[..., Any], items: list[Any], shared: tuple[object, ...],
             stage: str, finished: Callable[[int], None]) -> list[_Done | _Failure | _Crash]:
        outcomes: list[_Done | _Failure | _Crash] = []
        for item in items:
            outcomes.append(run_part(job, item, *shared))
            finished(len(outcomes))
            if isinstance(outcomes[-1], _Failure):
                break  # the first failure in input order decides, as in the other kinds
        return outcomes

    def start(self) -> None:
        """Acquire what parts will need (a Dask client) now, so an outage stops the run before any work."""

    def close(self) -> None:
        """Release what this executor started (nothing for `local`)."""

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ProcessExecutor(PartExecutor):
    """A pool of `workers` spawned processes per `map` (spawned, not forked: OR-Tools keeps threads, and forking a
    process that holds them can deadlock); `shared` is sent once to each process."""

    workers: int = 1

    def __post_init__(self) -> None:
        self.kind = "processes"

    def _run(self, job: Callable[..., Any], items: list[Any], shared: tuple[object, ...],
             stage: str, finished: Callable[[int], None]) -> list[_Done | _Failure | _Crash]:
        if self.workers <= 1 or len(items) <= 1:
            return super()._run(job, items, shared, stage, finished)
        workers = min(self.workers, len(items))
        order = largest_first(items)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_receive,
                                   initargs=(shared,))
        try:
            chunk = max(1, len(items) // (4 * workers))
            done = []
            for outcome in pool.map(partial(_run_with_shared, job), [items[i] for i in order], chunksize=chunk):
                done.append(outcome)  # in submission order: the count lags a part finished out of order, never leads
                finished(len(done))
        except BaseException:
            # SIGTERM/SIGINT (or a lost worker: BrokenProcessPool): stop now, not after the parts still queued
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
            raise
        pool.shutdown(wait=True)
        by_index = dict(zip(order, done, strict=True))  # `order` is a permutation of the items' indices
        return [by_index[index] for index in range(len(items))]


def _shared_value(value: object) -> object:
    """A map's shared value, produced by a task of its own on a Dask worker rather than scattered: scattered data
    has no recipe, so once the last worker holding it dies (the memory manager keeps a single copy whenever no part
    waits for it on another worker) the scheduler forgets it and cancels every part that needs it. A task's result
    is rebuilt from the task, and so are the parts that depended on it."""
    return value


def _submit_quietly(client: Any, function: Callable[..., Any], *args: object, **kwargs: Any) -> Any:
    """`client.submit` without the warning for a large task: parts and shared values travel inside their tasks on
    purpose, so that the scheduler can run any of them again after a lost worker."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        return client.submit(function, *args, **kwargs)


@dataclass
class DaskExecutor(PartExecutor):
    """Parts as tasks on a `dask.distributed` cluster: the one at `scheduler`, or a `LocalCluster` of `workers`
    processes started on first use and closed by `close()`. Each shared value is one task per map (see
    `_shared_value`) and each part a pure task keyed by its content and that map's shared data, so the scheduler can
    rebuild either after a lost worker and a re-run part gives the same result."""

    scheduler: str | None = None
    workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str | None = None
    retries: int = 2
    _client: Any = field(default=None, init=False, repr=False)
    _cluster: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.kind = "dask"

    @property
    def client(self) -> Any:
        """The `distributed.Client`, connected (or its LocalCluster started) on first use."""
        if self._client is None:
            import gc

            from distributed import Client, LocalCluster

            # an earlier Client left to the garbage collector must be collected here, not inside Client() below: its
            # __del__ closes its loop runner while the new Client's start holds that runner's lock (a deadlock seen
            # in the test suite)
            gc.collect()

            if self.scheduler:
                try:
                    self._client = Client(self.scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT_S)
                except Exception as exc:  # refused, timed out, or a protocol this machine cannot speak (tls, ucx)
                    raise ClusterError(Finding(f"cannot reach the Dask scheduler at {self.scheduler} ({exc}); "
                                               "`--set executor.kind=local` runs here", field="executor.scheduler")
                                       ) from None
            else:
                self._cluster = LocalCluster(
                    n_workers=self.workers, threads_per_worker=self.threads_per_worker, processes=True,
                    memory_limit=self.memory_limit or 0, dashboard_address=":0", silence_logs=logging.ERROR)
                self._client = Client(self._cluster, set_as_default=False)
        return self._client

    def _run(self, job: Callable[..., Any], items: list[Any], shared: tuple[object, ...],
             stage: str, finished: Callable[[int], None]) -> list[_Done | _Failure | _Crash]:
        from dask.base import tokenize
        from distributed import as_completed

        client = self.client
        # a fresh key on every map: with content-hashed keys, a later map with the same settings (routing's next
        # round) reused the key the previous map was releasing, and the scheduler could drop it under the new tasks
        shared_futures = [_submit_quietly(client, _shared_value, value, key=f"{KEY_PREFIX}-shared-{uuid.uuid4().hex}")
                          for value in shared]
        base = tokenize(job.__module__, job.__qualname__, [f.key for f in shared_futures])

        def submit(index: int) -> Any:
            return _submit_quietly(client, run_part, job, items[index], *shared_futures, pure=True,
                                   retries=self.retries,
                                   key=f"{KEY_PREFIX}-{stage}-{index}-{tokenize(base, items[index])}")

        # as many parts in flight as the cluster has threads, largest first, the next one as soon as one ends: a
        # free worker always takes the biggest part left (the scheduler, not knowing how long a part takes, would
        # otherwise stack several on one worker)
        waiting = largest_first(items)
        slots = max(1, sum(client.nthreads().values()))
        futures: dict[int, Any] = {}
        try:
            for index in waiting[:slots]:
                futures[index] = submit(index)
            running = as_completed(list(futures.values()), loop=client.loop)
            for count, _ in enumerate(running, start=1):
                finished(count)
                if len(futures) < len(items):
                    index = waiting[len(futures)]
                    futures[index] = submit(index)
                    running.add(futures[index])
            return [_crash(futures[index].exception()) if futures[index].status == "error"
                    else futures[index].result() for index in range(len(items))]
        except BaseException:
            client.cancel(list(futures.values()))
            raise
        finally:
            futures.clear()  # released on the cluster once no one holds them

    def start(self) -> None:
        self.client  # noqa: B018 -- connects, or starts the LocalCluster

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(kind: str = "local", *, workers: int | None = None, scheduler: str | None = None,
                  threads_per_worker: int = 1, memory_limit: str | None = None, retries: int = 2) -> PartExecutor:
    """An executor of `kind` (`local`, `processes` or `dask`); `workers` defaults to the machine's cores."""
    count = workers or os.cpu_count() or 1
    if kind == "local":
        return PartExecutor()
    if kind == "processes":
        return ProcessExecutor(workers=count)
    if kind == "dask":
        return DaskExecutor(scheduler=scheduler, workers=count, threads_per_worker=threads_per_worker,
                            memory_limit=memory_limit, retries=retries)
    raise ValueError(f"unknown executor kind {kind!r}")


@dataclass
class StageExecutors(AbstractContextManager["StageExecutors"]):
    """The executor of each stage of a run: `solve` (the large engine's parts), `routing` (each rep's cycle) and
    `territories` (each team's shapes). With `executor.kind: local` (the default), `solver.workers` and
    `routing.workers` above 1 keep their earlier meaning, a pool of that many processes for their own stage;
    with `processes` or `dask` one executor serves all three."""

    solve: PartExecutor
    routing: PartExecutor
    territories: PartExecutor

    def distinct(self) -> list[PartExecutor]:
        out: list[PartExecutor] = []
        for executor in (self.solve, self.routing, self.territories):
            if all(executor is not seen for seen in out):
                out.append(executor)
        return out

    def start(self) -> None:
        for executor in self.distinct():
            executor.start()

    def report_parts(self, on_part: PartProgress | None) -> None:
        """Let `on_part` hear of each part of every stage as it finishes (None: stop)."""
        for executor in self.distinct():
            executor.on_part = on_part

    @property
    def part_times(self) -> list[PartTime]:
        return [t for executor in self.distinct() for t in executor.part_times]

    @property
    def map_seconds(self) -> list[tuple[str, float]]:
        return [t for executor in self.distinct() for t in executor.map_seconds]

    def close(self) -> None:
        for executor in self.distinct():
            executor.close()

    def __exit__(self, *exc: object) -> None:
        self.close()


def stage_executors(settings: ExecutorSettings, *, solver_workers: int = 1, routing_workers: int = 1) -> StageExecutors:
    """The executors a scenario asks for (see `StageExecutors`)."""
    if settings.kind == "local":
        return StageExecutors(make_executor("processes", workers=solver_workers) if solver_workers > 1
                              else PartExecutor(),
                              make_executor("processes", workers=routing_workers) if routing_workers > 1
                              else PartExecutor(),
                              PartExecutor())
    shared = make_executor(settings.kind, workers=settings.workers, scheduler=settings.scheduler,
                           threads_per_worker=settings.threads_per_worker, memory_limit=settings.memory_limit,
                           retries=settings.retries)
    return StageExecutors(shared, shared, shared)
