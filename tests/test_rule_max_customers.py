"""The max_customers rule (solve/rules/max_customers.py): each rep of a team with `teams[].max_customers` serves at
most that many of the team's customers, bundled needs counted by their `need_sizes`. Its move check and reasons on
hand-made ledgers, its counting finding, the judge's own count, and the solver keeping the limit."""

from __future__ import annotations

import numpy as np

from territory_opt.metrics import check
from territory_opt.model.problem import Problem
from territory_opt.solve import Budget, SolveParams, solve
from territory_opt.solve.candidates import all_arcs
from territory_opt.solve.cpsat import build_model
from territory_opt.solve.diagnose import capacity_findings
from territory_opt.solve.ledger import Ledger
from territory_opt.solve.rules import active_rules, rule

from .problems import build_problem


def limited_problem(limit: int = 2, sizes: list[int] | None = None) -> Problem:
    """Four needs of team T near R0 (at x = 0), R1 far away; each rep takes at most `limit` customers. With `sizes`,
    the needs are bundles of that many customers."""
    problem = build_problem([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]], [[0.0, 0.0], [90_000.0, 0.0]],
                            team_max_customers=np.array([limit]))
    if sizes is None:
        return problem
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return problem.replace(member_ptr=ptr, member_customer=np.arange(ptr[-1]), member_xy=np.zeros((ptr[-1], 2)))


def test_a_rep_at_its_limit_takes_no_more_customers() -> None:
    ledger = Ledger(limited_problem(2), np.array([0, 0, 1, 1]))
    limit = rule("max_customers")
    assert ledger.customers.tolist() == [[2], [2]]
    assert not limit.allows_move(ledger, 2, 0)
    assert ledger.why_not(2, 0) == ["rep R0 already has 2 customers of team 'T', the team's max_customers"]
    assert limit.allows_move(ledger, 0, 0)  # no move at all
    loose = Ledger(limited_problem(3), np.array([0, 0, 1, 1]))
    assert loose.keeps_rules(2, 0) and loose.why_not(2, 0) == []
    loose.move(2, 0)  # the tally follows the move
    assert loose.customers.tolist() == [[3], [1]]
    assert not loose.keeps_rules(3, 0)
    assert limit.allows_moves(loose, np.array([3, 0]), np.array([0, 1])).tolist() == [False, True]


def test_bundled_needs_count_every_customer_they_stand_for() -> None:
    ledger = Ledger(limited_problem(4, sizes=[2, 1, 2, 1]), np.array([0, 0, 1, 1]))
    assert ledger.customers.tolist() == [[3], [3]]
    assert not ledger.keeps_rules(2, 0)  # 3 + 2 > 4
    assert ledger.why_not(2, 0) == ["rep R0 has 3 customers of team 'T'; these 2 more would pass the team's "
                                    "max_customers of 4"]
    assert ledger.keeps_rules(3, 0)  # 3 + 1 = 4
    problem = ledger.problem
    assert [v.rule for v in check(problem, np.array([0, 0, 0, 1]))] == ["max_customers"]
    assert check(problem, np.array([0, 0, 1, 0])) == []


def test_a_team_with_more_customers_than_its_reps_may_take_is_found_before_solving() -> None:
    assert rule("max_customers").findings(limited_problem(2)) == []
    short = rule("max_customers").findings(limited_problem(1))
    assert [f.message for f in short] == ["team 'T' has 4 customers but its 2 reps may take at most 1 each (2 in "
                                          "all): raise teams[].max_customers or add reps"]
    assert capacity_findings(limited_problem(1)) == short
    assert rule("max_customers").in_play(limited_problem(2), np.arange(4)) == "teams[].max_customers"


def test_only_teams_with_a_limit_are_limited() -> None:
    problem = build_problem([[0.0, 0.0]] * 3, [[0.0, 0.0]] * 2, need_team=[0, 0, 1], team_names=("A", "B"),
                            team_max_customers=np.array([0, 1]))
    assert "max_customers" in [piece.name for piece in active_rules(problem)]
    ledger = Ledger(problem, np.array([0, 0, 1]))
    assert ledger.keeps_rules(0, 1) and ledger.keeps_rules(2, 0)
    assert check(problem, np.array([0, 0, 0])) == []
    assert "max_customers" not in [piece.name for piece in active_rules(problem.replace(team_max_customers=None))]


def test_the_model_has_one_row_per_rep_that_could_pass_its_limit() -> None:
    problem = limited_problem(2)
    assert build_model(problem, all_arcs(problem)).added["max_customers"] == 2
    assert build_model(limited_problem(4), all_arcs(problem)).added["max_customers"] == 0


def test_the_solver_keeps_the_limit_though_travel_wants_one_rep() -> None:
    problem = limited_problem(2)
    result = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=2))
    assert check(problem, result.assignment) == []
    assert np.bincount(result.assignment, minlength=2).tolist() == [2, 2]
    free = solve(problem.replace(team_max_customers=None), Budget(work_s=5), seed=0,
                 params=SolveParams(candidate_reps=2))
    assert free.assignment.tolist() == [0, 0, 0, 0]
