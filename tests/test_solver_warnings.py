"""A wall-clock stop is never silent, a bound is never clamped, and a busy machine gives the same answer."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from territory_opt.results.solver_warnings import solver_findings
from territory_opt.solve.engine import proven_bound

from .conftest import CaseWriter, tiny_customers, tiny_reps, tiny_scenario_dict


def test_a_wall_capped_search_is_a_warning_naming_the_setting() -> None:
    found = solver_findings({"wall_capped": 1, "cpsat_status": "feasible"})
    assert len(found) == 1 and found[0].field == "solver.time_limit_s"
    assert "wall-clock safety stop" in found[0].message and "wall_capped" in found[0].message
    assert solver_findings({"wall_capped": 0, "lp_status": "optimal"}) == []


def test_an_lp_that_did_not_finish_is_a_warning() -> None:
    found = solver_findings({"lp_status": "feasible"})
    assert len(found) == 1 and "feasible" in found[0].message


def test_routing_days_ended_by_the_safety_stop_are_a_warning() -> None:
    found = solver_findings({}, routing_days_capped=3)
    assert len(found) == 1 and "3 day route" in found[0].message and found[0].field == "routing.time_limit_s"


def test_a_bound_above_the_objective_is_a_bug_not_a_zero_gap() -> None:
    assert proven_bound(99.0, 100.0) == 99.0
    assert proven_bound(100.0 + 1e-9, 100.0) == 100.0  # float noise only
    with pytest.raises(RuntimeError, match="above the answer's objective"):
        proven_bound(100.5, 100.0)


def _hog(stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _run(scenario: Path, name: str) -> Path:
    out = scenario.parent / name
    done = subprocess.run([sys.executable, "-m", "territory_opt", "run", str(scenario), "--out", str(out), "--quiet",
                           "--time-limit", "3"], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return out


@pytest.mark.slow
def test_two_cpu_hogs_give_the_same_bytes_or_say_why(write_case: CaseWriter) -> None:
    reps = [dict(rep, capacity_hours=400) for rep in tiny_reps()]
    scenario = write_case(customers=tiny_customers(240), reps=reps, scenario=tiny_scenario_dict())
    idle = _run(scenario, "idle")
    stop = multiprocessing.Event()
    hogs = [multiprocessing.Process(target=_hog, args=(stop,), daemon=True) for _ in range(2)]
    for hog in hogs:
        hog.start()
    try:
        busy = _run(scenario, "busy")
    finally:
        stop.set()
        for hog in hogs:
            hog.join(timeout=10)
            if hog.is_alive():
                hog.terminate()
    same = all((idle / name).read_bytes() == (busy / name).read_bytes()
               for name in ("assignments.csv", "reps.csv", "territories.geojson", "changes.csv"))
    warned = "safety stop" in (busy / "warnings.csv").read_text(encoding="utf-8")
    assert same or warned
