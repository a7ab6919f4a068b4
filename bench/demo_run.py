"""Time the demo end to end through the real CLI and print a table (markdown) of medians.

    python bench/demo_run.py [--runs 3] [--time-limit S] [--scenario configs/demo.yaml ...] [--markdown]

Each run is a fresh `territory-opt run` process into a temporary folder; wall time, CPU time and peak memory are
that child's own (os.wait4, bench/child_usage.py), quality comes from its kpis.json. Nothing here is asserted: record
the table in docs/benchmarks.md with the machine and the date. `--markdown` prints only the table
docs/benchmarks.md shows: the runs and their median for one scenario, or one row per scenario (the median of its
runs) for several.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import yaml
from child_usage import run_measured
from md_tables import add_markdown_flag, context, markdown_table

REPO = Path(__file__).resolve().parents[1]


def one_run(scenario: Path, time_limit: float | None) -> dict[str, float | str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        command = [sys.executable, "-m", "territory_opt", "run", str(scenario), "--out", str(out)]
        if time_limit is not None:
            command += ["--time-limit", str(time_limit)]
        done = run_measured(command)
        if done.returncode != 0:
            raise SystemExit(f"run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        kpis = json.loads((out / "kpis.json").read_text())
        manifest = json.loads((out / "manifest.json").read_text())
    return {
        "wall_s": done.wall_s,
        "cpu_s": done.cpu_s,
        "peak_rss_mb": done.peak_rss_mb,
        "solve_s": manifest["timings"]["solve"],
        "objective": kpis["objective"],
        "bound": kpis["bound"],
        "gap_pct": 100.0 * kpis["gap"],
        "max_dev_pct": 100.0 * kpis["max_workload_deviation"],
        "status": kpis["status"],
        "n_customers": kpis["n_customers"],
        "n_reps": kpis["n_reps"],
    }


MEDIAN_KEYS = ("wall_s", "cpu_s", "solve_s", "peak_rss_mb", "gap_pct")


def strategy(scenario: Path) -> str:
    """The scenario file's `strategy` (for the table's label), or "" when it names none."""
    data = yaml.safe_load(scenario.read_text())
    return str(data.get("strategy", "")) if isinstance(data, dict) else ""


def runs_table(runs: list[dict[str, float | str]]) -> str:
    """Each run and the median, as docs/benchmarks.md shows the demo."""
    rows: list[list[object]] = [
        [i, f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", f"{r['solve_s']:.1f}", f"{r['peak_rss_mb']:.0f}",
         f"{r['objective']:,.1f}", f"{r['bound']:,.1f}", f"{r['gap_pct']:.3f}", f"{r['max_dev_pct']:.1f}", r["status"]]
        for i, r in enumerate(runs, 1)]
    med = {k: statistics.median(float(r[k]) for r in runs) for k in MEDIAN_KEYS}
    rows.append(["median", f"{med['wall_s']:.1f}", f"{med['cpu_s']:.1f}", f"{med['solve_s']:.1f}",
                 f"{med['peak_rss_mb']:.0f}", "", "", f"{med['gap_pct']:.3f}", "", ""])
    return markdown_table(["run", "wall s", "cpu s", "solve s", "peak RSS MB", "objective (visit-km)", "bound",
                           "gap %", "max dev %", "status"], rows)


def scenarios_table(results: list[tuple[Path, list[dict[str, float | str]]]]) -> str:
    """One row per scenario: the median of its runs (objective, bound and status are the same in every run)."""
    rows = []
    for scenario, runs in results:
        med = {k: statistics.median(float(r[k]) for r in runs) for k in MEDIAN_KEYS}
        first, kind = runs[0], strategy(scenario)
        rows.append([f"`{scenario.name}`" + (f" ({kind})" if kind else ""), first["n_reps"], f"{med['wall_s']:.1f}",
                     f"{med['solve_s']:.1f}", f"{med['peak_rss_mb']:.0f}", f"{first['objective']:,.1f}",
                     f"{first['bound']:,.1f}", f"{med['gap_pct']:.3f}", f"{first['max_dev_pct']:.1f}", first["status"]])
    return markdown_table(["scenario", "reps", "wall s", "solve s", "peak RSS MB", "objective", "bound", "gap %",
                           "max dev %", "status"], rows)


def print_plain(scenario: Path, runs: list[dict[str, float | str]], time_limit: float | None) -> None:
    first = runs[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    print(f"scenario: {scenario.name}, {first['n_customers']} customers, {first['n_reps']} reps, "
          f"time limit {time_limit or 'from scenario'}, {len(runs)} runs\n")
    print(runs_table(runs))
    same = len({(r["objective"], r["bound"]) for r in runs}) == 1
    print(f"\nsame objective and bound in every run: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=None, help="override solver.time_limit_s")
    parser.add_argument("--scenario", type=Path, nargs="+", default=[REPO / "configs" / "demo.yaml"])
    add_markdown_flag(parser)
    args = parser.parse_args()
    results = [(scenario, [one_run(scenario, args.time_limit) for _ in range(args.runs)])
               for scenario in args.scenario]
    if not args.markdown:
        for scenario, runs in results:
            print_plain(scenario, runs, args.time_limit)
        return
    context(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.platform()}; time limit {args.time_limit or 'from scenario'}, {args.runs} runs each", True)
    for scenario, runs in results:
        same = len({(r["objective"], r["bound"]) for r in runs}) == 1
        context(f"{scenario.name}: {runs[0]['n_customers']} customers, {runs[0]['n_reps']} reps; same objective "
                f"and bound in every run: {same}", True)
    print(runs_table(results[0][1]) if len(results) == 1 else scenarios_table(results))


if __name__ == "__main__":
    main()
