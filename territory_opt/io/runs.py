"""Nightly safety around the output folder: one run at a time, history of good runs, nothing half-written.

- A lock file (`.OUT.lock` beside the output folder, flock-ed, holding pid, host and start time) stops a second run
  on the same output folder; a lock left by a process that no longer exists on this host is taken over (by one run
  only: the flock decides), one from another host only after OTHER_HOST_STALE_S.
- With `output.layout: runs`, each run goes to `OUT/runs/<UTC time>-<scenario hash>/` and `OUT/latest` (a symlink)
  moves to it only once the run is complete, so `latest` is always the last good answer.
- Temporary folders of runs that died (`.<name>.tmp-<pid>` whose process is gone) are removed by the next run.
- SIGTERM is turned into `Terminated`, so the writer's cleanup runs and the CLI exits 143.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import Finding, LockedError, OutputError

LOCK_SUFFIX = ".lock"
OTHER_HOST_STALE_S = 24 * 3600  # a lock another host wrote counts until this old: no nightly run lasts a day
LATEST = "latest"
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)$")


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, cleaning temporary files on the way."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold the output folder's lock for the block; exit code 5 (`LockedError`) if a live run holds it."""
    blocker = next((d for d in (out_dir, *out_dir.parents) if d.exists() and not d.is_dir()), None)
    if blocker is not None:  # checked first: the writer would rename a file in its way
        raise OutputError(Finding("is a file, where the output folder (or a folder above it) must go: move it or "
                                  "choose another output folder", source=str(blocker)))
    missing = [d for d in (out_dir.parent, *out_dir.parent.parents) if not d.exists()]
    path = out_dir.parent / f".{out_dir.name}{LOCK_SUFFIX}"  # beside the folder: the writer renames the folder
    mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()})
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # permission denied, a read-only or special file system (/proc)
        _remove_empty(missing)
        raise OutputError(Finding(f"cannot create the folder: {exc.strerror or exc}", source=str(out_dir.parent))
                          ) from None
    fd = _take_lock(path, mine, missing)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if _read_lock(path).get("pid") == os.getpid():
                path.unlink()
        os.close(fd)  # releases the flock
        _remove_empty(missing)  # a failed run leaves no folder it made just for its lock


def _take_lock(path: Path, mine: str, missing: list[Path]) -> int:
    """The lock file's descriptor, flock-ed and holding `mine`.

    flock makes taking the lock atomic (two runs finding a stale lock cannot both take it over; the kernel drops the
    flock when its process dies); the path is checked to still name the flock-ed file, since a finishing run unlinks
    it. The file's content decides too: a live process of this host named in it (a lock written without flock), or a
    run on another host (flock does not reach across hosts on network file systems) younger than
    OTHER_HOST_STALE_S, holds it."""
    for _ in range(5):
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:  # permission denied, read-only or full file system
            _remove_empty(missing)
            raise OutputError(Finding(f"cannot create the output folder's lock: {exc.strerror or exc}",
                                      source=str(path))) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(_held_by(path, _read_lock(path))) from None
        try:
            same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same_file = False
        if not same_file:  # a finishing run unlinked it between our open and our flock: try the new one
            os.close(fd)
            continue
        holder = _read_lock(path)
        if _holds(holder):
            os.close(fd)
            raise LockedError(_held_by(path, holder))
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, mine.encode("utf-8"), 0)
        except OSError as exc:
            os.close(fd)
            path.unlink(missing_ok=True)
            _remove_empty(missing)
            raise OutputError(Finding(f"cannot write the output folder's lock: {exc.strerror or exc}",
                                      source=str(path))) from None
        return fd
    raise LockedError(Finding("could not take the lock: other runs kept replacing it", source=str(path)))


def _holds(holder: dict[str, Any]) -> bool:
    """Whether the run a lock file names still holds it (a lock without flock: see `_take_lock`)."""
    if not holder:
        return False
    if holder.get("host") != socket.gethostname():
        return time.time() - float(holder.get("started", 0)) < OTHER_HOST_STALE_S
    return _alive(int(holder.get("pid", -1)))


def _held_by(path: Path, holder: dict[str, Any]) -> Finding:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("started", 0))))
    where = "" if holder.get("host") in (None, socket.gethostname()) else f" on host {holder['host']}"
    return Finding(f"another territory-opt run (pid {holder.get('pid', '?')}{where}, started {started}) is writing "
                   "this output folder; wait for it or stop it"
                   + (f" (a lock from another host is taken over after {OTHER_HOST_STALE_S // 3600} h; delete the "
                      "file if that run is gone)" if where else ""), source=str(path))


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty


def _read_lock(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remove_dead_temporaries(parent: Path) -> int:
    """Delete `.<name>.tmp-<pid>` / `.old-<pid>` folders whose process is gone; returns how many."""
    removed = 0
    if not parent.is_dir():
        return 0
    for entry in parent.iterdir():
        match = TEMPORARY.match(entry.name)
        if match and not _alive(int(match["pid"])):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed


def run_id(scenario_sha256: str) -> str:
    """`<UTC time>-<first 8 of the scenario hash>` for a run starting now: its folder name in the `runs` layout,
    and its `run_id` in database tables."""
    now = time.time_ns()
    # to the microsecond: two runs of one scenario in one second (into different folders, one database) differ
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9)) + f".{now // 1000 % 10**6:06d}Z"
    return f"{stamp}-{(scenario_sha256 or 'python')[:8]}"


def run_folder(out_dir: Path, name: str) -> Path:
    """`OUT/runs/<run id>`."""
    return out_dir / "runs" / name


def point_latest(out_dir: Path, run_dir: Path) -> None:
    """Move `OUT/latest` to `run_dir` in one step (a new symlink renamed over the old one)."""
    link = out_dir / LATEST
    tmp = out_dir / f".{LATEST}.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(run_dir, out_dir), target_is_directory=True)
    os.replace(tmp, link)


def latest_run(out_dir: Path) -> Path | None:
    """The last good run of a `runs` layout (None when there is none yet)."""
    link = out_dir / LATEST
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def terminate_as_exception() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` (so `finally` and cleanup run) instead of killing at once."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
