"""quality.full_share (prepare/quality.py): a travelling team planned too close to its reps' capacity is warned
about (its call plan cannot pack whole visits into days); phone teams and reps without a capacity are not counted."""

from __future__ import annotations

import numpy as np

from territory_opt.model.problem import Problem
from territory_opt.prepare.quality import full_team_findings

from .problems import build_problem


def two_teams() -> tuple[Problem, np.ndarray]:
    """Team A: R0, R1 with 10 h each of capacity; team B: R2. Four customers of 4.7 h for A, one of 5 h for B."""
    problem = build_problem(np.zeros((5, 2)), np.zeros((3, 2)), team_names=("A", "B"),
                            need_team=np.array([0, 0, 0, 0, 1]), workload=np.array([16_920] * 4 + [18_000]),
                            rep_in_team=np.array([[1, 0], [1, 0], [0, 1]], dtype=bool))
    return problem, np.array([0, 0, 1, 1, 2])


def test_a_team_planned_above_the_share_of_its_capacity_is_warned_about() -> None:
    problem, assignment = two_teams()
    capacity = np.array([36_000.0, 36_000.0, 36_000.0])
    found = full_team_findings(problem, assignment, capacity, np.array([True, True]), 0.92, "reps.csv")
    assert [(f.message, f.field) for f in found] == [(
        "team 'A' is planned at 94.0 % of its 2 reps' capacity_hours (18.8 h of 20.0 h): whole visits need some of "
        "each month free to pack into days, so a call plan (routing.enabled) leaves visits without a day; add a rep, "
        "raise capacity_hours or lower service levels", "quality.full_share")]  # B: 5 h of 10 h


def test_phone_teams_and_reps_without_a_capacity_are_not_counted() -> None:
    problem, assignment = two_teams()
    capacity = np.array([36_000.0, 36_000.0, 36_000.0])
    assert full_team_findings(problem, assignment, capacity, np.array([False, True]), 0.92, "r") == []
    unknown = np.array([np.inf, np.inf, 36_000.0])
    assert full_team_findings(problem, assignment, unknown, np.array([True, True]), 0.92, "r") == []
    assert len(full_team_findings(problem, assignment, capacity, np.array([True, True]), 0.95, "r")) == 0
