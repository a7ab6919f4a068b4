"""edits.csv: read with every malformed row named, turned into locks by `run --edits` (stale edits become warnings,
the run goes on), applied by `apply` (unknown names refused with exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from territory_opt.cli import app
from territory_opt.config import load_scenario
from territory_opt.edits import EDIT_COLUMNS, Edit, edit_locks, read_edits, write_edits
from territory_opt.errors import InputError
from territory_opt.io.write import write_outputs
from territory_opt.model.problem import NO_REP
from territory_opt.pipeline import run_scenario
from territory_opt.results.edit_panel import hours_text
from territory_opt.results.run import RunResult

from .conftest import CUSTOMER_COLUMNS, REP_COLUMNS, tiny_customers, tiny_reps, tiny_scenario_dict, write_csv

RUNNER = CliRunner()
HEADER = ",".join(EDIT_COLUMNS)


@pytest.fixture(scope="module")
def morning(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult, Path]:
    folder = tmp_path_factory.mktemp("edits")
    write_csv(folder / "customers.csv", tiny_customers(), CUSTOMER_COLUMNS)
    write_csv(folder / "reps.csv", tiny_reps(), REP_COLUMNS)
    scenario = folder / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(tiny_scenario_dict(), sort_keys=False), encoding="utf-8")
    run = run_scenario(load_scenario(scenario), seed=0, time_limit_s=2)
    return scenario, run, write_outputs(run, folder / "morning", scenario_path=scenario)


def field_unit(run: RunResult) -> tuple[str, str, str]:
    """A field unit, its rep and another field rep."""
    problem, units = run.prepared.problem, run.prepared.units
    assert units is not None and problem.need_unit is not None
    need = int(np.flatnonzero(problem.need_team == problem.team_names.index("field"))[0])
    rep = str(problem.rep_ids[run.result.assignment[need]])
    other = next(r for r in ("F1", "F2", "F3") if r != rep)
    return str(units.ids[problem.need_unit[need]]), rep, other


@pytest.mark.parametrize(("text", "row", "field", "words"), [
    ("team,unit_id,note\n", 1, "", "missing column(s): rep_id"),
    ("team,rep_id\n", 1, "", "unit_id or customer_id"),
    (f"{HEADER}\nfield,U1,,,,,\n", 2, "rep_id", "every edit names a team and a rep"),
    (f"{HEADER}\nfield,U1,C001,F1,,,\n", 2, "unit_id", "exactly one"),
    (f"{HEADER}\nfield,,,F1,,,\n", 2, "unit_id", "exactly one"),
    (f"{HEADER}\nfield,U1,,F1,,,,extra\n", 2, "", "fields, the header has 7"),
])
def test_a_malformed_edits_file_is_named_by_row_and_field(tmp_path: Path, text: str, row: int, field: str,
                                                          words: str) -> None:
    path = tmp_path / "edits.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_edits(path)
    finding = caught.value.findings[0]
    assert (finding.row, finding.field) == (row, field) and words in finding.message
    assert str(path) in caught.value.render()


def test_edits_round_trip_through_the_file(tmp_path: Path) -> None:
    edits = [Edit(2, "field", "U1", "", "F2", 'a "quoted", note', "anna", "2026-12-07T05:00:00Z"),
             Edit(3, "field", "", "C007", "F1")]
    write_edits(edits, tmp_path / "edits.csv")
    assert read_edits(tmp_path / "edits.csv") == edits


def test_stale_edits_become_warnings_and_the_others_locks(morning: tuple[Path, RunResult, Path],
                                                          tmp_path: Path) -> None:
    _, run, _ = morning
    unit, _, other = field_unit(run)
    path = tmp_path / "edits.csv"
    path.write_text(f"{HEADER}\nfield,{unit},,{other},ok,,\nfield,UNOPE,,F1,,,\nfield,{unit},,GONE,,,\n"
                    f"field,{unit},,K1,,,\nsales,{unit},,F1,,,\n", encoding="utf-8")
    prepared, findings, counts = edit_locks(run.prepared, path)
    assert counts == {"file": "edits.csv", "rows": 5, "applied": 1, "not_applied": 4,
                      "locked_needs": counts["locked_needs"]}
    assert [(f.row, f.field) for f in findings] == [(3, "unit_id"), (4, "rep_id"), (5, "rep_id"), (6, "team")]
    assert all(f.message.startswith("edit not applied (") for f in findings)
    problem = prepared.problem
    locked = problem.need_locked_rep != NO_REP
    assert locked.sum() == counts["locked_needs"] >= 1
    assert set(problem.rep_ids[problem.need_locked_rep[locked]]) == {other}
    assert set(findings) <= set(prepared.warnings)


def test_run_with_stale_edits_goes_on_and_lists_them(morning: tuple[Path, RunResult, Path], tmp_path: Path) -> None:
    scenario, _, _ = morning
    path = tmp_path / "edits.csv"
    path.write_text(f"{HEADER}\nfield,UNOPE,,F1,,,\n", encoding="utf-8")
    done = RUNNER.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "night"), "--time-limit", "2",
                               "--quiet", "--edits", str(path)])
    assert done.exit_code == 0, done.output
    warnings = pd.read_csv(tmp_path / "night" / "warnings.csv", dtype=str, keep_default_na=False)
    stale = warnings[warnings["message"].str.startswith("edit not applied")]
    assert stale[["source", "row", "field"]].values.tolist() == [["edits.csv", "2", "unit_id"]]
    manifest = json.loads((tmp_path / "night" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["edits"]["not_applied"] == 1


def test_apply_refuses_an_unknown_rep_naming_row_and_field(morning: tuple[Path, RunResult, Path],
                                                           tmp_path: Path) -> None:
    _, run, folder = morning
    unit, _, other = field_unit(run)
    path = tmp_path / "edits.csv"
    path.write_text(f"{HEADER}\nfield,{unit},,{other},,,\nfield,{unit},,NOBODY,,,\n", encoding="utf-8")
    target = tmp_path / "published"
    done = RUNNER.invoke(app, ["apply", str(folder), str(path), "--out", str(target)])
    assert done.exit_code == 2
    assert f"{path}, row 3, field 'rep_id': rep 'NOBODY' is not in the roster" in done.output
    assert "Traceback" not in done.output and not target.exists()
    same = RUNNER.invoke(app, ["apply", str(folder), str(path), "--out", str(folder)])
    assert same.exit_code == 2 and "--out" in same.output


def test_apply_writes_an_edited_run_rechecked_by_metrics(morning: tuple[Path, RunResult, Path],
                                                         tmp_path: Path) -> None:
    _, run, folder = morning
    unit, rep, other = field_unit(run)
    path = tmp_path / "edits.csv"
    path.write_text(f"{HEADER}\nfield,{unit},,{other},,,\n", encoding="utf-8")
    target = tmp_path / "published"
    done = RUNNER.invoke(app, ["apply", str(folder), str(path), "--out", str(target)])
    assert done.exit_code == 0, done.output
    kpis = json.loads((target / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["status"] == "edited" and kpis["edited"]["edits"] == 1
    assert kpis["edited"]["moved_customer_teams"] >= 1
    assignments = pd.read_csv(target / "assignments.csv", dtype=str, keep_default_na=False)
    assert set(assignments.loc[(assignments["team"] == "field") & (assignments["unit_id"] == unit), "rep_id"]) == {
        other}
    changes = pd.read_csv(target / "changes.csv", dtype=str, keep_default_na=False)
    assert set(changes["new_rep_id"]) == {other} and set(changes["old_rep_id"]) == {rep}
    assert set(changes["reason"]) == {"edit"} and kpis["changes"]["by_reason"] == {"edit": len(changes)}
    for name in ("report.html", "territories.geojson", "units.geojson", "reps.csv", "manifest.json"):
        assert (target / name).is_file()


def test_hours_round_half_up_on_whole_seconds() -> None:
    assert [hours_text(s) for s in (0, 17, 18, 3600, 4050, 4086, 359999)] == [
        "0.00", "0.00", "0.01", "1.00", "1.13", "1.14", "100.00"]


def test_edits_that_leave_no_feasible_plan_are_dropped_and_the_night_goes_on(
        morning: tuple[Path, RunResult, Path], tmp_path: Path) -> None:
    scenario, run, _ = morning
    problem, units = run.prepared.problem, run.prepared.units
    assert units is not None and problem.need_unit is not None
    field = problem.need_unit[problem.need_team == problem.team_names.index("field")]
    path = tmp_path / "edits.csv"  # every field unit to F1: far beyond its band
    path.write_text(HEADER + "\n" + "".join(f"field,{units.ids[u]},,F1,,,\n" for u in sorted(set(field.tolist()))),
                    encoding="utf-8")
    done = RUNNER.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "night"), "--time-limit", "2",
                               "--quiet", "--edits", str(path)])
    assert done.exit_code == 0, done.output
    kpis = json.loads((tmp_path / "night" / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["edits"]["applied"] == 0 and kpis["violations"] == 0
    warnings = (tmp_path / "night" / "warnings.csv").read_text(encoding="utf-8")
    assert "edit not applied (all edits)" in warnings


def test_a_missing_edits_file_warns_and_the_night_goes_on(morning: tuple[Path, RunResult, Path],
                                                          tmp_path: Path) -> None:
    _, run, _ = morning
    prepared, findings, counts = edit_locks(run.prepared, tmp_path / "edits.csv")
    assert counts["rows"] == 0 and [f.message for f in findings] == ["edits file not found: no edits applied tonight"]
    assert prepared.problem is run.prepared.problem
