"""Nightly safety: one run per output folder, `latest` moves only after a complete run, kills leave no debris."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory_opt.cli import app

from ..conftest import DEMO, tiny_scenario_dict

RUNNER = CliRunner()


def nightly_case(write_case: Callable[..., Path]) -> Path:
    scenario = tiny_scenario_dict()
    scenario["output"] = {"dir": "out", "layout": "runs"}
    return write_case(scenario=scenario)


def debris(root: Path) -> list[str]:
    """Temporary files or folders a run left behind, anywhere under or beside the output folder."""
    places = [root.parent, root, root / "runs"]
    return sorted(str(p) for place in places if place.is_dir() for p in place.iterdir()
                  if ".tmp-" in p.name or ".old-" in p.name or p.name.endswith(".lock"))


def test_latest_moves_after_each_good_run_and_previous_auto_uses_it(write_case: Callable[..., Path]) -> None:
    path = nightly_case(write_case)
    root = path.parent / "out"
    first = RUNNER.invoke(app, ["run", str(path), "--previous", "auto"])  # no latest yet: today's reps
    assert first.exit_code == 0, first.output
    assert "no earlier run" in first.stderr and "current_rep_id" in first.stderr
    runs = sorted((root / "runs").iterdir())
    assert len(runs) == 1 and (root / "latest").resolve() == runs[0].resolve()
    assert json.loads((runs[0] / "kpis.json").read_text())["changes"]["baseline"] == "current_rep_id"
    time.sleep(1.1)  # run folders are named to the second
    second = RUNNER.invoke(app, ["run", str(path), "--previous", "auto"])
    assert second.exit_code == 0, second.output
    runs = sorted((root / "runs").iterdir())
    assert len(runs) == 2 and (root / "latest").resolve() == runs[1].resolve()
    kpis = json.loads((runs[1] / "kpis.json").read_text())
    assert kpis["changes"] == {"baseline": "previous run", "customers": 0, "by_reason": {}}
    assert debris(root) == []


def test_a_live_lock_stops_a_second_run_and_a_stale_one_is_taken_over(write_case: Callable[..., Path]) -> None:
    path = nightly_case(write_case)
    lock = path.parent / ".out.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}))
    busy = RUNNER.invoke(app, ["run", str(path)])
    assert busy.exit_code == 5 and "another territory-opt run" in busy.output and ".out.lock" in busy.output
    assert not (path.parent / "out").exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    lock.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "started": 0}))
    taken = RUNNER.invoke(app, ["run", str(path)])
    assert taken.exit_code == 0, taken.output
    assert not lock.exists()


@pytest.mark.parametrize("delay", [0.5, 1.2, 1.5, 1.8])
def test_killing_a_run_never_touches_latest(write_case: Callable[..., Path], delay: float) -> None:
    path = nightly_case(write_case)
    root = path.parent / "out"
    command = [sys.executable, "-m", "territory_opt", "run", str(path), "--quiet"]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    good = (root / "latest").resolve()
    kept = {p.name: p.read_bytes() for p in good.iterdir()}
    time.sleep(1.1)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
        # -SIGTERM: still starting up, before the handler (nothing written yet)
        assert process.returncode in (0, 143, -signal.SIGTERM, -signal.SIGKILL), stderr
        now = (root / "latest").resolve()
        if now == good:  # killed before it finished: the good run, untouched
            assert {p.name: p.read_bytes() for p in good.iterdir()} == kept
        else:  # the kill came after the run had completed and moved latest: the new run is whole
            assert {p.name for p in now.iterdir()} == set(kept), process.returncode
            good, kept = now, {p.name: p.read_bytes() for p in now.iterdir()}
        if sig == signal.SIGTERM and process.returncode == 143:
            assert debris(root) == [], "SIGTERM must clean up at once"
        time.sleep(1.1)
    after = subprocess.run(command, capture_output=True, check=False)
    assert after.returncode == 0, after.stderr
    assert debris(root) == [], "the next run removes what a killed run left"


def test_json_summary_and_log_file_for_cron(write_case: Callable[..., Path]) -> None:
    import re

    path = write_case()
    log = path.parent / "run.log"
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(path.parent / "out"), "--json", "--log-file",
                                 str(log)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    kpis = json.loads((path.parent / "out" / "kpis.json").read_text())
    assert summary["exit_code"] == 0 and summary["objective"] == kpis["objective"]
    assert summary["n_customers"] == kpis["n_customers"] and summary["out"].endswith("out")
    assert summary["n_warnings"] > 0 and len(summary["warnings"]) == min(summary["n_warnings"], 50)
    assert all(set(w) == {"field", "message"} for w in summary["warnings"])
    assert "warning" not in result.stderr, "--json carries the warnings; stderr stays for errors"
    assert "crs: WGS 84 / UTM zone 33N" in log.read_text(), "the log says which CRS and why"
    lines = log.read_text().splitlines()
    stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
    assert all(re.match(stamp, line) for line in lines)
    stages = [line.split(" ", 1)[1] for line in lines if ":" not in line.split(" ", 1)[1]]
    assert stages[:3] == ["load", "enrich", "segment"]
    parts = [line.split(" ", 1)[1] for line in lines if ": " in line.split(" ", 1)[1]]
    assert parts[:2] == ["load: layers 1/2", "load: layers 2/2"], "each input layer read is reported"
    assert "territories" in stages, "the shapes stage is reported (a quick dissolve of units: no parts)"
    assert lines[-1].split(" ", 2)[1] == "done" and json.loads(lines[-1].split(" ", 2)[2]) == summary
    failed = RUNNER.invoke(app, ["run", str(path.parent / "missing.yaml"), "--json", "--log-file", str(log)])
    assert failed.exit_code == 2
    error = json.loads(failed.stdout.strip().splitlines()[-1])
    assert error["status"] == "error" and error["exit_code"] == 2 and "missing.yaml" in error["message"]
    assert "error (2)" in log.read_text().splitlines()[-1]


def test_progress_lines_are_timestamped_when_not_a_terminal(write_case: Callable[..., Path]) -> None:
    import re

    path = write_case()
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(path.parent / "out")])
    assert result.exit_code == 0
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ solve$", result.stderr, flags=re.M), result.stderr
    assert re.search(r"^\S+Z load: layers 2/2$", result.stderr, flags=re.M), result.stderr


def test_a_truncated_extract_never_replaces_last_nights_answer(write_case: Callable[..., Path]) -> None:
    """In the nightly layout (quality.fail_on_change by default), customers halving against `latest` fail the run
    (exit 2) and keep `latest`; a scenario that says fail_on_change: false gets a warning instead."""
    from ..conftest import tiny_customers

    scenario = tiny_scenario_dict()
    scenario["output"] = {"dir": "out", "layout": "runs"}
    path = write_case(scenario=scenario)
    root = path.parent / "out"
    assert RUNNER.invoke(app, ["run", str(path), "--previous", "auto"]).exit_code == 0
    good = (root / "latest").resolve()
    customers = tiny_customers()
    write_case(customers=customers[: len(customers) // 2], scenario=scenario)
    result = RUNNER.invoke(app, ["run", str(path), "--previous", "auto"])
    assert result.exit_code == 2, result.output
    assert "n_customers changed by -50.0 %" in result.output and "quality.fail_on_change" in result.output
    assert "--strict" not in result.output
    assert (root / "latest").resolve() == good and len(list((root / "runs").iterdir())) == 1
    assert debris(root) == []
    allowed = RUNNER.invoke(app, ["run", str(path), "--previous", "auto", "--set", "quality.fail_on_change=false"])
    assert allowed.exit_code == 0 and "n_customers changed by -50.0 %" in allowed.output


def test_a_broken_previous_run_is_said_not_taken_for_no_change(write_case: Callable[..., Path]) -> None:
    scenario = tiny_scenario_dict()
    scenario["output"] = {"dir": "out", "layout": "runs"}
    path = write_case(scenario=scenario)
    assert RUNNER.invoke(app, ["run", str(path)]).exit_code == 0
    ((path.parent / "out" / "latest").resolve() / "kpis.json").write_text("{truncated", encoding="utf-8")
    result = RUNNER.invoke(app, ["run", str(path), "--previous", "auto"])
    assert result.exit_code == 2 and "kpis.json could not be read" in result.output, result.output


def test_an_unreachable_dask_scheduler_is_an_outage_found_before_any_work(write_case: Callable[..., Path]) -> None:
    path = write_case()
    cluster = ["--set", "executor.kind=dask", "--set", "executor.scheduler=tcp://127.0.0.1:9"]
    checked = RUNNER.invoke(app, ["validate", str(path), *cluster])
    assert checked.exit_code == 6, checked.output
    assert "cluster error" in checked.output and "tcp://127.0.0.1:9" in checked.output
    result = RUNNER.invoke(app, ["run", str(path), "--out", str(path.parent / "out"), *cluster])
    assert result.exit_code == 6, result.output
    assert "load" not in result.stderr.split("cluster error")[0], "no stage ran before the check"
    assert not (path.parent / "out").exists()
    assert RUNNER.invoke(app, ["validate", str(path)]).exit_code == 0  # the same scenario, run here


def test_sigterm_during_the_solve_ends_the_run_within_five_seconds(tmp_path: Path) -> None:
    """Container runtimes kill 10-30 s after SIGTERM: the solve (GLOP, then CP-SAT, in C++) must give way at once."""
    log, out = tmp_path / "run.log", tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "territory_opt", "run", str(DEMO), "--out", str(out), "--quiet",
                                "--time-limit", "300", "--log-file", str(log)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not (log.exists() and " solve" in log.read_text(encoding="utf-8")):
        assert process.poll() is None and time.monotonic() < deadline, "the run never reached the solve stage"
        time.sleep(0.2)
    time.sleep(3.0)  # inside the LP or CP-SAT by now
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    took = time.monotonic() - sent
    assert process.returncode == 143 and took < 5.0, (process.returncode, round(took, 1))
    assert not out.exists() and debris(out) == []


def test_a_lock_from_another_host_holds_until_it_is_a_day_old(write_case: Callable[..., Path]) -> None:
    path = write_case()
    lock = path.parent / ".out.lock"
    lock.write_text(json.dumps({"pid": 1, "host": "batch-02.example", "started": time.time() - 3600}))
    held = RUNNER.invoke(app, ["run", str(path)])
    assert held.exit_code == 5 and "on host batch-02.example" in held.output, held.output
    assert not (path.parent / "out").exists()
    lock.write_text(json.dumps({"pid": 1, "host": "batch-02.example", "started": time.time() - 25 * 3600}))
    taken = RUNNER.invoke(app, ["run", str(path)])
    assert taken.exit_code == 0, taken.output
    assert not lock.exists()


TAKER = """
import json, sys, time
from pathlib import Path
from territory_opt.errors import LockedError
from territory_opt.io.runs import output_lock
out, log = Path(sys.argv[1]), Path(sys.argv[2])
while time.time() < float(sys.argv[3]):
    pass
try:
    with output_lock(out):
        began = time.time()
        time.sleep(0.5)
        with log.open("a") as fh:
            fh.write(json.dumps([began, time.time()]) + "\\n")
except LockedError:
    pass
"""


def test_a_stale_lock_is_taken_over_by_one_run_only(tmp_path: Path) -> None:
    """Six runs find the same stale lock at the same moment: the holders' times never overlap."""
    out, log = tmp_path / "out", tmp_path / "held.log"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    (tmp_path / ".out.lock").write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(),
                                                    "started": 0}))
    start = time.time() + 3.0
    takers = [subprocess.Popen([sys.executable, "-c", TAKER, str(out), str(log), str(start)]) for _ in range(6)]
    for taker in takers:
        assert taker.wait(timeout=60) == 0
    spans = sorted(json.loads(line) for line in log.read_text().splitlines())
    assert len(spans) >= 1
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), spans
