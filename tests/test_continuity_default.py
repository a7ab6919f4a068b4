"""`rules.continuity_weight` by default (null): 20 visit-km per moved (customer, team) pair when customers.csv names
today's reps, nothing without a baseline; an explicit value always wins."""

from __future__ import annotations

from typing import Any

import pytest

from territory_opt.config import load_scenario
from territory_opt.model.build import DEFAULT_CONTINUITY_WEIGHT
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
