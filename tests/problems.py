"""Problems the tests share: a builder for hand-made instances, the Hypothesis strategy for random small ones, and
an independent brute force to judge solvers by.

`build_problem` covers the common shape (one need per customer, one team, every rep in it, bands from a tolerance
or wide open); any `Problem` field can be given on top. Everything here reads the problem's data only, never a
solver's numbers.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from territory_opt.metrics import check, distinct_reps_per_customer, metric_totals
from territory_opt.model.bands import balance_targets
from territory_opt.model.problem import NO_REP, Problem


def build_problem(customer_xy: Any, rep_xy: Any, *, need_customer: Any = None, need_team: Any = None,
                  team_names: tuple[str, ...] = ("T",), rep_in_team: Any = None, workload: Any = 3600,
                  visits: Any = 1.0, tolerance: float | None = None, max_reps_per_customer: int = 1,
                  **changes: Any) -> Problem:
    """A problem from coordinates: by default one need per customer, all of team 0, every rep in every team, 3600 s
    and one visit per need, and bands that allow anything (0 to the total workload) unless `tolerance` asks for
    `balance_targets`' bands. `changes` sets any other `Problem` field (ids, locks, zones, explicit bands, ...)."""
    customer_xy = np.asarray(customer_xy, dtype=float).reshape(-1, 2)
    rep_xy = np.asarray(rep_xy, dtype=float).reshape(-1, 2)
    c, r = len(customer_xy), len(rep_xy)
    need_customer = np.arange(c) if need_customer is None else np.asarray(need_customer, dtype=np.int64)
    n = len(need_customer)
    need_team = np.zeros(n, np.int64) if need_team is None else np.asarray(need_team, dtype=np.int64)
    rep_in_team = np.ones((r, len(team_names)), bool) if rep_in_team is None else np.asarray(rep_in_team, bool)
    workload = np.broadcast_to(np.asarray(workload, dtype=np.int64), (n,)).copy()
    if tolerance is not None:
        target, lo, hi = balance_targets(rep_in_team, need_team, workload, np.full(r, np.inf), tolerance)
    else:
        total = int(workload.sum())
        target, lo, hi = np.full(r, total / max(r, 1)), np.zeros(r, np.int64), np.full(r, total, np.int64)
    fields: dict[str, Any] = dict(
        customer_ids=np.array([f"C{i}" for i in range(c)], dtype=object),
        customer_xy=customer_xy,
        rep_ids=np.array([f"R{i}" for i in range(r)], dtype=object),
        rep_xy=rep_xy,
        team_names=team_names,
        rep_in_team=rep_in_team,
        need_customer=need_customer,
        need_team=need_team,
        need_visits=np.broadcast_to(np.asarray(visits, dtype=float), (n,)).copy(),
        need_workload_s=workload,
        need_travel_weight=np.ones(n),
        need_locked_rep=np.full(n, NO_REP, np.int64),
        need_current_rep=np.full(n, NO_REP, np.int64),
        rep_target_s=target,
        rep_min_s=lo,
        rep_max_s=hi,
        max_reps_per_customer=max_reps_per_customer,
    )
    return Problem(**(fields | changes))


def random_problem(n: int, n_reps: int, *, seed: int, tolerance: float = 0.1, size_m: float = 100_000.0,
                   **changes: Any) -> Problem:
    """`n` customers and `n_reps` reps scattered uniformly over a square, one team, workloads 600 to 3600 s."""
    rng = np.random.default_rng(seed)
    workload = rng.integers(600, 3600, size=n).astype(np.int64)
    return build_problem(rng.uniform(0, size_m, size=(n, 2)), rng.uniform(0, size_m, size=(n_reps, 2)),
                         workload=workload, tolerance=tolerance, **changes)


def one_answer_problem() -> Problem:
    """Every rule active, one feasible answer. Customer C0 needs teams A and B (cap 1: capped), C1 team A. Reps R0
    (A and B), R1 (A), R2 (B, pinned to depot D0). n0 = (C0, A) in D0, currently R1; n1 = (C0, B) in D0, locked to
    R0 and never R2; n2 = (C1, A) in D1. Workload and accounts balanced; moves limited by count and value; a soft
    balance term. The only feasible answer: R0, R0 (the cap), R1 (R0 works in D0, though it lives nearer C1)."""
    return build_problem(
        [[0.0, 0.0], [5000.0, 0.0]], [[4000.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]], need_customer=[0, 0, 1],
        need_team=[0, 1, 0], team_names=("A", "B"), rep_in_team=[[True, True], [True, False], [False, True]],
        need_locked_rep=np.array([NO_REP, 0, NO_REP]), need_current_rep=np.array([1, NO_REP, NO_REP]),
        need_skills=np.zeros(3, np.int64), rep_skills=np.ones(3, np.int64), skill_names=("a",),
        excluded=np.array([1 * 3 + 2]), zone_kinds=("depot",), zone_names=(("D0", "D1"),),
        need_zone=np.array([[0, 0, 1]]), rep_zone=np.array([[-1, -1, 0]]),
        metric_names=("accounts",), need_metric=np.ones((1, 3), np.int64),
        rep_metric_min=np.zeros((1, 3), np.int64), rep_metric_max=np.full((1, 3), 3),
        max_moved=1, max_moved_value=10, need_value=np.array([4, 5, 6]), balance_weight=0.6,
    )


def eligible_table(problem: Problem) -> np.ndarray:
    """(N, R) whether each rep may take each need, computed here from the data (team, lock, product lines,
    exclusion, zone pin, reach), not by the rules under test."""
    n, r = problem.n_needs, problem.n_reps
    ok = problem.rep_in_team[:, problem.need_team].T.copy()
    locked = problem.need_locked_rep
    for i in np.flatnonzero(locked != NO_REP):
        ok[i] &= np.arange(r) == locked[i]
    if problem.need_skills is not None and problem.rep_skills is not None:
        ok &= (problem.need_skills[:, None] & ~problem.rep_skills[None, :]) == 0
    for key in problem.excluded.tolist():
        ok[key // r, key % r] = False
    for k in range(problem.n_zone_kinds):
        zone, pin = problem.need_zone[k][:, None], problem.rep_zone[k][None, :]
        ok &= (zone < 0) | (pin < 0) | (zone == pin)
    if problem.team_max_km is not None:
        delta = problem.customer_xy[problem.need_customer][:, None, :] - problem.rep_xy[None, :, :]
        km = np.hypot(delta[..., 0], delta[..., 1]) * problem.detour_factor / 1000.0
        ok &= km <= problem.team_max_km[problem.need_team][:, None]
    return ok.reshape(n, r)


@st.composite
def problems(draw: st.DrawFn, max_customers: int = 12, max_reps: int = 5, zones: bool = True,
             rules: bool = True) -> Problem:
    """Random instances: reps in one or more teams, customers needing one or more teams, optional locks,
    hard-boundary zones (some teams bound, some reps pinned), skills, exclusions, current reps with a soft
    continuity cost and a hard cap on moves, value and account balance, workloads that depend on the rep, and
    per-customer contact caps."""
    n_teams = draw(st.integers(1, 3))
    n_reps = draw(st.integers(n_teams, max_reps))
    n_customers = draw(st.integers(min(n_reps, max_customers), max_customers))  # mostly enough work for everyone
    membership = np.zeros((n_reps, n_teams), dtype=bool)
    for r in range(n_reps):
        membership[r, r % n_teams] = True  # every team has a rep
        for t in range(n_teams):
            if draw(st.booleans()) and draw(st.booleans()):
                membership[r, t] = True  # some reps serve several teams
    need_customer, need_team = [], []
    for c in range(n_customers):
        teams = draw(st.sets(st.integers(0, n_teams - 1), min_size=1, max_size=n_teams))
        for t in sorted(teams):
            need_customer.append(c)
            need_team.append(t)
    n = len(need_customer)
    coords = st.floats(0, 50_000, allow_nan=False)
    customer_xy = np.array(draw(st.lists(st.tuples(coords, coords), min_size=n_customers, max_size=n_customers)))
    rep_xy = np.array(draw(st.lists(st.tuples(coords, coords), min_size=n_reps, max_size=n_reps)))
    workload = np.array(draw(st.lists(st.integers(600, 7200), min_size=n, max_size=n)), dtype=np.int64)
    visits = np.array(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), dtype=float)
    tolerance = draw(st.sampled_from([0.05, 0.3, 0.6, 0.9, 0.9]))
    need_team_arr = np.array(need_team, dtype=np.int64)
    capacity = np.full(n_reps, np.inf)
    target, lo, hi = balance_targets(membership, need_team_arr, workload, capacity, tolerance)
    locked = np.full(n, NO_REP, dtype=np.int64)
    for i in range(n):
        if draw(st.integers(0, 9)) == 0:
            members = np.flatnonzero(membership[:, need_team[i]])
            locked[i] = int(members[draw(st.integers(0, len(members) - 1))])
    n_kinds = draw(st.integers(0, 2)) if zones else 0
    names = tuple(tuple(f"Z{k}{z}" for z in range(draw(st.integers(1, 3)))) for k in range(n_kinds))
    need_zone = np.full((n_kinds, n), -1, dtype=np.int64)
    rep_zone = np.full((n_kinds, n_reps), -1, dtype=np.int64)
    for k in range(n_kinds):
        respects = [draw(st.booleans()) for _ in range(n_teams)]
        customer_zone = [draw(st.integers(0, len(names[k]) - 1)) for _ in range(n_customers)]
        need_zone[k] = [customer_zone[c] if respects[t] else -1 for c, t in zip(need_customer, need_team, strict=True)]
        rep_zone[k] = [draw(st.integers(-1, len(names[k]) - 1)) if draw(st.booleans()) else -1 for _ in range(n_reps)]
    skills = draw(st.integers(0, 2)) == 0 if rules else False
    need_skills = np.array([draw(st.sampled_from([0, 0, 1, 2, 3])) for _ in range(n)], dtype=np.int64) \
        if skills else None
    rep_skills = np.array([draw(st.sampled_from([1, 2, 3, 3, 3])) for _ in range(n_reps)], dtype=np.int64) \
        if skills else None
    current = np.full(n, NO_REP, dtype=np.int64)
    excluded: list[int] = []
    if rules:
        for i in range(n):
            members = np.flatnonzero(membership[:, need_team[i]])
            if draw(st.integers(0, 2)) == 0:
                current[i] = int(members[draw(st.integers(0, len(members) - 1))])
            if draw(st.integers(0, 9)) == 0:
                excluded.append(i * n_reps + int(members[draw(st.integers(0, len(members) - 1))]))
    max_moved = draw(st.sampled_from([None, None, None, 0, 1, 3])) if rules else None
    metric_names: tuple[str, ...] = ()
    need_metric = rep_metric_min = rep_metric_max = np.zeros((0, 0), np.int64)
    if rules and draw(st.integers(0, 3)) == 0:  # balance value and accounts too, each with its own tolerance
        metric_names = ("value", "accounts")
        value = np.array(draw(st.lists(st.integers(1, 100), min_size=n, max_size=n)), dtype=np.int64)
        need_metric = np.vstack([value, np.ones(n, dtype=np.int64)])
        bands = [balance_targets(membership, need_team_arr, row, capacity, draw(st.sampled_from([0.3, 0.6, 0.9])))
                 for row in need_metric]
        rep_metric_min = np.vstack([b[1] for b in bands])
        rep_metric_max = np.vstack([b[2] for b in bands])
    arc_workload = None
    if rules and draw(st.integers(0, 3)) == 0:  # workload depends on the rep (e.g. drive time from its home)
        drive = np.array(draw(st.lists(st.integers(0, 1800), min_size=n * n_reps, max_size=n * n_reps)))
        arc_workload = workload[:, None] + drive.reshape(n, n_reps).astype(np.int64)
    return Problem(
        customer_ids=np.array([f"C{c}" for c in range(n_customers)], dtype=object),
        customer_xy=customer_xy,
        rep_ids=np.array([f"R{r}" for r in range(n_reps)], dtype=object),
        rep_xy=rep_xy,
        team_names=tuple(f"T{t}" for t in range(n_teams)),
        rep_in_team=membership,
        need_customer=np.array(need_customer, dtype=np.int64),
        need_team=need_team_arr,
        need_visits=visits,
        need_workload_s=workload,
        need_travel_weight=np.ones(n),
        need_locked_rep=locked,
        need_current_rep=current,
        rep_target_s=target,
        rep_min_s=lo,
        rep_max_s=hi,
        max_reps_per_customer=draw(st.integers(1, 3)),
        detour_factor=1.3,
        zone_kinds=tuple(f"kind{k}" for k in range(n_kinds)),
        zone_names=names,
        need_zone=need_zone if n_kinds else np.zeros((0, 0), np.int64),
        rep_zone=rep_zone if n_kinds else np.zeros((0, 0), np.int64),
        need_skills=need_skills,
        rep_skills=rep_skills,
        skill_names=("a", "b") if skills else (),
        excluded=np.unique(np.array(excluded, dtype=np.int64)),
        max_moved=max_moved,
        continuity_weight=float(draw(st.sampled_from([0.0, 5.0]))) if rules else 0.0,
        balance_weight=float(draw(st.sampled_from([0.0, 0.0, 3.0, 60.0]))) if rules else 0.0,
        metric_names=metric_names,
        need_metric=need_metric,
        rep_metric_min=rep_metric_min,
        rep_metric_max=rep_metric_max,
        arc_workload_s=arc_workload,
        max_moved_value=draw(st.sampled_from([None, None, 0, 50, 150])) if rules else None,
        need_value=np.array(draw(st.lists(st.integers(1, 60), min_size=n, max_size=n)), dtype=np.int64),
        customer_max_reps=np.array(draw(st.lists(st.integers(1, 3), min_size=n_customers, max_size=n_customers)),
                                   dtype=np.int64) if rules and draw(st.integers(0, 3)) == 0 else None,
    )


SLACK = st.sampled_from([0, 0, 1, 600, 3600, 10**7])  # how far a band, cap or limit lies beyond the assignment


@st.composite
def feasible_cases(draw: st.DrawFn, max_customers: int = 8, max_reps: int = 4) -> tuple[Problem, np.ndarray]:
    """A random problem and an assignment `metrics.check` accepts: each need goes to a rep it may take that keeps
    every rep in one zone per boundary kind, then the bands, contact caps, move limits, customers per rep and reach
    are set around that assignment, some exactly at it, so that moves break them now and then. Some needs take no
    time at all."""
    problem = draw(problems(max_customers=max_customers, max_reps=max_reps))
    n, r = problem.n_needs, problem.n_reps
    if draw(st.booleans()):  # customers without visits
        zero = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        arc = problem.arc_workload_s
        problem = problem.replace(need_workload_s=np.where(zero, 0, problem.need_workload_s),
                                  arc_workload_s=None if arc is None else np.where(zero[:, None], 0, arc))
    table = eligible_table(problem)
    k = problem.n_zone_kinds
    need_zone = problem.need_zone if k else np.zeros((0, n), np.int64)
    taken = problem.rep_zone.copy() if k else np.zeros((0, r), np.int64)
    assign = np.zeros(n, dtype=np.int64)
    for need in range(n):
        zone = need_zone[:, need]
        fits = ((zone[:, None] < 0) | (taken < 0) | (taken == zone[:, None])).all(axis=0)
        options = np.flatnonzero(table[need] & fits)
        assume(len(options) > 0)
        rep = int(options[draw(st.integers(0, len(options) - 1))])
        taken[:, rep] = np.where(zone >= 0, zone, taken[:, rep])
        assign[need] = rep
    totals = metric_totals(problem, assign)
    q = len(totals)
    low = np.maximum(totals - np.array(draw(st.lists(SLACK, min_size=q * r, max_size=q * r))).reshape(q, r), 0)
    high = totals + np.array(draw(st.lists(SLACK, min_size=q * r, max_size=q * r))).reshape(q, r)
    changes: dict[str, object] = {"rep_min_s": low[0], "rep_max_s": high[0]}
    if problem.metric_names:
        changes |= {"rep_metric_min": low[1:], "rep_metric_max": high[1:]}
    distinct = distinct_reps_per_customer(problem, assign)
    extra = st.integers(0, 1)
    if draw(st.booleans()):
        spare = np.array(draw(st.lists(extra, min_size=problem.n_customers, max_size=problem.n_customers)))
        changes["customer_max_reps"] = np.maximum(distinct, 1) + spare
    else:
        changes |= {"customer_max_reps": None, "max_reps_per_customer": int(max(distinct.max(), 1)) + draw(extra)}
    moving = (problem.need_current_rep != NO_REP) & (problem.need_current_rep != assign)
    changes["max_moved"] = draw(st.none() | st.just(int(moving.sum())) | st.just(int(moving.sum()) + 1))
    value = int(problem.need_value[moving].sum()) if problem.need_value is not None else 0
    changes["max_moved_value"] = draw(st.none() | st.just(value) | st.just(value + 30))
    if draw(st.booleans()):  # at most N customers per rep of a team, some teams exactly at their busiest rep
        n_teams = len(problem.team_names)
        counts = np.zeros((r, n_teams), np.int64)
        np.add.at(counts, (assign, problem.need_team), problem.need_sizes)
        spare = np.array(draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=n_teams, max_size=n_teams)))
        changes["team_max_customers"] = np.where(spare < 0, 0, np.maximum(counts.max(axis=0), 1) + spare)
    if draw(st.booleans()):  # a reach per team, beyond its farthest assigned customer (by a metre or by 20 km)
        delta = problem.customer_xy[problem.need_customer] - problem.rep_xy[assign]
        km = np.hypot(delta[:, 0], delta[:, 1]) * problem.detour_factor / 1000.0
        farthest = np.zeros(len(problem.team_names))
        np.maximum.at(farthest, problem.need_team, km)
        changes["team_max_km"] = farthest + np.array(draw(st.lists(st.sampled_from([0.001, 20.0, np.inf]),
                                                                   min_size=len(farthest), max_size=len(farthest))))
    problem = problem.replace(**changes)
    assert check(problem, assign) == []
    return problem, assign


def total_cost(problem: Problem, assignment: np.ndarray) -> float:
    """The objective of an alignment in visit-km, counted here: travel and continuity, plus the soft balance term
    (whole minutes off target, rounded up, at the balance weight rounded to 1/100 visit-km per minute as the
    solver's integer model counts it)."""
    needs = np.arange(problem.n_needs)
    current = problem.need_current_rep
    if problem.arc_travel is not None:
        travel = problem.arc_travel[needs, assignment]
    else:
        delta = problem.customer_xy[problem.need_customer] - problem.rep_xy[assignment]
        km = np.hypot(delta[:, 0], delta[:, 1]) * problem.detour_factor / 1000.0
        travel = problem.need_visits * problem.need_travel_weight * km
    moved = (current != NO_REP) & (current != assignment)
    load = np.zeros(problem.n_reps)
    np.add.at(load, assignment, problem.workload(needs, assignment))
    minutes = np.ceil(np.abs(load - np.rint(problem.rep_target_s)) / 60.0 - 1e-9)
    per_minute = np.rint(problem.balance_weight / 60.0 * 100) / 100
    return float(travel.sum() + problem.continuity_weight * moved.sum() + minutes.sum() * per_minute)


def n_alignments(problem: Problem) -> int:
    """How many alignments `brute_force` enumerates."""
    return int(np.prod(eligible_table(problem).sum(axis=1), dtype=float))


def brute_force(problem: Problem) -> tuple[float, np.ndarray] | None:
    """The cheapest alignment `metrics.check` accepts, by enumerating every rep each need may take (`eligible_table`;
    tiny instances only), with its `total_cost`; None when none is feasible."""
    options = [np.flatnonzero(row) for row in eligible_table(problem)]
    best: tuple[float, np.ndarray] | None = None
    for combo in itertools.product(*options):
        assignment = np.array(combo, dtype=np.int64)
        if check(problem, assignment):
            continue
        cost = total_cost(problem, assignment)
        if best is None or cost < best[0]:
            best = (cost, assignment)
    return best
