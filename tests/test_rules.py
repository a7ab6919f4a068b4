"""The rule pieces (solve/rules/): each one's pair and group eligibility against tables worked out by hand, its
move check on hand-made ledgers (the boundary cases: a band met exactly, a cap reached exactly), and its reasons in
words. The move checks are held against `metrics.check` on random problems in test_ledger.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve.ledger import Ledger
from territory_opt.solve.rules import RULES, active_rules, eligible, group_members, need_groups, rule

from .problems import build_problem, eligible_table, problems

T, F = True, False


def every_rule_problem() -> Problem:
    """Three customers, reps R0 (team A), R1 (A and B), R2 (B); needs n0 = (C0, A), n1 = (C1, A), n2 = (C1, B),
    n3 = (C2, B). n1 is locked to R0; product lines a = 1, b = 2 with needs [-, a, a+b, b] and reps [a, a+b, b];
    n0 may never get R0 and n3 never R1; depots D0/D1 with needs [D0, D1, free, D1], R0 pinned to D0, R2 to D1."""
    return build_problem(
        [[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]], [[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]],
        need_customer=[0, 1, 1, 2], need_team=[0, 0, 1, 1], team_names=("A", "B"),
        rep_in_team=[[T, F], [T, T], [F, T]], max_reps_per_customer=2,
        need_locked_rep=np.array([NO_REP, 0, NO_REP, NO_REP]),
        need_skills=np.array([0, 1, 3, 2]), rep_skills=np.array([1, 3, 2]), skill_names=("a", "b"),
        excluded=np.array([0 * 3 + 0, 3 * 3 + 1]),
        zone_kinds=("depot",), zone_names=(("D0", "D1"),), need_zone=np.array([[0, 1, -1, 1]]),
        rep_zone=np.array([[0, -1, 1]]),
    )


PAIR_TABLES = {  # rows: needs n0..n3, columns: reps R0..R2
    "coverage": [[T, T, F], [T, T, F], [F, T, T], [F, T, T]],
    "lock": [[T, T, T], [T, F, F], [T, T, T], [T, T, T]],
    "skills": [[T, T, T], [T, T, F], [F, T, F], [F, T, T]],
    "exclusion": [[F, T, T], [T, T, T], [T, T, T], [T, F, T]],
    "zones": [[T, T, F], [F, T, T], [T, T, T], [F, T, T]],
}
ELIGIBLE = [[F, T, F], [F, F, F], [F, T, F], [F, F, T]]


def all_pairs(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    return np.divmod(np.arange(problem.n_needs * problem.n_reps), problem.n_reps)


@pytest.mark.parametrize("name", sorted(PAIR_TABLES))
def test_pair_allows_matches_the_hand_table(name: str) -> None:
    problem = every_rule_problem()
    need, rep = all_pairs(problem)
    allowed = rule(name).pair_allows(problem, need, rep)
    assert allowed is not None
    assert allowed.reshape(problem.n_needs, problem.n_reps).tolist() == PAIR_TABLES[name]


def test_eligible_is_every_pair_rule_together() -> None:
    problem = every_rule_problem()
    need, rep = all_pairs(problem)
    assert eligible(problem, need, rep).reshape(4, 3).tolist() == ELIGIBLE
    assert eligible_table(problem).tolist() == ELIGIBLE  # the tests' own table agrees


def test_rules_that_judge_whole_assignments_allow_every_pair() -> None:
    problem = every_rule_problem()
    need, rep = all_pairs(problem)
    for name in ("balance", "contact_cap", "continuity", "max_customers"):
        assert rule(name).pair_allows(problem, need, rep) is None


def test_which_rules_are_active() -> None:
    plain = build_problem([[0.0, 0.0]] * 2, [[0.0, 0.0]])
    assert [piece.name for piece in active_rules(plain)] == ["coverage", "balance"]
    everything = every_rule_problem().replace(max_reps_per_customer=1, max_moved=3,
                                              team_max_customers=np.array([2, 0]),
                                              team_max_km=np.array([np.inf, 50.0]),
                                              need_unit=np.array([0, 1, 1, 2]), unit_edges=np.array([[0, 1], [1, 2]]),
                                              team_contiguous=np.array([True, False]),
                                              unit_xy=np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]]))
    assert [piece.name for piece in active_rules(everything)] == [piece.name for piece in RULES]
    assert [piece.name for piece in RULES] == ["coverage", "balance", "lock", "skills", "exclusion", "contact_cap",
                                               "zones", "continuity", "max_customers",
                                               "max_km", "contiguity"]
    by_value = plain.replace(max_moved_value=10, need_value=np.array([1, 2]))
    assert "continuity" in [piece.name for piece in active_rules(by_value)]


def test_group_members_follow_team_lines_and_zone_pins() -> None:
    problem = every_rule_problem()
    groups = need_groups(problem)
    members = {tuple(needs.tolist()): group_members(problem, key).tolist() for key, needs in groups.items()}
    # (team, lines, depot): n0 (A, -, D0): R0 and R1; n1 (A, a, D1): only R1 (R0 is pinned to D0)
    # n2 (B, a+b, free): R1; n3 (B, b, D1): R1 and R2. Locks and exclusions are pair rules, not group ones.
    assert members == {(0,): [0, 1], (1,): [1], (2,): [1], (3,): [1, 2]}


def test_needs_sharing_every_group_value_share_one_group() -> None:
    problem = build_problem([[0.0, 0.0]] * 4, [[0.0, 0.0]] * 3, need_team=[0, 1, 0, 1], team_names=("A", "B"),
                            rep_in_team=[[T, F], [T, T], [F, T]])
    groups = need_groups(problem)
    assert sorted(tuple(needs.tolist()) for needs in groups.values()) == [(0, 2), (1, 3)]
    assert sorted(group_members(problem, key).tolist() for key in groups) == [[0, 1], [1, 2]]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_groups_partition_the_needs_and_bound_eligibility(problem: Problem) -> None:
    """Every need in one group; its eligible reps are the group's members, minus the reps its lock or exclusions
    refuse (only needs a rule marks as restricted may lose any)."""
    groups = need_groups(problem)
    seen = np.concatenate(list(groups.values()))
    assert sorted(seen.tolist()) == list(range(problem.n_needs))
    restricted = np.zeros(problem.n_needs, dtype=bool)
    for piece in active_rules(problem):
        mask = piece.restricted_needs(problem)
        if mask is not None:
            restricted |= mask
    table = eligible_table(problem)
    for key, needs in groups.items():
        members = np.zeros(problem.n_reps, dtype=bool)
        members[group_members(problem, key)] = True
        for need in needs.tolist():
            assert not (table[need] & ~members).any()
            if not restricted[need]:
                assert (table[need] == members).all()


# --- the move checks, on hand-made ledgers ------------------------------------------------------------------------


def banded_problem() -> Problem:
    """Needs of 1 h, 0.5 h, 0.5 h (one account each); R0 holds 1 to 1.5 h and 2 accounts exactly, R1 0.5 to 1 h and
    1 account."""
    return build_problem([[0.0, 0.0]] * 3, [[0.0, 0.0]] * 2, workload=[3600, 1800, 1800],
                         rep_min_s=np.array([3600, 1800]), rep_max_s=np.array([5400, 3600]),
                         metric_names=("accounts",), need_metric=np.ones((1, 3), np.int64),
                         rep_metric_min=np.array([[0, 0]]), rep_metric_max=np.array([[3, 3]]))


def test_balance_allows_a_move_that_meets_both_bands_exactly() -> None:
    ledger = Ledger(banded_problem(), np.array([0, 0, 1]))
    balance = rule("balance")
    assert balance.allows_move(ledger, 1, 1)  # R0 falls to its 1 h minimum, R1 rises to its 1 h maximum
    assert ledger.why_not(1, 1) == []
    assert not balance.allows_move(ledger, 0, 1)  # R0 would fall to 0.5 h, R1 rise to 1.5 h
    assert ledger.why_not(0, 1) == ["workload band: 1.5 h would pass its maximum 1.0 h",
                                    "workload band: R0 would fall to 0.5 h, below its minimum 1.0 h"]
    assert not balance.allows_move(ledger, 2, 0)


def test_balance_checks_every_balanced_metric() -> None:
    problem = banded_problem().replace(rep_metric_min=np.array([[2, 1]]), rep_metric_max=np.array([[2, 1]]))
    ledger = Ledger(problem, np.array([0, 0, 1]))
    assert not rule("balance").allows_move(ledger, 1, 1)  # fine for workload, not for accounts
    assert ledger.why_not(1, 1) == ["accounts band: 2 would pass its maximum 1",
                                    "accounts band: R0 would fall to 1, below its minimum 2"]


def capped_problem(cap: int, customer_cap: int | None = None) -> Problem:
    """One customer needing teams A, B and C; R0 is in every team, R1 only in A, R2 only in C."""
    caps = None if customer_cap is None else np.array([customer_cap])
    return build_problem([[0.0, 0.0]], [[0.0, 0.0]] * 3, need_customer=[0, 0, 0], need_team=[0, 1, 2],
                         team_names=("A", "B", "C"), rep_in_team=[[T, T, T], [T, F, F], [F, F, T]],
                         max_reps_per_customer=cap, customer_max_reps=caps)


def test_contact_cap_counts_the_customers_distinct_reps_after_the_move() -> None:
    ledger = Ledger(capped_problem(2), np.array([1, 0, 0]))
    cap = rule("contact_cap")
    assert not cap.allows_move(ledger, 2, 2)  # R1, R0, R2: three reps
    assert ledger.why_not(2, 2) == ["contact cap: the customer would have 3 reps, more than its cap of 2"]
    assert cap.allows_move(ledger, 0, 0)  # R0 alone
    assert cap.allows_move(ledger, 1, 0)  # no move at all
    loose = Ledger(capped_problem(3), np.array([1, 0, 0]))
    assert "contact_cap" not in [piece.name for piece in loose.rules]  # three needs never pass a cap of 3
    assert loose.keeps_rules(2, 2)


def test_a_customers_own_cap_wins_over_the_scenarios() -> None:
    ledger = Ledger(capped_problem(3, customer_cap=1), np.array([0, 0, 0]))
    assert not ledger.keeps_rules(0, 1)
    assert ledger.why_not(0, 1) == ["contact cap: the customer would have 2 reps, more than its cap of 1"]


def moved_problem(max_moved: int | None = None, max_moved_value: int | None = None) -> Problem:
    """Three needs whose current reps are R0, R0, R1, worth 10, 20 and 30."""
    return build_problem([[0.0, 0.0]] * 3, [[0.0, 0.0]] * 3, need_current_rep=np.array([0, 0, 1]),
                         need_value=np.array([10, 20, 30]), max_moved=max_moved, max_moved_value=max_moved_value)


def test_continuity_counts_needs_leaving_their_current_rep() -> None:
    ledger = Ledger(moved_problem(max_moved=1), np.array([0, 1, 1]))  # n1 has left R0
    continuity = rule("continuity")
    assert not continuity.allows_move(ledger, 0, 1)
    assert ledger.why_not(0, 1) == ["rules.max_moved_customers: 1 needs already left their current rep (at most 1)"]
    assert continuity.allows_move(ledger, 1, 0)  # back home
    assert continuity.allows_move(ledger, 1, 2)  # from one other rep to another: still one moved
    assert Ledger(moved_problem(max_moved=2), np.array([0, 1, 1])).keeps_rules(0, 1)


def test_continuity_counts_the_value_of_moved_needs() -> None:
    ledger = Ledger(moved_problem(max_moved_value=29), np.array([0, 1, 1]))  # 20 of value moved
    assert not ledger.keeps_rules(0, 1)
    assert ledger.why_not(0, 1) == ["rules.max_moved_value: moved customers already hold 20 of value (at most 29)"]
    assert ledger.keeps_rules(1, 2)
    assert Ledger(moved_problem(max_moved_value=30), np.array([0, 1, 1])).keeps_rules(0, 1)  # exactly 30


def test_zones_hold_a_rep_to_the_zone_of_its_work() -> None:
    problem = every_rule_problem()
    ledger = Ledger(problem, np.array([1, 0, 1, 2]))  # R1 holds n0 (D0) and n2 (free)
    zones = rule("zones")
    assert ledger.zone.tolist() == [[0, 0, 1]]
    assert not zones.allows_move(ledger, 3, 1)
    assert zones.allows_move(ledger, 2, 2)  # a free need goes anywhere
    assert zones.why_not(ledger, 3, 1) == ["works in depot D0, this customer is in D1"]
    assert zones.why_not(ledger, 0, 2) == ["is pinned to depot D1, this customer is in D0"]


# --- reasons in words -----------------------------------------------------------------------------------------------


def test_each_pair_rule_says_why_a_rep_cannot_take_a_need() -> None:
    problem = every_rule_problem()
    ledger = Ledger(problem, np.array([1, 0, 1, 2]))
    assert rule("coverage").why_not(ledger, 0, 2) == ["not in team A"]
    assert rule("lock").why_not(ledger, 1, 1) == ["locked to R0"]
    assert rule("lock").why_not(ledger, 1, 0) == []
    assert rule("skills").why_not(ledger, 2, 0) == ["does not carry b"]
    assert rule("skills").why_not(ledger, 2, 1) == []
    assert rule("exclusion").why_not(ledger, 3, 1) == ["never-this-rep exclusion"]
    assert rule("exclusion").why_not(ledger, 3, 2) == []
    assert ledger.why_not(3, 1) == ["never-this-rep exclusion", "works in depot D0, this customer is in D1"]
    assert ledger.why_not(0, 1) == []  # the rep it has


@pytest.mark.parametrize("plain", [False, True])
def test_why_not_is_empty_exactly_when_a_move_is_allowed(plain: bool) -> None:
    """On the problem above, and without its zones and product lines (so that team and lock refusals stand alone)."""
    problem = every_rule_problem()
    if plain:
        empty = np.zeros((0, 0), np.int64)
        problem = problem.replace(zone_kinds=(), zone_names=(), need_zone=empty, rep_zone=empty, need_skills=None,
                                  rep_skills=None, skill_names=())
    ledger = Ledger(problem, np.array([1, 0, 1, 2]))
    for need in range(problem.n_needs):
        for rep in range(problem.n_reps):
            if rep != ledger.assign[need]:
                assert (ledger.why_not(need, rep) == []) == ledger.allows(need, rep), (need, rep)
