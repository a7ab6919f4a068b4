"""Hand edits of a plan: the `edits.csv` the report's edit mode downloads, read, checked and applied.

One row per edit, in the order they were made (a later row wins where two move the same customers):
`team,unit_id,customer_id,rep_id,note,author,timestamp`: give every customer of `team` in alignment unit `unit_id`
(or the one customer `customer_id`, where the run has no units) to rep `rep_id`. `note`, `author` and `timestamp`
are kept for the record.

Two uses:
- `run --edits FILE` (`edit_locks`): each edit becomes locks of its customers' needs in that team for the next run;
  an edit that no longer applies (team, unit, customer or rep gone, rep in another team, a customer locked
  elsewhere, or a rule the move alone breaks: boundary pin, `max_km`, skills, exclusion) is left out and reported in
  warnings.csv (`edit not applied: ...`), and the night goes on;
- `apply RUN_DIR EDITS` (`apply_edits`): the run's plan with the edits applied, re-checked by `metrics.py`, no
  optimisation; an edit naming an unknown team, unit, customer or rep is refused (exit 2, naming its row and field).
"""

from __future__ import annotations

import csv
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import Finding, InputError, TerritoryOptError
from .model.problem import NO_REP, Problem
from .prepare.prepared import Prepared

if TYPE_CHECKING:
    from .results.run import RunResult

EDIT_COLUMNS = ("team", "unit_id", "customer_id", "rep_id", "note", "author", "timestamp")
REQUIRED = ("team", "rep_id")


@dataclass(frozen=True)
class Edit:
    row: int  # the row number in the file (the header is row 1)
    team: str
    unit_id: str
    customer_id: str
    rep_id: str
    note: str = ""
    author: str = ""
    timestamp: str = ""

    @property
    def what(self) -> str:
        return f"unit {self.unit_id}" if self.unit_id else f"customer {self.customer_id}"


@dataclass(frozen=True)
class Resolved:
    """An edit against a problem: the needs it moves and to which rep; `problem` says why it does not apply
    (empty when it does) and `field` which of the edit's fields it is about."""

    edit: Edit
    needs: np.ndarray
    rep: int
    problem: str = ""
    field: str = ""


def read_edits(path: Path) -> list[Edit]:
    """The edits of an edits.csv, every malformed row listed at once (InputError, exit 2)."""
    path = Path(path)
    source = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise InputError(Finding("edits file not found", source=source)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(Finding(f"cannot read the edits file ({type(exc).__name__})", source=source)) from None
    if not rows:
        raise InputError(Finding("the edits file is empty (expected the header "
                                 f"{','.join(EDIT_COLUMNS)})", source=source, row=1))
    header = [h.strip() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if "unit_id" not in header and "customer_id" not in header:
        missing.append("unit_id or customer_id")
    if missing:
        raise InputError(Finding(f"missing column(s): {', '.join(missing)} (expected {','.join(EDIT_COLUMNS)})",
                                 source=source, row=1))
    findings, edits = [], []
    for number, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            findings.append(Finding(f"{len(values)} fields, the header has {len(header)}", source=source,
                                    row=number))
            continue
        record = {c: "" for c in EDIT_COLUMNS} | {h: v.strip() for h, v in zip(header, values, strict=False)}
        for field in REQUIRED:
            if not record[field]:
                findings.append(Finding("empty; every edit names a team and a rep", source=source, row=number,
                                        field=field))
        if bool(record["unit_id"]) == bool(record["customer_id"]):
            findings.append(Finding("give either a unit_id or a customer_id (exactly one)", source=source,
                                    row=number, field="unit_id"))
        edits.append(Edit(number, *(record[c] for c in EDIT_COLUMNS)))
    if findings:
        raise InputError(findings)
    return edits


def write_edits(edits: list[Edit], path: Path) -> None:
    """An edits.csv (the report's download has the same columns)."""
    frame = pd.DataFrame([[getattr(e, c) for c in EDIT_COLUMNS] for e in edits], columns=list(EDIT_COLUMNS))
    frame.to_csv(path, index=False, lineterminator="\n")


def resolve(prepared: Prepared, edits: list[Edit]) -> list[Resolved]:
    """Each edit's needs and rep in this problem, or why it does not apply (gone, or the rep in another team)."""
    problem = prepared.problem
    team_index = {name: t for t, name in enumerate(problem.team_names)}
    rep_index = {str(r): i for i, r in enumerate(problem.rep_ids)}
    customer_index = {str(c): i for i, c in enumerate(problem.customer_ids)}
    unit_index: dict[str, int] = {}
    if prepared.units is not None and problem.need_unit is not None:
        unit_index = {str(u): i for i, u in enumerate(prepared.units.ids)}
    empty = np.zeros(0, dtype=np.int64)
    out = []
    for edit in edits:
        team, rep = team_index.get(edit.team), rep_index.get(edit.rep_id, NO_REP)
        if team is None:
            out.append(Resolved(edit, empty, rep, f"team {edit.team!r} is not in the scenario", "team"))
            continue
        if rep == NO_REP:
            out.append(Resolved(edit, empty, rep, f"rep {edit.rep_id!r} is not in the roster", "rep_id"))
            continue
        if not problem.rep_in_team[rep, team]:
            out.append(Resolved(edit, empty, rep, f"rep {edit.rep_id!r} is not in team {edit.team!r}", "rep_id"))
            continue
        in_team = problem.need_team == team
        if edit.unit_id:
            unit = unit_index.get(edit.unit_id)
            if unit is None:
                why = ("the run has no alignment units" if not unit_index
                       else f"unit {edit.unit_id!r} is not among the alignment units")
                out.append(Resolved(edit, empty, rep, why, "unit_id"))
                continue
            assert problem.need_unit is not None
            needs = np.flatnonzero(in_team & (problem.need_unit == unit))
            if not len(needs):
                out.append(Resolved(edit, empty, rep, f"team {edit.team!r} has no customers in unit "
                                                      f"{edit.unit_id!r}", "unit_id"))
                continue
        else:
            customer = customer_index.get(edit.customer_id)
            if customer is None:
                out.append(Resolved(edit, empty, rep, f"customer {edit.customer_id!r} is not among the customers",
                                    "customer_id"))
                continue
            needs = np.flatnonzero(in_team & (problem.need_customer == customer))
            if not len(needs):
                out.append(Resolved(edit, empty, rep, f"team {edit.team!r} does not cover customer "
                                                      f"{edit.customer_id!r}", "customer_id"))
                continue
        out.append(Resolved(edit, needs.astype(np.int64), rep))
    return out


def pair_problems(problem: Problem, needs: np.ndarray, rep: int) -> list[str]:
    """What giving `needs` to `rep` breaks on its own, whatever else the plan does: a customer locked to another rep,
    an exclusion, a product line the rep lacks, a boundary the rep is pinned inside, the team's `max_km`."""
    out = []
    locked = problem.need_locked_rep[needs]
    if ((locked != NO_REP) & (locked != rep)).any():
        out.append("a customer is locked to another rep (locked_rep_id)")
    if len(problem.excluded) and np.isin(needs * problem.n_reps + rep, problem.excluded).any():
        out.append("a customer must never get this rep (exclusion)")
    if problem.need_skills is not None and problem.rep_skills is not None and (
            problem.need_skills[needs] & ~problem.rep_skills[rep]).any():
        out.append("the rep does not carry a product line a customer buys (skills)")
    for k, kind in enumerate(problem.zone_kinds):
        pin, zone = problem.rep_zone[k, rep], problem.need_zone[k, needs]
        if pin >= 0 and ((zone >= 0) & (zone != pin)).any():
            out.append(f"the rep is pinned to {kind} {problem.zone_names[k][pin]} (boundary)")
    if problem.team_max_km is not None:
        reps = np.full(len(needs), rep, dtype=np.int64)
        km = problem.road_km(needs, reps)
        limit = problem.team_max_km[problem.need_team[needs]]
        if (km > limit).any():
            out.append(f"a customer is {float(km.max()):,.1f} km from the rep's home, beyond max_km "
                       f"{float(limit.max()):g}")
    return out


def _not_applied(edit: Edit, source: str, why: str, field: str) -> Finding:
    return Finding(f"edit not applied ({edit.team}, {edit.what} -> {edit.rep_id}): {why}", source=source,
                   row=edit.row, field=field)


def edit_locks(prepared: Prepared, path: Path) -> tuple[Prepared, list[Finding], dict[str, object]]:
    """`run --edits`: the prepared problem with each applicable edit's needs locked to its rep, the warnings for
    the edits left out, and the counts for kpis.json (`edits`). A missing file is a warning, not an error: the nightly
    command names the file whether or not anyone edited today."""
    if not Path(path).exists():
        missing = Finding("edits file not found: no edits applied tonight", source=str(path))
        return (dataclasses.replace(prepared, warnings=(*prepared.warnings, missing)), [missing],
                {"file": Path(path).name, "rows": 0, "applied": 0, "not_applied": 0, "locked_needs": 0})
    edits = read_edits(path)
    source = str(path)
    problem = prepared.problem
    locked = problem.need_locked_rep.copy()
    target = np.full(problem.n_needs, NO_REP, dtype=np.int64)
    findings, applied = [], 0
    for item in resolve(prepared, edits):
        why = [item.problem] if item.problem else pair_problems(problem, item.needs, item.rep)
        if why:
            findings.append(_not_applied(item.edit, source, "; ".join(why), item.field or "rep_id"))
            continue
        target[item.needs] = item.rep  # a later edit of the same customers wins
        applied += 1
    moved = target != NO_REP
    locked[moved] = target[moved]
    counts: dict[str, object] = {"file": Path(path).name, "rows": len(edits), "applied": applied,
                                 "not_applied": len(findings), "locked_needs": int(moved.sum())}
    out = dataclasses.replace(prepared, problem=problem.replace(need_locked_rep=locked),
                              warnings=(*prepared.warnings, *findings))
    return out, findings, counts


def infeasible_with_edits(path: Path, error: Exception) -> Finding:
    """The warning when the edits' locks together leave no plan keeping every rule (the solver proved it, or found
    none): the run then solves again without them."""
    why = error.render() if isinstance(error, TerritoryOptError) else str(error)
    return Finding(f"edit not applied (all edits): with them locked no plan keeping every rule was found ({why}); "
                   "tonight's plan ignores them", source=str(path), field="rep_id")


def apply_edits(prepared: Prepared, assignment: np.ndarray, path: Path) -> tuple[np.ndarray, list[Edit]]:
    """`apply`: the assignment with every edit applied in order; an edit naming an unknown team, unit, customer or
    rep (or a rep of another team) is refused with its row and field (InputError, exit 2), nothing written."""
    edits = read_edits(path)
    out = np.array(assignment, dtype=np.int64, copy=True)
    findings = []
    for item in resolve(prepared, edits):
        if item.problem:
            findings.append(Finding(item.problem, source=str(path), row=item.edit.row, field=item.field))
            continue
        out[item.needs] = item.rep
    if findings:
        raise InputError(findings)
    return out, edits


def run_assignment(problem: Problem, assignments: pd.DataFrame, source: str) -> np.ndarray:
    """(N,) each need's rep in a run's assignments.csv (customer_id, team, rep_id); a need the table lacks, or a rep
    the roster lacks, means the inputs changed since the run (InputError)."""
    reps = {str(r): i for i, r in enumerate(problem.rep_ids)}
    table = {(c, t): r for c, t, r in zip(assignments["customer_id"], assignments["team"], assignments["rep_id"],
                                          strict=True)}
    teams = np.asarray(problem.team_names, dtype=object)[problem.need_team]
    out = np.full(problem.n_needs, NO_REP, dtype=np.int64)
    missing = []
    for n, (customer, team) in enumerate(zip(problem.customer_ids[problem.need_customer].astype(str), teams,
                                             strict=True)):
        rep = reps.get(table.get((customer, team), ""), NO_REP)
        if rep == NO_REP:
            missing.append(f"{customer} ({team})")
        out[n] = rep
    if missing:
        raise InputError(Finding(f"{len(missing)} customer-teams of the scenario have no rep of the roster in the "
                                 f"run ({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}): the inputs "
                                 "changed since the run; edit tonight's run instead (run --edits)", source=source))
    return out


def edited_run(run_dir: Path, edits_path: Path, scenario: Path | None = None) -> tuple[RunResult, Path]:
    """`apply`: the run folder's plan with the edits applied, re-checked by `metrics.py` (no optimisation), as a run
    the writer takes (the scenario path with it, for the manifest). Rules the edited plan breaks are warnings and
    kpis.json's `edited.rules_broken`; changes.csv lists what the edits moved against the optimised run."""
    from .config import load_scenario
    from .io.run_files import read_previous_assignments, read_run_json
    from .metrics import check
    from .preparation import prepare
    from .results.assemble import RunContext, assemble_run, territory_shapes
    from .results.explain import as_in_run, scenario_of_run
    from .solve import Result
    from .solve.scaling import COST_SCALE, objective_units

    started = time.perf_counter()
    run_dir, edits_path = Path(run_dir), Path(edits_path)
    read_edits(edits_path)  # a malformed file fails before any work
    manifest, before = read_run_json(run_dir, "manifest.json"), read_run_json(run_dir, "kpis.json")
    path, overrides = scenario_of_run(run_dir, manifest) if scenario is None else (Path(scenario), ())
    prepared = prepare(load_scenario(path, overrides))
    prepared = as_in_run(prepared, run_dir)
    problem = prepared.problem
    baseline = read_previous_assignments(run_dir)
    assignment = run_assignment(problem, baseline, str(run_dir / "assignments.csv"))
    edited, edits = apply_edits(prepared, assignment, edits_path)
    broken = check(problem, edited)
    objective = objective_units(problem, edited) / COST_SCALE  # what the solver minimised, for this plan
    bound = float(before.get("bound") or 0.0)
    result = Result(assignment=edited, status="edited", objective=objective, bound=bound,
                    gap=max(0.0, (objective - bound) / objective) if objective > 0 else 0.0,
                    engine="edited (no solver)",
                    bound_scope=str(before.get("bound_scope", "")),
                    candidate_reps=int(before.get("candidate_reps") or 0),
                    stats={"edited_from": run_dir.name})
    assignments, territories = territory_shapes(prepared, result)
    prepared = dataclasses.replace(prepared, warnings=(*prepared.warnings, *(
        Finding(f"the edited plan breaks a hard rule ({v.rule}): {v.message}", source=str(edits_path),
                field=v.rule) for v in broken)))
    context = RunContext(seed=int(manifest.get("seed") or 0), time_limit_s=0.0, previous=None, strict=False,
                         timings={}, part_times=[], started=started)
    run = assemble_run(prepared, result, assignments, territories, context, baseline=baseline)
    changes = run.changes
    if changes is not None and len(changes):  # what the edits moved, named so (the rest cannot differ)
        changes = changes.assign(reason="edit")
    counted = {**run.kpis["changes"], "baseline": "the optimised run",
               "by_reason": {"edit": len(changes)} if changes is not None and len(changes) else {}}
    run = dataclasses.replace(run, changes=changes, kpis={**run.kpis, "changes": counted})
    edited_info = {"from_run": run_dir.name, "edits_file": edits_path.name, "edits": len(edits),
                   "moved_customer_teams": int((edited != assignment).sum()), "violations": len(broken),
                   "rules_broken": sorted({v.rule for v in broken}),
                   "bound": "the optimised run's"}
    return dataclasses.replace(run, kpis={**run.kpis, "edited": edited_info}), path
