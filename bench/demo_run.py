"""Time the demo end to end through the real CLI and print a table (markdown) of medians.

    python bench/demo_run.py [--runs 3] [--time-limit S] [--scenario configs/demo.yaml]

Each run is a fresh `territory-opt run` process into a temporary folder; wall time and peak memory come from the
child process (resource.getrusage), quality from its kpis.json. Nothing here is asserted: record the table in
docs/benchmarks.md with the machine and the date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def one_run(scenario: Path, time_limit: float | None) -> dict[str, float | str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        command = [sys.executable, "-m", "territory_opt", "run", str(scenario), "--out", str(out)]
        if time_limit is not None:
            command += ["--time-limit", str(time_limit)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        kpis = json.loads((out / "kpis.json").read_text())
        manifest = json.loads((out / "manifest.json").read_text())
    return {
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_rss_mb": after.ru_maxrss / 1024.0,
        "solve_s": manifest["timings"]["solve"],
        "objective": kpis["objective"],
        "bound": kpis["bound"],
        "gap_pct": 100.0 * kpis["gap"],
        "max_dev_pct": 100.0 * kpis["max_workload_deviation"],
        "status": kpis["status"],
        "n_customers": kpis["n_customers"],
        "n_reps": kpis["n_reps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=None, help="override solver.time_limit_s")
    parser.add_argument("--scenario", type=Path, default=REPO / "configs" / "demo.yaml")
    args = parser.parse_args()
    runs = [one_run(args.scenario, args.time_limit) for _ in range(args.runs)]
    first = runs[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    print(f"scenario: {args.scenario.name}, {first['n_customers']} customers, {first['n_reps']} reps, "
          f"time limit {args.time_limit or 'from scenario'}, {args.runs} runs\n")
    print("| run | wall s | cpu s | solve s | peak RSS MB | objective (visit-km) | bound | gap % | max dev % "
          "| status |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(runs, 1):
        print(f"| {i} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['solve_s']:.1f} | {r['peak_rss_mb']:.0f} | "
              f"{r['objective']:,.1f} | {r['bound']:,.1f} | {r['gap_pct']:.3f} | {r['max_dev_pct']:.1f} | "
              f"{r['status']} |")
    keys = ("wall_s", "cpu_s", "solve_s", "peak_rss_mb", "gap_pct")
    med = {k: statistics.median(float(r[k]) for r in runs) for k in keys}
    print(f"| median | {med['wall_s']:.1f} | {med['cpu_s']:.1f} | {med['solve_s']:.1f} | {med['peak_rss_mb']:.0f} "
          f"| | | {med['gap_pct']:.3f} | | |")
    same = len({(r["objective"], r["bound"]) for r in runs}) == 1
    print(f"\nsame objective and bound in every run: {same}")


if __name__ == "__main__":
    main()
