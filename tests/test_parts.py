"""Independent parts: no rule may connect two parts, and solving the parts apart keeps every rule of the whole."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from territory_opt.errors import SolverLimitError
from territory_opt.metrics import check
from territory_opt.model.bands import balance_targets
from territory_opt.model.problem import NO_REP, Problem
from territory_opt.solve.engine import SolveParams, _solve_large
from territory_opt.solve.parts import independent_parts
from territory_opt.solve.rules import eligible

from .problems import build_problem, problems


def pinned(problem: Problem, data: st.DataObject) -> Problem:
    """Every free rep pinned to a zone, as `zones.place_reps` leaves a problem before the large engine runs."""
    if not problem.n_zone_kinds:
        return problem
    rep_zone = problem.rep_zone.copy()
    for k in range(problem.n_zone_kinds):
        for r in np.flatnonzero(rep_zone[k] < 0):
            rep_zone[k, r] = data.draw(st.integers(0, len(problem.zone_names[k]) - 1))
    return problem.replace(rep_zone=rep_zone)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.data())
def test_no_eligible_pair_and_no_customer_crosses_parts(problem: Problem, data: st.DataObject) -> None:
    problem = pinned(problem, data)
    need_part, rep_part, n_parts = independent_parts(problem)
    event(f"{n_parts} parts")
    assert sorted(set(need_part.tolist())) == list(range(n_parts))
    need, rep = np.divmod(np.arange(problem.n_needs * problem.n_reps), problem.n_reps)
    ok = eligible(problem, need, rep)
    assert (need_part[need[ok]] == rep_part[rep[ok]]).all()
    for customer in np.unique(problem.need_customer):
        own = problem.need_customer == customer
        if own.sum() > problem.customer_caps[customer]:  # the cap can bind: one part
            assert len(set(need_part[own].tolist())) == 1
    if problem.max_moved is not None or problem.max_moved_value is not None:
        assert n_parts == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.data())
def test_a_part_keeps_its_needs_rules(problem: Problem, data: st.DataObject) -> None:
    """Costs, eligibility and workloads inside a part are the whole problem's (up to the outside current rep)."""
    problem = pinned(problem, data)
    need_part, rep_part, n_parts = independent_parts(problem)
    for i in range(n_parts):
        needs, reps = np.flatnonzero(need_part == i), np.flatnonzero(rep_part == i)
        piece = problem.part(need_part == i, rep_part == i)
        local_need, local_rep = np.divmod(np.arange(len(needs) * len(reps)), max(len(reps), 1))
        full_need, full_rep = needs[local_need], reps[local_rep]
        assert (eligible(piece, local_need, local_rep) == eligible(problem, full_need, full_rep)).all()
        assert (piece.workload(local_need, local_rep) == problem.workload(full_need, full_rep)).all()
        inside = piece.need_current_rep[local_need] != NO_REP
        outside = (problem.need_current_rep[full_need] != NO_REP) & ~inside
        expected = problem.arc_cost(full_need, full_rep) - problem.continuity_weight * outside
        assert np.allclose(piece.arc_cost(local_need, local_rep), expected)
        assert (piece.customer_ids[piece.need_customer] == problem.customer_ids[problem.need_customer[needs]]).all()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.data())
def test_large_engine_on_parts_keeps_every_rule(problem: Problem, data: st.DataObject) -> None:
    problem = pinned(problem, data)
    try:
        result = _solve_large(problem, SolveParams(candidate_reps=2), {})
    except SolverLimitError:
        event("large engine found nothing")
        return
    event(f"{result.stats['parts']} parts")
    assert check(problem, result.assignment) == []
    assert result.bound <= result.objective + 1e-6


def regional_problem(n_regions: int, per_region: int, reps_per_region: int) -> Problem:
    """Separate depots: each region's customers may only be served by that region's reps."""
    rng = np.random.default_rng(3)
    n, r = n_regions * per_region, n_regions * reps_per_region
    workload = rng.integers(600, 3600, size=n).astype(np.int64)
    need_zone = np.repeat(np.arange(n_regions), per_region)[None, :]
    rep_zone = np.repeat(np.arange(n_regions), reps_per_region)[None, :]
    lo = np.zeros(r, np.int64)
    hi = np.zeros(r, np.int64)
    target = np.zeros(r)
    for z in range(n_regions):  # bands per region, as the zone placement leaves them
        t, low, high = balance_targets(np.ones((reps_per_region, 1), bool), np.zeros(per_region, np.int64),
                                       workload[need_zone[0] == z], np.full(reps_per_region, np.inf), 0.15)
        target[rep_zone[0] == z], lo[rep_zone[0] == z], hi[rep_zone[0] == z] = t, low, high
    offsets = np.repeat(np.arange(n_regions) * 200_000.0, per_region)
    xy = rng.uniform(0, 100_000, size=(n, 2)) + offsets[:, None] * np.array([1.0, 0.0])
    rep_xy = rng.uniform(0, 100_000, size=(r, 2)) + np.repeat(np.arange(n_regions) * 200_000.0,
                                                                reps_per_region)[:, None] * np.array([1.0, 0.0])
    return build_problem(xy, rep_xy, team_names=("field",), workload=workload, rep_target_s=target, rep_min_s=lo,
                         rep_max_s=hi, zone_kinds=("depot",), zone_names=(tuple(f"D{z}" for z in range(n_regions)),),
                         need_zone=need_zone, rep_zone=rep_zone)


def test_regions_solve_apart_in_processes_with_the_same_answer() -> None:
    problem = regional_problem(n_regions=3, per_region=400, reps_per_region=5)
    need_part, rep_part, n_parts = independent_parts(problem)
    assert n_parts == 3 and (need_part == problem.need_zone[0]).all() and (rep_part == problem.rep_zone[0]).all()
    serial = _solve_large(problem, SolveParams(candidate_reps=4, workers=1), {})
    parallel = _solve_large(problem, SolveParams(candidate_reps=4, workers=2), {})
    assert serial.stats["parts"] == 3 and check(problem, serial.assignment) == []
    assert (serial.assignment == parallel.assignment).all() and serial.bound == parallel.bound
    joint = problem.replace(max_moved=10**6)  # a whole-alignment rule: one part
    assert independent_parts(joint)[2] == 1
    together = _solve_large(joint, SolveParams(candidate_reps=4), {})
    assert together.stats["parts"] == 1 and check(problem, together.assignment) == []
    assert together.objective <= serial.objective * 1.02
