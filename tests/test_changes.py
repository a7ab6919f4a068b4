"""What changed and why (results/changes.py), on a hand-made problem with one changed customer-team per reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory_opt.model.problem import NO_REP, Problem
from territory_opt.results.changes import CHANGE_COLUMNS, baseline_from_current, change_table

from .problems import build_problem

T, F = True, False
# customer C9 is in the baseline only; C6 needs teams A and B (contact cap 1); the others team A
CUSTOMERS = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C10", "C11"]
NEED_CUSTOMER = [0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10]
NEED_TEAM = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
NEW = [1, 0, 0, 0, 2, 0, 1, 1, 1, 0, 1, 2]  # the new rep of each need


def reasons_problem() -> Problem:
    """Reps R0 (A), R1 (A and B), R2 (A), R3 (B). C0 and C10 are locked to R1; C5 and C10 may never get R2; C11
    needs product line b, which R0 lacks; C3 lies in depot D1 and C4 in D0 (where R2 works now)."""
    n = len(NEED_CUSTOMER)
    skills = np.zeros(n, np.int64)
    skills[11] = 2
    zones = np.full((1, n), -1)
    zones[0, 3], zones[0, 4] = 1, 0
    locked = np.full(n, NO_REP)
    locked[[0, 10]] = 1
    return build_problem([[0.0, 0.0]] * len(CUSTOMERS), [[0.0, 0.0]] * 4, need_customer=NEED_CUSTOMER,
                         need_team=NEED_TEAM, team_names=("A", "B"), rep_in_team=[[T, F], [T, T], [T, F], [F, T]],
                         customer_ids=np.array(CUSTOMERS, dtype=object), need_locked_rep=locked,
                         excluded=np.array([5 * 4 + 2, 10 * 4 + 2]), need_skills=skills,
                         rep_skills=np.array([1, 3, 3, 3]), skill_names=("a", "b"), zone_kinds=("depot",),
                         zone_names=(("D0", "D1"),), need_zone=zones, rep_zone=np.full((1, 4), -1))


BASELINE = pd.DataFrame([
    ("C0", "A", "R0"), ("C1", "A", "GONE"), ("C2", "A", "R3"), ("C3", "A", "R2"), ("C4", "A", "R2"),
    ("C5", "A", "R2"), ("C6", "A", "R0"), ("C6", "B", "R1"), ("C7", "A", "R0"), ("C7", "B", "R3"),
    ("C9", "A", "R0"), ("C10", "A", "R2"), ("C11", "A", "R0"),
], columns=["customer_id", "team", "rep_id"])

EXPECTED = [
    ("C0", "A", "R0", "R1", "lock"),
    ("C1", "A", "GONE", "R0", "lost rep"),  # no longer on the roster
    ("C10", "A", "R2", "R1", "lock"),  # locked and excluded: the lock comes first
    ("C11", "A", "R0", "R2", "rule"),  # R0 does not carry b
    ("C2", "A", "R3", "R0", "lost rep"),  # R3 is not in team A
    ("C3", "A", "R2", "R0", "boundary"),  # R2 now works in D0, C3 is in D1
    ("C5", "A", "R2", "R0", "rule"),  # never R2
    ("C6", "A", "R0", "R1", "cap"),  # R1 already serves C6 for team B
    ("C7", "A", "R0", "R1", "balance"),
    ("C7", "B", "R3", "", "team change"),  # team B no longer covers C7, team A still does
    ("C8", "A", "", "R0", "new customer"),
    ("C9", "A", "R0", "", "removed"),
]


def test_each_change_gets_its_reason() -> None:
    table = change_table(reasons_problem(), np.array(NEW), BASELINE)
    assert list(table.columns) == CHANGE_COLUMNS
    assert [tuple(row) for row in table.itertuples(index=False)] == EXPECTED


def test_no_change_no_row() -> None:
    problem = reasons_problem()
    same = pd.DataFrame({"customer_id": np.asarray(CUSTOMERS, dtype=object)[NEED_CUSTOMER],
                         "team": np.array(["A", "B"])[NEED_TEAM], "rep_id": [f"R{r}" for r in NEW]})
    assert change_table(problem, np.array(NEW), same).empty


def test_the_cap_is_no_reason_where_it_cannot_bind() -> None:
    loose = reasons_problem().replace(max_reps_per_customer=2)
    table = change_table(loose, np.array(NEW), BASELINE).set_index(["customer_id", "team"])
    assert table.loc[("C6", "A"), "reason"] == "balance"


def test_the_baseline_from_todays_reps() -> None:
    """C1's current rep left the roster; C2's current rep R3 is not in team A, so only its team B need has one."""
    problem = build_problem([[0.0, 0.0]] * 4, [[0.0, 0.0]] * 4, need_customer=[0, 1, 2, 2, 3],
                            need_team=[0, 0, 0, 1, 0], team_names=("A", "B"),
                            rep_in_team=[[T, F], [T, T], [T, F], [F, T]],
                            need_current_rep=np.array([0, NO_REP, NO_REP, 3, NO_REP]))
    customers = pd.DataFrame({"customer_id": problem.customer_ids, "current_rep_id": ["R0", "GONE", "R3", None]})
    baseline = baseline_from_current(customers, problem)
    assert [tuple(row) for row in baseline.itertuples(index=False)] == [
        ("C0", "A", "R0"), ("C1", "A", "GONE"), ("C2", "B", "R3")]
    assert baseline_from_current(customers.drop(columns="current_rep_id"), problem).empty
    table = change_table(problem, np.array([1, 1, 0, 3, 2]), baseline)
    assert [tuple(row) for row in table.itertuples(index=False)] == [
        ("C0", "A", "R0", "R1", "balance"), ("C1", "A", "GONE", "R1", "lost rep"),
        ("C2", "A", "", "R0", "team change"), ("C3", "A", "", "R2", "new customer")]


def test_units_explain_moves_a_whole_unit_or_one_piece_territories_forced() -> None:
    """Four customers of team A in units 0 (U0: C0, C1) and 1 (U1: C2, C3); reps R0, R1. Today U0 is split (C0 R0,
    C1 R1) and U1 whole with R0. The new plan gives U0 to R0 (C1 moves: `unit`) and U1 to R1, which the
    contiguity-relaxed alignment did not (C2 moves: `one piece`) or did (C3 moves: `balance`, per the relaxed plan)."""
    problem = build_problem([[0.0, 0.0]] * 4, [[0.0, 0.0]] * 2, customer_ids=np.array(["C0", "C1", "C2", "C3"],
                                                                                     dtype=object),
                            need_unit=np.array([0, 0, 1, 1]), unit_xy=np.zeros((2, 2)))
    baseline = pd.DataFrame([("C0", "A", "R0"), ("C1", "A", "R1"), ("C2", "A", "R0"), ("C3", "A", "R0")],
                            columns=["customer_id", "team", "rep_id"])
    baseline["team"] = problem.team_names[0]
    new = np.array([0, 0, 1, 1])
    relaxed = np.array([0, 0, 0, 1])
    table = change_table(problem, new, baseline, relaxed).set_index("customer_id")
    assert table["reason"].to_dict() == {"C1": "unit", "C2": "one piece", "C3": "balance"}
    without = change_table(problem, new, baseline).set_index("customer_id")  # no relaxed plan: no `one piece`
    assert without["reason"].to_dict() == {"C1": "unit", "C2": "balance", "C3": "balance"}
