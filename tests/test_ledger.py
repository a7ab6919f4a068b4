"""The ledger (solve/ledger.py): its move checks agree with `metrics.check` on the assignment after the move, its
tallies follow the moves, and its zone semantics commit a rep to the zone of its first bounded work."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from territory_opt.metrics import check
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve.ledger import Ledger, committed_zones

from .problems import build_problem, eligible_table, feasible_cases, total_cost

# each rule that one move can break, and the name `metrics.check` gives its violations
MOVE_RULES = {"balance": "balance", "contact_cap": "contact_cap", "zones": "boundary", "continuity": "continuity",
              "max_customers": "max_customers"}
def judged(problem: Problem, assign: np.ndarray, need: int, rep: int) -> set[str]:
    """The rules `metrics.check` finds broken once `need` moves to `rep`."""
    after = assign.copy()
    after[need] = rep
    return {violation.rule for violation in check(problem, after)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(feasible_cases())
def test_move_checks_agree_with_the_judge(case: tuple[Problem, np.ndarray]) -> None:
    """From a feasible assignment, for every single move: each rule's check says it holds exactly when
    `metrics.check` finds no violation of that rule after the move, `allows` exactly when it finds none at all, and
    `why_not` is empty exactly when the move is allowed."""
    problem, assign = case
    ledger = Ledger(problem, assign)
    table = eligible_table(problem)
    refused = 0
    for need in range(problem.n_needs):
        for rep in range(problem.n_reps):
            if rep == assign[need]:
                continue
            broken = judged(problem, assign, need, rep)
            assert ledger.allows(need, rep) == (not broken), (need, rep, broken)
            assert (ledger.why_not(need, rep) == []) == (not broken), (need, rep, broken)
            if table[need, rep]:
                for name, judge_name in MOVE_RULES.items():
                    assert ledger.keeps_rules(need, rep, only=[name]) == (judge_name not in broken), (name, need, rep)
                refused += bool(broken)
    event("some eligible move refused" if refused else "every eligible move allowed")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(feasible_cases())
def test_many_moves_at_once_answer_as_one_at_a_time(case: tuple[Problem, np.ndarray]) -> None:
    problem, assign = case
    ledger = Ledger(problem, assign)
    need, rep = np.nonzero(eligible_table(problem) & (np.arange(problem.n_reps)[None, :] != assign[:, None]))
    assume(len(need) > 0)
    for piece in ledger.move_rules:
        one_by_one = [piece.allows_move(ledger, int(n), int(t)) for n, t in zip(need, rep, strict=True)]
        assert piece.allows_moves(ledger, need, rep).tolist() == one_by_one, piece.name
    singles = [ledger.keeps_rules(int(n), int(t)) for n, t in zip(need, rep, strict=True)]
    assert ledger.keeps_rules_many(need, rep).tolist() == singles
    skipped = [ledger.keeps_rules(int(n), int(t), skip=["balance"]) for n, t in zip(need, rep, strict=True)]
    assert ledger.keeps_rules_many(need, rep, skip=["balance"]).tolist() == skipped


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(feasible_cases(), st.lists(st.tuples(st.integers(0, 50), st.integers(0, 10)), min_size=1, max_size=12))
def test_allowed_moves_keep_the_assignment_feasible_and_the_tallies_true(
        case: tuple[Problem, np.ndarray], moves: list[tuple[int, int]]) -> None:
    """A chain of allowed moves never leaves what `metrics.check` accepts; loads and moved counts stay those of a
    ledger built afresh; a rep stays committed to a zone even after its work there left (a fresh ledger would
    free it), and the soft balance term grows as `total_cost` counts it."""
    problem, assign = case
    ledger = Ledger(problem, assign)
    for pick, offset in moves:
        need = pick % problem.n_needs
        target = (int(ledger.assign[need]) + 1 + offset) % problem.n_reps
        if target == ledger.assign[need] or not ledger.allows(need, target):
            continue
        before = ledger.assign.copy()
        expected = (total_cost(problem, before) + float(problem.arc_cost(np.array([need]), np.array([target]))[0])
                    - float(problem.arc_cost(np.array([need]), before[[need]])[0]))
        growth = ledger.balance_growth(need, target)
        ledger.move(need, target)
        assert check(problem, ledger.assign) == []
        assert total_cost(problem, ledger.assign) == pytest.approx(expected + growth, abs=1e-6)
        fresh = Ledger(problem, ledger.assign)
        assert (ledger.load == fresh.load).all() and (ledger.customers == fresh.customers).all()
        assert (ledger.moved, ledger.moved_value) == (fresh.moved, fresh.moved_value)
        committed = fresh.zone >= 0
        assert (ledger.zone[committed] == fresh.zone[committed]).all()


# --- hand-made cases ------------------------------------------------------------------------------------------------


def zoned_problem(workload: list[int], need_zone: list[int], rep_zone: list[int]) -> Problem:
    """One need per workload, depots D0..D2, wide bands."""
    n, r = len(workload), len(rep_zone)
    return build_problem([[0.0, 0.0]] * n, [[0.0, 0.0]] * r, workload=workload, zone_kinds=("depot",),
                         zone_names=(("D0", "D1", "D2"),), need_zone=np.array([need_zone]),
                         rep_zone=np.array([rep_zone]), rep_max_s=np.full(r, 10**6, np.int64))


def test_a_rep_is_committed_to_its_pin_else_to_the_zone_of_most_work() -> None:
    problem = zoned_problem([3600, 1800, 1800, 3600, 600], [0, 1, 1, 2, 1], [-1, -1, 2, -1])
    # R0: 1 h in D0 and 1 h in D1, a tie (the lower zone); R1: 1 h in D2, 10 min in D1; R2: its pin; R3: no work
    assert committed_zones(problem, np.array([0, 0, 0, 1, 1])).tolist() == [[0, 2, 2, -1]]
    # R0: 1 h in D0, 1 h 10 min in D1; R2 pinned to D2 though all its work is in D1
    assert committed_zones(problem, np.array([0, 0, 0, 3, 0])).tolist() == [[1, -1, 2, 2]]
    assert committed_zones(problem, np.array([2, 2, 2, 3, 2])).tolist() == [[-1, -1, 2, 2]]


def test_a_need_without_visits_still_commits_its_rep_to_its_zone() -> None:
    problem = zoned_problem([0, 3600], [0, 1], [-1, -1])
    assert committed_zones(problem, np.array([0, 1])).tolist() == [[0, 1]]
    ledger = Ledger(problem, np.array([0, 1]))
    assert not ledger.allows(1, 0)  # R0 calls on a D0 customer, however briefly
    assert check(problem, np.array([0, 0]))[0].rule == "boundary"


def test_the_first_bounded_work_commits_a_free_rep_for_good() -> None:
    problem = zoned_problem([3600, 3600, 3600], [0, 1, -1], [-1, -1, -1])
    ledger = Ledger(problem, np.array([2, 1, 0]))  # R0 holds only the unbounded need
    assert ledger.zone.tolist() == [[-1, 1, 0]]
    assert ledger.allows(0, 0)  # free: D0 work is welcome
    ledger.move(0, 0)
    assert ledger.zone.tolist() == [[0, 1, 0]]
    ledger.move(0, 2)  # the D0 need leaves again ...
    assert ledger.zone.tolist() == [[0, 1, 0]]
    assert not ledger.allows(1, 0)  # ... R0 stays in D0
    assert Ledger(problem, ledger.assign).allows(1, 0)  # a fresh ledger would free it


def test_a_move_updates_every_tally() -> None:
    problem = build_problem([[0.0, 0.0]] * 3, [[0.0, 0.0]] * 2, workload=[600, 1200, 1800],
                            need_current_rep=np.array([0, 0, NO_REP]), need_value=np.array([5, 7, 9]),
                            metric_names=("value",), need_metric=np.array([[5, 7, 9]]),
                            rep_metric_min=np.zeros((1, 2), np.int64), rep_metric_max=np.full((1, 2), 99))
    ledger = Ledger(problem, np.array([0, 0, 1]))
    assert ledger.load.tolist() == [[1800, 1800], [12, 9]]
    assert (ledger.moved, ledger.moved_value) == (0, 0)
    ledger.move(1, 1)
    assert ledger.load.tolist() == [[600, 3000], [5, 16]]
    assert (ledger.moved, ledger.moved_value) == (1, 7)
    ledger.move(2, 0)  # a need without a current rep moves nobody
    ledger.move(1, 0)  # back home
    assert (ledger.moved, ledger.moved_value) == (0, 0)
    assert ledger.assign.tolist() == [0, 0, 0]


def test_the_ledger_copies_the_assignment_unless_asked_to_share_it() -> None:
    problem = build_problem([[0.0, 0.0]] * 2, [[0.0, 0.0]] * 2)
    mine = np.array([0, 1])
    Ledger(problem, mine).move(0, 1)
    assert mine.tolist() == [0, 1]
    Ledger(problem, mine, copy=False).move(0, 1)
    assert mine.tolist() == [1, 1]


def test_skip_and_only_choose_the_rules_asked() -> None:
    problem = build_problem([[0.0, 0.0]] * 2, [[0.0, 0.0]] * 2, rep_min_s=np.array([7200, 0]),
                            need_current_rep=np.array([0, 0]), max_moved=0)
    ledger = Ledger(problem, np.array([0, 0]))
    assert not ledger.keeps_rules(0, 1)  # R0 would fall below its band, and a need would move
    assert not ledger.keeps_rules(0, 1, skip=["balance"])
    assert ledger.keeps_rules(0, 1, skip=["balance", "continuity"])
    assert not ledger.keeps_rules(0, 1, only=["balance"])
    assert ledger.keeps_rules(0, 1, only=["zones"])
    assert ledger.keeps_rules_many(np.array([0, 1]), np.array([1, 1]), skip=["balance", "continuity"]).all()


def test_needs_of_a_customer() -> None:
    problem = build_problem([[0.0, 0.0]] * 3, [[0.0, 0.0]], need_customer=[2, 0, 2, 1], need_team=[0, 0, 1, 0],
                            team_names=("A", "B"))
    ledger = Ledger(problem, np.zeros(4, np.int64))
    assert [ledger.needs_of_customer(c).tolist() for c in range(3)] == [[1], [3], [0, 2]]
