"""Run a command in a child process and measure that child alone, for the bench scripts that time whole CLI runs.

`resource.getrusage(RUSAGE_CHILDREN)` gives the largest peak RSS of every child this process has waited for so far,
so a script that starts several runs would report the first big run's peak for every later one. `os.wait4` gives
the child's own usage instead (its peak RSS, and CPU time with that of the processes it waited for).

But a child started straight from the bench script inherits the script's own peak RSS: Python starts it with
vfork, and Linux carries the old address space's high-water mark into the new program at exec, so `wait4` reported
max(the script's peak, the child's) -- a bench script that had read a large run's outputs made every later small
run look as large. So the command is started from a small launcher (a fresh interpreter, well under 50 MB), which
starts the command, waits for it with `wait4` and hands back its usage; the command's peak is then its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = """\
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    json.dump({"returncode": os.waitstatus_to_exitcode(status), "wall_s": wall,
               "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss}, out)
"""


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
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage.json"
        done = subprocess.run([sys.executable, "-c", LAUNCHER, str(usage_file), *command], stdout=out, stderr=err,
                              check=False)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if not usage_file.exists():  # the launcher itself failed (the command could not start)
            return Measured(done.returncode, stdout, stderr, 0.0, 0.0, 0.0)
        usage = json.loads(usage_file.read_text())
        return Measured(usage["returncode"], stdout, stderr, usage["wall_s"], usage["cpu_s"],
                        usage["maxrss_kb"] / 1024.0)
