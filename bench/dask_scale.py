"""The whole run at scale on the local executor and on Dask, with per-part times and a projection to bigger clusters.

    python bench/dask_scale.py [--customers 1000000] [--reps 2000] [--workers 2] [--kinds local,dask]
                               [--time-limit 60] [--keep DIR] [--markdown]

The instance is bench/scale.py's (sample outlets replicated with jitter, 80 % field reps, 20 % HoReCa overlay,
contact cap 2) with the field team bound to the sample's depot areas, so the large engine has independent parts.
Each kind runs once in a fresh child process (`run_scenario` in memory, no output files written); the parent samples
the peak resident memory (VmHWM) of the child and of every process it starts (Dask's workers), every 0.5 s. The
child reports each part's seconds (`executor.PartTime`) and each stage's wall time; the projection for a cluster of
m workers is: the run's wall time outside the parts, plus per stage the longest-processing-time-first schedule of
the local run's measured part times on m workers, plus the per-stage overhead Dask showed on this machine. Answers
are compared by the SHA-256 of the assignment and rep tables. `--markdown` prints only the three tables
docs/benchmarks.md shows: one row per kind, the local run's part times, and the projection.
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

from md_tables import add_markdown_flag, context, markdown_table  # noqa: E402
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


STAGE_LABELS = {"solve": "large engine", "territories": "territory shapes", "routing": "routing"}


def kinds_table(results: dict[str, dict], workers: int) -> str:
    """One row per kind: wall and stage seconds, peak memory per process, the answer's quality."""
    rows = []
    for kind, res in results.items():
        if "error" in res:
            rows.append([kind, "", "", "", "", "", res["error"], "", "", ""])
            continue
        client = [mb for role, mb in res["peak_mb"] if role == "client+scheduler"]
        pool = [mb for role, mb in res["peak_mb"] if role == "worker"]
        rows.append(["local (one process)" if kind == "local" else f"{kind}, {workers} workers",
                     f"{res['wall_s']:.1f}", f"{res['timings'].get('solve', 0.0):.1f}",
                     f"{res['timings'].get('territories', 0.0):.1f}", f"{max(client):,}" if client else "-",
                     " / ".join(f"{mb:,}" for mb in pool) or "-", f"{res['objective']:,.0f}", f"{res['bound']:,.0f}",
                     f"{100 * res['gap']:.3f}", f"{100 * res['max_dev']:.1f}"])
    return markdown_table(["executor", "wall s", "solve s", "territories s", "peak MB: client (+ scheduler)",
                           "peak MB: workers", "objective", "bound", "gap %", "max dev %"], rows, right=range(1, 10))


def parts_table(local: dict) -> str:
    """The local run's seconds per part, one row per stage that ran in parts."""
    by_stage: dict[str, dict[int, float]] = {}
    for stage, index, seconds, _ in local["part_times"]:
        by_stage.setdefault(stage, {})[index] = seconds
    width = max(len(parts) for parts in by_stage.values())
    rows = [[STAGE_LABELS.get(stage, stage), *(f"{parts[i]:.1f}" if i in parts else "" for i in range(width)),
             f"{sum(parts.values()):,.1f}"] for stage, parts in by_stage.items()]
    return markdown_table(["stage", *(f"part {i}" for i in range(width)), "sum"], rows, right=range(1, width + 2))


def projection_table(local: dict, dask: dict | None, workers: int) -> str:
    """Projected wall seconds on 2, 8 and 32 workers, and what bounds each."""
    solve = [seconds for stage, _, seconds, _ in local["part_times"] if stage == "solve"]
    rows = []
    for m in (2, 8, 32):
        projected = f"{projection(local, dask, m):.1f}"
        if dask is not None and m == workers:
            projected += f" (measured: {dask['wall_s']:.1f})"
        largest = max(solve, default=0.0)
        bound = (f"the largest part, {largest:.0f} s" if solve and lpt(solve, m) <= largest + 1e-9
                 else "the schedule of the parts on m workers")
        rows.append([m, projected, bound])
    return markdown_table(["workers", "projected wall s", "bounded by"], rows, right=(0, 1))


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
    add_markdown_flag(parser)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.kind, args.workers, args.result)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dask-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    context(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"{args.customers:,} customers, {args.reps} reps, depot boundary; work budget {args.time_limit:g} s; "
            f"folder {folder}", args.markdown)
    if not (folder / "customers.csv").exists():
        make_case(folder, args.customers, args.reps)
    scenario = write_scenario(folder, args.time_limit)
    results = {}
    out = sys.stderr if args.markdown else sys.stdout
    for kind in args.kinds.split(","):
        summary = folder / f"summary-{kind}.json"
        if args.reuse and summary.exists():
            res = json.loads(summary.read_text())
        else:
            res = run_kind(scenario, kind, args.workers, folder)
            summary.write_text(json.dumps(res, indent=1))
        results[kind] = res
        if "error" in res:
            print(f"{kind}: {res['error']}", file=out, flush=True)
            continue
        print(f"\n{kind} ({args.workers} workers)" if kind != "local" else "\nlocal", file=out, flush=True)
        print(f"  wall {res['wall_s']:.1f} s; stages {res['timings']}; needs {res['needs']:,}; parts {res['parts']}; "
              f"objective {res['objective']:,.0f}; gap {100 * res['gap']:.3f} %; max dev {100 * res['max_dev']:.1f} %",
              file=out, flush=True)
        print(f"  peak memory MB per process: {res['peak_mb']}", file=out, flush=True)
        print(f"  map wall s: {res['map_seconds']}", file=out, flush=True)
        print("  part s: " + ", ".join(f"{s}[{i}] {t:.1f} @{w}" for s, i, t, w in res["part_times"]
                                        if t >= 0.5 or s == "solve"), file=out, flush=True)
    ok = [r for r in results.values() if "error" not in r]
    if len(ok) > 1:
        print(f"\nsame answer: {len({r['sha256'] for r in ok}) == 1}", file=out, flush=True)
    local = results.get("local") if "error" not in results.get("local", {"error": ""}) else None
    dask = results.get("dask") if results.get("dask", {}).get("error") is None else None
    if args.markdown:
        print(kinds_table(results, args.workers))
        if local is not None:
            print("\n" + parts_table(local))
            print("\n" + projection_table(local, dask, args.workers))
        return
    if local is not None:
        for m in (2, 8, 32):
            print(f"projected wall on {m} workers: {projection(local, dask, m):.1f} s", flush=True)


if __name__ == "__main__":
    main()
