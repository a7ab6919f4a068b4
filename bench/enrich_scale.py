"""Enrichment and segmentation at scale: load -> enrich -> segment -> problem for N generated customers.

    python bench/enrich_scale.py [--customers 1000000] [--runs 3] [--markdown]

Customers are the sample market's outlets replicated with a small random offset (new ids, same attributes), so
shoulders, footprints, tiers, segments and coverage do the same work as on the demo, N/6000 times over. Each run is
a fresh process (peak memory per run); the table gives each stage's seconds and the median. Nothing is asserted.
`--markdown` prints only that table, as docs/benchmarks.md shows it.
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

import numpy as np
import pandas as pd
from md_tables import add_markdown_flag, context, markdown_table

REPO = Path(__file__).resolve().parents[1]
STAGES = ("load", "enrich", "segment", "problem", "advice")


def make_customers(n: int, target: Path, seed: int = 1) -> None:
    """N customers around the sample outlets (about 300 m apart), written as CSV."""
    base = pd.read_csv(REPO / "data" / "customers.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(base), size=n)
    out = base.iloc[pick].reset_index(drop=True)
    out["customer_id"] = [f"X{i:07d}" for i in range(n)]
    out["lon"] = (out["lon"].astype(float) + rng.normal(0, 0.004, n)).round(6)
    out["lat"] = (out["lat"].astype(float) + rng.normal(0, 0.003, n)).round(6)
    out["current_rep_id"] = ""
    out.to_csv(target, index=False)


def scenario_text(customers: Path) -> str:
    demo = (REPO / "configs" / "demo.yaml").read_text()
    data = REPO / "data"
    text = demo.replace("../data/customers.csv", str(customers)).replace("../data", str(data))
    return text.replace("  balance_tolerance: 0.10", "  balance_tolerance: 0.30")


def child(scenario: Path) -> None:
    """Runs in a fresh process: prepare() only, prints the stage timings as JSON."""
    from territory_opt.config import load_scenario
    from territory_opt.pipeline import Timings, prepare

    timings = Timings()
    started = time.perf_counter()
    prepared = prepare(load_scenario(scenario), timings)
    total = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({**timings.seconds, "total": total, "peak_mb": peak_mb,
                      "n_customers": prepared.problem.n_customers, "n_needs": prepared.problem.n_needs,
                      "n_segments": len(prepared.segments)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    add_markdown_flag(parser)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        customers = Path(tmp) / "customers.csv"
        make_customers(args.customers, customers)
        scenario = Path(tmp) / "scale.yaml"
        scenario.write_text(scenario_text(customers))
        rows = []
        for _ in range(args.runs):
            done = subprocess.run([sys.executable, __file__, "--child", str(scenario)], capture_output=True,
                                  text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first = rows[0]
    context(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}", args.markdown)
    context(f"{first['n_customers']:,} customers, {first['n_needs']:,} needs, {first['n_segments']} segments, "
            f"{args.runs} runs (fresh process each)" + ("" if args.markdown else "\n"), args.markdown)
    table = [[i, *(f"{r.get(s, 0.0):.2f}" for s in STAGES), f"{r['total']:.2f}", f"{r['peak_mb']:.0f}"]
             for i, r in enumerate(rows, 1)]
    med = {k: statistics.median(r.get(k, 0.0) for r in rows) for k in (*STAGES, "total", "peak_mb")}
    table.append(["median", *(f"{med[s]:.2f}" for s in STAGES), f"{med['total']:.2f}", f"{med['peak_mb']:.0f}"])
    print(markdown_table(["run", *(f"{s} s" for s in STAGES), "total s", "peak RSS MB"], table))


if __name__ == "__main__":
    main()
