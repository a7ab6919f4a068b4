"""A solved alignment -> the run's tables, shapes, changes, late data-quality findings and kpis.json."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Scenario
from ..errors import ChangedInputError, Finding, QualityError
from ..executor import PartExecutor, PartTime
from ..io.run_files import read_previous_kpis
from ..metrics import kpis, team_distances
from ..model.build import rep_capacity_s
from ..model.problem import Problem
from ..prepare.prepared import Prepared
from ..prepare.quality import change_findings, full_team_findings, outlier_findings, result_findings, totals
from ..routing.cycle import RoutingOutcome
from ..routing.stage import drive_and_call_seconds, routing_summary
from ..solve import Result
from ..solve.centres import DesignedHomes
from .changes import baseline_from_current, change_table
from .programmes import programme_view
from .run import RunResult
from .solver_warnings import solver_findings
from .tables import assignment_table, rep_table
from .territories import build_territories, rep_levels, roll_up, study_area
from .units import rep_shape_columns, unit_territories, units_summary


def territory_shapes(prepared: Prepared, result: Result,
                     executor: PartExecutor | None = None) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """The assignments table and each (team, rep)'s territory polygon: the dissolve of the units it holds when the
    run has units, else the union of its customers' Voronoi cells."""
    problem = prepared.problem
    assignments = assignment_table(prepared, result)
    if prepared.units is not None:
        return assignments, unit_territories(prepared.units, assignments, prepared.inputs.crs)
    area = study_area(problem.customer_xy,
                      None if prepared.inputs.distributors is None else prepared.inputs.distributors.geometry)
    territories = build_territories(assignments, problem.customer_xy, area, prepared.inputs.crs, executor)
    return assignments, territories


@dataclasses.dataclass(frozen=True)
class RunContext:
    """How the run was made, for kpis.json: seed, budget, baseline and timings."""

    seed: int
    time_limit_s: float
    previous: Path | None
    strict: bool
    timings: dict[str, float]
    part_times: list[PartTime]
    started: float  # time.perf_counter() when the run began


def workload_summary(scenario: Scenario, problem: Problem, reps: pd.DataFrame,
                     drive_bands: dict[str, dict[str, float]] | None = None) -> dict[str, object]:
    """What workload counted (model/drive.py): `drive` is `per rep`, `nearest rep` (the large-problem fallback) or
    `off`; with the estimate's settings and totals, and the drive the bands were settled on per team
    (`drive_bands`, solve/drive_bands.py)."""
    options = scenario.workload
    mode = "off" if not options.drive else "nearest rep" if problem.need_drive_s is not None or (
        problem.drive_s_per_km is None) else "per rep"
    return {"drive": mode, "speed_kmh": options.speed_kmh or scenario.routing.speed_kmh
            or scenario.logistics.default_speed_kmh, "trip_call_hours": options.trip_call_hours,
            "hop_factor": options.hop_factor, "neighbours": options.neighbours,
            "call_hours": round(float(reps["call_hours"].sum()), 2),
            "drive_hours_est": round(float(reps["drive_hours_est"].sum()), 2),
            **({"drive_bands": drive_bands} if drive_bands is not None else {})}


def unplanned_findings(problem: Problem, routing: RoutingOutcome) -> list[Finding]:
    """One warning per rep whose call plan leaves required visits out (no day of their week had room)."""
    out = []
    for plan in routing.plans:
        if not plan.unplanned:
            continue
        needs = np.unique(np.array(plan.unplanned, dtype=np.int64))
        names = problem.customer_ids[problem.need_customer[needs]].astype(str)
        listed = ", ".join(names[:10].tolist()) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        out.append(Finding(f"rep {problem.rep_ids[plan.rep]}: {len(plan.unplanned)} required visits to "
                           f"{len(needs)} customers fit on no day of their week ({listed}); the rep has more work "
                           "than its days hold: widen routing.day_hours, or give it fewer customers",
                           field="routing"))
    return out


def routed_band_findings(problem: Problem, routing: RoutingOutcome, tolerance: float | None) -> list[Finding]:
    """One warning per rep whose routed work (calls + routed drive) lies outside +/-tolerance of its share of its
    team's work: the last re-assign balanced on the drive of the round before, and routing its new alignment moved
    the drive again."""
    if tolerance is None or routing.work_deviation is None:
        return []
    out = []
    for rep in np.flatnonzero(np.abs(routing.work_deviation) > tolerance + 5e-4).tolist():
        off = float(routing.work_deviation[rep])
        out.append(Finding(f"rep {problem.rep_ids[rep]}: its routed work (calls + drive) is {100 * abs(off):.1f} % "
                           f"{'above' if off > 0 else 'below'} its share of its team's work, outside the "
                           f"+/-{100 * tolerance:g} % band: the last re-assign balanced on the drive routed the round "
                           "before, and routing the new alignment changed it; raise routing.rebalance_rounds or "
                           "widen rules.balance_tolerance", field="routing"))
    return out


def unrouted_findings(problem: Problem, routing: RoutingOutcome) -> list[Finding]:
    """One warning per day of a rep's cycle the routing could not plan at all (kind, rep, day, visits, why); its
    visits were then placed one by one on the days of their week, or are listed as unplanned."""
    out = []
    for plan in routing.plans:
        for failed in plan.failed_days:
            out.append(Finding(f"unrouted_day: rep {problem.rep_ids[plan.rep]}, week {failed.week + 1} day "
                               f"{failed.day + 1}: {failed.visits} visits could not be routed ({failed.reason}); "
                               "each was then tried alone on the days of its week; those no day took are in "
                               "unplanned_visits.csv",
                               field="routing"))
    return out


def _work_deviations(routed: dict[str, object]) -> dict[str, float]:
    """With routing, the headline workload deviations are of work (calls + routed drive) from each rep's share of
    its team's work, as the kept round measured them: the band holds work, while the rep table's targets are then
    call hours (the share less the rep's own drive), whose deviations run wider than the band."""
    rounds = cast(list[dict[str, float]], routed["rounds"])
    kept = next(r for r in rounds if r.get("kept"))
    return {"max_workload_deviation": float(kept["max_deviation"]),
            "mean_workload_deviation": float(kept["mean_deviation"])}


def assemble_run(prepared: Prepared, result: Result, assignments: pd.DataFrame, territories: gpd.GeoDataFrame,
                 context: RunContext, *, routing: RoutingOutcome | None = None, design: DesignedHomes | None = None,
                 homes_before: np.ndarray | None = None, baseline: pd.DataFrame | None = None) -> RunResult:
    """Rep table (with hierarchy, drive and design columns), rolled-up shapes, changes against the baseline, late
    warnings (`--strict` and `quality.fail_on_change` fail here) and the kpis."""
    scenario, problem = prepared.scenario, prepared.problem
    reps = rep_table(prepared, result)
    if prepared.units is not None:  # each rep's pieces and compactness, from its unit territories
        reps = pd.concat([reps, rep_shape_columns(reps["rep_id"], territories)], axis=1)
    levels = rep_levels(prepared.inputs.reps, scenario.hierarchy.districts, scenario.hierarchy.regions)
    rolled: dict[str, gpd.GeoDataFrame] = {}
    if (levels[["district", "region"]] != "").any().any():  # territories roll up to districts and regions
        territories = territories.merge(levels, on="rep_id", how="left").fillna({"district": "", "region": ""})
        reps = reps.merge(levels, on="rep_id", how="left")
        rolled = {level: roll_up(territories, level) for level in ("district", "region")}
    if baseline is None:
        baseline = baseline_from_current(prepared.customers, problem)
    changes = change_table(problem, result.assignment, baseline, result.relaxed)
    counts = {"n_customers": problem.n_customers, "n_reps": problem.n_reps, "n_needs": problem.n_needs,
              **totals(prepared.customers, problem)}
    late = result_findings(problem, result.assignment, scenario.inputs.reps.label)
    travels = np.array([t.travel_weight > 0 for t in scenario.teams])
    late += outlier_findings(problem, result.assignment, travels, scenario.quality.outlier_factor,
                             scenario.quality.outlier_min_km, scenario.inputs.customers.label,
                             scenario.inputs.customers.first_row)
    late += full_team_findings(problem, result.assignment, rep_capacity_s(prepared.inputs.reps), travels,
                               scenario.quality.full_share, scenario.inputs.reps.label)
    routed = None if routing is None else routing_summary(routing)
    late += solver_findings(result.stats, 0 if routed is None else int(str(routed["wall_capped_days"])))
    if routing is not None:
        late += unrouted_findings(problem, routing)
        late += unplanned_findings(problem, routing)
        late += routed_band_findings(problem, routing, scenario.rules.balance_tolerance)
    if "contiguity_failed" in result.stats:
        why = str(result.stats["contiguity_failed"])
        head = ("contiguity: no one-piece alignment keeping every band was found, the territories may be in "
                "several pieces")
        late.append(Finding(f"{head} ({why})", field="teams[].contiguous"))
    if context.previous is not None:
        before, unreadable = read_previous_kpis(context.previous)
        moved = unreadable or change_findings(counts, before, scenario.quality.change_threshold,
                                              str(context.previous))
        if moved and scenario.quality.fails_on_change(scenario.output.layout):
            raise ChangedInputError(moved)
        late += moved
    prepared = dataclasses.replace(prepared, warnings=(*prepared.warnings, *late))
    if context.strict and prepared.warnings:
        raise QualityError(list(prepared.warnings))
    if routing is not None:
        drive, calls = drive_and_call_seconds(routing.plans, problem, result.assignment)
        reps["drive_hours"] = np.round(drive / 3600.0, 3)
        reps["work_hours"] = np.round((drive + calls) / 3600.0, 3)
    if design is not None and homes_before is not None:
        home = gpd.GeoSeries(gpd.points_from_xy(design.rep_xy[:, 0], design.rep_xy[:, 1]),
                             crs=prepared.inputs.crs).to_crs(4326)
        reps["home_lon"], reps["home_lat"] = np.round(home.x.to_numpy(), 6), np.round(home.y.to_numpy(), 6)
        reps["home_moved_km"] = np.round(design.moved_km(homes_before), 3)
    summary: dict[str, object] = {
        "mode": scenario.mode,
        "status": result.status,
        "engine": result.engine,
        "objective": round(result.objective, 3),
        "bound": round(result.bound, 3),
        "gap": round(result.gap, 6),
        "bound_scope": result.bound_scope,
        "candidate_reps": result.candidate_reps,
        "time_limit_s": context.time_limit_s,  # the work budget the answer depends on (--time-limit or scenario)
        **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in kpis(problem, result.assignment).items()},
        **({} if routed is None else _work_deviations(routed)),
        "n_uncovered_customers": len(prepared.coverage.uncovered),
        "team_km": team_distances(problem, result.assignment),  # per team: max and p95 customer-to-rep road km
        "territories_with_several_parts": int((territories["n_parts"] > 1).sum()),
        "n_warnings": len(prepared.warnings),
        "total_workload_hours": counts["total_workload_hours"],
        "total_current_value": counts["total_current_value"],
        "workload": workload_summary(scenario, problem, reps, prepared.drive_bands),
        "gap_given_zones": (round(max(0.0, 1 - float(result.stats["bound_given_zones"]) / result.objective), 6)
                            if "bound_given_zones" in result.stats and result.objective > 0 else None),
        "solver_stats": dict(sorted(result.stats.items())),
        "routing": routed,
        "design": None if design is None or homes_before is None else {
            "teams": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in dataclasses.asdict(t).items()}
                      for t in design.teams],
            "rounds": design.rounds,
            "reps_moved": int((design.moved_km(homes_before) > 0.001).sum()),
        },
        "changes": {
            "baseline": "current_rep_id" if context.previous is None else "previous run",
            "customers": int(changes["customer_id"].nunique()),
            "by_reason": {str(k): int(v) for k, v in changes["reason"].value_counts().sort_index().items()},
        },
        **({} if prepared.units is None else {"units": units_summary(prepared.units, territories)}),
        "seed": context.seed,
        "runtime_s": round(time.perf_counter() - context.started, 3),
    }
    return RunResult(prepared, result, assignments, reps, territories, summary, context.timings, context.seed,
                     routing, changes, rolled, context.part_times, programme_view(prepared, result.assignment))
