"""A day the routing cannot plan is reported, never a crash or a silently empty plan (issue 19)."""

from __future__ import annotations

import numpy as np
import pytest

from territory_opt.errors import SolverLimitError
from territory_opt.metrics import schedule_violations
from territory_opt.results.assemble import unrouted_findings
from territory_opt.routing import cycle
from territory_opt.routing.cycle import RoutingOutcome, RoutingSettings, plan_rep, rep_inputs
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
