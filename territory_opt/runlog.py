"""Progress of a run, for people and for cron.

On a terminal: rich progress bars, one line per stage (load, enrich, ..., solve, routing, write), with a bar and
a count where the stage runs in parts (input layers, the large engine's independent parts, reps' call cycles,
teams' territory shapes). Elsewhere (cron, a pipe): plain timestamped lines, a stage's parts reported every
tenth of the way. `--log-file` gets the timestamped lines either way, plus warnings and the final summary.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.text import Text

clock = time.monotonic  # a stage's start and end (a name of its own, so tests can set the time)
PART_LOG_STEPS = 10  # plain logs report a stage's parts at every tenth of the way (and at the end)


class StageTimeColumn(ProgressColumn):
    """Seconds from a stage's start to its end. Rich's own elapsed column stops the first time a bar is full, but a
    stage may run its parts several times (routing plans every rep's cycle once per round)."""

    def render(self, task: Task) -> Text:
        ended = task.fields.get("ended") or clock()
        seconds = int(ended - task.fields["began"])
        return Text(f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}", style="progress.elapsed")


class StageMarkColumn(SpinnerColumn):
    """A spinner while a stage runs, a tick once it finished, a cross when the run failed in it."""

    def render(self, task: Task) -> RenderableType:
        return Text("✗", style="red") if task.fields.get("failed") else super().render(task)


HEARTBEAT_S = 30.0  # the longest silence in the log (and under cron) while a stage runs


def stamped(text: str) -> str:
    return f"{datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')} {text}"


class RunLog:
    """`stage(name)` when a stage starts, `parts(label, done, total)` as its parts finish; use as a context manager
    so the bars stop (and leave their final state on screen) before any message is printed after them."""

    def __init__(self, path: Path | None, *, quiet: bool, console: Console,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self.path, self.quiet, self.console = path, quiet, console
        self.terminal = console.is_terminal
        self._bars: Progress | None = None
        self._task: TaskID | None = None
        self._stage = ""
        self._logged_step = -1
        self._started = time.perf_counter()
        self._stage_started = time.perf_counter()
        self._last_line = time.perf_counter()
        self._heartbeat_s = heartbeat_s
        self._stopped = threading.Event()
        self._beat: threading.Thread | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop_heartbeat()
        self.close(failed=exc is not None)

    def line(self, text: str) -> None:
        """Append a timestamped line to the log file (if any)."""
        with self._lock:
            self._last_line = time.perf_counter()
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(stamped(text) + "\n")

    def _heartbeat(self) -> None:
        """Under cron (no terminal) and in the log file, a line at least every `heartbeat_s` while a stage runs, so a
        long solve is never minutes of silence (a terminal has the bars' clocks instead)."""
        while not self._stopped.wait(min(self._heartbeat_s, 1.0)):
            if time.perf_counter() - self._last_line < self._heartbeat_s or not self._stage:
                continue
            text = f"{self._stage}: still working, {time.perf_counter() - self._stage_started:.0f} s in this stage"
            self.line(text)
            if not self.quiet and not self.terminal:
                self.console.print(stamped(text), markup=False)

    def _stop_heartbeat(self) -> None:
        self._stopped.set()
        if self._beat is not None:
            self._beat.join(timeout=2.0)
            self._beat = None

    def stage(self, name: str) -> None:
        self.line(name)
        self._stage, self._logged_step = name, -1
        self._stage_started = time.perf_counter()
        if self._beat is None and not self._stopped.is_set() and (self.path is not None or not self.terminal):
            self._beat = threading.Thread(target=self._heartbeat, name="territory-opt-heartbeat", daemon=True)
            self._beat.start()
        if self.quiet:
            return
        if not self.terminal:
            self.console.print(stamped(name), markup=False)
            return
        bars = self._live()
        self._complete_current()
        self._task = bars.add_task(name, total=None, count="", began=clock(), ended=None)

    def parts(self, label: str, done: int, total: int) -> None:
        """`done` of `total` parts of the current stage have finished (`label` says what a part is)."""
        step = PART_LOG_STEPS * done // max(total, 1)
        if step < self._logged_step:  # the stage runs its parts again (routing: once per round)
            self._logged_step = -1
        plain = step > self._logged_step or done == total
        if plain:
            self._logged_step = step
            self.line(f"{self._stage}: {label} {done}/{total}")
        if self.quiet:
            return
        if self.terminal and self._bars is not None and self._task is not None:
            self._bars.update(self._task, description=f"{self._stage} · {label}", completed=done, total=total,
                              count=f"{done}/{total}")
        elif not self.terminal and plain:
            self.console.print(stamped(f"{self._stage}: {label} {done}/{total}"), markup=False)

    def info(self, text: str) -> None:
        """A fact the operator should know, not a problem (printed above the bars on a terminal)."""
        self.line(text)
        if not self.quiet:
            self.console.print(text if self.terminal else stamped(text), markup=False)

    def warning(self, text: str, *, echo: bool = True) -> None:
        """Log a warning; `echo` also prints it (off under --json, whose summary carries the warnings)."""
        self.close()
        self.line(f"warning: {text}")
        if echo:
            self.console.print(f"[yellow]warning[/]: {text}", markup=True)

    def done(self, summary: dict[str, Any]) -> None:
        self._stop_heartbeat()
        self.close()
        self.line("done " + json.dumps(summary, sort_keys=True))

    def close(self, *, failed: bool = False) -> None:
        """Stop the bars, leaving each stage shown as finished, except the current one when the run `failed`."""
        if self._bars is not None:
            if failed and self._task is not None:
                self._bars.update(self._task, description=f"{self._stage} (failed)", failed=True, ended=clock())
                self._bars.stop_task(self._task)
            else:
                self._complete_current()
            self._bars.stop()
            self._bars, self._task = None, None

    def _live(self) -> Progress:
        if self._bars is None:
            self._bars = Progress(StageMarkColumn(finished_text="[green]✓[/]"), TextColumn("{task.description}"),
                                  BarColumn(), TextColumn("{task.fields[count]}"), StageTimeColumn(),
                                  console=self.console, transient=False)
            self._bars.start()
        return self._bars

    def _complete_current(self) -> None:
        if self._bars is None or self._task is None:
            return
        task = self._bars.tasks[self._task]
        task.fields["ended"] = clock()
        if task.total is None:
            self._bars.update(self._task, total=1, completed=1)
        else:
            self._bars.update(self._task, completed=task.total)
        self._bars.stop_task(self._task)
