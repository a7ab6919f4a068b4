"""One solver contract: what every engine may spend (`Budget`), how it is metered (`WorkMeter`), how a run stops
early (`Stop`), and the shape every engine reports (`Outcome`).

Every engine takes a `Budget`: `solve` (the assignment), `solve_cpsat`, `solve_lp`, `solve_design` (p-median
family) and `solve_vrp` (routing). A budget counts reproducible work, never wall time, wherever the engine can:
CP-SAT's deterministic seconds, the design engines' metered cells, routing's accepted solutions. The wall clock
is only a safety stop (`Budget.wall_s`, by default `default_wall_cap(work_s)`); when it is what ends a search the
answer may depend on the machine's load, and the engine says so (`Outcome.stats["wall_capped"]`). `Stop` lets a
run be ended from outside (a signal) at the next point an engine looks.

A limit is a limit: a run ends within it plus a stated margin, the step that crosses it being finished, never cut.
The design engines end within `design.meter.work_margin(limit)` (5 % + 0.1 work-s): every phase gets what is left
of its share, CP-SAT included (its building paid from it, its limit per worker: `cpsat_call.deterministic_limit`).
The assignment engine's CP-SAT calls share its `work_s` (a grown sparse model, or a hinted call spending what several
workers left, gets what the calls before it left; the LP relaxation and the repair before them are not metered).
Routing stops at its solution count or its wall cap; when the first strategy fails, the fallbacks may spend
`routing.vrp.FALLBACK_GRACE` x the cap beyond it. Two fixed extras are beside the run's limit, not in it: the zone
placement (`engine.PLACEMENT_WORK_S`) and the contiguity band repair (`engine.CONTIGUITY_REPAIR_WORK_S`).
Measured before and after: docs/benchmarks.md "Update 2026-12-07 (engine)".
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol


def default_wall_cap(work_s: float) -> float:
    """The wall-clock safety stop for a work budget: generous, so that only a very busy machine ever meets it (a
    loaded 2-core machine ran CP-SAT's deterministic seconds 4x slower than an idle one)."""
    return 10.0 * work_s + 60.0


class Stop:
    """A flag a run's engines watch: set (by a signal handler, say), it calls every engine's registered stopper
    (e.g. CP-SAT's `stop_search`) and engines end at their next check."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._stoppers: list[Callable[[], None]] = []

    def set(self) -> None:
        self._event.set()
        with self._lock:
            stoppers = list(self._stoppers)
        for stopper in stoppers:
            stopper()

    def is_set(self) -> bool:
        return self._event.is_set()

    def register(self, stopper: Callable[[], None]) -> Callable[[], None]:
        """Call `stopper` when the flag is set (at once if it is already); returns the function that unregisters."""
        with self._lock:
            self._stoppers.append(stopper)
        if self._event.is_set():
            stopper()

        def unregister() -> None:
            with self._lock:
                if stopper in self._stoppers:
                    self._stoppers.remove(stopper)

        return unregister


@dataclass(frozen=True)
class Budget:
    """What one engine call may spend.

    `work_s`: deterministic work seconds (None: no work limit, e.g. routing, which counts `solutions` instead);
    `solutions`: improving solutions a local search may accept (routing); `wall_s`: the wall-clock safety stop
    (default: `default_wall_cap(work_s)`); `stop`: the run's stop flag, if any.
    """

    work_s: float | None = 60.0
    solutions: int | None = None
    wall_s: float | None = None
    stop: Stop | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.work_s is not None and not (math.isfinite(self.work_s) and self.work_s > 0):
            raise ValueError(f"work_s must be a finite number > 0, got {self.work_s!r}")
        if self.solutions is not None and self.solutions < 1:
            raise ValueError(f"solutions must be at least 1, got {self.solutions!r}")
        if self.wall_s is not None and not self.wall_s > 0:
            raise ValueError(f"wall_s must be > 0, got {self.wall_s!r}")
        if self.work_s is None and self.wall_s is None:
            raise ValueError("a budget needs work_s or wall_s")

    @property
    def wall_cap(self) -> float:
        """Wall seconds after which the engine stops whatever its work (the safety stop)."""
        if self.wall_s is not None:
            return self.wall_s
        assert self.work_s is not None
        return default_wall_cap(self.work_s)

    def with_work(self, work_s: float) -> Budget:
        """The same budget with another work limit (and the safety stop that goes with it)."""
        return Budget(work_s=max(work_s, 1e-3), solutions=self.solutions, stop=self.stop)

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


class WorkMeter:
    """Work spent against a budget, for engines that meter their own steps (numpy passes, CP-SAT calls): a child
    meter shares its parent's wall deadline and `settle` books its work on the parent."""

    def __init__(self, budget: Budget, deadline: float | None = None) -> None:
        self.budget = budget
        self.limit = max(float(budget.work_s or 0.0), 0.0)
        self.used = 0.0
        self.deadline = time.perf_counter() + budget.wall_cap if deadline is None else deadline
        self.wall_capped = False

    def child(self, work_s: float) -> WorkMeter:
        return WorkMeter(Budget(work_s=max(min(work_s, self.left()), 1e-3), stop=self.budget.stop), self.deadline)

    def settle(self, child: WorkMeter) -> None:
        self.used += child.used
        self.wall_capped |= child.wall_capped

    def pay(self, work_s: float) -> None:
        self.used += work_s

    def left(self) -> float:
        return self.limit - self.used

    def wall_left(self) -> float:
        return self.deadline - time.perf_counter()

    def exhausted(self) -> bool:
        """Out of work, past the wall deadline (noted in `wall_capped`), or stopped from outside."""
        if self.budget.stopped():
            return True
        if time.perf_counter() > self.deadline:
            self.wall_capped = True
            return True
        return self.used >= self.limit


class Outcome(Protocol):
    """What every engine reports, whatever else it returns: a status (optimal, feasible, infeasible, ...), the
    objective and a proven lower bound in the engine's units (nan when it has none), and statistics, among them
    `wall_capped` (1 when the wall-clock safety stop ended the search)."""

    @property
    def status(self) -> str: ...

    @property
    def objective(self) -> float: ...

    @property
    def bound(self) -> float: ...

    @property
    def stats(self) -> Mapping[str, float | int | str]: ...


def gap(objective: float, bound: float) -> float:
    """(objective - bound) / objective, 0 for a zero objective; nan without a bound. Never clamped: a bound above
    the objective is a bug the caller must see."""
    if not math.isfinite(bound):
        return float("nan")
    return 0.0 if objective <= 0 else (objective - bound) / objective
