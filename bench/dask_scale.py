"""The whole run at scale on the local executor and on Dask, with per-part times and a projection to bigger clusters.

    python bench/dask_scale.py [--customers 1000000] [--reps 2000] [--workers 2] [--kinds local,dask]
                               [--time-limit 60] [--keep DIR]

The instance is bench/scale.py's (sample outlets replicated with jitter, 80 % field reps, 20 % HoReCa overlay,
contact cap 2) with the field team bound to the sample's depot areas, so the large engine has independent parts.
Each kind runs once in a fresh child process (`run_scenario` in memory, no output files written); the parent samples
the peak resident memory (VmHWM) of the child and of every process it starts (Dask's workers), every 0.5 s. The
child reports each part's seconds (`executor.PartTime`) and each stage's wall time; the projection for a cluster of
m workers is: the run's wall time outside the parts, plus per stage the longest-processing-time-first schedule of
the local run's measured part times on m workers, plus the per-stage overhead Dask showed on this machine. Answers
are compared by the SHA-256 of the assignment and rep tables.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from scale import BOUNDARY, DEPOTS, SCENARIO, make_case  # noqa: E402


def write_scenario(folder: Path, time_limit: float) -> Path:
    path = folder / "scale.yaml"
    path.write_text(SCENARIO.format(time_limit=time_limit, routing="", workers=1, gold=40, silver=30, bronze=20,
                                    depots=DEPOTS, field_boundary=BOUNDARY))
    return path


def child(scenario_path: Path, kind: str, workers: int, result_path: Path) -> None:
    """Run the scenario in this process on `kind` and write what the parent needs as JSON."""
    from territory_opt.config import load_scenario
    from territory_opt.executor import stage_executors
    from territory_opt.pipeline import run_scenario

    scenario = load_scenario(scenario_path, [f"executor.kind={kind}", f"executor.workers={workers}"])
    started = time.perf_counter()
    with stage_executors(scenario.executor) as executors:
        run = run_scenario(scenario, executors=executors)
        wall = time.perf_counter() - started
        digest = hashlib.sha256()
        digest.update(run.assignments.to_csv(index=False).encode())
        digest.update(run.reps.to_csv(index=False).encode())
        out = {"kind": kind, "wall_s": wall, "timings": run.timings, "sha256": digest.hexdigest(),
               "objective": run.kpis["objective"], "bound": run.kpis["bound"], "gap": run.kpis["gap"],
               "max_dev": run.kpis["max_workload_deviation"], "needs": run.kpis["n_needs"],
               "parts": run.kpis["solver_stats"].get("parts", 1), "engine": run.kpis["engine"],
               "part_times": [[t.stage, t.index, t.seconds, t.where] for t in executors.part_times],
               "map_seconds": executors.map_seconds}
    result_path.write_text(json.dumps(out))


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "client+scheduler"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "resource_tracker" in cmd:
        return "resource tracker"
    return "worker" if "spawn_main" in cmd else "other"


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        for task in tasks:
            kids = (task / "children").read_text().split()
            out.extend(int(k) for k in kids)
    except OSError:
        pass
    return out


def run_kind(scenario_path: Path, kind: str, workers: int, folder: Path) -> dict:
    result_path = folder / f"result-{kind}.json"
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(scenario_path), "--kind", kind,
                             "--workers", str(workers), "--result", str(result_path)])
    peaks: dict[int, tuple[str, int]] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            stack = [proc.pid]
            while stack:
                pid = stack.pop()
                kb = _hwm_kb(pid)
                if kb:
                    role = peaks.get(pid, (None, 0))[0] or _role(pid, proc.pid)
                    peaks[pid] = (role, max(kb, peaks.get(pid, ("", 0))[1]))
                stack.extend(_children(pid))
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    done.set()
    sampler.join()
    if code != 0:
        return {"kind": kind, "error": f"exit {code}"}
    result = json.loads(result_path.read_text())
    result["peak_mb"] = sorted(((role, round(kb / 1024)) for role, kb in peaks.values() if role != "gone"),
                               key=lambda r: (r[0] != "client+scheduler", -r[1]))
    return result


def lpt(seconds: list[float], machines: int) -> float:
    """Makespan of longest-processing-time-first list scheduling on `machines` identical workers."""
    loads = [0.0] * machines
    heapq.heapify(loads)
    for s in sorted(seconds, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + s)
    return max(loads) if seconds else 0.0


def projection(local: dict, dask: dict | None, machines: int) -> float:
    """Projected wall time on `machines` workers (see the module docstring)."""
    by_stage: dict[str, list[float]] = {}
    for stage, _, seconds, _ in local["part_times"]:
        by_stage.setdefault(stage, []).append(seconds)
    serial = local["wall_s"] - sum(s for _, s in local["map_seconds"])
    overhead = 0.0
    if dask is not None:  # what dask added per stage on this machine beyond the ideal 2-worker schedule
        dask_stages: dict[str, list[float]] = {}
        for stage, _, seconds, _ in dask["part_times"]:
            dask_stages.setdefault(stage, []).append(seconds)
        map_wall: dict[str, float] = {}
        for stage, seconds in dask["map_seconds"]:
            map_wall[stage] = map_wall.get(stage, 0.0) + seconds
        overhead = sum(max(0.0, map_wall[s] - lpt(dask_stages[s], 2)) for s in map_wall)
    return serial + sum(lpt(v, machines) for v in by_stage.values()) + overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kinds", default="local,dask")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the instance and results (kept)")
    parser.add_argument("--reuse", action="store_true", help="take a kind's result from an earlier run in --keep")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.kind, args.workers, args.result)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dask-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.customers:,} customers, {args.reps} reps, depot boundary; work budget {args.time_limit:g} s; "
          f"folder {folder}", flush=True)
    if not (folder / "customers.csv").exists():
        make_case(folder, args.customers, args.reps)
    scenario = write_scenario(folder, args.time_limit)
    results = {}
    for kind in args.kinds.split(","):
        summary = folder / f"summary-{kind}.json"
        if args.reuse and summary.exists():
            res = json.loads(summary.read_text())
        else:
            res = run_kind(scenario, kind, args.workers, folder)
            summary.write_text(json.dumps(res, indent=1))
        results[kind] = res
        if "error" in res:
            print(f"{kind}: {res['error']}", flush=True)
            continue
        print(f"\n{kind} ({args.workers} workers)" if kind != "local" else "\nlocal", flush=True)
        print(f"  wall {res['wall_s']:.1f} s; stages {res['timings']}; needs {res['needs']:,}; parts {res['parts']}; "
              f"objective {res['objective']:,.0f}; gap {100 * res['gap']:.3f} %; max dev {100 * res['max_dev']:.1f} %",
              flush=True)
        print(f"  peak memory MB per process: {res['peak_mb']}", flush=True)
        print(f"  map wall s: {res['map_seconds']}", flush=True)
        print("  part s: " + ", ".join(f"{s}[{i}] {t:.1f} @{w}" for s, i, t, w in res["part_times"]
                                        if t >= 0.5 or s == "solve"), flush=True)
    ok = [r for r in results.values() if "error" not in r]
    if len(ok) > 1:
        print(f"\nsame answer: {len({r['sha256'] for r in ok}) == 1}", flush=True)
    if "local" in results and "error" not in results["local"]:
        dask = results.get("dask") if results.get("dask", {}).get("error") is None else None
        for m in (2, 8, 32):
            print(f"projected wall on {m} workers: {projection(results['local'], dask, m):.1f} s", flush=True)


if __name__ == "__main__":
    main()
