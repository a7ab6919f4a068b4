"""The `territory-opt` command line: thin shells over plain functions.

Only this module prints or exits. Typed errors become one clear message and their documented exit code
(DESIGN.md section 8); anything else is a bug, reported as exit code 1 without a traceback unless
TERRITORY_OPT_DEBUG=1.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from . import __version__
from .errors import EXIT_CODES, Finding, TerritoryOptError
from .io.runs import Terminated
from .runlog import RunLog

app = typer.Typer(
    name="territory-opt",
    help="Design sales territories and assign reps to customers from a YAML scenario.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")


def _guarded(action: Callable[[], T], on_error: Callable[[int, str], None] | None = None) -> T:
    """Run a command body, turning errors into a message on stderr and the documented exit code (`on_error` also
    hears of it, e.g. to log it or print a JSON line)."""
    def fail(code: int, message: str) -> typer.Exit:
        if on_error is not None:
            on_error(code, message)
        return typer.Exit(code)

    try:
        return action()
    except TerritoryOptError as exc:
        err.print(f"[bold red]error[/] ({exc.exit_code}): {exc.render()}", markup=True)
        raise fail(exc.exit_code, exc.render()) from None
    except KeyboardInterrupt:
        err.print("interrupted: temporary files removed, the previous answer kept")
        raise fail(130, "interrupted") from None
    except Terminated:
        err.print("terminated: temporary files removed, the previous answer kept")
        raise fail(143, "terminated") from None
    except typer.Exit:
        raise
    except Exception as exc:
        if os.environ.get("TERRITORY_OPT_DEBUG"):
            raise
        err.print(f"[bold red]internal error[/] (1): {type(exc).__name__}: {exc}\n"
                  "This is a bug in territory-opt; set TERRITORY_OPT_DEBUG=1 for the traceback and report it.",
                  markup=True)
        raise fail(1, f"internal error: {type(exc).__name__}: {exc}") from None


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


@app.command()
def run(
    scenario: ScenarioArg,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder (default: the scenario's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the scenario's).")] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Solver work budget, deterministic seconds (about wall s).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    previous: Annotated[str | None, typer.Option(
        "--previous", help="A previous run folder, or `auto` for the output's `latest` run (layout: runs): "
        "changes.csv compares against its assignments instead of the customers' current_rep_id.")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Fail (exit 2, nothing written) when the run raises any warning.")] = False,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a scenario key, e.g. --set routing.enabled=true --set rules.balance_weight=30 "
        "(values read as YAML; recorded in manifest.json).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one machine-readable summary line on stdout (also for errors), for cron and scripts."
    )] = False,
    log_file: Annotated[Path | None, typer.Option(
        "--log-file", help="Append timestamped progress, warnings and the summary to this file.")] = None,
    sandbox_root: Annotated[list[Path] | None, typer.Option(
        "--sandbox-root", help="Refuse (exit 2) any input, matrix or output path of the scenario, or --out, that "
        "lies outside these folders (repeatable; symlinks followed).")] = None,
    edits: Annotated[Path | None, typer.Option(
        "--edits", help="An edits.csv from the report's edit mode: each edit becomes locks for this run; an edit "
        "that no longer applies is listed in warnings.csv and the run goes on.")] = None,
) -> None:
    """Run a scenario end to end and write the output folder."""
    from .config import load_scenario, paths_outside
    from .errors import ConfigError
    from .io.runs import (
        latest_run,
        output_lock,
        point_latest,
        remove_dead_temporaries,
        run_folder,
        run_id,
        terminate_as_exception,
    )
    from .io.write import write_outputs
    from .pipeline import default_out_dir, run_scenario

    log = RunLog(log_file, quiet=quiet or as_json, console=err)

    def body() -> None:
        with log:  # the bars stop before any message is printed
            solve(log)

    def solve(progress: RunLog) -> None:
        loaded = load_scenario(scenario, overrides or ())
        root = default_out_dir(loaded, out_dir)
        if sandbox_root:
            outside = paths_outside(loaded.model_copy(update={"output": loaded.output.model_copy(
                update={"dir": root})}), sandbox_root)
            if outside:
                raise ConfigError(outside)
        nightly = loaded.output.layout == "runs"
        with terminate_as_exception(), output_lock(root):
            remove_dead_temporaries(root.parent)
            if nightly:
                remove_dead_temporaries(root / "runs")
                remove_dead_temporaries(root)
            baseline = None if previous is None else (latest_run(root) if previous == "auto" else Path(previous))
            if previous == "auto" and baseline is None:
                progress.info(f"--previous auto: no earlier run in {root} yet; changes are counted against the "
                              "customers' current_rep_id")
            result = run_scenario(loaded, seed=seed, time_limit_s=time_limit, progress=progress.stage,
                                  previous=baseline, strict=strict, parts=progress.parts, edits=edits)
            progress.line(f"crs: {result.prepared.inputs.projection_note}")
            for note in result.prepared.inputs.notes:
                progress.info(f"note: {note}")
            name = run_id(loaded.source_sha256)
            target = run_folder(root, name) if nightly else root
            progress.stage("write")
            write_outputs(result, target, scenario_path=scenario, run_id=name)
            if nightly:
                point_latest(root, target)
        for finding in result.prepared.warnings:
            log.warning(str(finding), echo=not as_json)
        k = result.kpis
        summary = run_summary(k, target, result.prepared.warnings)
        log.done(summary)
        if as_json:
            print(json.dumps(summary, sort_keys=True))
        elif not quiet:
            out.print(
                f"{k['status']}: {k['n_customers']} customers, {k['n_reps']} reps; travel "
                f"{k['travel_visit_km']:,.0f} visit-km, gap {100 * float(k['gap']):.2f}% "
                f"(bound over {k['bound_scope']}), max workload deviation "
                f"{100 * float(k['max_workload_deviation']):.1f}%; {k['runtime_s']} s -> {target}"
            )

    _guarded(body, on_error=lambda code, message: _report_error(log, as_json, code, message))


def _report_error(log: RunLog, as_json: bool, code: int, message: str) -> None:
    log.line(f"error ({code}): {message}")
    if as_json:
        print(json.dumps({"status": "error", "exit_code": code, "message": message}, sort_keys=True))


JSON_WARNINGS = 50  # --json lists this many warnings in full (warnings.csv has them all)


def run_summary(kpis: dict[str, Any], target: Path, warnings: Sequence[Finding] = ()) -> dict[str, Any]:
    """The one-line summary `--json` prints and `--log-file` ends with: the headline kpis, and the warnings (each
    with its field, the kind of setting or column it is about, and its text; the first JSON_WARNINGS of them)."""
    keys = ("status", "engine", "objective", "gap", "travel_visit_km", "max_workload_deviation",
            "mean_workload_deviation", "n_customers", "n_reps", "moved_customers", "n_warnings", "runtime_s")
    return {**{key: kpis.get(key) for key in keys}, "exit_code": 0, "out": str(target),
            "changed_customers": (kpis.get("changes") or {}).get("customers"),
            "warnings": [{"field": f.field, "message": str(f)} for f in warnings[:JSON_WARNINGS]]}


@app.command()
def explain(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.", show_default=False)],
    customer_id: Annotated[str, typer.Argument(help="The customer to explain.", show_default=False)],
    scenario: Annotated[Path | None, typer.Option(
        help="The scenario the run was made from (default: the one its manifest.json records).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of text.")] = False,
) -> None:
    """Why a customer has its reps: teams, candidate reps with distance and cost, the rules excluding the others."""
    from .config import load_scenario
    from .io.run_files import read_run_json, read_run_table
    from .preparation import prepare
    from .results.explain import as_in_run, check_inputs_unchanged, explain_customer, scenario_of_run

    def body() -> None:
        manifest = read_run_json(run_dir, "manifest.json")
        path, overrides = scenario_of_run(run_dir, manifest) if scenario is None else (scenario, ())
        prepared = prepare(load_scenario(path, overrides))
        prepared = as_in_run(prepared, run_dir)
        assignments = read_run_table(run_dir, "assignments.csv", ("customer_id", "team", "rep_id"))
        report = explain_customer(prepared, assignments, customer_id)
        report["inputs_changed_since_run"] = check_inputs_unchanged(prepared, manifest)
        if as_json:
            out.print_json(json.dumps(report, sort_keys=True, default=str))
            return
        _print_explanation(report)

    _guarded(body)


def _print_explanation(report: dict[str, Any]) -> None:
    facts = ", ".join(f"{k} {v}" for k, v in report["facts"].items() if v not in (None, ""))
    out.print(f"[bold]{report['customer_id']}[/]: {facts}", markup=True)
    if report["inputs_changed_since_run"]:
        out.print(f"[yellow]inputs changed since the run: {', '.join(report['inputs_changed_since_run'])}[/]",
                  markup=True)
    for team in report["teams"]:
        out.print(f"team {team['team']}: {team['status']} ({team['because']})")
    for need in report["needs"]:
        moved = f", moved from {need['current_rep_id']}" if need["moved"] else ""
        out.print(f"\n[bold]{need['team']}[/]: {need['rep_id']} ({need['workload_hours']} h per cycle{moved})",
                  markup=True)
        if "unit" in need:
            unit = need["unit"]
            out.print(f"  unit {unit['unit_id']} ({unit['source']}): {unit['why']}", markup=False)
        for c in need["candidates"]:
            mark = "->" if c["chosen"] else "  "
            why = "; ".join(c["ruled_out_by"]) or ("chosen" if c["chosen"] else f"allowed: {_move_text(c['move'])}")
            out.print(f"  {mark} {c['rep_id']:<10} {c['road_km']:>8.1f} km  cost {c['cost']:>9.2f}  {why}")
        if need["moved"]:
            back = need["move_back"]
            out.print(f"  moving it back to {need['current_rep_id']}: {_move_text(back, back['blocked_by'])}; "
                      f"{back['note']}"
                      + (f" ({'; '.join(back['blocked_by'])})" if back["blocked_by"] else ""))
    if "programme" in report:  # programmes: the customer's programme and why (results/programmes.py)
        out.print(f"\n[bold]programme[/]: {report['programme']['programme']}", markup=True)
        for line in report["programme"]["why"]:
            out.print(f"  {line}", markup=False)


def _move_text(move: dict[str, Any], blocked: list[str] | None = None) -> str:
    """One move's effect on the objective, its parts named: cost (travel, continuity) and workload balance."""
    text = (f"{move['extra_cost']:+.2f} visit-km (cost {move['cost_change']:+.2f}, workload balance "
            f"{move['balance_change']:+.2f})")
    if move["extra_cost"] < 0 and not blocked:  # a blocked move says its own reason
        text += ", better on its own: the solver stopped within its gap, or compactness keeps it"
    return text


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="The earlier run folder.", show_default=False)],
    run_b: Annotated[Path, typer.Argument(help="The later run folder.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of tables.")] = False,
) -> None:
    """Compare two run folders: KPI deltas, moved customers, each rep's workload."""
    from .results.compare import compare_runs

    def body() -> None:
        report = compare_runs(run_a, run_b)
        if as_json:
            out.print_json(json.dumps(report, sort_keys=True))
            return
        from rich.table import Table

        kpi_table = Table(title=f"KPIs: {report['a']} -> {report['b']}")
        for name in ("kpi", "a", "b", "b - a"):
            kpi_table.add_column(name, justify="left" if name == "kpi" else "right")
        for row in report["kpis"]:
            kpi_table.add_row(row["label"], *(_fmt(row[k]) for k in ("a", "b", "delta")))
        out.print(kpi_table)
        moved = report["moved"]
        out.print(f"{moved['customers']} customers ({moved['customer_teams']} customer-teams) have another rep in "
                  "the later run than in the earlier one")
        for row in moved["examples"]:
            out.print(f"  {row['customer_id']} ({row['team']}): {row['rep_a'] or '-'} -> {row['rep_b'] or '-'}")
        rep_table = Table(title="Reps")
        for name in ("rep", "team", "hours a", "hours b", "b - a", "customers a", "customers b"):
            rep_table.add_column(name, justify="left" if name in ("rep", "team") else "right")
        for row in report["reps"]:
            rep_table.add_row(row["rep_id"], row["team"], *(_fmt(row[k]) for k in (
                "workload_hours_a", "workload_hours_b", "delta_hours", "n_customers_a", "n_customers_b")))
        out.print(rep_table)

    _guarded(body)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


@app.command()
def apply(
    run_dir: Annotated[Path, typer.Argument(help="The run folder whose plan is edited.", show_default=False)],
    edits: Annotated[Path, typer.Argument(help="The edits.csv (the report's edit mode).", show_default=False)],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="The new run folder (default: RUN_DIR-edited beside it).")] = None,
    scenario: Annotated[Path | None, typer.Option(
        help="The scenario the run was made from (default: the one its manifest.json records).")] = None,
) -> None:
    """Write a new run folder with the edits applied to RUN_DIR's plan and re-checked by metrics.py (no
    optimisation), to publish an edited plan the same morning; `compare RUN_DIR NEW` shows what changed."""
    from .errors import Finding, InputError
    from .io.write import write_outputs

    def body() -> None:
        from .edits import edited_run

        target = out_dir if out_dir is not None else run_dir.parent / f"{run_dir.name}-edited"
        if target.resolve() == run_dir.resolve():
            raise InputError(Finding("is the run folder itself: an edited plan goes to a new folder", field="--out",
                                     source=str(target)))
        run, scenario_path = edited_run(run_dir, edits, scenario)
        write_outputs(run, target, scenario_path=scenario_path)
        info = run.kpis["edited"]
        out.print(f"edited: {info['edits']} edits, {info['moved_customer_teams']} customer-teams moved; "
                  + (f"{info['violations']} hard-rule violations ({', '.join(info['rules_broken'])}, listed in "
                     "warnings.csv)" if info["violations"] else "every hard rule holds")
                  + f"; travel {run.kpis['travel_visit_km']:,.0f} visit-km -> {target}")

    _guarded(body)


@app.command()
def validate(
    scenario: ScenarioArg,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a scenario key as `run --set` does, to check what tonight's run will use.")] = None,
) -> None:
    """Load and check the scenario and every input; solve nothing; list every problem found. The nightly
    pre-flight: also checks the database sink takes this login and the Dask scheduler answers."""
    from .config import load_scenario
    from .preparation import prepare
    from .solve.diagnose import capacity_findings

    def body() -> None:
        loaded = load_scenario(scenario, overrides or ())
        prepared = prepare(loaded)
        for note in prepared.inputs.notes:
            err.print(f"note: {note}", markup=False)
        for finding in prepared.warnings:
            err.print(f"[yellow]warning[/]: {finding}", markup=True)
        short = capacity_findings(prepared.problem)
        if short:
            from .errors import InfeasibleError

            raise InfeasibleError(short)
        if loaded.output.database is not None:  # a nightly pre-flight: the sink answers and takes our login
            from .io.postgis import check_writable

            check_writable(loaded.output.database)
        if loaded.executor.kind == "dask" and loaded.executor.scheduler:  # the cluster answers
            from .executor import DaskExecutor

            with DaskExecutor(scheduler=loaded.executor.scheduler) as cluster:
                cluster.start()
        p = prepared.problem
        out.print(f"ok: {p.n_customers} customers, {p.n_reps} reps, {len(p.team_names)} teams, "
                  f"{p.n_needs} customer-team needs, CRS {prepared.inputs.projection_note}")

    _guarded(body)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the starter scenario in.")],
    force: Annotated[bool, typer.Option(help="Write into a folder that is not empty.")] = False,
) -> None:
    """Write a working scenario and its sample data into DIRECTORY, to start from a copy."""
    from .sample import write_starter

    def body() -> None:
        path = write_starter(directory, force=force)
        out.print(f"wrote {path}; try: territory-opt run {path}")

    _guarded(body)


@app.command()
def schema(
    markdown: Annotated[bool, typer.Option(help="Print a Markdown table of every key instead.")] = False,
) -> None:
    """Print the scenario's JSON Schema (for editors), or with --markdown the reference table."""
    from .config import scenario_json_schema, scenario_reference

    if markdown:
        sys.stdout.write(scenario_reference())
        return
    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command("exit-codes")
def exit_codes() -> None:
    """List the exit codes and what they mean."""
    for code, meaning in EXIT_CODES.items():
        out.print(f"{code}  {meaning}")


def _version(value: bool) -> None:
    if value:
        out.print(f"territory-opt {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version.")] = False,
) -> None:
    """Design sales territories and assign reps to customers from a YAML scenario."""


def main() -> None:
    try:
        app()
    except SystemExit as exc:
        # stopped by a signal: the cleanup ran on the way here; a native solver thread that has not returned (or a
        # thread pool of OR-Tools) would make the interpreter's shutdown abort ("terminate called without an active
        # exception", exit 134), so the process ends at once with its documented code
        if exc.code in (130, 143):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exc.code)
        raise
