"""The solver contract (solve/budget.py): what a budget accepts, how a meter counts work, how a stop reaches the
engines, and the gap."""

from __future__ import annotations

import math
import threading
import time

import pytest

from territory_opt.solve.budget import Budget, Stop, WorkMeter, default_wall_cap, gap


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"work_s": 0}, "work_s must be a finite number > 0"),
    ({"work_s": -1.0}, "work_s must be a finite number > 0"),
    ({"work_s": math.inf}, "work_s must be a finite number > 0"),
    ({"work_s": math.nan}, "work_s must be a finite number > 0"),
    ({"solutions": 0}, "solutions must be at least 1"),
    ({"wall_s": 0}, "wall_s must be > 0"),
    ({"wall_s": math.nan}, "wall_s must be > 0"),
    ({"work_s": None}, "a budget needs work_s or wall_s"),
])
def test_a_budget_refuses_what_cannot_be_spent(kwargs: dict[str, float | None], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Budget(**kwargs)  # type: ignore[arg-type]


def test_the_wall_cap_is_the_safety_stop_unless_given() -> None:
    assert Budget(work_s=5).wall_cap == default_wall_cap(5) == 110.0
    assert Budget(work_s=5, wall_s=2).wall_cap == 2
    assert Budget(work_s=None, wall_s=3, solutions=10).wall_cap == 3


def test_with_work_keeps_the_stop_and_takes_the_new_work_s_safety_stop() -> None:
    stop = Stop()
    budget = Budget(work_s=60, wall_s=1, solutions=4, stop=stop).with_work(2)
    assert (budget.work_s, budget.solutions, budget.stop, budget.wall_cap) == (2, 4, stop, default_wall_cap(2))
    assert Budget(work_s=1).with_work(0).work_s == 1e-3  # never an invalid budget
    assert not budget.stopped()
    stop.set()
    assert budget.stopped() and not Budget().stopped()


def test_stop_calls_every_registered_stopper_once_set() -> None:
    stop, calls = Stop(), []
    stop.register(lambda: calls.append("a"))
    unregister = stop.register(lambda: calls.append("b"))
    unregister()
    unregister()  # twice is harmless
    assert calls == [] and not stop.is_set()
    stop.set()
    assert calls == ["a"] and stop.is_set()


def test_a_stopper_registered_after_the_flag_is_called_at_once() -> None:
    stop, calls = Stop(), []
    stop.set()
    stop.register(lambda: calls.append("late"))
    assert calls == ["late"]


def test_stop_may_be_set_from_another_thread() -> None:
    stop, called = Stop(), threading.Event()
    stop.register(called.set)
    threading.Thread(target=stop.set).start()
    assert called.wait(5)


def test_a_meter_counts_work_against_its_budget() -> None:
    meter = WorkMeter(Budget(work_s=10))
    assert meter.left() == 10 and not meter.exhausted()
    meter.pay(9.5)
    assert meter.left() == pytest.approx(0.5) and not meter.exhausted()
    meter.pay(0.5)
    assert meter.exhausted() and not meter.wall_capped


def test_a_child_meter_gets_at_most_what_is_left_and_settles_on_its_parent() -> None:
    parent = WorkMeter(Budget(work_s=10))
    parent.pay(7)
    child = parent.child(5)
    assert child.limit == pytest.approx(3) and child.deadline == parent.deadline
    small = parent.child(1)
    assert small.limit == 1
    child.pay(2)
    child.wall_capped = True
    parent.settle(child)
    assert parent.used == 9 and parent.wall_capped
    parent.pay(1)
    assert parent.child(5).limit == 1e-3  # nothing left: the smallest valid budget


def test_a_meter_is_exhausted_past_its_wall_deadline_and_says_so() -> None:
    meter = WorkMeter(Budget(work_s=100), deadline=time.perf_counter() - 1)
    assert meter.wall_left() < 0
    assert meter.exhausted() and meter.wall_capped


def test_a_meter_is_exhausted_once_its_run_is_stopped() -> None:
    stop = Stop()
    parent = WorkMeter(Budget(work_s=100, stop=stop))
    child = parent.child(10)
    assert not child.exhausted()
    stop.set()
    assert parent.exhausted() and child.exhausted() and not child.wall_capped


def test_gap() -> None:
    assert gap(100.0, 90.0) == pytest.approx(0.1)
    assert gap(0.0, 0.0) == 0.0
    assert math.isnan(gap(100.0, math.nan)) and math.isnan(gap(100.0, -math.inf))
    assert gap(100.0, 110.0) == pytest.approx(-0.1)  # a bound above the objective shows, never clamped
