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
