"""The report's edit mode end to end, in real headless Chromium: enter edit mode, click a unit on the map, give it to
another rep, read the workload bars, numbers and rule warnings from the DOM (they must equal what metrics.py computes
for the edited plan, same rounding), undo, redo, export edits.csv, then `territory-opt run --edits` on the exported
file: the new run honours every edit and metrics.py accepts it; `apply` publishes the edited plan. Also what the
page shows around the numbers: the map while editing (no pale territory under the units, units without the team's
customers hatched), notes typed after the move or in the list of edits, the rules each edit broke when made, the
rows of reps breaking a rule, and the panel's team in step with the map's team buttons."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from territory_opt import metrics
from territory_opt.cli import app
from territory_opt.config import load_scenario
from territory_opt.edits import apply_edits
from territory_opt.io.write import write_outputs
from territory_opt.pipeline import run_scenario
from territory_opt.results.edit_panel import hours_text
from territory_opt.results.run import RunResult

from ..browser import CHROMIUM_FLAGS, chromium
from ..conftest import CUSTOMER_COLUMNS, REP_COLUMNS, tiny_customers, tiny_reps, tiny_scenario_dict, write_csv

RUNNER = CliRunner()

# Runs in the wrapper page once the report (in an iframe) has loaded: every step is a user's action on the DOM
# (the map's unit paths are clicked, the rep chosen in the select, the buttons pressed); the page's state is read
# back from the DOM after each step.
DRIVE = """
function rows(doc, id) {
  return Array.prototype.map.call(doc.querySelectorAll('#' + id + ' tbody tr'), function (tr) {
    var td = tr.querySelectorAll('td');
    return id === 'edit-reps' ? {rep: tr.dataset.rep, involved: tr.classList.contains('involved'),
      hours: td[2].dataset.hours, customers: +td[3].dataset.customers, value: +td[4].dataset.value,
      travel: td[5].dataset.travel, bar: td[1].querySelector('.edit-bar').style.width,
      band: td[1].querySelector('.band').style.width,
      rules: Array.prototype.map.call(td[6].querySelectorAll('.rule-broken'), function (s) { return s.textContent; })}
      : Array.prototype.map.call(td, function (c) {  // the note is an input; the rules, a list or 'all kept'
        var input = c.querySelector('input'), rules = c.querySelectorAll('.rule-broken');
        if (input) return input.value;
        return rules.length ? Array.prototype.map.call(rules, function (s) { return s.textContent; }) : c.textContent;
      });
  });
}
function snapshot(doc) { return {reps: rows(doc, 'edit-reps'), list: rows(doc, 'edit-list'),
                                  undo: !doc.getElementById('edit-undo').disabled,
                                  redo: !doc.getElementById('edit-redo').disabled}; }
function typeInto(win, node, text) {  // (nothing where the page has no such box)
  if (node) { node.value = text; node.dispatchEvent(new win.Event('input', {bubbles: true})); }
}
function text(node) { return node ? node.textContent : null; }
function teamButtons(doc) {  // the map's "territories: TEAM" buttons: {team: checked}
  var out = {};
  Array.prototype.forEach.call(doc.querySelectorAll('.leaflet-control-layers-selector'), function (r) {
    var name = r.parentNode.textContent.trim();
    if (name.indexOf('territories: ') === 0) out[name.slice(13)] = r.checked;
  });
  return out;
}
function territoriesShown(win, doc) {
  var pane = doc.querySelector('.leaflet-territories-pane');
  return !!pane && win.getComputedStyle(pane).display !== 'none';
}
function rowLook(win, tr) {  // how a row of the reps' table looks: its first cell's bar and its background
  return {bar: win.getComputedStyle(tr.cells[0]).boxShadow,
          background: win.getComputedStyle(tr.cells[2]).backgroundColor};
}
function click(win, node) {
  node.dispatchEvent(new win.MouseEvent('click', {bubbles: true, cancelable: true, view: win}));
}
function choose(win, doc, pick) {
  var select = doc.getElementById('edit-rep');
  var options = Array.prototype.filter.call(select.options, function (o) { return o.value && !o.disabled; });
  var option = pick === 'far' ? options[options.length - 1]
    : options.filter(function (o) { return o.value === pick; })[0];
  select.value = option.value;
  select.dispatchEvent(new win.Event('change', {bubbles: true}));
  return option.value;
}
var frame = document.getElementById('report');
frame.addEventListener('load', function () {
  var win = frame.contentWindow, doc = win.document, out = {steps: []};
  try {
    var t0 = win.performance.now();
    out.territoriesBefore = territoriesShown(win, doc);
    click(win, doc.getElementById('edit-toggle'));
    out.territoriesEditing = territoriesShown(win, doc);
    out.others = Array.prototype.map.call(doc.querySelectorAll('path.edit-other'), function (p) {
      return [p.getAttribute('data-item'), p.getAttribute('fill'), p.getAttribute('fill-opacity')]; });
    out.hatch = !!doc.querySelector('pattern#edit-hatch');
    out.legend = text(doc.getElementById('edit-legend'));
    var paths = doc.querySelectorAll('path.edit-item[data-item]');
    out.units = paths.length;
    out.team = doc.getElementById('edit-team').selectedOptions[0].textContent;
    // the first unit whose move breaks a rule, given to the farthest rep; then undone and redone
    var first = paths[0];
    out.first = first.getAttribute('data-item');
    click(win, first);
    out.selected = doc.getElementById('edit-selected').textContent;
    out.far = choose(win, doc, 'far');
    out.steps.push(snapshot(doc));
    click(win, doc.getElementById('edit-undo'));
    out.steps.push(snapshot(doc));
    click(win, doc.getElementById('edit-redo'));
    out.steps.push(snapshot(doc));
    click(win, doc.getElementById('edit-undo'));
    // the edit to keep (KEEP: a border unit to its neighbour, a move every rule allows), with a note
    var last = doc.querySelector('path.edit-item[data-item="' + KEEP.unit + '"]');
    out.kept = last.getAttribute('data-item');
    click(win, last);
    doc.getElementById('edit-note').value = 'closer to FX, agreed with the area manager';
    doc.getElementById('edit-author').value = 'anna';
    out.near = choose(win, doc, KEEP.rep);
    out.steps.push(snapshot(doc));
    out.fill = doc.querySelector('path.edit-item[data-item="' + out.kept + '"]').getAttribute('fill');
    out.ms = win.performance.now() - t0;
    out.exportEnabled = !doc.getElementById('edit-export').disabled;
    out.csv = win.territoryEdits.csv();
    // the map: every drawn item, its fill and opacity (the moved one among its new rep's)
    out.drawn = Array.prototype.map.call(doc.querySelectorAll('.edit-item'), function (p) {
      return [p.getAttribute('data-item'), p.getAttribute('fill'), p.getAttribute('fill-opacity')]; });
    out.territoriesAfterMove = territoriesShown(win, doc);
    // a second edit (the first unit to the farthest rep), its note typed after choosing the rep
    click(win, first);
    out.far2 = choose(win, doc, 'far');
    typeInto(win, doc.getElementById('edit-note'), 'typed after choosing, "quoted"');
    out.noteLabel = text(doc.getElementById('edit-note-label'));
    out.steps.push(snapshot(doc));
    out.csvTyped = win.territoryEdits.csv();
    out.looks = Array.prototype.map.call(doc.querySelectorAll('#edit-reps tbody tr'), function (tr) {
      var look = rowLook(win, tr); look.rep = tr.dataset.rep; look.involved = tr.classList.contains('involved');
      look.broken = tr.classList.contains('broken'); return look; });
    var row = doc.querySelector('#edit-reps tbody tr'), kept = row.className;  // each class alone, on one row
    out.lookAs = {};
    ['', 'involved', 'broken', 'involved broken'].forEach(function (c) {
      row.className = c; out.lookAs[c] = rowLook(win, row); });
    row.className = kept;
    // the first edit's note changed in the list of edits
    typeInto(win, doc.querySelector('#edit-list input[data-edit="0"]'), 'changed in the list');
    out.csvListed = win.territoryEdits.csv();
    // a third edit: the first unit back to the rep it was taken from; each row keeps what its own edit broke
    out.back = choose(win, doc, out.steps[4].list[1][3]);
    out.steps.push(snapshot(doc));
    click(win, doc.getElementById('edit-undo'));
    click(win, doc.getElementById('edit-undo'));
    click(win, doc.getElementById('edit-redo'));
    click(win, doc.getElementById('edit-redo'));
    out.csvRedone = win.territoryEdits.csv();
    out.listRedone = rows(doc, 'edit-list');
    // the panel's team and the map's team buttons, both ways
    var team = doc.getElementById('edit-team'), other = Array.prototype.filter.call(team.options, function (o) {
      return o.textContent !== 'field'; })[0];
    team.value = other.value; team.dispatchEvent(new win.Event('change', {bubbles: true}));
    out.buttonsOther = teamButtons(doc);
    out.otherTeam = other.textContent;
    out.drawnOther = Array.prototype.map.call(doc.querySelectorAll('.edit-item'), function (p) {
      return p.getAttribute('data-item'); });
    Array.prototype.forEach.call(doc.querySelectorAll('.leaflet-control-layers-selector'), function (r) {
      if (r.parentNode.textContent.trim() === 'territories: field') click(win, r); });
    out.teamFromMap = team.selectedOptions[0].textContent;
    out.buttonsField = teamButtons(doc);
    out.drawnField = doc.querySelectorAll('.edit-item').length;
    click(win, doc.getElementById('edit-toggle'));
    out.territoriesAfter = territoriesShown(win, doc);
  } catch (e) { out.error = String(e) + ' ' + (e.stack || ''); }
  var pre = document.createElement('pre'); pre.id = 'driven'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
"""


def drive(report: Path, work: Path, keep: tuple[str, str], width: int = 1400) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    wrapper = work / "drive.html"
    setup = f"var KEEP = {json.dumps({'unit': keep[0], 'rep': keep[1]})};"
    wrapper.write_text("<!doctype html><html><body style='margin:0'>"
                       f"<iframe id='report' src='{report.resolve().as_uri()}' "
                       f"style='width:{width}px;height:900px;border:0'></iframe><script>{setup}{DRIVE}</script>"
                       "</body></html>", encoding="utf-8")
    done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={work / 'profile'}",
                           "--allow-file-access-from-files", f"--window-size={width + 20},920",
                           "--dump-dom", wrapper.as_uri()], capture_output=True, text=True, timeout=180, check=False)
    found = re.search(r"<pre id=\"driven\">(.*?)</pre>", done.stdout, re.S)
    assert found is not None, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    assert "error" not in result, result["error"]
    return result


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("edit")
    write_csv(folder / "customers.csv", tiny_customers(80), CUSTOMER_COLUMNS)
    write_csv(folder / "reps.csv", tiny_reps(), REP_COLUMNS)
    (folder / "scenario.yaml").write_text(yaml.safe_dump(tiny_scenario_dict(), sort_keys=False), encoding="utf-8")
    return folder / "scenario.yaml"


@pytest.fixture(scope="module")
def morning(scenario: Path) -> tuple[RunResult, Path]:
    run = run_scenario(load_scenario(scenario), seed=0, time_limit_s=2)
    folder = write_outputs(run, scenario.parent / "morning", scenario_path=scenario)
    return run, folder


def edit_row(item: str, rep: str, kind: str = "unit") -> str:
    where = f"{item}," if kind == "unit" else f",{item}"
    return f"team,unit_id,customer_id,rep_id,note,author,timestamp\nfield,{where},{rep},,,\n"


def allowed_move(run: RunResult, work: Path) -> tuple[str, str]:
    """A field unit (a customer, without units) and another rep such that moving it breaks no rule (what a manager
    would keep)."""
    problem, units = run.prepared.problem, run.prepared.units
    field = problem.team_names.index("field")
    kind = "unit" if units is not None and problem.need_unit is not None else "customer"
    of_team = problem.need_unit if units is not None and problem.need_unit is not None else problem.need_customer
    for u in sorted(set(of_team[problem.need_team == field].tolist())):
        for r in np.flatnonzero(problem.rep_in_team[:, field]):
            item = str(units.ids[u]) if units is not None else str(problem.customer_ids[u])
            rep = str(problem.rep_ids[r])
            edits = edit_row(item, rep, kind)
            assignment, _ = judged(run, edits, work / "try.csv")
            if not metrics.check(problem, assignment) and (assignment != run.result.assignment).any():
                return item, rep
    raise AssertionError("no unit can move without breaking a rule")


@pytest.fixture(scope="module")
def driven(morning: tuple[RunResult, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run, folder = morning
    work = tmp_path_factory.mktemp("chromium-edit")
    return drive(folder / "report.html", work, allowed_move(run, work))


def judged(run: RunResult, edits_csv: str, path: Path) -> tuple[np.ndarray, dict[str, set[str]]]:
    """metrics.py on the morning plan with these edits: the assignment and, per rep, the rules it breaks."""
    path.write_text(edits_csv, encoding="utf-8")
    assignment, _ = apply_edits(run.prepared, run.result.assignment, path)
    broken: dict[str, set[str]] = {}
    for v in metrics.check(run.prepared.problem, assignment):
        for rep in run.prepared.problem.rep_ids.astype(str):
            if re.search(rf"\b{re.escape(rep)}\b", v.message):
                broken.setdefault(rep, set()).add({"balance": "band"}.get(v.rule, v.rule))
    return assignment, broken


def expected_rows(run: RunResult, assignment: np.ndarray, team: str) -> list[dict[str, Any]]:
    """The panel's rows as metrics.py computes them (rounding: edit_panel.ROUNDING)."""
    problem = run.prepared.problem
    loads = metrics.rep_loads(problem, assignment)
    value = np.bincount(assignment, weights=run.prepared.customers["current_value"].to_numpy(float)[
        problem.need_customer], minlength=problem.n_reps)
    t = problem.team_names.index(team)
    return [{"rep": str(problem.rep_ids[r]), "hours": hours_text(int(loads.workload_s[r])),
             "customers": int(loads.n_customers[r]), "value": round(float(value[r])),
             "travel": f"{loads.travel_visit_km[r]:.1f}"} for r in np.flatnonzero(problem.rep_in_team[:, t])]


def test_the_panel_shows_what_metrics_computes_for_the_edited_plan(
        morning: tuple[RunResult, Path], driven: dict[str, Any], tmp_path: Path) -> None:
    run, _ = morning
    assert driven["team"] == "field" and driven["units"] > 5
    assert driven["selected"].startswith(f"unit {driven['first']} (field)")
    # step 0: the first unit moved to the farthest rep; step 3: undone, the last unit moved to the nearest
    for step, moved in ((driven["steps"][0], (driven["first"], driven["far"])),
                        (driven["steps"][3], (driven["kept"], driven["near"]))):
        edits = f"team,unit_id,customer_id,rep_id,note,author,timestamp\nfield,{moved[0]},,{moved[1]},,,\n"
        assignment, broken = judged(run, edits, tmp_path / "one.csv")
        shown = [{k: row[k] for k in ("rep", "hours", "customers", "value", "travel")} for row in step["reps"]]
        assert shown == expected_rows(run, assignment, "field")
        for row in step["reps"]:  # the same rules, per rep, as the judge finds
            assert {rule.split(":")[0] for rule in row["rules"]} == broken.get(row["rep"], set()), row
            assert float(row["bar"].rstrip("%")) > 0 and float(row["band"].rstrip("%")) > 0
        assert sum(row["involved"] for row in step["reps"]) == 2
    far = driven["steps"][0]
    assert any(row["rules"] for row in far["reps"]), "moving a unit to the farthest rep breaks a rule"
    assert far["list"][0][1:5] == ["field", f"unit {driven['first']}", far["list"][0][3], driven["far"]]
    assert far["list"][0][6] != "all kept"  # the edit list says which rule the edit broke
    assert far["undo"] and not far["redo"]


def field_units(run: RunResult, team: str = "field") -> set[str]:
    problem, units = run.prepared.problem, run.prepared.units
    assert units is not None and problem.need_unit is not None
    held = problem.need_unit[problem.need_team == problem.team_names.index(team)]
    return {str(units.ids[u]) for u in set(held.tolist())}


def test_while_editing_the_map_shows_only_the_team_units_and_hatches_the_rest(
        morning: tuple[RunResult, Path], driven: dict[str, Any]) -> None:
    """No pale territory under the edit layer (it would read as another rep's colour, FLD01's blue as FLD11's),
    every unit drawn: the team's in their reps' colours, alike whether moved or not, the others hatched grey."""
    run, folder = morning
    assert driven["territoriesBefore"] and driven["territoriesAfter"]  # the map as it was once editing stops
    assert not driven["territoriesEditing"] and not driven["territoriesAfterMove"]
    units = run.prepared.units
    assert units is not None
    shaped = {str(u) for u, shape in zip(units.ids, units.shapes, strict=True)
              if shape is not None and not shape.is_empty}
    mine = field_units(run)
    assert {item for item, _, _ in driven["drawn"]} == mine
    assert driven["others"] and {item for item, _, _ in driven["others"]} == shaped - mine
    assert {(fill, opacity) for _, fill, opacity in driven["others"]} == {("url(#edit-hatch)", "0.8")}
    assert driven["hatch"] and "hatched grey: a unit without customers of the team" in driven["legend"]
    colours = json.loads((folder / "report.html").read_text(encoding="utf-8").split("id='edit-data'>", 1)[1]
                         .split("</script>", 1)[0])["reps"]["colour"]
    near = colours[[str(r) for r in run.prepared.problem.rep_ids].index(driven["near"])]
    looks = {(fill, opacity) for item, fill, opacity in driven["drawn"] if fill == near}
    moved = next((fill, opacity) for item, fill, opacity in driven["drawn"] if item == driven["kept"])
    assert moved == (near, "0.8") and looks == {moved}  # the moved unit as its new rep's others
    assert sum(fill == near for _, fill, _ in driven["drawn"]) > 1


def edits_of(rows: list[list[Any]]) -> str:
    """The edits.csv of the edit list's rows (team, 'unit ID', from, to)."""
    lines = [f"{row[1]},{row[2].split(' ', 1)[1]},,{row[4]},,," for row in rows]
    return "team,unit_id,customer_id,rep_id,note,author,timestamp\n" + "".join(line + "\n" for line in lines)


def test_each_edit_lists_the_rules_its_two_reps_broke_right_after_it(
        morning: tuple[RunResult, Path], driven: dict[str, Any], tmp_path: Path) -> None:
    """Three edits: the kept one, the first unit to the farthest rep (breaks a rule), the first unit back: each row
    shows what the judge finds right after it for its own two reps, not the rules now."""
    run, folder = morning
    rows = driven["steps"][5]["list"]
    assert len(rows) == 3 and rows[2][3] == rows[1][4] and rows[2][4] == rows[1][3]
    for k, row in enumerate(rows):
        _, broken = judged(run, edits_of(rows[:k + 1]), tmp_path / f"first-{k}.csv")
        expected = {(rep, rule) for rep in (row[3], row[4]) for rule in broken.get(rep, set())}
        shown = set() if row[6] == "all kept" else {(b.split(" ", 1)[0], b.split(" ", 1)[1].split(":")[0])
                                                    for b in row[6]}
        assert shown == expected, (k, row)
    assert rows[1][6] != "all kept"  # the far move broke a rule, though the third edit undid it
    assert rows[0][6] == "all kept"
    assert "<th>rules broken right after this edit</th>" in (folder / "report.html").read_text(encoding="utf-8")


def test_a_note_typed_after_choosing_the_rep_or_in_the_list_goes_into_edits_csv(driven: dict[str, Any]) -> None:
    import csv

    def notes(text: str) -> list[str]:
        return [row[4] for row in list(csv.reader(text.splitlines()))[1:]]

    typed = 'typed after choosing, "quoted"'
    assert driven["noteLabel"] == "note of edit #2"
    assert notes(driven["csvTyped"]) == ["closer to FX, agreed with the area manager", typed]
    assert driven["steps"][4]["list"][1][5] == typed  # shown, editable, in the list
    assert notes(driven["csvListed"]) == ["changed in the list", typed]
    assert notes(driven["csvRedone"]) == ["changed in the list", typed, ""]  # undo and redo keep them
    assert [row[5] for row in driven["listRedone"]] == ["changed in the list", typed, ""]


def test_reps_breaking_a_rule_are_marked_apart_from_the_selected_and_last_edit_ones(driven: dict[str, Any]) -> None:
    look = driven["lookAs"]
    assert look[""]["bar"] == "none" and look["involved"]["bar"] == "none"
    assert look["broken"]["bar"] != "none" and look["involved broken"]["bar"] == look["broken"]["bar"]
    assert len({look[c]["background"] for c in ("", "involved", "broken")}) == 3
    assert any(row["broken"] for row in driven["looks"])
    for row in driven["looks"]:
        assert (row["bar"] != "none") == row["broken"], row
        classes = " ".join(c for c, on in (("involved", row["involved"]), ("broken", row["broken"])) if on)
        assert row["background"] == look[classes]["background"], row


def test_the_panels_team_and_the_maps_team_buttons_follow_each_other(morning: tuple[RunResult, Path],
                                                                      driven: dict[str, Any]) -> None:
    run, _ = morning
    other = driven["otherTeam"]
    assert driven["buttonsOther"] == {"field": False, other: True}  # the panel's team chose the map's
    assert set(driven["drawnOther"]) == field_units(run, other)
    assert driven["teamFromMap"] == "field" and driven["buttonsField"] == {"field": True, other: False}
    assert driven["drawnField"] == len(driven["drawn"])


def test_undo_and_redo_step_through_the_edits(morning: tuple[RunResult, Path], driven: dict[str, Any]) -> None:
    run, _ = morning
    moved, undone, redone = driven["steps"][:3]
    assert undone["list"] == [] and undone["redo"] and not undone["undo"]
    original = expected_rows(run, run.result.assignment, "field")
    assert [{k: row[k] for k in ("rep", "hours", "customers", "value", "travel")} for row in undone["reps"]] == original
    assert redone["reps"] == moved["reps"] and redone["list"] == moved["list"]


def test_the_map_recolours_the_unit_and_the_export_lists_the_kept_edit(
        morning: tuple[RunResult, Path], driven: dict[str, Any]) -> None:
    run, _ = morning
    colours = {str(r): c for r, c in zip(run.prepared.problem.rep_ids, json.loads(
        (Path(morning[1]) / "report.html").read_text(encoding="utf-8").split("id='edit-data'>", 1)[1]
        .split("</script>", 1)[0])["reps"]["colour"], strict=True)}
    assert driven["fill"] == colours[driven["near"]]
    lines = driven["csv"].splitlines()
    assert lines[0] == "team,unit_id,customer_id,rep_id,note,author,timestamp" and len(lines) == 2
    team, unit, customer, rep, note, author, stamp = next(iter(__import__("csv").reader([lines[1]])))
    assert (team, unit, customer, rep, author) == ("field", driven["kept"], "", driven["near"], "anna")
    assert note == "closer to FX, agreed with the area manager"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    assert driven["exportEnabled"]


def test_the_night_run_honours_the_exported_edits(morning: tuple[RunResult, Path], driven: dict[str, Any],
                                                  scenario: Path) -> None:
    edits = scenario.parent / "edits.csv"
    edits.write_text(driven["csv"], encoding="utf-8")
    night = scenario.parent / "night"
    done = RUNNER.invoke(app, ["run", str(scenario), "--out", str(night), "--time-limit", "2", "--quiet",
                               "--edits", str(edits)])
    assert done.exit_code == 0, done.output
    kpis = json.loads((night / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["edits"] == {"file": "edits.csv", "rows": 1, "applied": 1, "not_applied": 0,
                             "locked_needs": kpis["edits"]["locked_needs"]} and kpis["edits"]["locked_needs"] >= 1
    assert kpis["violations"] == 0  # metrics.py accepts the night's plan (and the run's own judge did)
    import pandas as pd

    assignments = pd.read_csv(night / "assignments.csv", dtype=str, keep_default_na=False)
    mine = assignments[(assignments["team"] == "field") & (assignments["unit_id"] == driven["kept"])]
    assert len(mine) >= 1 and set(mine["rep_id"]) == {driven["near"]}
    assert "edit not applied" not in (night / "warnings.csv").read_text(encoding="utf-8")


def test_apply_publishes_the_edited_plan_and_compare_shows_it(morning: tuple[RunResult, Path],
                                                              driven: dict[str, Any], scenario: Path) -> None:
    run, folder = morning
    edits = scenario.parent / "apply-edits.csv"
    edits.write_text(driven["csv"], encoding="utf-8")
    target = scenario.parent / "published"
    done = RUNNER.invoke(app, ["apply", str(folder), str(edits), "--out", str(target)])
    assert done.exit_code == 0, done.output
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["edited"]["edits"] == 1 and manifest["solver"]["engine"] == "edited (no solver)"
    assignment, _ = judged(run, driven["csv"], scenario.parent / "judge.csv")
    kpis = json.loads((target / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["violations"] == len(metrics.check(run.prepared.problem, assignment))
    compared = RUNNER.invoke(app, ["compare", str(folder), str(target), "--json"])
    assert compared.exit_code == 0, compared.output
    report = json.loads(compared.output)
    moved = {(m["customer_id"], m["rep_b"]) for m in report["moved"]["examples"]}
    assert moved and {rep for _, rep in moved} == {driven["near"]}


def test_without_units_the_customers_are_edited(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("no-units")
    config = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    config["inputs"] = {k: str(scenario.parent / v) for k, v in config["inputs"].items()}
    config["units"] = {"source": "off"}
    (folder / "scenario.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    run = run_scenario(load_scenario(folder / "scenario.yaml"), seed=0, time_limit_s=2)
    report = write_outputs(run, folder / "morning", scenario_path=folder / "scenario.yaml") / "report.html"
    keep = allowed_move(run, folder)
    driven = drive(report, folder / "chromium", keep)
    assert driven["selected"].startswith(f"customer {driven['first']} (field)")
    assignment, broken = judged(run, edit_row(*keep, kind="customer"), folder / "kept.csv")
    kept = driven["steps"][3]["reps"]
    shown = [{k: row[k] for k in ("rep", "hours", "customers", "value", "travel")} for row in kept]
    assert shown == expected_rows(run, assignment, "field") and not broken
    line = driven["csv"].splitlines()[1].split(",")
    assert line[:4] == ["field", "", keep[0], keep[1]]
    # the customers alone on the map while editing (no territory under them), the teams in step with the map's
    assert not driven["territoriesEditing"] and driven["territoriesAfter"] and not driven["others"]
    assert "the team's customers only" in driven["legend"]
    assert driven["teamFromMap"] == "field" and driven["buttonsField"] == {"field": True, "key_accounts": False}


def test_max_km_and_max_customers_show_as_the_judge_finds_them(scenario: Path,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("rules")
    config = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    config["inputs"] = {k: str(scenario.parent / v) for k, v in config["inputs"].items()}
    config["teams"][1].update(max_km=25, max_customers=28)  # F1 and F3 end at 28 customers, the farthest at 24.7 km
    (folder / "scenario.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    run = run_scenario(load_scenario(folder / "scenario.yaml"), seed=0, time_limit_s=2)
    report = write_outputs(run, folder / "morning", scenario_path=folder / "scenario.yaml") / "report.html"
    problem, units = run.prepared.problem, run.prepared.units
    assert units is not None and problem.need_unit is not None
    field = problem.need_team == problem.team_names.index("field")
    last = int(problem.need_unit[field].max())  # the last field unit, to a rep that does not hold it
    holder = metrics.unit_holders(problem, run.result.assignment)[(problem.team_names.index("field"), last)]
    other = next(r for r in ("F1", "F2", "F3") if r != problem.rep_ids[holder])
    driven = drive(report, folder / "chromium", (str(units.ids[last]), other))
    seen: set[str] = set()
    for step, moved in ((driven["steps"][0], (driven["first"], driven["far"])),
                        (driven["steps"][3], (driven["kept"], driven["near"]))):
        assignment, broken = judged(run, edit_row(*moved), folder / "one.csv")
        shown = [{k: row[k] for k in ("rep", "hours", "customers", "value", "travel")} for row in step["reps"]]
        assert shown == expected_rows(run, assignment, "field")
        for row in step["reps"]:
            rules = {rule.split(":")[0] for rule in row["rules"]}
            assert rules == broken.get(row["rep"], set()), row
            seen |= rules
    assert seen & {"max_km", "max_customers"}, seen


def test_a_boundary_crossed_shows_as_the_judge_finds_it(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("boundary")
    write_csv(folder / "customers.csv", tiny_customers(80), CUSTOMER_COLUMNS)
    reps = [*tiny_reps(), {"rep_id": "F4", "team": "field", "lon": 17.1, "lat": 52.5, "capacity_hours": 40}]
    write_csv(folder / "reps.csv", reps, REP_COLUMNS)
    depots = [("W", 16.8, 52.4), ("E", 17.1, 52.4)]  # two depots' areas: no field territory may span both
    (folder / "depots.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"depot_id": d}, "geometry": {"type": "Point", "coordinates": [x, y]}}
        for d, x, y in depots]}), encoding="utf-8")
    config = tiny_scenario_dict()
    config["inputs"]["depots"] = "depots.geojson"
    config["rules"].update(boundaries=["depot"], balance_tolerance=0.3)
    (folder / "scenario.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    run = run_scenario(load_scenario(folder / "scenario.yaml"), seed=0, time_limit_s=2)
    report = write_outputs(run, folder / "morning", scenario_path=folder / "scenario.yaml") / "report.html"
    problem, units = run.prepared.problem, run.prepared.units
    assert units is not None and problem.need_unit is not None and problem.zone_kinds == ("depot",)
    field = problem.need_team == problem.team_names.index("field")
    last = int(problem.need_unit[field].max())
    holder = metrics.unit_holders(problem, run.result.assignment)[(problem.team_names.index("field"), last)]
    other = next(r for r in ("F1", "F2", "F3", "F4") if r != problem.rep_ids[holder])
    driven = drive(report, folder / "chromium", (str(units.ids[last]), other))
    seen: set[str] = set()
    for step, moved in ((driven["steps"][0], (driven["first"], driven["far"])),
                        (driven["steps"][3], (driven["kept"], driven["near"]))):
        _, broken = judged(run, edit_row(*moved), folder / "one.csv")
        for row in step["reps"]:
            rules = {rule.split(":")[0] for rule in row["rules"]}
            assert rules == broken.get(row["rep"], set()), row
            seen |= rules
    assert "boundary" in seen, seen
