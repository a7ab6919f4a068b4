"""How long the quick commands take: `--version`, `validate` and `explain` on a run folder, with the units cache
(`prepare/units_cache.py`) warm and turned off. Prints a table of medians (markdown with --markdown).

    python bench/cli_latency.py RUN_DIR [--customer C00001] [--repeat 7] [--markdown]

RUN_DIR is a finished run (e.g. of configs/demo.yaml); `validate` reads the scenario its manifest.json records.
Each command runs `--repeat` times in a fresh process (`child_usage.run_measured`: wall and CPU seconds of the child
alone); the first, warming, run is not counted. Nothing is asserted: record the table in docs/benchmarks.md with
the machine, the load and the date.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child_usage import run_measured
from md_tables import add_markdown_flag, context, markdown_table


def timed(command: list[str], repeat: int, cache: str) -> tuple[float, float]:
    """Median wall and CPU seconds of `command` over `repeat` runs after one warming run, with TERRITORY_OPT_CACHE
    set to `cache`."""
    os.environ["TERRITORY_OPT_CACHE"] = cache
    run_measured(command)
    walls, cpus = [], []
    for _ in range(repeat):
        done = run_measured(command)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        walls.append(done.wall_s)
        cpus.append(done.cpu_s)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--customer", default="C00001")
    parser.add_argument("--repeat", type=int, default=7)
    add_markdown_flag(parser)
    args = parser.parse_args()
    scenario = json.loads((args.run_dir / "manifest.json").read_text(encoding="utf-8"))["scenario"]
    scenario_path = (args.run_dir / (scenario if isinstance(scenario, str) else scenario["path"])).resolve()
    cli = [sys.executable, "-m", "territory_opt"]
    commands = [("--version", [*cli, "--version"]),
                ("validate", [*cli, "validate", str(scenario_path)]),
                ("explain", [*cli, "explain", str(args.run_dir), args.customer])]
    load = os.getloadavg()[0]
    context(f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
            f"load average {load:.2f} at the start; {args.repeat} runs each, medians", args.markdown)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for name, command in commands:
            warm = timed(command, args.repeat, cache)
            cold = timed(command, args.repeat, "off")
            rows.append((name, f"{warm[0]:.2f}", f"{warm[1]:.2f}", f"{cold[0]:.2f}", f"{cold[1]:.2f}"))
    print(markdown_table(["command", "wall s (cache)", "CPU s (cache)", "wall s (no cache)", "CPU s (no cache)"],
                         rows, right={1, 2, 3, 4}))


if __name__ == "__main__":
    main()
