"""Native solves that a signal can stop within a second.

Python runs a signal handler only in the main thread, between bytecodes: while CP-SAT or GLOP holds the main thread
in C++, SIGTERM (a container runtime's stop, which kills 10-30 s later) and Ctrl-C wait for the solve to end. Here
the solve runs in a worker thread (both release the GIL) while the main thread waits in short joins, so the handler
runs at once; on its exception the solver is told to stop and the exception goes on up (cleanup, exit 143/130).
The answer is unchanged: the same call with the same parameters, in another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_S = 0.1  # how often the waiting main thread gives a signal handler the chance to run
STOP_GRACE_S = 3.0  # how long a stopped solver may take to return before the exception goes on without it


def interruptible(call: Callable[[], T], stop_search: Callable[[], None]) -> T:
    """`call()` in a worker thread; an exception in the waiting thread (SIGTERM's `Terminated`, KeyboardInterrupt)
    calls `stop_search()` and is raised again. The call's own result or exception comes back as if called here."""
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            values.append(call())
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)

    worker = threading.Thread(target=target, name="territory-opt-solve", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(POLL_S)
    except BaseException:
        stop_search()
        worker.join(STOP_GRACE_S)
        raise
    if errors:
        raise errors[0]
    return values[0]

