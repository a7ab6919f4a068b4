"""The max_km rule (solve/rules/max_km.py): a rep of a team with `teams[].max_km` takes a customer only within that
many road km of its home, every customer of a bundled need measured. Its pair test against distances worked out by
hand, its reasons, its finding for customers out of every rep's reach, the judge's own check, and the solver."""

from __future__ import annotations

import numpy as np
import pytest

from territory_opt.errors import InfeasibleError
from territory_opt.metrics import check
from territory_opt.model.problem import Problem
from territory_opt.solve import Budget, SolveParams, solve
from territory_opt.solve.ledger import Ledger
from territory_opt.solve.rules import eligible, rule

from .problems import build_problem, eligible_table


def reach_problem(max_km: float = 25.0) -> Problem:
    """Reps R0 at x = 0 and R1 at x = 60 km; customers at 10, 30 and 50 km (detour 1). With balance bands that make
    each rep take at least one customer."""
    return build_problem([[10_000.0, 0.0], [30_000.0, 0.0], [50_000.0, 0.0]], [[0.0, 0.0], [60_000.0, 0.0]],
                         team_max_km=np.array([max_km]), rep_min_s=np.array([3600, 3600]))


def test_a_rep_takes_only_customers_within_reach() -> None:
    problem = reach_problem(25.0)
    need, rep = np.divmod(np.arange(6), 2)
    allowed = rule("max_km").pair_allows(problem, need, rep)
    assert allowed is not None
    assert allowed.reshape(3, 2).tolist() == [[True, False], [False, False], [False, True]]
    assert eligible(problem, need, rep).reshape(3, 2).tolist() == eligible_table(problem).tolist()
    assert rule("max_km").restricted_needs(problem).tolist() == [True, True, True]
    assert rule("max_km").in_play(problem, np.arange(3)) == "teams[].max_km"
    ledger = Ledger(problem.replace(team_max_km=np.array([40.0])), np.array([0, 0, 1]))
    assert rule("max_km").why_not(ledger, 2, 0) == ["50.0 km from the rep's home, beyond the team's max_km of 40 km"]
    assert ledger.why_not(1, 1) == []


def test_a_bundle_is_as_far_as_its_farthest_customer() -> None:
    """Need 0 stands for customers at 30 and 40 km (its own customer C0 lies at 10 km)."""
    problem = reach_problem(35.0).replace(member_ptr=np.array([0, 2, 3, 4]), member_customer=np.arange(4),
                                         member_xy=np.array([[30_000.0, 0.0], [40_000.0, 0.0], [30_000.0, 0.0],
                                                             [50_000.0, 0.0]]))
    need, rep = np.array([0, 0]), np.array([0, 1])
    assert rule("max_km").pair_allows(problem, need, rep).tolist() == [False, True]  # 40 km from R0, 30 from R1
    assert [v.rule for v in check(problem, np.array([0, 1, 1]))] == ["max_km"]  # 40 km from R0
    assert check(problem, np.array([1, 0, 1])) == []


def test_customers_out_of_every_reps_reach_are_found_before_solving() -> None:
    problem = reach_problem(25.0)
    assert [f.message for f in rule("max_km").findings(problem)] == [
        "customer 'C1' has no rep of team 'T' within 25 km: the nearest, R0, is 30.0 km away (teams[].max_km)"]
    assert rule("max_km").findings(reach_problem(30.5)) == []
    with pytest.raises(InfeasibleError, match="within 25 km"):
        solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=2))


def test_the_judge_and_the_solver_keep_the_reach() -> None:
    problem = reach_problem(45.0)
    assert [v.rule for v in check(problem, np.array([0, 0, 0]))] == ["balance", "max_km"]
    assert check(problem, np.array([0, 0, 1])) == []
    result = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=2))
    assert check(problem, result.assignment) == []
    assert result.assignment[2] == 1
