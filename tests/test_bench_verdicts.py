"""bench/verdicts.py: a value better than a proven optimum, an invalid answer or a crash is reported as such and
left out of the means, with a count beside them (issue 19)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from verdicts import crashed, judge, signed_gap, summarise


def test_gap_is_signed_and_follows_the_sense() -> None:
    assert signed_gap(110, 100) == pytest.approx(10.0)
    assert signed_gap(90, 100) == pytest.approx(-10.0)  # not abs(): below the reference is negative
    assert signed_gap(90, 100, "max") == pytest.approx(10.0)  # maximising: less is worse
    assert signed_gap(110, 100, "max") == pytest.approx(-10.0)
    assert math.isnan(signed_gap(5, 0)) and math.isnan(signed_gap(5, math.nan))
    with pytest.raises(ValueError):
        signed_gap(1, 1, "up")


def test_below_a_proven_optimum_is_a_bug_not_a_gap() -> None:
    v = judge("pmed1", 5800, 5819)
    assert v.kind == "beats_optimum" and not v.counted and v.gap < 0
    assert "BELOW PROVEN OPTIMUM" in v.gap_cell()
    assert judge("gap1#1", 340, 336, sense="max").kind == "beats_optimum"  # above a maximisation optimum


def test_better_than_a_best_known_value_counts_and_is_flagged() -> None:
    v = judge("X-n101-k25", 27500, 27591, proven=False)
    assert v.kind == "new_best" and v.counted and v.gap < 0 and "new best" in v.gap_cell()


def test_equal_within_float_noise_is_the_optimum() -> None:
    v = judge("pmed4", 3561.19 * (1 - 1e-12), 3561.19)
    assert v.kind == "ok" and v.gap == 0.0


def test_invalid_and_crashed_are_reported_and_excluded() -> None:
    assert judge("a", 10, 9, valid=False, error="capacity").kind == "invalid"
    assert judge("a", 10, 9, valid=False).gap_cell() == "INVALID"
    c = crashed("b", 9, SolverLimitLike("no routes"))
    assert c.kind == "crashed" and "no routes" in c.error and c.gap_cell() == "CRASHED"
    assert judge("c", None, 9).kind == "crashed"
    assert judge("d", 10, None).kind == "no_reference"


class SolverLimitLike(Exception):
    pass


def test_summary_means_only_the_comparable_answers_and_counts_the_rest() -> None:
    verdicts = [judge("a", 110, 100), judge("b", 100, 100), judge("c", 90, 100),  # c: below the optimum
                judge("d", 500, 100, valid=False), crashed("e", 100, RuntimeError("boom")),
                judge("f", 95, 100, proven=False)]
    s = summarise(verdicts)
    assert s.total == 6 and s.counted == 3
    assert s.mean_gap == pytest.approx((10.0 + 0.0 - 5.0) / 3)  # the invalid 400 % and the -10 % are not in it
    assert s.max_gap == pytest.approx(10.0)
    assert s.at_reference == 2
    assert s.excluded == {"beats_optimum": 1, "crashed": 1, "invalid": 1}
    assert "over 3 of 6" in s.text() and "1 beats optimum" in s.text() and "1 crashed" in s.text()
    assert s.mean_cell() == "1.67 (3/6: 1 beats optimum, 1 crashed, 1 invalid)"


def test_summary_with_nothing_comparable() -> None:
    s = summarise([crashed("a", 1, RuntimeError("x"))])
    assert s.counted == 0 and math.isnan(s.mean_gap)
    assert s.text().startswith("no comparable answer") and s.mean_cell() == "- (0/1)"
    assert summarise([]).mean_cell() == "-"


def test_published_routing_reports_a_crash_on_its_row_and_goes_on() -> None:
    import numpy as np
    from published_routing import Case, Outcome, Solver, mean_gap, run_one

    from territory_opt.routing.vrp import VrpInstance

    instance = VrpInstance(duration=np.zeros((2, 2), dtype=np.int64), distance=None,
                           service=np.zeros(2, dtype=np.int64), window_open=None, window_close=None, demand=None,
                           vehicle_capacity=None, n_vehicles=1, max_route_duration=None, horizon=10)
    cases = [Case("A", instance, np.zeros((2, 2)), 100.0, 1), Case("B", instance, np.zeros((2, 2)), 100.0, 1)]

    def boom(case: Case, limit: float, seed: int) -> Outcome:
        if case.name == "A":
            raise RuntimeError("no routes found within 30 s (ROUTING_NOT_SOLVED)")
        return Outcome(103.0, 1, 0.1, True)

    solver = Solver("x", "X", boom)
    outcomes = {case.name: run_one(solver, case, 1.0, 0) for case in cases}
    assert outcomes["A"].error.startswith("RuntimeError: no routes") and outcomes["A"].verdict(cases[0]).kind == \
        "crashed"
    assert mean_gap(cases, outcomes) == "3.00 (1/2: 1 crashed)"
