"""Design mode (choosing territory centres): hand-made optima, brute-force properties, the judge, determinism."""

from __future__ import annotations

import itertools
import threading
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory_opt.errors import InfeasibleError
from territory_opt.solve.budget import Budget, Outcome, Stop, WorkMeter
from territory_opt.solve.design import DesignProblem, design_objective, design_violations, solve_design
from territory_opt.solve.design.assign import assign_flow, assign_greedy, assign_transport
from territory_opt.solve.design.lns import region_lns
from territory_opt.solve.design.result import Answer
from territory_opt.solve.design.rules import uniform_load
from territory_opt.solve.design.scaling import cost_scaling, to_units

FAST = 0.2  # work seconds: tiny instances settle long before


def line(points: list[float], sites: list[float] | None = None) -> np.ndarray:
    """Distances between customers and sites on a line."""
    sites = points if sites is None else sites
    return np.abs(np.subtract.outer(np.array(points, float), np.array(sites, float)))


def check_answer(problem: DesignProblem, result) -> None:
    assert design_violations(problem, result.centres, result.assignment) == []
    assert result.objective == pytest.approx(design_objective(problem, result.centres, result.assignment), abs=1e-9)
    assert result.bound <= result.objective + 1e-9
    assert list(result.centres) == sorted(result.centres)


# --- hand-made instances ---------------------------------------------------------------------------------------


def test_two_clusters_uncapacitated() -> None:
    problem = DesignProblem(distance=line([0, 1, 10, 11]), weight=np.ones(4), p=2)
    result = solve_design(problem, Budget(FAST))
    check_answer(problem, result)
    assert result.objective == 2.0
    assert result.engine == "interchange"
    assert result.status == "optimal" and result.bound == 2.0  # integer costs: the rounded Lagrangian bound closes it
    assert set(result.assignment[:2]) < {0, 1} and set(result.assignment[2:]) < {2, 3}


def test_weights_pull_the_centre() -> None:
    # one centre for three customers: the heavy one gets it
    problem = DesignProblem(distance=line([0, 4, 5]), weight=np.array([10.0, 1.0, 1.0]), p=1)
    result = solve_design(problem, Budget(FAST))
    check_answer(problem, result)
    assert list(result.centres) == [0]
    assert result.objective == 9.0


def test_sites_apart_from_customers() -> None:
    problem = DesignProblem(distance=line([0, 2, 10], sites=[1, 5, 9, 20]), weight=np.ones(3), p=2)
    result = solve_design(problem, Budget(FAST))
    check_answer(problem, result)
    assert list(result.centres) == [0, 2] and result.objective == 3.0


def test_capacity_splits_a_cluster() -> None:
    # {0, 1, 2} cannot share a centre of capacity 2: the best is {0, 1} at 0 or 1 and {2, 10} at 2 or 10
    problem = DesignProblem(distance=line([0, 1, 2, 10]), weight=np.ones(4), p=2,
                            site_capacity=np.full(4, 2, dtype=np.int64))
    result = solve_design(problem, Budget(FAST))
    check_answer(problem, result)
    assert result.objective == 9.0
    assert result.engine == "cpsat" and result.status == "optimal"


def test_demand_counts_against_capacity() -> None:
    problem = DesignProblem(distance=line([0, 1, 10]), weight=np.ones(3), p=2, demand=np.array([5, 5, 1]),
                            site_capacity=np.array([6, 6, 20]))
    result = solve_design(problem, Budget(FAST))
    check_answer(problem, result)
    assert result.objective == 9.0  # 0 and 1 cannot share: one of them travels to the centre at 10


def test_size_floor() -> None:
    # every centre must serve at least 2 customers: the lone far customer joins a cluster
    problem = DesignProblem(distance=line([0, 1, 2, 30]), weight=np.ones(4), p=2, size_bounds=(2, 4))
    result = solve_design(problem, Budget(FAST))
    check_answer(problem, result)
    assert result.objective == 1.0 + 28.0  # {0, 1} at one of them, {2, 30} at 2 or 30
    assert result.status == "optimal"


def test_soft_balance_trades_distance_for_size() -> None:
    distance = line([0, 1, 2, 3, 20, 21])
    plain = DesignProblem(distance=distance, weight=np.ones(6), p=2)
    balanced = DesignProblem(distance=distance, weight=np.ones(6), p=2, size_target=3.0, balance_penalty=100.0)
    assert solve_design(plain, Budget(FAST)).objective == 4.0 + 1.0
    result = solve_design(balanced, Budget(FAST))
    check_answer(balanced, result)
    # sizes 3 and 3: customer 3 travels to the far centre (17 or 18) instead of paying 2 x 100 of imbalance
    assert result.objective == pytest.approx(2.0 + 18.0)
    assert result.status == "optimal"


def test_soft_balance_fractional_target() -> None:
    problem = DesignProblem(distance=line([0, 1, 2, 10, 11]), weight=np.ones(5), p=2, size_target=2.5,
                            balance_penalty=0.3)
    result = solve_design(problem, Budget(FAST))
    check_answer(problem, result)
    assert result.objective == pytest.approx(2.0 + 1.0 + 0.3 * (0.5 + 0.5))
    assert result.bound <= result.objective + 1e-9 and result.gap < 1e-6


def test_p_equals_sites_and_p_one() -> None:
    distance = line([0, 3, 7])
    every = solve_design(DesignProblem(distance=distance, weight=np.ones(3), p=3), Budget(FAST))
    assert every.objective == 0.0 and list(every.centres) == [0, 1, 2]
    one = solve_design(DesignProblem(distance=distance, weight=np.ones(3), p=1), Budget(FAST))
    assert one.objective == 7.0 and list(one.centres) == [1]


def test_infeasible_capacity_says_what_is_short() -> None:
    problem = DesignProblem(distance=line([0, 1, 2, 3]), weight=np.ones(4), p=2,
                            site_capacity=np.array([1, 1, 1, 5]))
    assert solve_design(problem, Budget(FAST)).objective == 3.0  # centre 0 alone, the big site 3 takes 1-3
    short = DesignProblem(distance=line([0, 1, 2, 3]), weight=np.ones(4), p=2, site_capacity=np.ones(4, np.int64))
    with pytest.raises(InfeasibleError, match="short by 2"):
        solve_design(short, Budget(FAST))


def test_infeasible_size_rules() -> None:
    heavy = DesignProblem(distance=line([0, 1]), weight=np.ones(2), p=1, demand=np.array([3, 1]), size_bounds=(0, 2))
    with pytest.raises(InfeasibleError, match="more demand than any site"):
        solve_design(heavy, Budget(FAST))
    floor = DesignProblem(distance=line([0, 1, 2]), weight=np.ones(3), p=2, size_bounds=(2, 3))
    with pytest.raises(InfeasibleError, match="at least 2"):
        solve_design(floor, Budget(FAST))
    # counting passes (2 + 2 >= 3 ... ) but lumps do not fit: demands 2, 2, 2 into two centres of size [3, 4]
    lumpy = DesignProblem(distance=line([0, 1, 2]), weight=np.ones(3), p=2, demand=np.array([2, 2, 2]),
                          size_bounds=(3, 4))
    with pytest.raises(InfeasibleError):
        solve_design(lumpy, Budget(FAST))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"distance": -line([0, 1])}, "distance must be finite and >= 0"),
    ({"distance": np.array([[0.0, np.nan], [1.0, 0.0]])}, "distance must be finite"),
    ({"distance": np.zeros(3)}, "matrix"),
    ({"distance": np.zeros((0, 2))}, "matrix"),
    ({"weight": np.ones(3)}, "weight must have shape"),
    ({"weight": np.array([1.0, -1.0])}, "weight must be finite and >= 0"),
    ({"p": 0}, "p must be an integer"),
    ({"p": 3}, "p must be an integer"),
    ({"p": True}, "p must be an integer"),
    ({"p": 1.0}, "p must be an integer"),
    ({"demand": np.array([1.5, 1.0])}, "demand must hold integers"),
    ({"demand": np.array([1, -1])}, "demand must be"),
    ({"site_capacity": np.array([1, 2, 3])}, "site_capacity must be"),
    ({"size_bounds": (3, 2)}, "size_bounds must satisfy"),
    ({"size_bounds": (1.5, 2)}, "size_bounds must be two integers"),
    ({"balance_penalty": 1.0}, "needs a size_target"),
    ({"balance_penalty": -1.0}, "balance_penalty must be finite"),
    ({"size_target": float("inf"), "balance_penalty": 1.0}, "size_target must be finite"),
])
def test_malformed_problems_raise(kwargs: dict, message: str) -> None:
    base = {"distance": line([0, 1]), "weight": np.ones(2), "p": 1}
    with pytest.raises(ValueError, match=message):
        DesignProblem(**{**base, **kwargs})


def test_bad_solver_arguments_raise() -> None:
    problem = DesignProblem(distance=line([0, 1]), weight=np.ones(2), p=1)
    with pytest.raises(ValueError, match="must be a Budget"):
        solve_design(problem, 0.2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs work_s"):
        solve_design(problem, Budget(work_s=None, wall_s=1.0))
    with pytest.raises(ValueError, match="workers"):
        solve_design(problem, Budget(FAST), workers=0)


def test_result_is_an_outcome_of_the_budget_contract() -> None:
    """Capacitated and uncapacitated engines both report what `budget.Outcome` promises, work and wall cap among it."""
    for extra in ({}, {"site_capacity": np.full(4, 2, dtype=np.int64)}):
        problem = DesignProblem(distance=line([0, 1, 2, 10]), weight=np.ones(4), p=2, **extra)
        result: Outcome = solve_design(problem, Budget(FAST))
        assert result.status == "optimal" and result.bound <= result.objective
        assert result.stats["wall_capped"] == 0 and 0 < float(result.stats["work_s"]) <= FAST + 0.1


def test_stop_flag_ends_the_search() -> None:
    """A stop set from outside ends the engine at its next check (CP-SAT included), long before its work budget;
    unstopped, the same instance spends its whole budget."""
    problem = DesignProblem(distance=random_plane(150, 150, seed=3), weight=np.ones(150), p=10,
                            site_capacity=np.full(150, 16, dtype=np.int64))
    stop = Stop()
    stop.set()
    stopped = solve_design(problem, Budget(4.0, stop=stop))
    check_answer(problem, stopped)
    assert float(stopped.stats["work_s"]) < 1.0 and stopped.stats["stopped"] == 1
    later = Stop()
    timer = threading.Timer(1.0, later.set)
    timer.start()
    try:
        midway = solve_design(problem, Budget(60.0, stop=later))
    finally:
        timer.cancel()
    check_answer(problem, midway)
    assert float(midway.stats["work_s"]) < 30.0 and midway.stats["stopped"] == 1
    whole = solve_design(problem, Budget(2.0))
    assert float(whole.stats["work_s"]) >= 2.0 and "stopped" not in whole.stats


def test_problem_is_read_only_and_copied() -> None:
    distance = line([0, 1, 2])
    problem = DesignProblem(distance=distance, weight=np.ones(3), p=1, demand=np.ones(3, np.int64))
    distance[0, 1] = 99.0
    assert problem.distance[0, 1] == 1.0
    with pytest.raises(ValueError):
        problem.distance[0, 0] = 1.0
    with pytest.raises(ValueError):
        problem.demand[0] = 2


def test_judge_finds_every_broken_rule() -> None:
    problem = DesignProblem(distance=line([0, 1, 2, 3]), weight=np.ones(4), p=2, site_capacity=np.full(4, 2),
                            size_bounds=(1, 3))
    assert design_violations(problem, np.array([0, 3]), np.array([0, 0, 3, 3])) == []
    assert design_violations(problem, np.array([0]), np.array([0, 0, 0, 0]))[0].startswith("centres must be 2")
    assert design_violations(problem, np.array([0, 9]), np.array([0, 0, 0, 0])) == ["a centre is not a site index"]
    assert "centres repeat a site" in design_violations(problem, np.array([1, 1]), np.array([1, 1, 1, 1]))
    assert "not a centre" in design_violations(problem, np.array([0, 3]), np.array([0, 1, 3, 3]))[0]
    found = design_violations(problem, np.array([0, 3]), np.array([0, 0, 0, 0]))
    assert any("above its capacity 2" in f for f in found) and any("outside the size bounds" in f for f in found)
    assert design_objective(problem, np.array([0, 3]), np.array([0, 0, 3, 3])) == 2.0


# --- properties against brute force ----------------------------------------------------------------------------


@cache
def all_assignments(n_customers: int, p: int) -> np.ndarray:
    return np.array(list(itertools.product(range(p), repeat=n_customers)), dtype=np.int64).reshape(-1, n_customers)


def brute_force(problem: DesignProblem) -> float:
    """The optimum by enumerating every centre set and, under any rule, every assignment (inf if none is feasible)."""
    best = np.inf
    for centres in itertools.combinations(range(problem.n_sites), problem.p):
        centres = np.array(centres)
        if problem.is_uncapacitated:
            best = min(best, float((problem.weight * problem.distance[:, centres].min(axis=1)).sum()))
        else:
            best = min(best, best_assignment(problem, centres))
    return best


@st.composite
def design_problems(draw: st.DrawFn, rules: bool) -> DesignProblem:
    """Random small instances; with `rules`, some mix of capacity, size bounds and soft balance (always one)."""
    n_customers = draw(st.integers(1, 6 if rules else 8))
    n_sites = draw(st.integers(1, 6 if rules else 8))
    p = draw(st.integers(1, min(n_sites, 3) if rules else n_sites))
    integral = draw(st.booleans())
    values = st.integers(0, 20) if integral else st.floats(0, 20, allow_nan=False, allow_subnormal=False)
    distance = np.array(draw(st.lists(values, min_size=n_customers * n_sites, max_size=n_customers * n_sites)),
                        dtype=float).reshape(n_customers, n_sites)
    weight = np.array(draw(st.lists(st.integers(0, 3) if integral else st.floats(0, 3, allow_subnormal=False),
                                    min_size=n_customers, max_size=n_customers)), dtype=float)
    kwargs: dict = {}
    if rules:
        kinds = draw(st.sets(st.sampled_from(["capacity", "bounds", "balance"]), min_size=1))
        if draw(st.booleans()):
            kwargs["demand"] = np.array(draw(st.lists(st.integers(0, 4), min_size=n_customers,
                                                      max_size=n_customers)), dtype=np.int64)
        if "capacity" in kinds:
            kwargs["site_capacity"] = np.array(draw(st.lists(st.integers(0, 10), min_size=n_sites,
                                                             max_size=n_sites)), dtype=np.int64)
        if "bounds" in kinds:
            lo = draw(st.integers(0, 3))
            kwargs["size_bounds"] = (lo, draw(st.integers(lo, 12)))
        if "balance" in kinds:
            kwargs["size_target"] = draw(st.sampled_from([0.0, 1.0, 1.5, 2.0, n_customers / p, 3.3]))
            kwargs["balance_penalty"] = draw(st.sampled_from([0.1, 1.0, 2.5, 7.3]))
    return DesignProblem(distance=distance, weight=weight, p=p, **kwargs)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design_problems(rules=False))
def test_uncapacitated_matches_brute_force(problem: DesignProblem) -> None:
    optimum = brute_force(problem)
    result = solve_design(problem, Budget(0.1), seed=1)
    check_answer(problem, result)
    assert result.bound <= optimum + 1e-6
    assert result.objective == pytest.approx(optimum, abs=1e-6)
    # nearest centre for everyone: nothing else can be optimal without rules
    rows = np.arange(problem.n_customers)
    nearest = problem.distance[:, result.centres].min(axis=1)
    assert np.allclose(problem.distance[rows, result.assignment] * problem.weight, nearest * problem.weight)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design_problems(rules=True))
def test_rules_hold_and_bound_is_valid(problem: DesignProblem) -> None:
    optimum = brute_force(problem)
    if not np.isfinite(optimum):
        with pytest.raises(InfeasibleError):
            solve_design(problem, Budget(1.0), seed=1)
        return
    result = solve_design(problem, Budget(1.0), seed=1)
    check_answer(problem, result)
    assert result.bound <= optimum + 1e-6
    assert optimum <= result.objective + 1e-6
    assert result.objective == pytest.approx(optimum, abs=1e-6)  # tiny: CP-SAT proves it


def best_assignment(problem: DesignProblem, centres: np.ndarray) -> float:
    """Brute force over every assignment to these centres (inf if none meets the rules)."""
    rows = np.arange(problem.n_customers)
    choice = centres[all_assignments(problem.n_customers, len(centres))]
    cost = (problem.weight * problem.distance[rows, choice]).sum(axis=1)
    sizes = np.stack([(problem.loads * (choice == s)).sum(axis=1) for s in centres], axis=1)
    ok = np.ones(len(choice), dtype=bool)
    if problem.site_capacity is not None:
        ok &= (sizes <= problem.site_capacity[centres]).all(axis=1)
    if problem.size_bounds is not None:
        ok &= ((sizes >= problem.size_bounds[0]) & (sizes <= problem.size_bounds[1])).all(axis=1)
    if problem.has_balance:
        cost = cost + problem.balance_penalty * np.abs(sizes - problem.size_target).sum(axis=1)
    return float(cost[ok].min()) if ok.any() else np.inf


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design_problems(rules=True), st.data())
def test_flow_assignment_to_fixed_centres(problem: DesignProblem, data: st.DataObject) -> None:
    """Equal demands: the min-cost flow (convex penalty, size floors) finds the best assignment to given centres.
    Unequal demands: the rounded transportation relaxation, when it answers, keeps every rule."""
    centres = np.array(sorted(data.draw(st.sets(st.integers(0, problem.n_sites - 1), min_size=problem.p,
                                                max_size=problem.p))))
    cost = problem.weight[:, None] * problem.distance
    scaling = cost_scaling(problem, cost)
    units = to_units(cost, scaling)
    optimum = best_assignment(problem, centres)
    if uniform_load(problem) is not None:
        assignment = assign_flow(problem, units, scaling, centres)
        assert (assignment is None) == (not np.isfinite(optimum))
        if assignment is not None:
            assert design_violations(problem, centres, assignment) == []
            assert design_objective(problem, centres, assignment) == pytest.approx(optimum, rel=1e-6, abs=1e-4)
    else:
        assignment = assign_transport(problem, units, scaling, centres)
        if assignment is not None:
            assert design_violations(problem, centres, assignment) == []
            assert design_objective(problem, centres, assignment) >= optimum - 1e-9


def test_region_lns_keeps_rules_and_never_worsens() -> None:
    distance = random_plane(50, 30, seed=5)
    problem = DesignProblem(distance=distance, weight=np.ones(50), p=5, demand=np.arange(50) % 4 + 1,
                            site_capacity=np.full(30, 30), size_target=25.0, balance_penalty=0.02)
    cost = problem.weight[:, None] * problem.distance
    scaling = cost_scaling(problem, cost)
    units = to_units(cost, scaling)
    centres = np.arange(0, 30, 6)
    assignment = assign_greedy(problem, units, centres)
    assert design_violations(problem, centres, assignment) == []
    start = Answer(centres, assignment, design_objective(problem, centres, assignment))
    meter = WorkMeter(Budget(1.0))
    better, stats = region_lns(problem, start, meter, np.random.default_rng(0), 1.0, units, scaling)
    assert design_violations(problem, better.centres, better.assignment) == []
    assert better.objective == pytest.approx(design_objective(problem, better.centres, better.assignment))
    assert better.objective <= start.objective
    assert stats["lns_improvements"] > 0


# --- determinism -----------------------------------------------------------------------------------------------


def random_plane(n_customers: int, n_sites: int, seed: int) -> np.ndarray:
    """Customers and sites scattered on the unit square."""
    rng = np.random.default_rng(seed)
    customers, sites = rng.random((n_customers, 2)), rng.random((n_sites, 2))
    return np.sqrt(((customers[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))


@pytest.mark.parametrize("kind", ["uncapacitated", "capacitated", "balanced"])
def test_same_seed_same_answer(kind: str) -> None:
    distance = random_plane(60, 40, seed=3)
    extra: dict = {}
    if kind == "capacitated":
        extra = {"demand": np.arange(60) % 3 + 1, "site_capacity": np.full(40, 20)}
    elif kind == "balanced":
        extra = {"size_target": 10.0, "balance_penalty": 0.05}
    problem = DesignProblem(distance=distance, weight=np.linspace(1, 2, 60), p=6, **extra)
    runs = [solve_design(problem, Budget(0.5), seed=7, workers=2) for _ in range(2)]
    assert np.array_equal(runs[0].centres, runs[1].centres)
    assert np.array_equal(runs[0].assignment, runs[1].assignment)
    assert runs[0].objective == runs[1].objective and runs[0].bound == runs[1].bound
    check_answer(problem, runs[0])


def test_a_site_no_customer_fits_is_never_opened_under_a_size_floor() -> None:
    """Found by the property test above: site 2 (room 1) fits neither customer (demand 2); opened, it would serve
    nothing, below the floor of 1. With one usable site for p = 2 the instance is infeasible, and counting says so."""
    zero = np.zeros((2, 5))
    feasible = DesignProblem(distance=zero, weight=np.zeros(2), p=2, demand=np.array([2, 2]),
                             site_capacity=np.array([0, 0, 1, 2, 4]), size_bounds=(1, 4))
    result = solve_design(feasible, Budget(1.0), seed=1)
    check_answer(feasible, result)
    assert sorted(result.centres.tolist()) == [3, 4]
    infeasible = DesignProblem(distance=zero, weight=np.zeros(2), p=2, demand=np.array([2, 2]),
                               site_capacity=np.array([0, 0, 0, 1, 4]), size_bounds=(1, 4))
    with pytest.raises(InfeasibleError):
        solve_design(infeasible, Budget(1.0), seed=1)
