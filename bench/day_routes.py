"""The call-plan problem itself: the demo's real day routes, solved three ways.

    python bench/day_routes.py [--reps 8] [--time-limit 1] [--scenario configs/demo.yaml] [--markdown]

The demo is solved once (rebalance, 10 s budget), every rep's cycle is split into days as the product does
(`routing.cycle.day_members`), and each day (one rep, home to home, calls as service time, the working day as the
route limit) is routed by:
- the product's set-up (`RoutingSettings` defaults: greedy descent, stopped by a solution count, reproducible);
- OR-Tools guided local search for `--time-limit` seconds;
- PyVRP's hybrid genetic search for `--time-limit` seconds (`pip install -e '.[bench]'`).
It prints the total drive over the days every solver routed completely, how many days each was worst or best on,
and the time spent. Nothing is asserted. `--markdown` prints only that table, as docs/benchmarks.md shows it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from md_tables import add_markdown_flag, context, markdown_table  # noqa: E402
from published_routing import Case, run_pyvrp  # noqa: E402

from territory_opt.config import load_scenario  # noqa: E402
from territory_opt.pipeline import prepare  # noqa: E402
from territory_opt.routing.cycle import day_instance, day_members, rep_inputs, rep_travel  # noqa: E402
from territory_opt.routing.stage import opening_windows, routed_needs, routing_settings  # noqa: E402
from territory_opt.routing.vrp import check_solution, solve_vrp  # noqa: E402
from territory_opt.solve import Budget, SolveParams, solve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=REPO / "configs" / "demo.yaml")
    parser.add_argument("--reps", type=int, default=8, help="route the days of this many reps (in rep order)")
    parser.add_argument("--time-limit", type=float, default=1.0, help="seconds per day for GLS and PyVRP")
    add_markdown_flag(parser)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario, ["routing.enabled=true"])
    prepared = prepare(scenario)
    result = solve(prepared.problem, Budget(work_s=10), seed=0,
                   params=SolveParams(candidate_reps=scenario.rules.candidate_reps))
    settings = routing_settings(prepared)
    opens, closes = opening_windows(prepared)
    inputs = rep_inputs(prepared.problem, result.assignment, opens, closes, routed_needs(prepared))[:args.reps]
    totals = {"product": 0.0, "gls": 0.0, "pyvrp": 0.0}
    seconds = dict.fromkeys(totals, 0.0)
    best = dict.fromkeys(totals, 0)
    worst = dict.fromkeys(totals, 0)
    days = skipped = 0
    for rep in inputs:
        travel = rep_travel(rep, settings)
        for members in day_members(rep, settings).values():
            instance = day_instance(rep, travel, members, settings)
            values: dict[str, float] = {}
            started = time.perf_counter()
            product = solve_vrp(instance, settings.day_budget, metaheuristic=settings.metaheuristic)
            seconds["product"] += time.perf_counter() - started
            started = time.perf_counter()
            gls = solve_vrp(instance, Budget(work_s=None, wall_s=args.time_limit), metaheuristic="GUIDED_LOCAL_SEARCH")
            seconds["gls"] += time.perf_counter() - started
            xy = np.vstack([rep.home[None, :], rep.xy[np.array(members)]])
            every_call = dataclasses.replace(instance, allow_dropping=False)
            peer = run_pyvrp(Case("day", every_call, xy, 1.0, 1), args.time_limit, 0)
            seconds["pyvrp"] += peer.seconds
            if product.dropped or gls.dropped or not peer.valid or check_solution(instance, product) \
                    or check_solution(instance, gls):
                skipped += 1
                continue
            values = {"product": product.objective, "gls": gls.objective, "pyvrp": peer.value}
            for name, value in values.items():
                totals[name] += value
            low, high = min(values.values()), max(values.values())
            for name, value in values.items():
                best[name] += int(value <= low + 0.5)
                worst[name] += int(value >= high - 0.5 and high > low + 0.5)
            days += 1
    context(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"{args.scenario.name}, first {len(inputs)} reps, {days} days compared ({skipped} skipped: a solver "
            f"dropped a call or broke a rule); GLS and PyVRP {args.time_limit:g} s per day"
            + ("" if args.markdown else "\n"), args.markdown)
    low = min(totals.values())
    rows = [[label, f"{totals[name]:,.0f}", f"{100 * (totals[name] - low) / max(low, 1):.2f}", best[name], worst[name],
             f"{seconds[name]:.1f}"]
            for name, label in (("product", "product set-up (greedy descent, 500 solutions)"),
                                ("gls", f"OR-Tools guided local search, {args.time_limit:g} s"),
                                ("pyvrp", f"PyVRP, {args.time_limit:g} s"))]
    print(markdown_table(["solver", "total drive (cost units)", "vs best total %", "days best (ties count)",
                          "days worst", "seconds"], rows, right=range(1, 6)))


if __name__ == "__main__":
    main()
