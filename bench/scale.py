"""The whole CLI run at scale, rebalance mode with two overlapping teams and the contact cap.

    python bench/scale.py [--sizes 10000:50,100000:300] [--time-limit 60] [--routing-rounds 0] [--markdown]

For each size N:R the sample market is replicated to N outlets (small random offsets, new ids), and R reps are
placed at k-means centres of the outlets: 80 % generalists (team `field`), 20 % HoReCa specialists (team `horeca`,
an overlay on HoReCa outlets), so HoReCa outlets need two reps and the contact cap (2) binds where reps could
double up. Balance +/-10 %, k = 8. With `--routing-rounds` every rep's 4-week cycle is also routed (2 processes).
Each size runs once in a fresh process; nothing is asserted. `--markdown` prints only the table docs/benchmarks.md
shows (parts and workers columns with --depot-boundary or --workers, routing columns with --routing-rounds).
The scenario sets no `units:`, so territories are built from automatic (H3) alignment units, as the default is;
without --markdown a line under each size gives the units, bundles, territories in several pieces and whether
contiguity was attempted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench helpers, also when loaded by path (tests)
from child_usage import run_measured
from md_tables import add_markdown_flag, context, markdown_table

REPO = Path(__file__).resolve().parents[1]

SCENARIO = """\
name: scale
inputs:
  customers: customers.csv
  reps: reps.csv
{depots}crs: "EPSG:2180"
tiers: {{shares: [0.2, 0.3, 0.5], current_weight: 0.6, potential_weight: 0.4}}
service:
  gold: {{visits_per_cycle: 2, call_minutes: {gold}}}
  silver: {{visits_per_cycle: 1, call_minutes: {silver}}}
  bronze: {{visits_per_cycle: 1, call_minutes: {bronze}}}
teams:
  - name: field
{field_boundary}  - name: horeca
    covers: {{sectors: [horeca]}}
rules: {{balance_tolerance: 0.10, max_reps_per_customer: 2, candidate_reps: 8}}
solver: {{time_limit_s: {time_limit}, seed: 0, workers: {workers}}}
output: {{dir: out}}
{routing}"""
DEPOTS = f"  depots: {REPO / 'data' / 'depots.geojson'}\n  routes: {REPO / 'data' / 'routes.geojson'}\n"
BOUNDARY = "    boundaries: [depot]\n"
ROUTING = "routing: {{enabled: true, rebalance_rounds: {rounds}, workers: {workers}}}\n"


def make_case(folder: Path, n_customers: int, n_reps: int, seed: int = 1) -> None:
    base = pd.read_csv(REPO / "data" / "customers.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    out = base.iloc[rng.integers(0, len(base), size=n_customers)].reset_index(drop=True)
    out["customer_id"] = [f"X{i:07d}" for i in range(n_customers)]
    out["lon"] = (out["lon"].astype(float) + rng.normal(0, 0.004, n_customers)).round(6)
    out["lat"] = (out["lat"].astype(float) + rng.normal(0, 0.003, n_customers)).round(6)
    out["current_rep_id"] = ""
    out["key_account"] = "false"
    out.to_csv(folder / "customers.csv", index=False)
    xy = out[["lon", "lat"]].to_numpy(float) * np.array([0.61, 1.0])  # rough equal-area at 52 N
    n_horeca = max(1, round(0.2 * n_reps))
    sample = rng.choice(n_customers, size=min(n_customers, 50 * n_reps), replace=False)  # k-means on a sample
    field, _ = kmeans2(xy[sample], n_reps - n_horeca, minit="++", rng=rng)
    is_horeca = out["sector"].to_numpy()[sample] == "horeca"
    horeca, _ = kmeans2(xy[sample][is_horeca], n_horeca, minit="++", rng=rng)
    rows = [{"rep_id": f"F{i:04d}", "team": "field", "lon": x / 0.61, "lat": y} for i, (x, y) in enumerate(field)]
    rows += [{"rep_id": f"H{i:04d}", "team": "horeca", "lon": x / 0.61, "lat": y} for i, (x, y) in enumerate(horeca)]
    pd.DataFrame(rows).round(6).to_csv(folder / "reps.csv", index=False)


def run_case(folder: Path, time_limit: float, routing: str = "", depot_boundary: bool = False,
             workers: int = 1, call_factor: float = 1.0) -> dict[str, float | str]:
    scenario = folder / "scale.yaml"
    gold, silver, bronze = (round(m * call_factor, 1) for m in (40, 30, 20))
    scenario.write_text(SCENARIO.format(time_limit=time_limit, routing=routing, workers=workers,
                                        gold=gold, silver=silver, bronze=bronze,
                                        depots=DEPOTS if depot_boundary else "",
                                        field_boundary=BOUNDARY if depot_boundary else ""))
    done = run_measured([sys.executable, "-m", "territory_opt", "run", str(scenario), "--quiet"])
    wall = done.wall_s
    if done.returncode != 0:
        return {"wall_s": wall, "status": f"exit {done.returncode}: {done.stdout.strip()[-200:]}"}
    kpis = json.loads((folder / "out" / "kpis.json").read_text())
    timings = json.loads((folder / "out" / "manifest.json").read_text())["timings"]
    return {"wall_s": wall, "peak_mb": done.peak_rss_mb, "solve_s": timings["solve"], "cpu_s": done.cpu_s,
            "gap_pct": 100 * kpis["gap"], "max_dev_pct": 100 * kpis["max_workload_deviation"],
            "status": kpis["status"], "engine": kpis["engine"],
            "parts": kpis.get("solver_stats", {}).get("parts", 1), "needs": kpis["n_needs"],
            "units": (kpis.get("units") or {}).get("n_units", 0),
            "units_source": (kpis.get("units") or {}).get("source", "off"),
            "bundles": kpis.get("solver_stats", {}).get("units_bundles", 0),
            "pieces": kpis.get("territories_with_several_parts") or 0,
            "contiguity": kpis.get("solver_stats", {}).get("contiguity_failed", "held"),
            "objective": kpis["objective"], "routing_s": timings.get("routing", 0.0),
            "drive_share": (kpis["routing"] or {}).get("drive_share", 0.0),
            "unplanned": (kpis["routing"] or {}).get("unplanned_visits", 0),
            "days": (kpis["routing"] or {}).get("days_routed", 0)}


def markdown_row(n: int, r: int, res: dict[str, float | str], parts: bool, routing: bool,
                 workers: int) -> list[object]:
    """One size's row in the --markdown layout (see `markdown_header`)."""
    if "gap_pct" not in res:
        cells: list[object] = [f"{n:,}", r, ""] + ["", ""] * parts + [f"{res['wall_s']:.1f}"] + [""] * 6
        return [*cells, res["status"]] + [""] * (4 * routing)
    cells = [f"{n:,}", r, f"{res['needs']:,}"] + ([res["parts"], workers] if parts else [])
    cells += [f"{res['wall_s']:.1f}", f"{res['solve_s']:.1f}", f"{res['peak_mb']:.0f}", f"{res['objective']:,.0f}",
              f"{res['gap_pct']:.3f}", f"{res['max_dev_pct']:.1f}", res["engine"], res["status"]]
    if routing:
        cells += [f"{res['routing_s']:.1f}", f"{res['days']:,}", f"{100 * res['drive_share']:.1f}",
                  f"{res['unplanned']:,}"]
    return cells


def markdown_header(parts: bool, routing: bool) -> list[str]:
    return ["customers", "reps", "needs", *(["parts", "workers"] if parts else []), "wall s", "solve s",
            "peak RSS MB", "objective", "gap %", "max dev %", "engine", "status",
            *(["routing s", "day routes", "drive share %", "unplanned visits"] if routing else [])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000:50,100000:300")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--routing-rounds", type=int, default=None,
                        help="route every rep's cycle too, with this many real-hours rounds (0: route once)")
    parser.add_argument("--routing-workers", type=int, default=2)
    parser.add_argument("--call-factor", type=float, default=1.0,
                        help="scale every call's minutes (0.5 lets 333 customers per rep fit a 4-week calendar)")
    parser.add_argument("--depot-boundary", action="store_true",
                        help="field territories stay within one depot's area (the sample's depots and routes)")
    parser.add_argument("--workers", type=int, default=1, help="solver.workers (the large engine's parts run in "
                                                                "this many processes)")
    add_markdown_flag(parser)
    args = parser.parse_args()
    routing = "" if args.routing_rounds is None else ROUTING.format(rounds=args.routing_rounds,
                                                                    workers=args.routing_workers)
    context(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"work budget {args.time_limit:g} s; depot boundary: {args.depot_boundary}; workers {args.workers}; "
            f"call minutes x {args.call_factor:g}" + ("" if args.markdown else "\n"), args.markdown)
    parts = args.depot_boundary or args.workers != 1
    rows = []
    if not args.markdown:
        print("| customers | reps | needs | wall s | solve s | peak RSS MB | objective | gap % | max dev % | engine "
              "| status |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        n, r = (int(v) for v in size.split(":"))
        with tempfile.TemporaryDirectory() as tmp:
            make_case(Path(tmp), n, r)
            res = run_case(Path(tmp), args.time_limit, routing, args.depot_boundary,
                           args.workers, args.call_factor)
        if args.markdown:
            rows.append(markdown_row(n, r, res, parts, bool(routing), args.workers))
            continue
        if "gap_pct" not in res:
            print(f"| {n:,} | {r} | | {res['wall_s']:.1f} | | | | | | | {res['status']} |")
            continue
        print(f"| {n:,} | {r} | {res['needs']:,} | {res['wall_s']:.1f} | {res['solve_s']:.1f} | "
              f"{res['peak_mb']:.0f} | {res['objective']:,.0f} | {res['gap_pct']:.3f} | {res['max_dev_pct']:.1f} | "
              f"{res['engine']} ({res['parts']} parts) | {res['status']} |", flush=True)
        print(f"|  | units: {res['units']:,} ({res['units_source']}), {res['bundles']:,} bundles, "
              f"{res['pieces']} territories in several pieces; contiguity: {res['contiguity']} |", flush=True)
        if routing:
            print(f"|  | routing: {res['routing_s']:.1f} s, {res['days']:,} day routes, drive share "
                  f"{100 * res['drive_share']:.1f} %, {res['unplanned']:,} unplanned visits |", flush=True)
    if args.markdown:
        print(markdown_table(markdown_header(parts, bool(routing)), rows))


if __name__ == "__main__":
    main()
