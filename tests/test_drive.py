"""Drive time in the workload (model/drive.py): the estimate, a far customer's cost to its rep, bundles that add up
exactly, the judge on drive-inclusive bands, and the solver keeping them."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from territory_opt.config.run import Workload
from territory_opt.metrics import check, rep_loads
from territory_opt.model.drive import PER_REP_MAX_ARCS, drive_seconds, drive_terms, local_spacing_km
from territory_opt.model.problem import Problem
from territory_opt.solve import Budget, SolveParams, solve
from territory_opt.solve.aggregate import bundle
from territory_opt.solve.engine import LARGE_MIN_ARCS

from .problems import build_problem

# one-hour calls, a trip out and back serving 4 hours of calls, hops of 1.25 x a 4 km spacing, 60 km/h: per visit
# and km from home 2 x 1 / 4 = 0.5 km driven = 30 s, and 5 km = 300 s whatever the distance
SETTINGS = {"speed_kmh": 60.0, "trip_call_hours": 4.0, "hop_factor": 1.25}
PER_KM, PER_VISIT = 30.0, 300.0


def with_drive(problem: Problem, counts: bool = True) -> Problem:
    call_s = problem.need_workload_s / problem.need_visits
    per_km, base = drive_terms(problem.need_visits, call_s, np.full(problem.n_needs, 4.0), **SETTINGS)
    return problem.replace(drive_s_per_km=per_km, drive_base_s=base, drive_counts=counts)


def test_estimate_formula() -> None:
    per_km, base = drive_terms(np.array([1.0, 2.0, 0.0]), np.array([3600.0, 1800.0, 3600.0]),
                               np.array([4.0, 4.0, 4.0]), **SETTINGS)
    assert per_km.tolist() == [30.0, 30.0, 0.0]  # two half-hour calls share the way out as much as one hour-long
    assert base.tolist() == [300.0, 600.0, 0.0]  # no visits (phone work): no drive
    # 2 visits of 30 min, 10 km from home: 2 x (2 x 10 x 0.5 / 4 + 1.25 x 4) km at 60 km/h = 15 min
    assert drive_seconds(per_km[1:2], base[1:2], np.array([10.0])).tolist() == [900]
    assert drive_seconds(per_km[2:], base[2:], np.array([290.0])).tolist() == [0]
    assert drive_seconds(per_km, base, np.array([0.01, 0.01, 0.01])).dtype == np.int64
    assert Workload().drive  # on by default: a rep's month is its calls and the drive they cause (README)


def test_spacing_is_measured_to_the_teams_own_driving_neighbours() -> None:
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [3000.0, 0.0], [0.0, 0.0], [50_000.0, 0.0]])
    team = np.array([0, 0, 0, 1, 1])
    driving = np.array([True, True, True, True, False])
    spacing = local_spacing_km(xy, team, driving, neighbours=1, detour_factor=1.5)
    assert spacing.tolist() == [1.5, 1.5, 3.0, 0.0, 0.0]  # alone in its team, or not driving: no hop measured
    assert local_spacing_km(xy, team, driving, neighbours=8, detour_factor=1.0)[0] == 2.0  # all it has: (1 + 3) / 2


def test_the_large_engine_threshold_is_the_fallbacks() -> None:
    assert PER_REP_MAX_ARCS == LARGE_MIN_ARCS


def test_a_far_customer_costs_its_rep_hours() -> None:
    """C0 lies 1 km from R0 and 290 km from R1 (detour 1): an hour of calls is ~1.2 h for R0, ~3.5 h for R1."""
    problem = with_drive(build_problem([[1000.0, 0.0]], [[0.0, 0.0], [291_000.0, 0.0]], workload=3600, visits=1.0))
    work = problem.workload(np.array([0, 0]), np.array([0, 1]))
    assert work.tolist() == [3600 + round(30 * 1.0 + 300), 3600 + round(30 * 290.0 + 300)]
    assert problem.drive_s(np.array([0]), np.array([1])).tolist() == [9000]
    assert problem.min_workload_s.tolist() == [3930]
    assert problem.calls_only().workload(np.array([0, 0]), np.array([0, 1])).tolist() == [3600, 3600]
    assert not problem.rep_independent_workload and problem.calls_only().rep_independent_workload
    # not counted: reported (drive_s) but not in the workload
    off = with_drive(problem, counts=False)
    assert off.workload(np.array([0]), np.array([1])).tolist() == [3600]
    assert off.drive_s(np.array([0]), np.array([1])).tolist() == [9000]


def test_the_judge_catches_a_band_breach_only_drive_makes() -> None:
    """Two customers, 5 km from R0 and 100 km from R1. Each rep may hold 1.5 h: the calls (1 h each) fit either
    way, but with drive R1's far customer costs 1 h + 0.5 x 2 x 100 km... > 1.5 h."""
    base = build_problem([[5000.0, 0.0], [6000.0, 0.0]], [[0.0, 0.0], [106_000.0, 0.0]], workload=3600,
                         rep_min_s=np.array([0, 0]), rep_max_s=np.array([5400, 5400]))
    problem = with_drive(base)
    assignment = np.array([0, 1])
    assert check(base, assignment) == []
    assert check(problem.calls_only(), assignment) == []
    broken = check(problem, assignment)
    assert [v.rule for v in broken] == ["balance"]
    assert "R1" in broken[0].message
    loads = rep_loads(problem, assignment).workload_s
    assert loads.tolist() == [3600 + 30 * 5 + 300, 3600 + 30 * 100 + 300]


def test_the_solver_keeps_drive_inclusive_bands() -> None:
    """Six customers near R0 and R1's home far away: with call-only bands the solver may split them 3/3, with drive
    every rep's calls + drive stays in its band (judged by metrics.check)."""
    rng = np.random.default_rng(3)
    customers = rng.uniform(0, 20_000, size=(12, 2))
    reps = np.array([[0.0, 0.0], [20_000.0, 20_000.0], [60_000.0, 0.0]])
    base = build_problem(customers, reps, workload=3600, visits=2.0)
    problem = with_drive(base)
    total = int(problem.min_workload_s.sum())
    lo, hi = np.full(3, int(total / 3 * 0.7)), np.full(3, int(total / 3 * 1.3))
    problem = problem.replace(rep_min_s=lo, rep_max_s=hi, rep_target_s=np.full(3, total / 3))
    result = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=3))
    assert check(problem, result.assignment) == []
    loads = rep_loads(problem, result.assignment).workload_s
    assert (loads >= lo).all() and (loads <= hi).all()


def unit_problem() -> Problem:
    """Eight customers in four units of two (units 0-1 on the left, 2-3 on the right), three reps, drive counted."""
    xy = np.array([[0, 0], [1000, 0], [5000, 0], [6000, 500], [40_000, 0], [41_000, 0], [45_000, 0],
                   [46_000, 1000]], dtype=float)
    base = build_problem(xy, [[0.0, 0.0], [20_000.0, 0.0], [45_000.0, 0.0]], workload=np.arange(8) * 60 + 1800,
                         visits=np.array([1, 2, 1, 1, 2, 1, 1, 1], dtype=float))
    return with_drive(base).replace(need_unit=np.array([0, 0, 1, 1, 2, 2, 3, 3]),
                                    unit_edges=np.array([[0, 1], [1, 2], [2, 3]]),
                                    unit_xy=np.array([[500, 0], [5500, 0], [40_500, 0], [45_500, 0]], dtype=float))


def test_a_bundle_costs_each_rep_exactly_its_members_workload() -> None:
    problem = unit_problem()
    bundling = bundle(problem)
    assert bundling is not None
    bundled = bundling.problem
    assert bundled.n_needs == 4 and bundled.drive_s_per_km is None and bundled.arc_workload_s is not None
    for b in range(bundled.n_needs):
        members = bundling.needs[bundling.ptr[b]:bundling.ptr[b + 1]]
        for r in range(problem.n_reps):
            exact = int(problem.workload(members, np.full(len(members), r)).sum())
            assert int(bundled.workload(np.array([b]), np.array([r]))[0]) == exact  # drive counted once
    assert bundled.min_workload_s.tolist() == bundled.arc_workload_s.min(axis=1).tolist()  # one team: every rep
    # any assignment of bundles gives every rep the same total as its expansion in the original problem
    for assignment in ([0, 0, 2, 2], [1, 0, 2, 1], [2, 2, 2, 2]):
        a = np.array(assignment)
        assert (rep_loads(bundled, a).workload_s == rep_loads(problem, bundling.expand(a)).workload_s).all()


def test_subsets_and_parts_keep_the_estimate() -> None:
    problem = unit_problem()
    keep = np.array([True, False, True, True, False, False, True, True])
    sub = problem.subset_needs(keep)
    assert sub.drive_s_per_km is not None and len(sub.drive_s_per_km) == 5
    need = np.arange(sub.n_needs)
    for r in range(problem.n_reps):
        assert (sub.workload(need, np.full(5, r)) == problem.workload(np.flatnonzero(keep), np.full(5, r))).all()
    part = problem.part(keep, np.array([True, False, True]))
    assert (part.workload(need, np.ones(5, np.int64)) == problem.workload(np.flatnonzero(keep),
                                                                        np.full(5, 2))).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(1, 12), st.booleans())
def test_the_least_workload_is_every_team_reps_minimum(seed: int, customers: int, reps: int, two_teams: bool) -> None:
    """The nearest rep's estimate is the least (drive grows with distance): the k-d tree answer equals trying
    every rep of the need's team."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 50_000, size=(customers, 2))
    homes = rng.uniform(0, 50_000, size=(reps, 2))
    teams = ("A", "B") if two_teams else ("A",)
    in_team = rng.random((reps, len(teams))) < 0.6
    in_team[0, :] = True  # every team has a rep
    problem = with_drive(build_problem(xy, homes, workload=rng.integers(600, 7200, size=customers),
                                       visits=rng.integers(1, 4, size=customers).astype(float), team_names=teams,
                                       rep_in_team=in_team,
                                       need_team=rng.integers(0, len(teams), size=customers)))
    everyone = np.arange(problem.n_reps)
    expected = [int(problem.workload(np.full(problem.n_reps, n), everyone)[in_team[:, problem.need_team[n]]].min())
                for n in range(problem.n_needs)]
    assert problem.min_workload_s.tolist() == expected
