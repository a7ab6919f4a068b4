"""A day the routing cannot plan is reported, never a crash or a silently empty plan (issue 19)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from territory_opt.errors import Finding, InfeasibleError, SolverLimitError
from territory_opt.metrics import schedule_violations
from territory_opt.results.assemble import routed_band_findings, unrouted_findings
from territory_opt.routing import cycle
from territory_opt.routing.cycle import RoutingOutcome, RoutingSettings, plan_rep, rep_inputs
from territory_opt.routing.feedback import drive_adjusted, work_deviation, work_spread
from territory_opt.routing.stage import routing_summary
from tests.problems import build_problem

SETTINGS = RoutingSettings(weeks=2, days=2, solution_limit=50, time_limit_s=2.0)


def one_rep() -> tuple[object, np.ndarray]:
    """One rep at the origin and eight customers a few km away, each called weekly for half an hour."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(-8_000, 8_000, size=(8, 2))
    problem = build_problem(xy, [[0.0, 0.0]], workload=2 * 1800, visits=2.0)
    return problem, np.zeros(8, dtype=np.int64)


def failing_first_day(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the routing of the first day asked for fail (as every strategy failing would), the rest route as usual."""
    calls = [0]
    real = cycle.solve_vrp

    def solve(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        if calls[0] == 1:
            raise SolverLimitError("no routes found within 2 s (tried LOCAL_CHEAPEST_INSERTION: ROUTING_FAIL)")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cycle, "solve_vrp", solve)
    return calls


def test_a_day_that_cannot_be_routed_is_reported_and_its_visits_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    problem, assignment = one_rep()
    failing_first_day(monkeypatch)
    (rep,) = rep_inputs(problem, assignment)
    plan = plan_rep(rep, SETTINGS)
    assert len(plan.failed_days) == 1
    failed = plan.failed_days[0]
    assert (failed.week, failed.day) == (0, 0) and failed.visits > 0 and "ROUTING_FAIL" in failed.reason
    assert plan.stats["unrouted_days"] == 1
    # the failed day's visits were placed one by one on the days of their week (that day included, when it takes
    # them singly) or are listed as unplanned: none is lost
    assert schedule_violations(problem, assignment, [plan], SETTINGS) == []

    outcome = RoutingOutcome([plan], problem, assignment, [{"round": 0, "kept": 1}])
    assert routing_summary(outcome)["unrouted_days"] == 1
    (finding,) = unrouted_findings(problem, outcome)
    assert finding.field == "routing"
    assert finding.message.startswith(f"unrouted_day: rep {problem.rep_ids[0]}, week 1 day 1: {failed.visits} visits")


def test_routed_work_outside_the_band_is_a_warning_per_rep() -> None:
    """The last re-assign balances on the drive routed the round before; routing its alignment moves the drive
    again, and a rep whose real hours then leave the band is named (the headline deviation says the same)."""
    problem, assignment = one_rep()
    calls, drive, target = np.array([100.0, 90.0, 50.0]), np.array([15.0, 10.0, 0.0]), np.array([100.0, 100.0, 0.0])
    deviation = work_deviation(calls, drive, target)
    assert deviation.tolist() == [0.15, 0.0, 0.0]  # no target, no deviation
    assert work_spread(calls, drive, target)["max_deviation"] == 0.15
    outcome = RoutingOutcome([], problem, assignment, [{"round": 0, "kept": 1}], work_deviation=deviation[:1])
    (finding,) = routed_band_findings(problem, outcome, 0.10)
    assert finding.field == "routing" and finding.message.startswith(f"rep {problem.rep_ids[0]}: its routed work")
    assert "15.0 % above" in finding.message and "+/-10 % band" in finding.message
    assert routed_band_findings(problem, outcome, 0.15) == []  # on the edge of the band is inside it
    assert routed_band_findings(problem, outcome, None) == []


def test_every_day_failing_still_gives_a_plan_with_every_visit_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    problem, assignment = one_rep()

    def never(*args: object, **kwargs: object) -> object:
        raise SolverLimitError("no routes")

    monkeypatch.setattr(cycle, "solve_vrp", never)
    (rep,) = rep_inputs(problem, assignment)
    plan = plan_rep(rep, SETTINGS)
    assert plan.days == () and len(plan.failed_days) == plan.stats["unrouted_days"] > 0
    assert len(plan.unplanned) == plan.stats["visits"] == int(rep.visits.sum())
    assert schedule_violations(problem, assignment, [plan], SETTINGS) == []


def test_days_route_normally_without_failures() -> None:
    problem, assignment = one_rep()
    (rep,) = rep_inputs(problem, assignment)
    plan = plan_rep(rep, SETTINGS)
    assert plan.failed_days == () and plan.stats["unrouted_days"] == 0 and plan.unplanned == ()
    assert schedule_violations(problem, assignment, [plan], SETTINGS) == []


def test_rounds_hold_capacity_and_give_away_what_the_days_could_not_hold() -> None:
    """Twelve half-hour weekly calls, most of them near rep R0, whose one four-hour day (its capacity) the solve on
    call hours fills with calls alone: its drive leaves visits without a day. The next round must hold calls + drive
    within capacity less what did not fit, so every visit gets a day, and that round is the one kept."""
    from territory_opt.solve import Budget, solve

    rng = np.random.default_rng(5)
    xy = np.column_stack([rng.uniform(-4_000, -1_000, 12), rng.uniform(-1_500, 1_500, 12)])
    four_hours = 4 * 3600
    problem = build_problem(xy, [[-2_500.0, 0.0], [5_000.0, 0.0]], workload=1800,
                            rep_max_s=np.full(2, four_hours, np.int64))
    settings = RoutingSettings(weeks=1, days=1, day_s=four_hours, break_s=0, solution_limit=50, time_limit_s=2.0)
    capacity = np.full(2, float(four_hours))

    def resolve(working: object) -> np.ndarray:
        return solve(working, Budget(work_s=2.0), seed=0).assignment  # type: ignore[arg-type]

    start = resolve(problem)
    assert np.bincount(start, minlength=2).tolist() == [8, 4]  # R0's day is all calls
    outcome = cycle.plan_with_feedback(problem, start, settings, resolve=resolve, tolerance=None, rounds=2,
                                       threshold=0.02, capacity_s=capacity)
    first, *later = outcome.rounds
    assert first["unplanned_visits"] > 0 and later, outcome.rounds
    kept = next(entry for entry in outcome.rounds if entry["kept"])
    assert kept["unplanned_visits"] == 0 and kept["round"] > 0, outcome.rounds
    assert sum(len(plan.unplanned) for plan in outcome.plans) == 0
    for plan in outcome.plans:  # calls + drive of each rep's day within its capacity
        assert plan.call_s + plan.drive_s <= capacity[plan.rep]


def test_a_round_first_mends_the_kept_alignment_and_solves_whole_only_when_that_finds_nothing() -> None:
    from territory_opt.solve import Budget, solve

    rng = np.random.default_rng(5)
    xy = np.column_stack([rng.uniform(-4_000, -1_000, 12), rng.uniform(-1_500, 1_500, 12)])
    problem = build_problem(xy, [[-2_500.0, 0.0], [5_000.0, 0.0]], workload=1800,
                            rep_max_s=np.full(2, 4 * 3600, np.int64))
    settings = RoutingSettings(weeks=1, days=1, day_s=4 * 3600, break_s=0, solution_limit=50, time_limit_s=2.0)
    solved: list[str] = []

    def resolve(working: object) -> np.ndarray:
        solved.append("whole")
        return solve(working, Budget(work_s=2.0), seed=0).assignment  # type: ignore[arg-type]

    start = solve(problem, Budget(work_s=2.0), seed=0).assignment
    mended_from: list[tuple[np.ndarray, int]] = []

    def mend(working: object, assignment: np.ndarray, round_no: int) -> np.ndarray:
        mended_from.append((assignment.copy(), round_no))
        return solve(working, Budget(work_s=2.0), seed=0).assignment  # type: ignore[arg-type]

    outcome = cycle.plan_with_feedback(problem, start, settings, resolve=resolve, tolerance=None, rounds=1,
                                       threshold=0.02, capacity_s=np.full(2, 4 * 3600.0), mend=mend)
    assert solved == [] and len(mended_from) == 1
    assert (mended_from[0][0] == start).all() and mended_from[0][1] == 0  # the kept round: round 0
    assert outcome.rounds[1]["in_place"] == 1
    outcome = cycle.plan_with_feedback(problem, start, settings, resolve=resolve, tolerance=None, rounds=1,
                                       threshold=0.02, capacity_s=np.full(2, 4 * 3600.0), mend=lambda *_: None)
    assert solved == ["whole"] and outcome.rounds[1]["in_place"] == 0


def test_capacity_and_spill_bound_the_next_rounds_calls() -> None:
    problem = build_problem(np.zeros((4, 2)), np.zeros((2, 2)), rep_ids=np.array(["A", "B"], dtype=object),
                            workload=36_000, rep_target_s=np.full(2, 72_000.0),
                            rep_min_s=np.full(2, 64_800, np.int64), rep_max_s=np.full(2, 79_200, np.int64))
    adjusted = drive_adjusted(problem, np.array([0.0, 36_000.0]), 0.1, capacity_s=np.array([95_000.0, np.inf]),
                              spill_s=np.array([1_000.0, 0.0]))
    # the band alone allows A 99,000 s of calls and B 63,000 s (test_route_days); A's capacity holds 95,000 s of
    # work, less the 1,000 s its days could not hold before
    assert adjusted.rep_max_s.tolist() == [94_000, 63_000] and adjusted.rep_min_s.tolist() == [81_000, 45_000]


@pytest.mark.parametrize(("failure", "key"), [
    (lambda: InfeasibleError([Finding("short by 1.0 h")]), "infeasible"),
    (lambda: cycle.RoundRejected("territories_in_pieces"), "territories_in_pieces")])
def test_a_round_the_reps_cannot_take_ends_the_rounds_and_keeps_the_best_so_far(failure: Any, key: str) -> None:
    """A round whose solve finds no plan, or only one the stage rejects (territories left in pieces: one-piece
    territories come before balance and unplanned visits), ends the rounds; the best round so far is kept."""
    problem, assignment = one_rep()

    def resolve(working: object) -> np.ndarray:
        raise failure()

    outcome = cycle.plan_with_feedback(problem, assignment, SETTINGS, resolve=resolve, tolerance=0.1, rounds=2,
                                       threshold=0.02, capacity_s=np.full(1, 3600.0))
    assert [entry["round"] for entry in outcome.rounds] == [0, 1]
    assert outcome.rounds[0]["kept"] == 1 and outcome.rounds[1] == {"round": 1, key: 1, "kept": 0}
    assert (outcome.assignment == assignment).all()


def test_spill_is_cut_to_what_the_team_can_take() -> None:
    problem = build_problem(np.zeros((4, 2)), np.zeros((2, 2)), rep_ids=np.array(["A", "B"], dtype=object),
                            workload=36_000, rep_target_s=np.full(2, 72_000.0),
                            rep_min_s=np.full(2, 0, np.int64), rep_max_s=np.full(2, 79_200, np.int64))
    # no band: each rep takes up to its capacity less drive, 75,000 + 75,000 s for 144,000 s of calls: 6,000 s to
    # spare. Of that, the team keeps 2 % of its calls (2,880 s) spare, so only 2 % of its month (1,500 s a rep, not
    # PACKING_SLACK's 5 %) is kept free for packing days, and of 8,000 s spilled the 120 s left can be given away
    adjusted = drive_adjusted(problem, np.zeros(2), None, capacity_s=np.full(2, 75_000.0),
                              spill_s=np.array([8_000.0, 0.0]))
    assert adjusted.rep_max_s.tolist() == [73_380, 73_500]
    roomy = drive_adjusted(problem, np.zeros(2), None, capacity_s=np.full(2, 80_000.0))
    assert roomy.rep_max_s.tolist() == [76_000, 76_000]  # room enough: 5 % of each month kept free


def test_a_visit_no_day_of_its_week_holds_moves_to_another_week(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight half-hour calls, each once in a two-week cycle, all put in week 1 (as an uneven spread would): its one
    three-hour day holds about five; the rest move to week 2, where the customer has no call, and none is lost."""
    from territory_opt.routing.days import Visit

    rng = np.random.default_rng(7)
    problem = build_problem(rng.uniform(-2_000, 2_000, size=(8, 2)), [[0.0, 0.0]], workload=1800, visits=1.0)
    settings = RoutingSettings(weeks=2, days=1, day_s=3 * 3600, break_s=0, solution_limit=50, time_limit_s=2.0)

    def all_in_week_one(visits: np.ndarray, *args: object) -> list[Visit]:
        return [Visit(c, 0, 0) for c in range(len(visits))]

    monkeypatch.setattr(cycle, "spread_visits", all_in_week_one)
    (rep,) = rep_inputs(problem, np.zeros(8, dtype=np.int64))
    plan = plan_rep(rep, settings)
    weeks = [day.week for day in plan.days]
    assert sorted(weeks) == [0, 1] and plan.unplanned == () and plan.stats["moved_to_other_day"] > 0
    assert schedule_violations(problem, np.zeros(8, dtype=np.int64), [plan], settings) == []


def test_weeks_to_try_keep_a_weekly_customer_in_its_week() -> None:
    problem, assignment = one_rep()  # weekly customers: two visits in a two-week cycle
    (rep,) = rep_inputs(problem, assignment)
    assert cycle._weeks_to_try(rep, {}, 1, 0, SETTINGS) == [1]
    monthly = RoutingSettings(weeks=4, days=1)
    assert cycle._weeks_to_try(rep, {(2, 0): [0]}, 1, 0, monthly) == [1, 0, 3]  # week 2 already has its call
