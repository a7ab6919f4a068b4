"""RunLog: rich bars on a terminal, throttled timestamped lines elsewhere, the same lines in --log-file."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from territory_opt.runlog import RunLog

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=100, color_system=None), buffer


def test_terminal_shows_a_bar_per_stage_with_its_parts(tmp_path: Path) -> None:
    console, buffer = _console(terminal=True)
    with RunLog(tmp_path / "run.log", quiet=False, console=console) as log:
        log.stage("load")
        log.stage("solve")
        for done in range(1, 4):
            log.parts("parts", done, 3)
        log.stage("write")
    screen = buffer.getvalue()
    assert "solve · parts" in screen and "3/3" in screen and "write" in screen
    assert "✓" in screen  # finished stages are marked done when the bars stop


def test_plain_lines_are_timestamped_and_parts_reported_every_tenth(tmp_path: Path) -> None:
    console, buffer = _console(terminal=False)
    log_file = tmp_path / "run.log"
    with RunLog(log_file, quiet=False, console=console) as log:
        log.stage("routing")
        for done in range(1, 301):
            log.parts("reps", done, 300)
    lines = buffer.getvalue().splitlines()
    assert all(STAMP.match(line) for line in lines)
    part_lines = [line for line in lines if "reps" in line]
    assert len(part_lines) == 11 and part_lines[-1].endswith("routing: reps 300/300")
    assert [STAMP.sub("", line) for line in log_file.read_text().splitlines()] == [STAMP.sub("", ln) for ln in lines]


def test_quiet_prints_nothing_but_still_logs(tmp_path: Path) -> None:
    console, buffer = _console(terminal=True)
    with RunLog(tmp_path / "run.log", quiet=True, console=console) as log:
        log.stage("solve")
        log.parts("parts", 1, 1)
    assert buffer.getvalue() == ""
    assert "solve: parts 1/1" in (tmp_path / "run.log").read_text()


def test_stage_time_runs_on_after_a_full_bar_when_parts_start_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Routing plans every rep's cycle once per round: the bar fills several times, the clock must not stop."""
    import territory_opt.runlog as runlog

    now = [100.0]
    monkeypatch.setattr(runlog, "clock", lambda: now[0])
    console, _ = _console(terminal=True)
    log = RunLog(None, quiet=False, console=console)
    log.stage("routing")  # begins at 100
    log.parts("reps", 2, 2)
    now[0] = 110.0
    log.parts("reps", 1, 2)  # the next round
    assert log._bars is not None and log._task is not None
    task = log._bars.tasks[log._task]
    column = runlog.StageTimeColumn()
    assert column.render(task).plain == "0:00:10"
    now[0] = 170.0
    assert column.render(task).plain == "0:01:10"
    now[0] = 400.0
    log.close()  # ends at 400
    now[0] = 999.0
    assert column.render(task).plain == "0:05:00"


def test_a_failed_stage_is_not_shown_as_finished(tmp_path: Path) -> None:
    console, buffer = _console(terminal=True)
    try:
        with RunLog(None, quiet=False, console=console) as log:
            log.stage("load")
            log.stage("solve")
            log.parts("parts", 3, 10)
            raise RuntimeError("stopped")
    except RuntimeError:
        pass
    final = [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line) for line in buffer.getvalue().splitlines()]
    load = [line for line in final if "load" in line][-1]
    solve = [line for line in final if "solve" in line][-1]  # the bars' final frame
    assert load.lstrip().startswith("✓")
    assert solve.lstrip().startswith("✗ solve (failed)") and "3/10" in solve


def test_plain_lines_report_every_round_of_a_stage(tmp_path: Path) -> None:
    console, buffer = _console(terminal=False)
    with RunLog(None, quiet=False, console=console) as log:
        log.stage("routing")
        for _ in range(2):  # two rounds of 20 reps
            for done in range(1, 21):
                log.parts("reps", done, 20)
    lines = [line.split(" ", 1)[1] for line in buffer.getvalue().splitlines()]
    assert lines.count("routing: reps 2/20") == 2 and lines.count("routing: reps 20/20") == 2


def test_a_long_stage_is_never_silent_under_cron(tmp_path: Path) -> None:
    """A line at least every heartbeat while a stage runs (30 s by default), on the plain console and in the log."""
    import time

    console, buffer = _console(terminal=False)
    log_file = tmp_path / "run.log"
    with RunLog(log_file, quiet=False, console=console, heartbeat_s=0.3) as log:
        log.stage("solve")
        time.sleep(1.6)
        log.stage("write")
    beats = [line for line in buffer.getvalue().splitlines() if "solve: still working" in line]
    assert 2 <= len(beats) <= 6 and all(STAMP.match(line) for line in beats)
    assert sum("still working" in line for line in log_file.read_text().splitlines()) == len(beats)
    after = buffer.getvalue()
    time.sleep(0.8)
    assert buffer.getvalue() == after, "no heartbeat once the log is closed"
