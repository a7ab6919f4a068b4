"""The stages in order; the one place they meet.

scenario -> load -> enrich -> segment -> problem -> solve -> territories -> write. Each stage is a plain function;
this module wires them, times them and hands the results to `io.write`. Nothing here prints.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .advice import product_line_advice
from .changes import baseline_from_current, change_table
from .config import Scenario, Segments
from .enrich import apply_service_raises, enrich
from .errors import ChangedInputError, ConfigError, Finding, InputError, QualityError
from .executor import PartExecutor, PartProgress, PartTime, StageExecutors, stage_executors
from .footprints import overlap_findings, resolve_outside
from .geo import network_graphs, route_network, snap_points
from .io.matrix import read_travel_matrix
from .io.read import Inputs, first_row, load_inputs, read_previous_assignments, read_previous_kpis, team_members
from .metrics import check, kpis, schedule_violations
from .problem import NO_REP, Problem, balance_targets, team_components
from .quality import change_findings, input_findings, result_findings, totals
from .route import RepPlan, RoutingOutcome, RoutingSettings, plan_with_feedback, rep_drive
from .routing.travel import NetworkTravel, StraightTravel, Travel
from .segment import Coverage, build_coverage, contact_caps, mark_key_accounts
from .segment_table import ScoreWeights, build_segments
from .solve import Result, SolveParams, solve
from .solve.centres import design_homes
from .territories import build_territories, rep_levels, roll_up, study_area

ZERO_TRAVEL_TIE_BREAK = 1e-3
Progress = Callable[[str], None]


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, progress: Progress | None = None) -> Iterator[None]:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)


@dataclass(frozen=True)
class Prepared:
    """Everything up to (not including) the solve: what `validate` checks."""

    scenario: Scenario
    inputs: Inputs
    customers: gpd.GeoDataFrame
    coverage: Coverage
    problem: Problem
    warnings: tuple[Finding, ...]
    segments: pd.DataFrame
    advice: pd.DataFrame
    travel: Travel | None = None  # the routing's travel model when it is not the straight-line default


@dataclass(frozen=True)
class RunResult:
    prepared: Prepared
    result: Result
    assignments: pd.DataFrame
    reps: pd.DataFrame
    territories: gpd.GeoDataFrame
    kpis: dict[str, object]
    timings: dict[str, float]
    seed: int
    routing: RoutingOutcome | None = None
    changes: pd.DataFrame | None = None  # changes.py: every customer-team whose rep differs from the baseline
    levels: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)  # "district"/"region": rolled-up shapes
    part_times: list[PartTime] = field(default_factory=list)  # executor.py: each independent part's seconds


def _rep_index(rep_ids: np.ndarray) -> dict[str, int]:
    return {rid: i for i, rid in enumerate(rep_ids.tolist())}


def team_matrix(scenario: Scenario, reps: pd.DataFrame) -> np.ndarray:
    """Reps x teams membership, from each team's explicit list or the roster's `team` column."""
    matrix = np.zeros((len(reps), len(scenario.teams)), dtype=bool)
    for t, team in enumerate(scenario.teams):
        matrix[team_members(team.name, team.reps, reps), t] = True
    return matrix


METRIC_COLUMNS = {"value": "current_value", "potential": "potential_value"}


def build_metric_bands(customers: gpd.GeoDataFrame, coverage: Coverage, rep_in_team: np.ndarray,
                       capacity_s: np.ndarray, scenario: Scenario
                       ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """`rules.balance_metrics`: per metric, each need's amount (a customer's value counts for each team that covers
    it) and each rep's band around its capacity-weighted share."""
    empty = np.zeros((0, 0), np.int64)
    wanted = scenario.rules.balance_metrics
    if not wanted:
        return (), empty, empty, empty
    nc, nt = coverage.need_customer, coverage.need_team
    amounts, lows, highs = [], [], []
    for name, tolerance in wanted.items():
        if name == "accounts":
            amount = np.ones(len(nc), dtype=np.int64)
        else:
            amount = np.rint(customers[METRIC_COLUMNS[name]].to_numpy(float)[nc]).astype(np.int64)
        _, lo, hi = balance_targets(rep_in_team, nt, amount, capacity_s, tolerance, clip_to_capacity=False)
        amounts.append(amount)
        lows.append(lo)
        highs.append(hi)
    return tuple(wanted), np.vstack(amounts), np.vstack(lows), np.vstack(highs)


MAX_NEED_HOURS = 8784.0  # the hours in a year: no call cycle holds more for one customer and team


def _check_need_hours(hours: np.ndarray, customers: pd.DataFrame, coverage: Coverage, scenario: Scenario) -> None:
    """A need of more hours than a year has is a typo in the service policy (and would overflow whole seconds)."""
    bad = np.flatnonzero(~(hours <= MAX_NEED_HOURS))
    if len(bad):
        raise ConfigError([Finding(
            f"customer {customers['customer_id'].iloc[coverage.need_customer[i]]!r} would need {hours[i]:,.4g} h of "
            f"calls per cycle from team {scenario.teams[coverage.need_team[i]].name!r}, more than the "
            f"{MAX_NEED_HOURS:g} h of a year: check service.*.visits_per_cycle, call_minutes, service_raises and "
            "teams[].call_minutes_factor", source=scenario.source_name, field="service") for i in bad[:5]])


def build_problem(customers: gpd.GeoDataFrame, reps: gpd.GeoDataFrame, coverage: Coverage,
                  scenario: Scenario) -> Problem:
    """Hand the enriched GeoDataFrames over to the array-backed problem."""
    teams = scenario.teams
    rep_ids = reps["rep_id"].to_numpy(dtype=object)
    rep_in_team = team_matrix(scenario, reps)
    nc, nt = coverage.need_customer, coverage.need_team
    factors = np.array([t.call_minutes_factor for t in teams])
    weight = np.array([t.travel_weight or ZERO_TRAVEL_TIE_BREAK for t in teams])[nt]
    customer_hours = customers["workload_hours"].to_numpy(float)
    hours = customer_hours[nc] * factors[nt]
    if len(coverage.absorbed_customer):  # absorbed lines add their calls to the absorbing team's need
        key = nc * len(teams) + nt
        target = np.searchsorted(key, coverage.absorbed_customer * len(teams) + coverage.absorbed_by)
        np.add.at(hours, target, customer_hours[coverage.absorbed_customer] * factors[coverage.absorbed_team])
    _check_need_hours(hours, customers, coverage, scenario)
    workload_s = np.rint(hours * 3600.0).astype(np.int64)
    index = _rep_index(rep_ids)
    locked = _rep_column(customers, "locked_rep_id", index, nc, nt, rep_in_team, scenario, strict=True)
    current = _rep_column(customers, "current_rep_id", index, nc, nt, rep_in_team, scenario, strict=False)
    capacity = reps["capacity_hours"].to_numpy(float) * 3600.0 if "capacity_hours" in reps else np.full(
        len(reps), np.nan)
    capacity = np.where(np.isfinite(capacity), capacity, np.inf)
    target, lo, hi = balance_targets(rep_in_team, nt, workload_s, capacity, scenario.rules.balance_tolerance)
    metric_names, need_metric, metric_lo, metric_hi = build_metric_bands(customers, coverage, rep_in_team,
                                                                         capacity, scenario)
    kinds, zone_names, need_zone, rep_zone = build_zones(customers, reps, coverage, scenario)
    skill_names, need_skills, rep_skills = build_skills(customers, reps, coverage, scenario)
    return Problem(
        customer_ids=customers["customer_id"].to_numpy(dtype=object),
        customer_xy=np.column_stack([customers.geometry.x, customers.geometry.y]),
        rep_ids=rep_ids,
        rep_xy=np.column_stack([reps.geometry.x, reps.geometry.y]),
        team_names=tuple(t.name for t in teams),
        rep_in_team=rep_in_team,
        need_customer=nc,
        need_team=nt,
        need_visits=customers["visits_per_cycle"].to_numpy(float)[nc],
        need_workload_s=workload_s,
        need_travel_weight=weight,
        need_locked_rep=locked,
        need_current_rep=current,
        rep_target_s=target,
        rep_min_s=lo,
        rep_max_s=hi,
        max_reps_per_customer=scenario.rules.max_reps_per_customer,
        customer_max_reps=contact_caps(customers, scenario),
        detour_factor=scenario.rules.detour_factor,
        continuity_weight=scenario.rules.continuity_weight,
        balance_weight=scenario.rules.balance_weight,
        need_skills=need_skills,
        rep_skills=rep_skills,
        skill_names=skill_names,
        excluded=build_exclusions(customers, rep_ids, coverage, scenario),
        max_moved=scenario.rules.max_moved_customers,
        max_moved_value=None if scenario.rules.max_moved_value is None else int(min(  # above the total: no limit
            scenario.rules.max_moved_value, np.rint(customers["current_value"].to_numpy(float)).sum())),
        need_value=np.rint(customers["current_value"].to_numpy(float)[nc]).astype(np.int64),
        metric_names=metric_names,
        need_metric=need_metric,
        rep_metric_min=metric_lo,
        rep_metric_max=metric_hi,
        zone_kinds=kinds,
        zone_names=zone_names,
        need_zone=need_zone,
        rep_zone=rep_zone,
    )


def _lines(text: object) -> set[str]:
    return {p.strip() for p in str(text or "").split(";") if p.strip()}


def build_skills(customers: pd.DataFrame, reps: pd.DataFrame, coverage: Coverage, scenario: Scenario,
                 ) -> tuple[tuple[str, ...], np.ndarray | None, np.ndarray | None]:
    """Bit masks of product lines: per need, the lines of its team's `products` the customer buys; per rep, the
    lines in its roster `products` (blank: every line). None when no team declares products."""
    names = tuple(sorted({line for t in scenario.teams for line in (t.products or [])}))
    if not names:
        return (), None, None
    if len(names) > 62:
        raise ConfigError(Finding(f"{len(names)} product lines in teams[].products; at most 62 are supported",
                                  source=scenario.source_name, field="teams.products"))
    bit = {name: 1 << i for i, name in enumerate(names)}
    team_mask = np.array([sum(bit[line] for line in (t.products or [])) for t in scenario.teams], dtype=np.int64)
    bought = customers["products"] if "products" in customers else pd.Series("", index=customers.index)
    masks = {text: sum(bit[line] for line in _lines(text) if line in bit) for text in pd.unique(bought)}
    customer_mask = bought.map(masks).to_numpy(dtype=np.int64)
    need_skills = customer_mask[coverage.need_customer] & team_mask[coverage.need_team]
    everything = sum(bit.values())
    carried = reps["products"] if "products" in reps else pd.Series("", index=reps.index)
    rep_skills = np.array([sum(bit[line] for line in _lines(text) if line in bit) if _lines(text) else everything
                           for text in carried], dtype=np.int64)
    return names, need_skills, rep_skills


def build_exclusions(customers: pd.DataFrame, rep_ids: np.ndarray, coverage: Coverage,
                     scenario: Scenario) -> np.ndarray:
    """Sorted keys need * R + rep for every need whose customer lists the rep in `excluded_rep_ids`."""
    if "excluded_rep_ids" not in customers:
        return np.zeros(0, np.int64)
    index = _rep_index(rep_ids)
    listed = customers["excluded_rep_ids"].to_numpy(dtype=object)
    keys = []
    source = scenario.inputs.customers
    unknown = []
    with_exclusions = np.flatnonzero(customers["excluded_rep_ids"].astype(str).str.strip().to_numpy() != "")
    for need in np.flatnonzero(np.isin(coverage.need_customer, with_exclusions)).tolist():
        customer = int(coverage.need_customer[need])
        for rep in _lines(listed[customer]):
            if rep not in index:
                unknown.append(Finding(f"rep {rep!r} is not in the roster", source=source.label,
                                       row=customer + first_row(source), field="excluded_rep_ids"))
                continue
            keys.append(need * len(rep_ids) + index[rep])
    if unknown:
        raise InputError(unknown[:20])
    return np.unique(np.array(keys, dtype=np.int64))


ZONE_COLUMNS = {"distributor": "distributor_id", "depot": "depot_id"}


def build_zones(customers: pd.DataFrame, reps: pd.DataFrame, coverage: Coverage, scenario: Scenario,
                ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], np.ndarray, np.ndarray]:
    """Hard-boundary zones per kind: each need's zone (-1 when its team ignores the kind or the customer lies in
    no zone) and each rep's pinned zone from the roster (-1: the model chooses)."""
    per_team = [t.boundaries if t.boundaries is not None else scenario.rules.boundaries for t in scenario.teams]
    kinds = tuple(k for k in ZONE_COLUMNS if any(k in b for b in per_team))
    nc, nt = coverage.need_customer, coverage.need_team
    names_out, need_rows, rep_rows = [], [], []
    for kind in kinds:
        column = ZONE_COLUMNS[kind]
        values = customers[column].astype(str).to_numpy(dtype=object) if column in customers else np.full(
            len(customers), "", dtype=object)
        pins = reps[column].fillna("").astype(str).to_numpy(dtype=object) if column in reps else np.full(
            len(reps), "", dtype=object)
        names = tuple(sorted({v for v in values if v} | {p for p in pins if p}))
        index = {name: i for i, name in enumerate(names)}
        respects = np.array([kind in b for b in per_team])[nt]
        zone = np.array([index.get(v, -1) for v in values[nc]], dtype=np.int64)
        need_rows.append(np.where(respects, zone, -1))
        rep_rows.append(np.array([index.get(p, -1) for p in pins], dtype=np.int64))
        names_out.append(names)
    n_kinds = len(kinds)
    need_zone = np.vstack(need_rows) if n_kinds else np.zeros((0, 0), np.int64)
    rep_zone = np.vstack(rep_rows) if n_kinds else np.zeros((0, 0), np.int64)
    return kinds, tuple(names_out), need_zone, rep_zone


def _rep_column(customers: pd.DataFrame, column: str, index: dict[str, int], nc: np.ndarray, nt: np.ndarray,
                rep_in_team: np.ndarray, scenario: Scenario, *, strict: bool) -> np.ndarray:
    """Per need, the rep named in `column` when that rep is in the need's team; else NO_REP.

    With `strict` (locks), a named rep that is in none of the customer's teams is an input error.
    """
    out = np.full(len(nc), NO_REP, dtype=np.int64)
    if column not in customers:
        return out
    named = customers[column].to_numpy(dtype=object)
    rep = np.array([index.get(v, NO_REP) if v else NO_REP for v in named[nc]], dtype=np.int64)
    ok = (rep != NO_REP) & rep_in_team[np.maximum(rep, 0), nt]
    out[ok] = rep[ok]
    if strict:
        has = np.array([bool(v) for v in named])
        satisfied = np.zeros(len(customers), dtype=bool)
        satisfied[nc[ok]] = True
        bad = np.flatnonzero(has & ~satisfied)
        if len(bad):
            source = scenario.inputs.customers
            raise InputError([
                Finding(f"locked rep {named[c]!r} is in none of the teams covering customer "
                        f"{customers['customer_id'].iloc[c]!r}", source=source.label, row=int(c) + first_row(source),
                        field=column)
                for c in bad[:20]
            ])
    return out


def segment_customers(customers: pd.DataFrame, settings: Segments, warnings: list[Finding],
                      source: str = "scenario") -> tuple[pd.Series, pd.DataFrame]:
    """Micro-segments and their scores; key columns the data lacks are skipped, with a warning."""
    missing = [c for c in settings.columns if c not in customers]
    if missing:
        warnings.append(Finding(f"segment key column(s) {', '.join(missing)} not in the customers; skipped",
                                source=source, field="segments.columns"))
    missing_buyer = [c for c in settings.scores.buyer_columns if c not in customers]
    if missing_buyer:
        raise ConfigError(Finding(f"customers have no column(s) {', '.join(missing_buyer)}", source=source,
                                  field="segments.scores.buyer_columns"))
    weights = ScoreWeights(**settings.scores.model_dump())
    columns = [c for c in settings.columns if c in customers]
    return build_segments(customers, columns, settings.min_size, weights)


def advice_table(customers: pd.DataFrame, reps: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Specialist-or-generalist advice per product line (empty without a `products` column).

    The reps carrying a line are the roster rows listing it in `products` when the roster has that column; else
    the generalist field force (reps of teams that are not carve-outs). Customers of tiers a phone team covers
    (travel_weight 0) count as inside-sales work, not field visits.
    """
    if "products" not in customers:
        return pd.DataFrame(columns=["product_line", "recommendation", "reason"])
    generalists = [t for t in scenario.teams if not t.exclusive]
    field_reps = len(np.unique(np.concatenate(
        [team_members(t.name, t.reps, reps) for t in generalists] or [np.zeros(0, np.int64)])))
    reps_per_line = None
    if "products" in reps:
        lines = reps["products"].fillna("").astype(str).str.split(";").explode().str.strip()
        reps_per_line = lines[lines != ""].value_counts().to_dict()
    inside_tiers = sorted({tier for t in scenario.teams if t.travel_weight == 0 for block in t.covers
                           for tier in (block.tiers or [])})
    table = customers[["customer_id", "products", "sector", "visits_per_cycle", "workload_hours", "tier"]
                      + (["buyer_roles"] if "buyer_roles" in customers else [])]
    lines_sold = set(table["products"].fillna("").str.split(";").explode().str.strip()) - {""}
    known = reps_per_line if reps_per_line and lines_sold <= set(reps_per_line) else None
    advice = product_line_advice(pd.DataFrame(table), reps_per_line=known, cycle_weeks=scenario.cycle_weeks,
                                 field_reps=max(field_reps, 1), inside_tiers=inside_tiers)
    return advice.round(4)


def prepare(scenario: Scenario, timings: Timings | None = None, progress: Progress | None = None,
            parts: PartProgress | None = None) -> Prepared:
    """Load, enrich, segment and build the problem: everything `validate` checks, no solving. `progress` hears of
    each stage, `parts` of each input layer read."""
    timings = timings or Timings()
    with timings.stage("load", progress):
        inputs = load_inputs(scenario, parts)
    warnings = list(inputs.warnings)
    with timings.stage("enrich", progress):
        customers = enrich(inputs.customers, scenario, depots=inputs.depots, routes=inputs.routes,
                           distributors=inputs.distributors, warnings=warnings)
    with timings.stage("segment", progress):
        if inputs.distributors is not None:
            footprints = scenario.inputs.distributors.label if scenario.inputs.distributors else "distributors"
            warnings += overlap_findings(inputs.distributors, footprints)
            customers, outside = resolve_outside(customers, inputs.distributors, scenario.rules.outside_footprint,
                                                 scenario.inputs.customers.label,
                                                 first_row(scenario.inputs.customers))
            warnings += outside
        customers = mark_key_accounts(customers, scenario.key_accounts)
        segment_ids, segments = segment_customers(customers, scenario.segments, warnings, scenario.source_name)
        customers["segment_id"] = segment_ids.to_numpy()
        customers, n_raised = apply_service_raises(customers, segments, scenario.service_raises)
        if n_raised:
            warnings.append(Finding(f"{n_raised} customers get extra visits from service_raises (segment scores)",
                                    source=scenario.source_name, field="service_raises"))
        coverage = build_coverage(customers, scenario, team_components(team_matrix(scenario, inputs.reps)))
        if len(coverage.absorbed_customer):
            n = len(np.unique(coverage.absorbed_customer))
            warnings.append(Finding(
                f"{n} customers need more teams than max_reps_per_customer allows; their last teams by precedence "
                "were dropped and absorbed (listed in contact_cap.csv)", source=scenario.source_name,
                field="rules.precedence"))
        customers["teams"] = coverage.teams_of_customers(len(customers))
    if len(coverage.uncovered):
        sample = ", ".join(customers["customer_id"].iloc[coverage.uncovered[:5]])
        warnings.append(Finding(f"{len(coverage.uncovered)} customers are covered by no team (e.g. {sample}); "
                                "they get no rep", source=scenario.source_name, field="teams"))
    with timings.stage("problem", progress):
        problem = build_problem(customers, inputs.reps, coverage, scenario)
    warnings += input_findings(problem, visited_needs(scenario, problem), scenario.quality.far_km,
                               scenario.inputs.customers.label)
    with timings.stage("advice", progress):
        advice = advice_table(customers, inputs.reps, scenario)
    travel = None
    if scenario.routing.enabled and scenario.routing.travel != "straight":
        with timings.stage("travel", progress):
            travel = build_travel(scenario, inputs, problem, warnings)
    return Prepared(scenario, inputs, customers, coverage, problem, tuple(warnings), segments, advice, travel)


def build_travel(scenario: Scenario, inputs: Inputs, problem: Problem, warnings: list[Finding]) -> Travel | None:
    """The routing's travel model: along the route network, or the user's matrix file (read and checked here, so
    `validate` reports its errors and a bad file stops the run before anything is written)."""
    options, logistics = scenario.routing, scenario.logistics
    straight = StraightTravel(routing_speed(scenario), scenario.rules.detour_factor)
    if options.travel == "matrix" and options.travel_matrix is not None:
        point_ids = np.concatenate([problem.customer_ids, problem.rep_ids]).astype(str)
        matrix, found, sha = read_travel_matrix(options.travel_matrix, point_ids, straight)
        warnings += found
        inputs.file_hashes["travel_matrix"] = sha
        if scenario.mode == "design":  # design moves the homes: the file's home legs no longer apply
            matrix = matrix.without_points_from(problem.n_customers)
            warnings.append(Finding("mode: design moves rep homes, so legs from and to homes are estimated "
                                    "(straight line), not read from the matrix", source=str(options.travel_matrix)))
        return matrix
    net = route_network(inputs.routes, default_speed_kmh=logistics.default_speed_kmh,
                        snap_tolerance_m=logistics.snap_tolerance_m) if inputs.routes is not None else None
    if net is None or net.n_edges == 0:
        warnings.append(Finding("routing.travel is network but the route network has no lines: straight-line "
                                "travel is used", source=scenario.source_name, field="routing.travel"))
        return None
    points = np.vstack([problem.customer_xy, problem.rep_xy])
    ends, along_m, along_s, leg_m = snap_points(net, points)
    graph_s, graph_m = network_graphs(net)
    return NetworkTravel(graph_s, graph_m, ends, along_s, along_m, leg_m, logistics.leg_speed_kmh,
                         StraightTravel(logistics.leg_speed_kmh, scenario.rules.detour_factor))


def run_scenario(scenario: Scenario, *, seed: int | None = None, time_limit_s: float | None = None,
                 progress: Progress | None = None, previous: Path | None = None, strict: bool = False,
                 executors: StageExecutors | None = None, parts: PartProgress | None = None) -> RunResult:
    """Run the whole pipeline in memory; `io.write.write_outputs` puts the result on disk. With `previous` (a run
    folder), changes are counted against its assignments instead of the customers' current_rep_id. Independent parts
    run on `executors` (default: what `scenario.executor` asks for, started and closed here; see executor.py).
    `progress` hears of each stage, `parts` of each part of a stage as it finishes (layers, solve parts, reps'
    cycles, teams' shapes)."""
    if executors is not None:
        executors.report_parts(parts)
        try:
            return _run_scenario(scenario, executors, seed=seed, time_limit_s=time_limit_s, progress=progress,
                                 previous=previous, strict=strict, parts=parts)
        finally:
            executors.report_parts(None)
    with stage_executors(scenario.executor, solver_workers=scenario.solver.workers,
                         routing_workers=scenario.routing.workers) as owned:
        owned.start()  # an unreachable Dask scheduler stops the run here, before any work
        owned.report_parts(parts)
        return _run_scenario(scenario, owned, seed=seed, time_limit_s=time_limit_s, progress=progress,
                             previous=previous, strict=strict, parts=parts)


def _run_scenario(scenario: Scenario, executors: StageExecutors, *, seed: int | None, time_limit_s: float | None,
                  progress: Progress | None, previous: Path | None, strict: bool,
                  parts: PartProgress | None = None) -> RunResult:
    started = time.perf_counter()
    timings = Timings()
    baseline = None if previous is None else read_previous_assignments(previous)  # before any work: fail early
    prepared = prepare(scenario, timings, progress, parts)
    seed = scenario.solver.seed if seed is None else seed
    params = SolveParams(
        time_limit_s=time_limit_s or scenario.solver.time_limit_s,
        workers=scenario.solver.workers,
        candidate_reps=scenario.rules.candidate_reps,
        contiguity_weight=scenario.rules.contiguity_weight,
    )
    design, homes_before = None, prepared.problem.rep_xy
    if scenario.mode == "design":
        with timings.stage("design", progress):
            design = design_homes(prepared.problem, time_limit_s=params.time_limit_s, seed=seed,
                                  candidate_reps=params.candidate_reps)
        prepared = dataclasses.replace(prepared, problem=prepared.problem.replace(rep_xy=design.rep_xy))
        if isinstance(prepared.travel, NetworkTravel):  # homes moved: snap them again
            prepared = dataclasses.replace(prepared, travel=build_travel(scenario, prepared.inputs, prepared.problem,
                                                                         []))
    problem = prepared.problem
    with timings.stage("solve", progress):
        result = solve(problem, params, seed=seed, executor=executors.solve)
    routing = None
    if scenario.routing.enabled:
        with timings.stage("routing", progress):
            routing, result = route_cycle(prepared, result, params, seed, executors.routing)
        prepared = dataclasses.replace(prepared, problem=routing.problem)
        problem = prepared.problem
    violations = check(problem, result.assignment)
    if routing is not None:
        window_open, window_close = opening_windows(prepared)
        violations += schedule_violations(problem, result.assignment, routing.plans, routing_settings(prepared),
                                          window_open, window_close, routed_needs(prepared))
    if violations:  # a solver bug, never a user error: metrics is the judge
        raise RuntimeError("solver returned an alignment breaking hard rules: "
                           + "; ".join(v.message for v in violations[:5]))
    with timings.stage("territories", progress):
        assignments = assignment_table(prepared, result)
        area = study_area(problem.customer_xy,
                          None if prepared.inputs.distributors is None else prepared.inputs.distributors.geometry)
        territories = build_territories(assignments, problem.customer_xy, area, prepared.inputs.crs,
                                        executors.territories)
    reps = rep_table(prepared, result)
    levels = rep_levels(prepared.inputs.reps, scenario.hierarchy.districts, scenario.hierarchy.regions)
    rolled: dict[str, gpd.GeoDataFrame] = {}
    if (levels[["district", "region"]] != "").any().any():  # territories roll up to districts and regions
        territories = territories.merge(levels, on="rep_id", how="left").fillna({"district": "", "region": ""})
        reps = reps.merge(levels, on="rep_id", how="left")
        rolled = {level: roll_up(territories, level) for level in ("district", "region")}
    if baseline is None:
        baseline = baseline_from_current(prepared.customers, problem)
    changes = change_table(problem, result.assignment, baseline)
    counts = {"n_customers": problem.n_customers, "n_reps": problem.n_reps, "n_needs": problem.n_needs,
              **totals(prepared.customers, problem)}
    late = result_findings(problem, result.assignment, scenario.inputs.reps.label)
    if previous is not None:
        moved = change_findings(counts, read_previous_kpis(previous), scenario.quality.change_threshold,
                                str(previous))
        if moved and scenario.quality.fail_on_change:
            raise ChangedInputError(moved)
        late += moved
    prepared = dataclasses.replace(prepared, warnings=(*prepared.warnings, *late))
    if strict and prepared.warnings:
        raise QualityError(list(prepared.warnings))
    if routing is not None:
        drive, calls = drive_and_call_seconds(routing.plans, problem, result.assignment)
        reps["drive_hours"] = np.round(drive / 3600.0, 3)
        reps["work_hours"] = np.round((drive + calls) / 3600.0, 3)
    if design is not None:
        home = gpd.GeoSeries(gpd.points_from_xy(design.rep_xy[:, 0], design.rep_xy[:, 1]),
                             crs=prepared.inputs.crs).to_crs(4326)
        reps["home_lon"], reps["home_lat"] = np.round(home.x.to_numpy(), 6), np.round(home.y.to_numpy(), 6)
        reps["home_moved_km"] = np.round(design.moved_km(homes_before), 3)
    summary = {
        "mode": scenario.mode,
        "status": result.status,
        "engine": result.engine,
        "objective": round(result.objective, 3),
        "bound": round(result.bound, 3),
        "gap": round(result.gap, 6),
        "bound_scope": result.bound_scope,
        "candidate_reps": result.candidate_reps,
        "time_limit_s": params.time_limit_s,  # the work budget the answer depends on (--time-limit or the scenario)
        **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in kpis(problem, result.assignment).items()},
        "n_uncovered_customers": len(prepared.coverage.uncovered),
        "territories_with_several_parts": int((territories["n_parts"] > 1).sum()),
        "n_warnings": len(prepared.warnings),
        "total_workload_hours": counts["total_workload_hours"],
        "total_current_value": counts["total_current_value"],
        "gap_given_zones": (round(max(0.0, 1 - float(result.stats["bound_given_zones"]) / result.objective), 6)
                            if "bound_given_zones" in result.stats and result.objective > 0 else None),
        "solver_stats": dict(sorted(result.stats.items())),
        "routing": None if routing is None else routing_summary(routing),
        "design": None if design is None else {
            "teams": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in dataclasses.asdict(t).items()}
                      for t in design.teams],
            "rounds": design.rounds,
            "reps_moved": int((design.moved_km(homes_before) > 0.001).sum()),
        },
        "changes": {
            "baseline": "current_rep_id" if previous is None else "previous run",
            "customers": int(changes["customer_id"].nunique()),
            "by_reason": {str(k): int(v) for k, v in changes["reason"].value_counts().sort_index().items()},
        },
        "seed": seed,
        "runtime_s": round(time.perf_counter() - started, 3),
    }
    return RunResult(prepared, result, assignments, reps, territories, summary, timings.seconds, seed, routing,
                     changes, rolled, executors.part_times)


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


def route_cycle(prepared: Prepared, result: Result, params: SolveParams, seed: int,
                executor: PartExecutor | None = None) -> tuple[RoutingOutcome, Result]:
    """Route every rep's cycle and re-balance on real hours (`route.plan_with_feedback`); reps' cycles and any
    large-engine parts run on `executor` (default: `routing.workers` / `solver.workers` processes)."""
    scenario = prepared.scenario
    results = [result]

    def resolve(problem: Problem) -> np.ndarray:
        results.append(solve(problem, params, seed=seed, executor=executor))
        return results[-1].assignment

    window_open, window_close = opening_windows(prepared)
    outcome = plan_with_feedback(
        prepared.problem, result.assignment, routing_settings(prepared), resolve=resolve,
        tolerance=scenario.rules.balance_tolerance, rounds=scenario.routing.rebalance_rounds,
        threshold=scenario.routing.rebalance_threshold, workers=scenario.routing.workers,
        window_open=window_open, window_close=window_close, routed=routed_needs(prepared), executor=executor)
    kept = next(int(entry["round"]) for entry in outcome.rounds if entry["kept"])
    return outcome, results[kept]


def routed_needs(prepared: Prepared) -> np.ndarray:
    return visited_needs(prepared.scenario, prepared.problem)


def visited_needs(scenario: Scenario, problem: Problem) -> np.ndarray:
    """Needs reps drive to: those of teams with travel (a team with travel_weight 0 sells by phone)."""
    remote = np.array([t.travel_weight == 0 for t in scenario.teams])
    return ~remote[problem.need_team]


def drive_and_call_seconds(plans: list[RepPlan], problem: Problem,
                           assignment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each rep's routed drive seconds and call seconds in a cycle."""
    drive, _ = rep_drive(plans, problem.n_reps)
    return drive, np.bincount(assignment, weights=problem.need_workload_s, minlength=problem.n_reps)


def routing_summary(outcome: RoutingOutcome) -> dict[str, object]:
    drive, calls = drive_and_call_seconds(outcome.plans, outcome.problem, outcome.assignment)
    return {
        "drive_hours": round(float(drive.sum()) / 3600.0, 2),
        "call_hours": round(float(calls.sum()) / 3600.0, 2),
        "drive_share": round(float(drive.sum() / max(drive.sum() + calls.sum(), 1.0)), 4),
        "days_routed": sum(len(p.days) for p in outcome.plans),
        "unplanned_visits": sum(len(p.unplanned) for p in outcome.plans),
        "travel": outcome.travel,
        "estimated_travel_pairs": sum(p.stats.get("estimated_pairs", 0) for p in outcome.plans),
        "rounds": outcome.rounds,
    }


def assignment_table(prepared: Prepared, result: Result) -> pd.DataFrame:
    problem = prepared.problem
    need = np.arange(problem.n_needs)
    rep = result.assignment
    delta = problem.customer_xy[problem.need_customer] - problem.rep_xy[rep]
    km = np.hypot(delta[:, 0], delta[:, 1]) * problem.detour_factor / 1000.0
    frame = pd.DataFrame({
        "customer_index": problem.need_customer,
        "customer_id": problem.customer_ids[problem.need_customer],
        "team": np.asarray(problem.team_names, dtype=object)[problem.need_team],
        "rep_id": problem.rep_ids[rep],
        "workload_hours": np.round(problem.need_workload_s / 3600.0, 4),
        "distance_km": np.round(km, 3),
    }, index=need)
    return frame


def rep_table(prepared: Prepared, result: Result) -> pd.DataFrame:
    from .metrics import rep_loads

    problem = prepared.problem
    loads = rep_loads(problem, result.assignment)
    teams = [";".join(problem.team_names[t] for t in np.flatnonzero(row)) for row in problem.rep_in_team]
    target = problem.rep_target_s
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.where(target > 0, (loads.workload_s - target) / target, 0.0)
    return pd.DataFrame({
        "rep_id": problem.rep_ids,
        "team": teams,
        "workload_hours": np.round(loads.workload_s / 3600.0, 3),
        "target_hours": np.round(target / 3600.0, 3),
        "min_hours": np.round(problem.rep_min_s / 3600.0, 3),
        "max_hours": np.round(problem.rep_max_s / 3600.0, 3),
        "deviation": np.round(deviation, 4),
        "n_customers": loads.n_customers,
        "total_distance_km": np.round(loads.total_distance_km, 3),
        **_metric_columns(problem, result.assignment),
    })


def _metric_columns(problem: Problem, assignment: np.ndarray) -> dict[str, np.ndarray]:
    """Per extra balanced metric: each rep's total and its band."""
    from .metrics import metric_totals

    if not problem.metric_names:
        return {}
    totals = metric_totals(problem, assignment)[1:]
    out = {}
    for q, name in enumerate(problem.metric_names):
        out[name] = totals[q]
        out[f"{name}_min"] = problem.rep_metric_min[q]
        out[f"{name}_max"] = problem.rep_metric_max[q]
    return out


def default_out_dir(scenario: Scenario, out: Path | None) -> Path:
    """`--out` when given, else the scenario's `output.dir` (already relative to the scenario file)."""
    return Path(os.path.normpath(Path(out) if out is not None else scenario.output.dir))
