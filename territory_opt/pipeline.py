"""The stages in order; the one place they meet.

scenario -> load -> enrich -> segment -> problem -> (design) -> solve -> (routing) -> judge -> territories ->
results; `io.write` then puts the run on disk. Each stage is a plain function in its own package (`io`,
`prepare`, `model`, `solve`, `routing`, `results`); this module only orders and times them. Nothing here prints.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from .config import Scenario
from .edits import edit_locks, infeasible_with_edits, read_edits
from .errors import InfeasibleError
from .executor import PartProgress, StageExecutors, stage_executors
from .io.run_files import read_previous_assignments
from .metrics import check, schedule_violations
from .model.build import rep_capacity_s, with_baseline
from .preparation import Progress, Timings, prepare
from .prepare.prepared import Prepared
from .results.assemble import RunContext, assemble_run, territory_shapes
from .results.run import RunResult
from .routing.cycle import RoutingOutcome
from .routing.stage import build_travel, opening_windows, route_cycle, routed_needs, routing_settings
from .routing.travel import NetworkTravel
from .solve import Budget, Result, SolveParams, solve
from .solve.centres import DesignedHomes, design_homes
from .solve.drive_bands import settle_drive_bands


def run_scenario(scenario: Scenario, *, seed: int | None = None, time_limit_s: float | None = None,
                 progress: Progress | None = None, previous: Path | None = None, strict: bool = False,
                 executors: StageExecutors | None = None, parts: PartProgress | None = None,
                 edits: Path | None = None) -> RunResult:
    """Run the whole pipeline in memory; `io.write.write_outputs` puts the result on disk. With `previous` (a run
    folder), changes are counted against its assignments instead of the customers' current_rep_id. Independent parts
    run on `executors` (default: what `scenario.executor` asks for, started and closed here; see executor.py).
    `progress` hears of each stage, `parts` of each part of a stage as it finishes (layers, solve parts, reps'
    cycles, teams' shapes). `edits` (an edits.csv, edits.py) become locks; edits that no longer apply are warnings."""
    if executors is not None:
        executors.report_parts(parts)
        try:
            return _run_scenario(scenario, executors, seed=seed, time_limit_s=time_limit_s, progress=progress,
                                 previous=previous, strict=strict, parts=parts, edits=edits)
        finally:
            executors.report_parts(None)
    with stage_executors(scenario.executor, solver_workers=scenario.solver.workers,
                         routing_workers=scenario.routing.workers) as owned:
        owned.start()  # an unreachable Dask scheduler stops the run here, before any work
        owned.report_parts(parts)
        return _run_scenario(scenario, owned, seed=seed, time_limit_s=time_limit_s, progress=progress,
                             previous=previous, strict=strict, parts=parts, edits=edits)


def solve_params(scenario: Scenario) -> SolveParams:
    """The assignment engine's settings from the scenario."""
    return SolveParams(workers=scenario.solver.workers, candidate_reps=scenario.rules.candidate_reps,
                       contiguity_weight=scenario.rules.contiguity_weight)


def solve_budget(scenario: Scenario, time_limit_s: float | None = None) -> Budget:
    """The solver's work budget from the scenario (`--time-limit` overrides it)."""
    return Budget(work_s=time_limit_s or scenario.solver.time_limit_s)


def design_stage(prepared: Prepared, budget: Budget, params: SolveParams,
                 seed: int) -> tuple[Prepared, DesignedHomes]:
    """Design mode: choose the territory centres, and move the reps' homes there."""
    assert budget.work_s is not None
    design = design_homes(prepared.problem, time_limit_s=budget.work_s, seed=seed,
                          candidate_reps=params.candidate_reps)
    prepared = dataclasses.replace(prepared, problem=prepared.problem.replace(rep_xy=design.rep_xy))
    if isinstance(prepared.travel, NetworkTravel):  # homes moved: snap them again
        travel, _ = build_travel(prepared.scenario, prepared.inputs, prepared.problem, [])
        prepared = dataclasses.replace(prepared, travel=travel)
    return prepared, design


def settled_bands(prepared: Prepared, budget: Budget) -> Prepared:
    """The bands over the drive a balanced alignment causes (solve/drive_bands.py), once homes and baseline are
    final (design mode moves homes; continuity steers the LP)."""
    problem, bands = settle_drive_bands(prepared.problem, rep_capacity_s(prepared.inputs.reps),
                                        prepared.scenario.rules.balance_tolerance, budget)
    if bands is None:
        return prepared
    return dataclasses.replace(prepared, problem=problem, drive_bands=bands.summary(problem.team_names))


def judge(prepared: Prepared, result: Result, routing: RoutingOutcome | None) -> None:
    """`metrics.py` checks every hard rule (and the call plan) from the alignment alone: a violation is a solver
    bug, never a user error."""
    problem = prepared.problem
    violations = check(problem, result.assignment)
    if "contiguity_failed" in result.stats:  # the engine kept the relaxed alignment: a warning (assemble_run)
        violations = [v for v in violations if v.rule != "contiguity"]
    if routing is not None:
        window_open, window_close = opening_windows(prepared)
        violations += schedule_violations(problem, result.assignment, routing.plans,
                                          routing_settings(prepared), window_open, window_close,
                                          routed_needs(prepared))
    if violations:
        raise BrokenAlignment("solver returned an alignment breaking hard rules: "
                              + "; ".join(v.message for v in violations[:5]))


class BrokenAlignment(RuntimeError):
    """The judge found a hard rule broken: a solver bug, unless the night's edits (locks) asked for the impossible."""


def _run_scenario(scenario: Scenario, executors: StageExecutors, *, seed: int | None, time_limit_s: float | None,
                  progress: Progress | None, previous: Path | None, strict: bool,
                  parts: PartProgress | None = None, edits: Path | None = None) -> RunResult:
    started = time.perf_counter()
    timings = Timings()
    baseline = None if previous is None else read_previous_assignments(previous)  # before any work: fail early
    if edits is not None and Path(edits).exists():  # a malformed file fails before any work (a missing one warns)
        read_edits(edits)
    prepared = prepare(scenario, timings, progress, parts)
    if baseline is not None:  # last night's plan is today's alignment: continuity holds to it
        prepared = dataclasses.replace(prepared, problem=with_baseline(prepared.problem, baseline, scenario))
    unedited, edit_counts = prepared, None
    if edits is not None:  # this morning's hand edits hold tonight: locks
        prepared, _, edit_counts = edit_locks(prepared, edits)
    seed = scenario.solver.seed if seed is None else seed
    params, budget = solve_params(scenario), solve_budget(scenario, time_limit_s)
    design, homes_before = None, prepared.problem.rep_xy
    if scenario.mode == "design":
        with timings.stage("design", progress):
            prepared, design = design_stage(prepared, budget, params, seed)

    def solved(prepared: Prepared) -> tuple[Prepared, Result, RoutingOutcome | None]:
        with timings.stage("solve", progress):
            prepared = settled_bands(prepared, budget)
            result = solve(prepared.problem, budget, seed=seed, params=params, executor=executors.solve)
        routing = None
        if scenario.routing.enabled:
            with timings.stage("routing", progress):
                routing, result = route_cycle(prepared, result, budget, params, seed, executors.routing)
            prepared = dataclasses.replace(prepared, problem=routing.problem)
        judge(prepared, result, routing)
        return prepared, result, routing

    try:
        prepared, result, routing = solved(prepared)
    except (InfeasibleError, BrokenAlignment) as exc:
        if edits is None or edit_counts is None or not edit_counts["applied"]:
            raise
        # the edits' locks together leave no plan keeping every rule: the night goes on without them, and says so
        prepared = dataclasses.replace(unedited, warnings=(*unedited.warnings, infeasible_with_edits(edits, exc)))
        edit_counts = {**edit_counts, "applied": 0, "not_applied": edit_counts["rows"], "locked_needs": 0}
        prepared, result, routing = solved(prepared)
    with timings.stage("territories", progress):
        assignments, territories = territory_shapes(prepared, result, executors.territories)
    context = RunContext(seed=seed, time_limit_s=float(budget.work_s or 0.0), previous=previous, strict=strict,
                         timings=timings.seconds, part_times=executors.part_times,
                         started=started)
    run = assemble_run(prepared, result, assignments, territories, context, routing=routing, design=design,
                       homes_before=homes_before, baseline=baseline)
    return run if edit_counts is None else dataclasses.replace(run, kpis={**run.kpis, "edits": edit_counts})


def default_out_dir(scenario: Scenario, out: Path | None) -> Path:
    """`--out` when given, else the scenario's `output.dir` (already relative to the scenario file)."""
    return Path(os.path.normpath(Path(out) if out is not None else scenario.output.dir))
