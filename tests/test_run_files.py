"""io.run_files: a previous run's folder read back (`run --previous`, `compare`, `explain`), through real files.

tests/e2e/test_changes.py covers a missing previous folder through the CLI; these pin each refusal's message and
what a good folder gives back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from territory_opt.errors import Finding, InputError
from territory_opt.io.run_files import read_previous_assignments, read_previous_kpis, read_run_json, read_run_table


def findings(excinfo: pytest.ExceptionInfo[InputError]) -> list[Finding]:
    return excinfo.value.findings


def write_assignments(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "assignments.csv"
    path.write_text("\n".join(["customer_id,team,rep_id,workload_hours", *lines]) + "\n", encoding="utf-8")
    return path


def test_previous_assignments_are_text_one_row_per_customer_and_team(tmp_path: Path) -> None:
    """Ids keep their leading zeros and lose stray spaces; one customer in two teams is two rows, not a repeat."""
    write_assignments(tmp_path, ["007,field, F1 ,1.5", "007,key_accounts,K1,2", "C2,field,F2,0.5"])
    frame = read_previous_assignments(tmp_path)
    assert list(frame.columns) == ["customer_id", "team", "rep_id"]
    assert frame.values.tolist() == [["007", "field", "F1"], ["007", "key_accounts", "K1"], ["C2", "field", "F2"]]


def test_previous_assignments_refuse_a_customer_and_team_given_twice(tmp_path: Path) -> None:
    path = write_assignments(tmp_path, ["C1,field,F1,1", "C2,field,F2,1", "C1,key_accounts,K1,1", "C1,field,F3,1"])
    with pytest.raises(InputError) as excinfo:
        read_previous_assignments(tmp_path)
    assert findings(excinfo) == [Finding("a customer and team appear twice", source=str(path), row=5,
                                         field="customer_id")]


def test_a_run_table_without_a_needed_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "assignments.csv"
    path.write_text("customer_id,team\nC1,field\n", encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        read_run_table(tmp_path, "assignments.csv", ("customer_id", "team", "rep_id"))
    assert findings(excinfo) == [Finding("missing column(s): rep_id", source=str(path))]


def test_a_folder_that_is_not_a_run_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError) as excinfo:
        read_run_json(tmp_path / "nowhere", "kpis.json")
    assert findings(excinfo) == [Finding("run folder not found", source=str(tmp_path / "nowhere"))]
    with pytest.raises(InputError) as excinfo:
        read_previous_assignments(tmp_path)
    assert findings(excinfo) == [Finding("assignments.csv is missing: is this a territory-opt run folder?",
                                         source=str(tmp_path))]


@pytest.mark.parametrize(("text", "message"), [("[1, 2]", "not a JSON object"), ("{oops", "not valid JSON")],
                         ids=["a-list", "broken"])
def test_run_json_must_be_an_object(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "kpis.json").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        read_run_json(tmp_path, "kpis.json")
    [finding] = findings(excinfo)
    assert finding.message.startswith(message) and finding.source == str(tmp_path / "kpis.json")
    kpis, unreadable = read_previous_kpis(tmp_path)  # a broken previous run is said, never taken for "no change"
    assert kpis == {} and len(unreadable) == 1 and message in unreadable[0].message
    assert unreadable[0].field == "quality.change_threshold"


def test_previous_kpis_are_read_when_present(tmp_path: Path) -> None:
    (tmp_path / "kpis.json").write_text(json.dumps({"n_customers": 40, "objective": 12.5}), encoding="utf-8")
    assert read_previous_kpis(tmp_path) == ({"n_customers": 40, "objective": 12.5}, [])
    kpis, unreadable = read_previous_kpis(tmp_path / "missing")
    assert kpis == {} and "could not be read" in unreadable[0].message
