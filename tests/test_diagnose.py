"""Infeasibility diagnosis (solve/diagnose.py): each counting check names what is short, and by how much, on
hand-made problems; a feasible problem gets no finding."""

from __future__ import annotations

import numpy as np
import pytest

from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve.diagnose import InfeasibleGroup, capacity_findings, explain_lp_infeasible, rules_in_play

from .problems import build_problem, one_answer_problem

T, F = True, False
HOUR = 3600


def texts(problem: Problem) -> list[str]:
    return [finding.message for finding in capacity_findings(problem)]


def two_hour_problem(**changes: object) -> Problem:
    """Three customers of 2 h each for team A; reps R0 and R1 may work 0 to 4 h each (6 h of calls, 8 h room)."""
    fields: dict[str, object] = dict(workload=2 * HOUR, team_names=("A",), rep_max_s=np.full(2, 4 * HOUR, np.int64))
    return build_problem([[0.0, 0.0]] * 3, [[0.0, 0.0]] * 2, **(fields | changes))


def test_a_feasible_problem_has_no_finding() -> None:
    assert texts(two_hour_problem()) == []
    assert texts(one_answer_problem()) == []


def test_a_team_short_of_capacity() -> None:
    problem = two_hour_problem(rep_max_s=np.full(2, int(2.5 * HOUR), np.int64))
    assert texts(problem) == [
        "team 'A' needs 6.0 h of work per cycle but its 2 reps can take at most 5.0 h within capacity and "
        "balance_tolerance: short by 1.0 h (add reps, raise capacity_hours or lower service levels)"]


def test_teams_sharing_reps_are_counted_together() -> None:
    problem = two_hour_problem(need_team=[0, 1, 1], team_names=("A", "B"), rep_in_team=[[T, T], [F, T]],
                               rep_max_s=np.full(2, int(2.5 * HOUR), np.int64))
    assert texts(problem)[0].startswith("teams 'A', 'B' (sharing reps) needs 6.0 h of work per cycle but its 2 reps "
                                        "can take at most 5.0 h")


def test_a_customer_bigger_than_any_rep() -> None:
    problem = two_hour_problem(workload=[5 * HOUR, HOUR, HOUR], rep_max_s=np.array([4 * HOUR, 3 * HOUR]))
    assert texts(problem) == ["customer 'C0' needs 5.0 h from team 'A', more than any of its reps may take (4.0 h)"]


def test_a_rep_with_more_locked_work_than_it_may_take() -> None:
    problem = two_hour_problem(need_locked_rep=np.array([0, 0, NO_REP]))
    assert texts(problem) == []  # exactly its maximum
    tight = two_hour_problem(need_locked_rep=np.array([0, 0, 0]), rep_max_s=np.array([5 * HOUR, 4 * HOUR]))
    assert texts(tight) == ["rep 'R0' has 6.0 h of locked customers, above its maximum of 5.0 h: short by 1.0 h"]


def test_a_customer_needing_more_teams_than_its_cap_with_no_rep_in_two() -> None:
    problem = build_problem([[0.0, 0.0]], [[0.0, 0.0]] * 2, need_customer=[0, 0], need_team=[0, 1],
                            team_names=("A", "B"), rep_in_team=[[T, F], [F, T]])
    assert texts(problem) == ["customer 'C0' must be covered by 2 teams but its contact cap is 1, and no rep belongs "
                              "to two of those teams"]
    shared = problem.replace(rep_in_team=np.array([[T, T], [F, T]]))
    assert texts(shared) == []  # R0 can take both


def test_customers_over_the_cap_are_listed_up_to_ten() -> None:
    n = 12
    problem = build_problem([[0.0, 0.0]] * n, [[0.0, 0.0]] * 2, need_customer=np.repeat(np.arange(n), 2),
                            need_team=np.tile([0, 1], n), team_names=("A", "B"), rep_in_team=[[T, F], [F, T]])
    found = texts(problem)
    assert len(found) == 11 and found[-1] == "... and 2 more customers over the contact cap"


def test_a_balanced_metric_outside_its_reps_bands() -> None:
    problem = two_hour_problem(metric_names=("value",), need_metric=np.array([[150, 100, 50]]),
                               rep_metric_min=np.zeros((1, 2), np.int64), rep_metric_max=np.full((1, 2), 120))
    assert texts(problem) == [
        "team 'A': its customers' value is 300 but its 2 reps' bands allow 0 to 240 (rules.balance_metrics.value)",
        "customer 'C0' alone has value 150, more than any rep of 'A' may hold (120; rules.balance_metrics.value)"]


def test_a_zone_short_of_reps_who_may_work_there() -> None:
    problem = two_hour_problem(zone_kinds=("depot",), zone_names=(("D0", "D1"),), need_zone=np.array([[1, 1, 0]]),
                               rep_zone=np.array([[0, 1]]))
    assert texts(problem) == []  # D1's 4 h fit R1's 4 h exactly
    short = problem.replace(need_zone=np.array([[1, 1, 1]]))
    assert texts(short) == [
        "depot 'D1' needs 6.0 h from team 'A' but the reps who may work there can take at most 4.0 h: short by 2.0 h"
        " (pin more reps to it, leave reps unpinned, or widen rules.balance_tolerance)"]


@pytest.mark.parametrize(("changes", "why"), [
    ({"need_skills": np.array([0, 2, 0]), "rep_skills": np.array([1, 1]), "skill_names": ("a", "b")},
     " (no rep of the team carries b)"),
    ({"excluded": np.array([1 * 2 + 0, 1 * 2 + 1])}, ""),
    ({"need_locked_rep": np.array([NO_REP, 1, NO_REP]), "excluded": np.array([1 * 2 + 1])}, ""),
])
def test_a_customer_no_rep_may_serve(changes: dict[str, object], why: str) -> None:
    assert texts(two_hour_problem(**changes)) == [f"customer 'C1' has no rep of team 'A' allowed to serve it{why}"]


def test_the_rules_in_play_are_named_as_the_scenario_names_them() -> None:
    problem = one_answer_problem()
    assert rules_in_play(problem, np.arange(3)) == (
        "the rules given (locked_rep_id, excluded_rep_ids, rules.max_reps_per_customer, boundaries, "
        "rules.max_moved_customers = 1, rules.max_moved_value = 10)")
    assert rules_in_play(problem, np.array([2])) == (
        "the rules given (boundaries, rules.max_moved_customers = 1, rules.max_moved_value = 10)")  # no exclusion
    assert rules_in_play(two_hour_problem(), np.arange(3)) == "the rules given"


def test_lumpy_work_is_explained_with_the_band_and_the_largest_customer() -> None:
    problem = build_problem([[0.0, 0.0]] * 3, [[0.0, 0.0]] * 2, team_names=("A",),
                            rep_min_s=np.full(2, 5400, np.int64), rep_max_s=np.full(2, 5400, np.int64))
    [finding] = explain_lp_infeasible(problem, [InfeasibleGroup(np.array([0]), np.array([0, 1]), True)])
    assert finding.message == (
        "team 'A': no assignment keeps all 2 reps within their workload band (1.5 h to 1.5 h) under the rules given; "
        "the largest customer needs 1.0 h. Widen rules.balance_tolerance or relax those rules")


def test_reps_short_of_hours_are_told_so_not_to_widen_the_band() -> None:
    """24 quarter-hour customers in a town where R0 lives, R1 200 km away, drive in the workload, each rep may take
    4.5 h. Counted at each customer's cheapest rep (R0: about 0.34 h each, 8.2 h in all) the work fits under the 9 h
    of tops; but R1 drives 200 km to each customer it takes (0.75 h each: 6 at most), so no assignment fits: the
    reps are short of hours, and the engine's diagnosis (each group's LP, then without the lower limits) says so
    instead of "widen the band"."""
    from territory_opt.errors import InfeasibleError
    from territory_opt.solve import Budget, solve

    from .test_drive import with_drive

    xy = np.array([[1000.0 * (i % 6), 1000.0 * (i // 6)] for i in range(24)])
    problem = with_drive(build_problem(xy, [[0.0, 0.0], [200_000.0, 0.0]], team_names=("A",), workload=900,
                                       rep_min_s=np.full(2, 3600, np.int64), rep_max_s=np.full(2, 16_200, np.int64)))
    assert capacity_findings(problem) == []
    with pytest.raises(InfeasibleError) as raised:
        solve(problem, Budget(work_s=2.0), seed=0)
    [finding] = raised.value.findings
    assert finding.message.startswith("team 'A': its 2 reps cannot hold its customers' work (calls, and with "
                                      "workload.drive the drive to them) even at their highest workloads (4.5 h to "
                                      "4.5 h")
    assert finding.message.endswith("Add reps, raise capacity_hours or widen rules.balance_tolerance")
