"""`rules.continuity_weight` by default (null): 20 visit-km per moved (customer, team) pair when customers.csv names
today's reps, 120 when the baseline is a previous run's plan, nothing without a baseline; an explicit value always
wins."""

from __future__ import annotations

from typing import Any

import pytest

from territory_opt.config import load_scenario
from territory_opt.model.build import DEFAULT_CONTINUITY_WEIGHT, DEFAULT_PREVIOUS_CONTINUITY_WEIGHT
from territory_opt.pipeline import prepare

from .conftest import CaseWriter, tiny_customers, tiny_scenario_dict


@pytest.mark.parametrize(("today", "weight", "expected"), [
    (False, None, 0.0),  # no baseline: nothing to keep
    (True, None, DEFAULT_CONTINUITY_WEIGHT),
    (True, 0.0, 0.0),  # switched off explicitly
    (True, 5.0, 5.0),
    (False, 5.0, 5.0),
])
def test_the_default_weight_follows_the_baseline(write_case: CaseWriter, today: bool, weight: float | None,
                                                 expected: float) -> None:
    customers = tiny_customers(12)
    if today:
        for i, row in enumerate(customers):
            row["current_rep_id"] = "F1" if i % 2 else "F2"
    scenario: dict[str, Any] = tiny_scenario_dict()
    if weight is not None:
        scenario["rules"]["continuity_weight"] = weight
    problem = prepare(load_scenario(write_case(customers=customers, scenario=scenario))).problem
    assert problem.continuity_weight == expected
    assert DEFAULT_CONTINUITY_WEIGHT == 20.0


def test_a_previous_run_is_the_baseline_of_continuity(write_case: CaseWriter) -> None:
    """`run --previous`: last night's reps are each need's current rep (continuity and max_moved_* hold to them);
    customers it did not have, and reps it names that are gone or in another team, keep current_rep_id."""
    import pandas as pd

    from territory_opt.model.build import with_baseline
    from territory_opt.model.problem import NO_REP

    customers = tiny_customers(12)
    for row in customers:
        row["current_rep_id"] = "F1"
    prepared = prepare(load_scenario(write_case(customers=customers, scenario=tiny_scenario_dict())))
    problem = prepared.problem
    field = problem.team_names.index("field")
    ids = [str(problem.customer_ids[c]) for c in problem.need_customer[problem.need_team == field]]
    team = "field"
    previous = pd.DataFrame({
        "customer_id": [ids[0], ids[1], ids[2], "GONE"],
        "team": [team, team, team, team],
        "rep_id": ["F2", "NOBODY", "F2", "F2"],  # ids[1]'s rep is gone: it keeps current_rep_id
    })
    out = with_baseline(problem, previous, prepared.scenario)
    rep = {str(r): i for i, r in enumerate(problem.rep_ids)}
    in_team = out.need_team == field
    current = dict(zip((str(out.customer_ids[c]) for c in out.need_customer[in_team]),
                       out.need_current_rep[in_team].tolist(), strict=True))
    assert current[ids[0]] == current[ids[2]] == rep["F2"]
    assert current[ids[1]] == current[ids[3]] == rep["F1"]
    assert out.continuity_weight == DEFAULT_PREVIOUS_CONTINUITY_WEIGHT == 120.0
    nobody = with_baseline(problem.replace(need_current_rep=problem.need_current_rep * 0 + NO_REP,
                                           continuity_weight=0.0), previous.iloc[:1], prepared.scenario)
    assert nobody.continuity_weight == DEFAULT_PREVIOUS_CONTINUITY_WEIGHT
    assert (nobody.need_current_rep != NO_REP).sum() >= 1
    # a previous run that names none of tonight's needs is no baseline: current_rep_id's default holds
    unknown = previous.assign(customer_id="GONE")
    assert with_baseline(problem, unknown, prepared.scenario).continuity_weight == DEFAULT_CONTINUITY_WEIGHT
    explicit = prepared.scenario.model_copy(update={"rules": prepared.scenario.rules.model_copy(
        update={"continuity_weight": 5.0})})
    assert with_baseline(problem, previous, explicit).continuity_weight == 5.0
