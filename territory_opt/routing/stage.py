"""The routing stage as the pipeline sees it: settings from the scenario, opening hours, the travel model, and
route -> re-assign rounds on real hours (`cycle.plan_with_feedback`), summarised for kpis.json."""

from __future__ import annotations

import numpy as np

from ..config import Scenario
from ..errors import Finding
from ..executor import PartExecutor
from ..io.load import Inputs
from ..io.matrix import read_travel_matrix
from ..model.build import rep_capacity_s, visited_needs
from ..model.problem import Problem
from ..prepare.geo import network_graphs, route_network, snap_points
from ..prepare.prepared import Prepared
from ..solve import Budget, Result, SolveParams, solve
from ..solve.local import rebalance_in_place
from .cycle import (
    RepPlan,
    RoundRejected,
    RoutingOutcome,
    RoutingSettings,
    plan_with_feedback,
    rep_drive,
    unplanned_visits,
)
from .travel import NetworkTravel, StraightTravel, Travel


def routing_settings(prepared: Prepared) -> RoutingSettings:
    scenario = prepared.scenario
    options = scenario.routing
    return RoutingSettings(
        weeks=scenario.cycle_weeks, days=options.days_per_week, day_s=round(options.day_hours * 3600),
        break_s=round(options.break_minutes * 60),
        speed_kmh=routing_speed(scenario), detour_factor=scenario.rules.detour_factor,
        solution_limit=options.solution_limit, travel=prepared.travel)


def routing_speed(scenario: Scenario) -> float:
    """Average road speed between calls: routing.speed_kmh, else logistics.default_speed_kmh."""
    return scenario.routing.speed_kmh or scenario.logistics.default_speed_kmh


def opening_windows(prepared: Prepared) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Customers' opening hours in seconds after the day starts (the whole day where none is given)."""
    customers, options = prepared.customers, prepared.scenario.routing
    if "open_time" not in customers and "close_time" not in customers:
        return None, None
    start = int(options.day_start[:2]) * 60 + int(options.day_start[3:])
    day_s = round(options.day_hours * 3600)
    opens = customers["open_time"].to_numpy(float) if "open_time" in customers else np.full(len(customers), np.nan)
    closes = customers["close_time"].to_numpy(float) if "close_time" in customers else np.full(len(customers),
                                                                                                   np.nan)
    open_s = np.where(np.isfinite(opens), (opens - start) * 60, 0).clip(0, day_s)
    close_s = np.where(np.isfinite(closes), (closes - start) * 60, day_s).clip(0, day_s)
    return open_s.astype(np.int64), close_s.astype(np.int64)


def route_cycle(prepared: Prepared, result: Result, budget: Budget, params: SolveParams, seed: int,
                executor: PartExecutor | None = None) -> tuple[RoutingOutcome, Result]:
    """Route every rep's cycle and re-balance on real hours (`cycle.plan_with_feedback`); reps' cycles and any
    large-engine parts run on `executor` (default: `routing.workers` / `solver.workers` processes)."""
    scenario = prepared.scenario
    results = [result]

    def resolve(problem: Problem) -> np.ndarray:
        results.append(solve(problem, budget, seed=seed, params=params, executor=executor))
        if "contiguity_failed" in results[-1].stats and "contiguity_failed" not in result.stats:
            raise RoundRejected("territories_in_pieces")  # one-piece territories come before balance
        return results[-1].assignment

    def mend(problem: Problem, assignment: np.ndarray, round_no: int) -> np.ndarray | None:
        start = results[round_no]  # round 0 and every round not ended early each added one Result
        mended = rebalance_in_place(problem, assignment, budget, start, seed=seed, workers=params.workers)
        if mended is None:
            return None
        results.append(mended)
        return mended.assignment

    window_open, window_close = opening_windows(prepared)
    outcome = plan_with_feedback(
        prepared.problem, result.assignment, routing_settings(prepared), resolve=resolve,
        tolerance=scenario.rules.balance_tolerance, rounds=scenario.routing.rebalance_rounds,
        threshold=scenario.routing.rebalance_threshold, workers=scenario.routing.workers,
        window_open=window_open, window_close=window_close, routed=routed_needs(prepared), executor=executor,
        capacity_s=rep_capacity_s(prepared.inputs.reps), mend=mend)
    kept = next(int(entry["round"]) for entry in outcome.rounds if entry["kept"])
    return outcome, results[kept]


def routed_needs(prepared: Prepared) -> np.ndarray:
    return visited_needs(prepared.scenario, prepared.problem)


def drive_and_call_seconds(plans: list[RepPlan], problem: Problem,
                           assignment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each rep's routed drive seconds and call seconds in a cycle."""
    drive, _ = rep_drive(plans, problem.n_reps)
    return drive, problem.calls_only().rep_totals(assignment)[0]


def routing_summary(outcome: RoutingOutcome) -> dict[str, object]:
    drive, calls = drive_and_call_seconds(outcome.plans, outcome.problem, outcome.assignment)
    return {
        "drive_hours": round(float(drive.sum()) / 3600.0, 2),
        "call_hours": round(float(calls.sum()) / 3600.0, 2),
        "drive_share": round(float(drive.sum() / max(drive.sum() + calls.sum(), 1.0)), 4),
        "days_routed": sum(len(p.days) for p in outcome.plans),
        "unplanned_visits": unplanned_visits(outcome.plans),
        "unrouted_days": sum(len(p.failed_days) for p in outcome.plans),
        "travel": outcome.travel,
        "estimated_travel_pairs": sum(p.stats.get("estimated_pairs", 0) for p in outcome.plans),
        "wall_capped_days": sum(p.stats.get("wall_capped_days", 0) for p in outcome.plans),
        "rounds": outcome.rounds,
    }


def build_travel(scenario: Scenario, inputs: Inputs, problem: Problem,
                 warnings: list[Finding]) -> tuple[Travel | None, str | None]:
    """The routing's travel model (along the route network, or the user's matrix file, read and checked here so
    `validate` reports its errors and a bad file stops the run before anything is written), and the matrix file's
    SHA-256 when one was read."""
    options, logistics = scenario.routing, scenario.logistics
    straight = StraightTravel(routing_speed(scenario), scenario.rules.detour_factor)
    if options.travel == "matrix" and options.travel_matrix is not None:
        point_ids = np.concatenate([problem.customer_ids, problem.rep_ids]).astype(str)
        matrix, found, sha = read_travel_matrix(options.travel_matrix, point_ids, straight)
        warnings += found
        if scenario.mode == "design":  # design moves the homes: the file's home legs no longer apply
            matrix = matrix.without_points_from(problem.n_customers)
            warnings.append(Finding("mode: design moves rep homes, so legs from and to homes are estimated "
                                    "(straight line), not read from the matrix", source=str(options.travel_matrix)))
        return matrix, sha
    net = route_network(inputs.routes, default_speed_kmh=logistics.default_speed_kmh,
                        snap_tolerance_m=logistics.snap_tolerance_m) if inputs.routes is not None else None
    if net is None or net.n_edges == 0:
        warnings.append(Finding("routing.travel is network but the route network has no lines: straight-line "
                                "travel is used", source=scenario.source_name, field="routing.travel"))
        return None, None
    points = np.vstack([problem.customer_xy, problem.rep_xy])
    ends, along_m, along_s, leg_m = snap_points(net, points)
    graph_s, graph_m = network_graphs(net)
    return NetworkTravel(graph_s, graph_m, ends, along_s, along_m, leg_m, logistics.leg_speed_kmh,
                         StraightTravel(logistics.leg_speed_kmh, scenario.rules.detour_factor)), None

