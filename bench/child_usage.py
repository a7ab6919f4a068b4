"""Run a command in a child process and measure that child alone, for the bench scripts that time whole CLI runs.

`resource.getrusage(RUSAGE_CHILDREN)` gives the largest peak RSS of every child this process has waited for so far,
so a script that starts several runs would report the first big run's peak for every later one. `os.wait4` gives
the child's own usage instead (its peak RSS, and CPU time with that of the processes it waited for).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def run_measured(command: list[str]) -> Measured:
    """Run `command` to its end (output to temporary files, so no pipe can fill up) and measure it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0)
