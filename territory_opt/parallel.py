"""Kept for callers of the earlier helper: `map_in_processes` is now `executor.ProcessExecutor.map`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .executor import ProcessExecutor


def map_in_processes(job: Callable[..., Any], items: Sequence[Any], *shared: object, workers: int = 1) -> list[Any]:
    """`[job(item, *shared) for item in items]` in `workers` spawned processes (see `executor.ProcessExecutor`)."""
    return ProcessExecutor(workers=workers).map(job, items, *shared)
