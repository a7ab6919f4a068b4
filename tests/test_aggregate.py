"""solve/aggregate.py: units whole, by bundling each unit's needs per rule group into one need.

The bundled problem must be exact: for any assignment of the bundles, the objective, every rep's balanced totals
and the soft balance term equal the original problem's under the expanded assignment. Singles (no unit, locks,
exclusions, capped customers) stay needs of their own; needs of one unit in different rule groups (teams, zones)
go to different bundles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory_opt.metrics import balance_violations, check
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve.aggregate import Bundling, bundle, single_needs
from territory_opt.solve.rules import eligible
from territory_opt.solve.scaling import balance_units

from .problems import problems
from .unit_problems import grid_problem, unit_cell

# A 2 x 2 grid, three customers (needs) per unit: unit k holds needs 3k, 3k + 1, 3k + 2. Need 1 is locked to R2,
# need 4 may never get R0, need 11 has no unit. Workloads, visits and values differ per need; some needs have a
# current rep (continuity costs 5 visit-km; singles 4 and 11 too), the soft balance term is on, and accounts are
# balanced too.
LOCKED, EXCLUDED, NO_UNIT = 1, 4, 11


def units_problem(**changes: object) -> Problem:
    rng = np.random.default_rng(11)
    n = 12
    current = np.full(n, NO_REP)
    current[[0, 5, 6, 9, EXCLUDED, NO_UNIT]] = [0, 1, 2, 2, 1, 0]  # singles too: their continuity stays theirs
    need_unit = np.repeat(np.arange(4), 3)
    need_unit[NO_UNIT] = -1
    locked = np.full(n, NO_REP)
    locked[LOCKED] = 2
    fields: dict[str, Any] = dict(
        workload=rng.integers(600, 7200, size=n), visits=rng.integers(1, 4, size=n).astype(float),
        need_current_rep=current, continuity_weight=5.0, balance_weight=3.0, need_locked_rep=locked,
        excluded=np.array([EXCLUDED * 3 + 0]), need_unit=need_unit, tolerance=0.6,
        metric_names=("accounts",), need_metric=np.ones((1, n), np.int64),
        rep_metric_min=np.zeros((1, 3), np.int64), rep_metric_max=np.full((1, 3), 6, np.int64),
    )
    return grid_problem(2, 2, [unit_cell(0, 0), unit_cell(1, 1), unit_cell(0, 1)], per_unit=3,
                        **(fields | changes))


def members(bundling: Bundling, b: int) -> list[int]:
    return sorted(bundling.needs[bundling.ptr[b]:bundling.ptr[b + 1]].tolist())


def bundle_sets(bundling: Bundling) -> list[list[int]]:
    return sorted(members(bundling, b) for b in range(len(bundling.ptr) - 1))


def random_team_assignment(problem: Problem, rng: np.random.Generator) -> np.ndarray:
    """Each need to a random rep of its team (eligible or not: exactness must hold for every assignment)."""
    out = np.empty(problem.n_needs, dtype=np.int64)
    for need, team in enumerate(problem.need_team.tolist()):
        reps = np.flatnonzero(problem.rep_in_team[:, team])
        out[need] = rng.choice(reps)
    return out


def assert_exact(original: Problem, bundling: Bundling, assignment: np.ndarray) -> None:
    bundled = bundling.problem
    expanded = bundling.expand(assignment)
    assert expanded.shape == (original.n_needs,)
    assert np.array_equal(bundling.contract(expanded), assignment)
    assert bundled.arc_cost(np.arange(bundled.n_needs), assignment).sum() == pytest.approx(
        original.arc_cost(np.arange(original.n_needs), expanded).sum(), rel=1e-12, abs=1e-9)
    assert np.array_equal(bundled.rep_totals(assignment), original.rep_totals(expanded))
    assert balance_units(bundled, assignment) == balance_units(original, expanded)
    assert [v.message for v in balance_violations(bundled, assignment)] == \
        [v.message for v in balance_violations(original, expanded)]
    # the judge finds the same broken rules (pieces aside: singles are not counted in their units' territories)
    assert {v.rule for v in check(bundled, assignment)} - {"contiguity"} == \
        {v.rule for v in check(original, expanded)} - {"contiguity"}


# --- which needs bundle ------------------------------------------------------------------------------------------


def test_each_units_needs_bundle_and_the_exceptions_stay_single() -> None:
    problem = units_problem()
    bundling = bundle(problem)
    assert bundling is not None
    assert bundle_sets(bundling) == sorted([[0, 2], [LOCKED], [3, 5], [EXCLUDED], [6, 7, 8], [9, 10], [NO_UNIT]])
    assert bundling.exceptions == 2  # the lock and the exclusion leave their units' bundles; no unit is no exception
    bundled = bundling.problem
    assert bundled.n_needs == 7
    single = np.diff(bundling.ptr) == 1
    first = bundling.needs[bundling.ptr[:-1]]
    # a single keeps its lock, exclusion, current rep and (none) unit; a bundle has no current rep and no lock
    assert bundled.need_locked_rep[first == LOCKED].tolist() == [2]
    b_excl = int(np.flatnonzero(first == EXCLUDED)[0])
    assert bundled.excluded.tolist() == [b_excl * 3 + 0]
    assert (bundled.need_current_rep[~single] == NO_REP).all()
    assert bundled.need_unit is not None
    assert bundled.need_unit[first == NO_UNIT].tolist() == [-1]
    assert sorted(bundled.need_unit[~single].tolist()) == [0, 1, 2, 3]
    assert bundled.need_sizes.tolist() == np.diff(bundling.ptr).tolist()


def test_single_needs_are_the_documented_exceptions() -> None:
    problem = units_problem()
    assert np.flatnonzero(single_needs(problem)).tolist() == [LOCKED, EXCLUDED, NO_UNIT]


def test_a_capped_customers_needs_stay_single() -> None:
    # customers 0..11 need team A; customer 6 also needs team B and may see one rep only: both its needs single
    base = units_problem(excluded=np.zeros(0, np.int64), need_locked_rep=np.full(12, NO_REP))
    n = base.n_needs
    need_customer = np.r_[np.arange(n), 6]
    problem = base.replace(
        need_customer=need_customer, need_team=np.r_[np.zeros(n, np.int64), 1], team_names=("A", "B"),
        rep_in_team=np.array([[True, True], [True, False], [True, True]]),
        need_visits=np.r_[base.need_visits, 1.0], need_workload_s=np.r_[base.need_workload_s, 1800],
        need_travel_weight=np.ones(n + 1), need_locked_rep=np.full(n + 1, NO_REP),
        need_current_rep=np.r_[base.need_current_rep, NO_REP], need_unit=np.r_[base.need_unit, 2],
        need_metric=np.ones((1, n + 1), np.int64), team_contiguous=np.array([True, True]))
    bundling = bundle(problem)
    assert bundling is not None
    sets = bundle_sets(bundling)
    assert [6] in sets and [12] in sets  # customer 6's needs in A and B
    assert [7, 8] in sets  # the rest of unit 2 in team A
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert_exact(problem, bundling, random_team_assignment(bundling.problem, rng))


def test_needs_of_one_unit_in_different_zones_bundle_apart() -> None:
    # a distributor boundary runs through unit 0: need 0 in zone Z0, needs 1 and 2 in Z1
    problem = units_problem(need_locked_rep=np.full(12, NO_REP), excluded=np.zeros(0, np.int64),
                            zone_kinds=("distributor",),
                            zone_names=(("Z0", "Z1"),), need_zone=np.array([[0, 1, 1] + [1] * 9]),
                            rep_zone=np.full((1, 3), -1))
    bundling = bundle(problem)
    assert bundling is not None
    sets = bundle_sets(bundling)
    assert [0] in sets and [1, 2] in sets
    assert bundling.exceptions == 1  # need 0 is outside its unit's main bundle


def test_a_hard_limit_on_moves_turns_bundling_off() -> None:
    assert bundle(units_problem(max_moved=3)) is None
    assert bundle(units_problem(max_moved_value=10, need_value=np.ones(12, np.int64))) is None
    assert bundle(units_problem().replace(need_unit=None)) is None


def test_nothing_to_bundle_gives_none() -> None:
    problem = grid_problem(2, 2, [unit_cell(0, 0), unit_cell(1, 1)])  # one need per unit
    assert bundle(problem) is None


# --- exactness ---------------------------------------------------------------------------------------------------


def test_the_bundled_problem_is_exact_for_random_assignments() -> None:
    problem = units_problem()
    bundling = bundle(problem)
    assert bundling is not None
    rng = np.random.default_rng(1)
    for _ in range(50):
        assert_exact(problem, bundling, random_team_assignment(bundling.problem, rng))


def test_exactness_holds_when_the_workload_depends_on_the_rep() -> None:
    rng = np.random.default_rng(2)
    problem = units_problem()
    problem = problem.replace(arc_workload_s=problem.need_workload_s[:, None] + rng.integers(0, 1800, size=(12, 3)))
    bundling = bundle(problem)
    assert bundling is not None
    for _ in range(30):
        assert_exact(problem, bundling, random_team_assignment(bundling.problem, rng))


def test_expand_gives_every_member_its_bundles_rep() -> None:
    bundling = bundle(units_problem())
    assert bundling is not None
    assignment = np.arange(bundling.problem.n_needs) % 3
    expanded = bundling.expand(assignment)
    for b in range(bundling.problem.n_needs):
        assert set(expanded[members(bundling, b)].tolist()) == {assignment[b]}


def test_a_bundle_is_eligible_for_a_rep_only_if_every_member_is() -> None:
    # max_km bundles (a bundle is judged by its farthest member): R1 at the north-east reaches unit 3 only
    problem = units_problem(team_max_km=np.array([1.2]), need_locked_rep=np.full(12, NO_REP),
                            excluded=np.zeros(0, np.int64))
    bundling = bundle(problem)
    assert bundling is not None
    bundled = bundling.problem
    for b in range(bundled.n_needs):
        for rep in range(3):
            mine = members(bundling, b)
            expected = bool(eligible(problem, np.array(mine), np.full(len(mine), rep)).all())
            assert bool(eligible(bundled, np.array([b]), np.array([rep]))[0]) == expected, (b, rep)


@st.composite
def problems_with_units(draw: st.DrawFn) -> Problem:
    """The shared random problems (every rule), with each need in one of a few units or in none."""
    problem = draw(problems(max_customers=10, max_reps=4))
    n_units = draw(st.integers(1, 4))
    customer_unit = np.array(draw(st.lists(st.integers(-1, n_units - 1), min_size=problem.n_customers,
                                           max_size=problem.n_customers)), dtype=np.int64)
    xy = np.array([[1000.0 * u, 0.0] for u in range(n_units)])
    edges = np.array([[u, u + 1] for u in range(n_units - 1)], dtype=np.int64).reshape(-1, 2)
    return problem.replace(max_moved=None, max_moved_value=None, need_unit=customer_unit[problem.need_customer],
                           unit_xy=xy, unit_edges=edges,
                           team_contiguous=np.ones(len(problem.team_names), dtype=bool))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems_with_units(), st.integers(0, 2**32 - 1))
def test_bundling_random_problems_is_exact(problem: Problem, seed: int) -> None:
    bundling = bundle(problem)
    if bundling is None:
        return
    single = single_needs(problem)
    for b in range(bundling.problem.n_needs):
        mine = members(bundling, b)
        assert len(mine) == 1 or not single[mine].any()  # singles never share a bundle
        assert len({int(problem.need_team[i]) for i in mine}) == 1
        assert problem.need_unit is not None and len({int(problem.need_unit[i]) for i in mine}) == 1
    assert sorted(bundling.needs.tolist()) == list(range(problem.n_needs))
    rng = np.random.default_rng(seed)
    for _ in range(5):
        assert_exact(problem, bundling, random_team_assignment(bundling.problem, rng))
