"""`explain_customer` (results/explain.py) on a tiny scenario prepared from files: the reasons that rule reps out
come from the rules through the ledger, and a move's effect is what the costs say."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from territory_opt.config import load_scenario
from territory_opt.errors import InputError
from territory_opt.metrics import check
from territory_opt.pipeline import prepare
from territory_opt.prepare.prepared import Prepared
from territory_opt.results.explain import _assignment, explain_customer

from .conftest import CaseWriter, tiny_customers, tiny_scenario_dict
from .problems import total_cost

CURRENT = ["F1", "F2", "F3", "F1", "F2", "F3", "F1", "F2"]
REPS = [
    {"rep_id": "F1", "team": "field", "lon": 16.75, "lat": 52.30, "capacity_hours": 40},
    {"rep_id": "F2", "team": "field;horeca", "lon": 17.15, "lat": 52.30, "capacity_hours": 40},
    {"rep_id": "F3", "team": "field", "lon": 16.95, "lat": 52.50, "capacity_hours": 40},
    {"rep_id": "H1", "team": "horeca", "lon": 16.90, "lat": 52.40, "capacity_hours": 40},
]


@pytest.fixture
def prepared(write_case: CaseWriter) -> Prepared:
    """Eight customers (C003 and C007 are HoReCa outlets); field (F1, F2, F3) and a HoReCa overlay (F2, H1); one
    rep per customer at most, at most three needs may leave today's rep (`current_rep_id`), and a soft balance term
    of 6 visit-km per hour off target."""
    customers = tiny_customers(8)
    for row, rep in zip(customers, CURRENT, strict=True):
        row["current_rep_id"] = rep
    scenario = tiny_scenario_dict()
    scenario["teams"] = [{"name": "field"}, {"name": "horeca", "covers": {"sectors": ["horeca"]}}]
    scenario["rules"] |= {"max_reps_per_customer": 1, "balance_tolerance": None, "max_moved_customers": 3,
                          "balance_weight": 6.0}
    scenario["units"] = {"source": "off"}  # the hand-made alignments below are customer by customer
    return prepare(load_scenario(write_case(customers=customers, reps=REPS, scenario=scenario)))


def assignments(prepared: Prepared, reps: dict[tuple[str, str], str]) -> pd.DataFrame:
    """Every need at today's rep (H1 for HoReCa needs without one), except those given."""
    p = prepared.problem
    rows = []
    for need in range(p.n_needs):
        customer, team = str(p.customer_ids[p.need_customer[need]]), p.team_names[p.need_team[need]]
        current = int(p.need_current_rep[need])
        default = str(p.rep_ids[current]) if current >= 0 else "H1"
        rows.append({"customer_id": customer, "team": team, "rep_id": reps.get((customer, team), default)})
    return pd.DataFrame(rows)


# The HoReCa outlets' two needs both go to F2 (the cap), which moves their field needs from F3 and F1; C002 leaves
# F2 for F1: three needs moved, the limit
MOVED = {("C003", "field"): "F2", ("C003", "horeca"): "F2", ("C007", "field"): "F2", ("C007", "horeca"): "F2",
         ("C002", "field"): "F1"}


def candidates(report: dict[str, Any], team: str) -> dict[str, dict[str, Any]]:
    [need] = [n for n in report["needs"] if n["team"] == team]
    return {c["rep_id"]: c for c in need["candidates"]}


def test_the_contact_cap_rules_out_a_second_rep(prepared: Prepared) -> None:
    assert check(prepared.problem, _assignment(prepared.problem, assignments(prepared, MOVED))) == []
    report = explain_customer(prepared, assignments(prepared, MOVED), "C003")
    assert report["facts"]["contact_cap"] == 1
    assert [(t["team"], t["status"]) for t in report["teams"]] == [("field", "covers"), ("horeca", "covers")]
    field = candidates(report, "field")
    assert field["F2"]["chosen"] and field["F2"]["ruled_out_by"] == []
    cap = ["contact cap: the customer would have 2 reps, more than its cap of 1"]
    assert field["F1"]["ruled_out_by"] == cap and field["F3"]["ruled_out_by"] == cap
    assert candidates(report, "horeca")["H1"]["ruled_out_by"] == cap
    [need] = [n for n in report["needs"] if n["team"] == "field"]
    assert need["moved"] and need["current_rep_id"] == "F3"
    assert need["move_back"]["blocked_by"] == cap
    assert need["move_back"]["note"].startswith("not possible on its own")


def test_the_move_limit_rules_out_moving_one_more_need(prepared: Prepared) -> None:
    report = explain_customer(prepared, assignments(prepared, MOVED), "C001")
    field = candidates(report, "field")
    assert field["F1"]["chosen"]
    limit = ["rules.max_moved_customers: 3 needs already left their current rep (at most 3)"]
    assert field["F2"]["ruled_out_by"] == limit and field["F3"]["ruled_out_by"] == limit
    assert "move" not in field["F2"]


def test_a_free_move_says_what_it_would_cost(prepared: Prepared) -> None:
    """C002 has left F2 already: moving it on to F3 keeps the count of moved needs, so it is allowed."""
    report = explain_customer(prepared, assignments(prepared, MOVED), "C002")
    field = candidates(report, "field")
    p = prepared.problem
    need = int(np.flatnonzero(p.customer_ids[p.need_customer] == "C002")[0])
    km = p.road_km(np.array([need] * 3), np.array([0, 1, 2]))
    assert [field[r]["road_km"] for r in ("F1", "F2", "F3")] == [round(float(k), 2) for k in km]
    assert field["F3"]["ruled_out_by"] == []
    travel = float(p.need_visits[need] * p.need_travel_weight[need] * (km[2] - km[0]))
    before = _assignment(p, assignments(prepared, MOVED))
    after = before.copy()
    after[need] = 2
    move = field["F3"]["move"]
    assert move["cost_change"] == pytest.approx(travel, abs=1e-3)
    assert move["balance_change"] != 0.0
    assert move["extra_cost"] == pytest.approx(total_cost(p, after) - total_cost(p, before), abs=2e-3)
    costs = [c["cost"] for c in report["needs"][0]["candidates"]]
    assert costs == sorted(costs)
    [entry] = report["needs"]
    assert entry["moved"] and entry["move_back"]["blocked_by"] == []  # back to F2: one fewer moved need


def test_a_customer_not_in_the_run(prepared: Prepared) -> None:
    with pytest.raises(InputError, match="'NOBODY' is not in this run's customers"):
        explain_customer(prepared, assignments(prepared, {}), "NOBODY")


def test_assignments_from_other_inputs_are_refused(prepared: Prepared) -> None:
    table = assignments(prepared, {})
    with pytest.raises(InputError, match="does not match the scenario"):
        explain_customer(prepared, table.iloc[1:], "C001")
    table.loc[0, "rep_id"] = "GONE"
    with pytest.raises(InputError, match="does not match the scenario"):
        explain_customer(prepared, table, "C001")
