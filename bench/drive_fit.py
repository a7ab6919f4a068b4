"""Calibrate the drive estimate (`territory_opt/model/drive.py`) against the routed call plans of a scenario.

    python bench/drive_fit.py [--scenario configs/demo.yaml] [--set KEY=VALUE ...] [--fit] [--markdown]

Runs the scenario in this process with routing on (`--set routing.enabled=true`, plus any `--set`), then, per rep
with a call plan, compares the drive hours the estimate gives for the rep's final customers with the drive hours
of its routed plan (the routing's own travel model), and prints a table (estimated, routed, error %) and a summary
(mean and largest absolute error, reps within +/-15 %, unplanned visits).

`--fit` also fits `workload.trip_call_hours` and `workload.hop_factor` by least squares over the reps (routed km = 2
/ trip_call_hours x sum of visits x road km from home x call hours + hop_factor x sum of visits x spacing km, no
intercept, on relative errors) and prints the table for the fitted figures: the defaults in
`territory_opt/config/run.py` come from this, on the demo. Nothing is asserted; record the table in
docs/benchmarks.md with the machine and the date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from md_tables import add_markdown_flag, context, markdown_table  # noqa: E402

from territory_opt.config import load_scenario  # noqa: E402
from territory_opt.model.drive import drive_seconds, drive_terms, local_spacing_km  # noqa: E402
from territory_opt.pipeline import run_scenario  # noqa: E402
from territory_opt.routing.stage import visited_needs  # noqa: E402

TARGET = 0.15  # the goal: every rep within +/-15 %


def need_terms(run: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per need: visits that drive, call seconds per visit, spacing km (model/drive.py) and road km to its rep."""
    problem = run.prepared.problem  # type: ignore[attr-defined]
    assignment = run.result.assignment  # type: ignore[attr-defined]
    scenario = run.prepared.scenario  # type: ignore[attr-defined]
    visited = visited_needs(scenario, problem)
    need = np.arange(problem.n_needs)
    visits = np.where(visited & (problem.need_visits > 0), problem.need_visits, 0.0)
    call_s = problem.calls_only().workload(need, assignment) / np.maximum(problem.need_visits, 1e-9)
    spacing = local_spacing_km(problem.customer_xy[problem.need_customer], problem.need_team, visits > 0,
                               scenario.workload.neighbours, problem.detour_factor)
    return visits, call_s, spacing, problem.road_km(need, assignment)


def rep_features(run: object) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, int]:
    """Per routed rep: id, sum of visits x road km from home x call hours, sum of visits x spacing km, routed drive
    seconds; and the unplanned visits."""
    problem = run.prepared.problem  # type: ignore[attr-defined]
    assignment = run.result.assignment  # type: ignore[attr-defined]
    visits, call_s, spacing, km = need_terms(run)
    ids, far, near, routed = [], [], [], []
    unplanned = 0
    for plan in run.routing.plans:  # type: ignore[attr-defined]
        mine = assignment == plan.rep
        ids.append(str(problem.rep_ids[plan.rep]))
        far.append(float((visits[mine] * km[mine] * call_s[mine] / 3600.0).sum()))
        near.append(float((visits[mine] * spacing[mine]).sum()))
        routed.append(float(plan.drive_s))
        unplanned += len(plan.unplanned)
    return ids, np.array(far), np.array(near), np.array(routed), unplanned


def estimate(run: object, trip_call_hours: float, hop_factor: float, speed: float) -> np.ndarray:
    """Per routed rep, the estimate's drive seconds (per need, rounded as the product rounds them)."""
    problem = run.prepared.problem  # type: ignore[attr-defined]
    assignment = run.result.assignment  # type: ignore[attr-defined]
    visits, call_s, spacing, km = need_terms(run)
    per_km, base = drive_terms(visits, call_s, spacing, speed_kmh=speed, trip_call_hours=trip_call_hours,
                               hop_factor=hop_factor)
    totals = np.bincount(assignment, weights=drive_seconds(per_km, base, km), minlength=problem.n_reps)
    return np.array([totals[plan.rep] for plan in run.routing.plans])  # type: ignore[attr-defined]


def fit(far: np.ndarray, near: np.ndarray, routed_s: np.ndarray, speed: float) -> tuple[float, float]:
    """Least squares on relative errors (each rep weighs the same whatever its drive): routed km = 2 /
    trip_call_hours x far + hop_factor x near. Returns (trip_call_hours, hop_factor)."""
    routed_km = routed_s / 3600.0 * speed
    scale = 1.0 / np.maximum(routed_km, 1e-9)
    design = np.column_stack([far, near]) * scale[:, None]
    (share, hop_factor), *_ = np.linalg.lstsq(design, routed_km * scale, rcond=None)
    return 2.0 / float(share), float(hop_factor)


def table(ids: list[str], estimated_s: np.ndarray, routed_s: np.ndarray) -> tuple[str, dict[str, float]]:
    error = (estimated_s - routed_s) / np.maximum(routed_s, 1.0)
    rows = [(rid, f"{e / 3600:.1f}", f"{r / 3600:.1f}", f"{100 * x:+.1f}")
            for rid, e, r, x in zip(ids, estimated_s, routed_s, error, strict=True)]
    total_error = (estimated_s.sum() - routed_s.sum()) / max(routed_s.sum(), 1.0)
    rows.append(("all reps", f"{estimated_s.sum() / 3600:.1f}", f"{routed_s.sum() / 3600:.1f}",
                 f"{100 * total_error:+.1f}"))
    summary = {"mean_abs_error_pct": 100 * float(np.abs(error).mean()), "max_abs_error_pct": 100 * float(
        np.abs(error).max()), "within": int((np.abs(error) <= TARGET + 1e-12).sum()), "reps": len(ids)}
    return markdown_table(["rep", "estimated drive h", "routed drive h", "error %"], rows, right={1, 2, 3}), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(REPO / "configs" / "demo.yaml"))
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument("--fit", action="store_true",
                        help="fit trip_call_hours and hop_factor and show their table too")
    parser.add_argument("--save", type=Path, help="also write the per-rep figures (JSON) to this file")
    add_markdown_flag(parser)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario, ["routing.enabled=true", *args.overrides])
    options = scenario.workload
    speed = options.speed_kmh or scenario.routing.speed_kmh or scenario.logistics.default_speed_kmh
    context(f"{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python "
            f"{platform.python_version()}; scenario {args.scenario} {' '.join(args.overrides)}; "
            f"{time.strftime('%Y-%m-%d')}", args.markdown)
    started = time.perf_counter()
    run = run_scenario(scenario)
    seconds = time.perf_counter() - started
    ids, far, near, routed, unplanned = rep_features(run)
    if args.save is not None:
        args.save.write_text(json.dumps({"reps": ids, "far": far.tolist(), "near": near.tolist(),
                                         "routed_s": routed.tolist(), "unplanned": unplanned, "speed_kmh": speed,
                                         "assignment": run.result.assignment.tolist(),
                                         "kpis": run.kpis}, indent=1, default=str))
    text, summary = table(ids, estimate(run, options.trip_call_hours, options.hop_factor, speed), routed)
    context(f"run {seconds:.0f} s; workload.drive {options.drive}, speed {speed:g} km/h, trip_call_hours "
            f"{options.trip_call_hours:g}, hop_factor {options.hop_factor:g}; unplanned visits {unplanned}; "
            f"gap {run.kpis['gap']:.4f}, travel {run.kpis['travel_visit_km']:,.0f} visit-km", args.markdown)
    print(text)
    print(f"\nmean abs error {summary['mean_abs_error_pct']:.1f} %, max abs error "
          f"{summary['max_abs_error_pct']:.1f} %, {summary['within']}/{summary['reps']} reps within "
          f"+/-{100 * TARGET:.0f} %")
    if args.fit:
        trip_call_hours, hop_factor = fit(far, near, routed, speed)
        text, summary = table(ids, estimate(run, trip_call_hours, hop_factor, speed), routed)
        print(f"\nfitted on this plan: trip_call_hours {trip_call_hours:.4f}, hop_factor {hop_factor:.4f}\n")
        print(text)
        print(f"\nmean abs error {summary['mean_abs_error_pct']:.1f} %, max abs error "
              f"{summary['max_abs_error_pct']:.1f} %, {summary['within']}/{summary['reps']} reps within "
              f"+/-{100 * TARGET:.0f} %")


if __name__ == "__main__":
    main()
