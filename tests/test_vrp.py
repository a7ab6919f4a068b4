"""The routing core against brute force on tiny instances, its rules via the independent checker, and determinism."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from territory_opt.errors import InfeasibleError, SolverLimitError
from territory_opt.routing.vrp import VrpInstance, VrpSolution, check_solution, route_schedule, solve_vrp
from territory_opt.solve.budget import Budget

# a reproducible budget: GLS stops after this many accepted moves, long before the wall-clock cap on this size
BUDGET = Budget(work_s=None, solutions=500, wall_s=5.0)


def make_instance(n_customers: int, seed: int, *, n_vehicles: int = 1, windows: bool = False,
                  capacity: int | None = None, max_route_duration: int | None = None, horizon: int = 10_000,
                  allow_dropping: bool = False, drop_penalty: int = 0, with_distance: bool = False) -> VrpInstance:
    """Random points on a 100 x 100 square; travel time = rounded Euclidean, service 10 at each customer."""
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 100, size=(n_customers + 1, 2))
    diff = xy[:, None, :] - xy[None, :, :]
    duration = np.rint(np.hypot(diff[..., 0], diff[..., 1])).astype(np.int64)
    distance = (duration * 3 + rng.integers(0, 5, size=duration.shape)) if with_distance else None
    if distance is not None:
        np.fill_diagonal(distance, 0)
    service = np.full(n_customers + 1, 10, dtype=np.int64)
    service[0] = 0
    opens = closes = None
    if windows:
        opens = rng.integers(0, 300, size=n_customers + 1)
        closes = opens + rng.integers(60, 200, size=n_customers + 1)
        opens[0], closes[0] = 0, horizon
    demand = None
    if capacity is not None:
        demand = rng.integers(1, 10, size=n_customers + 1)
        demand[0] = 0
    return VrpInstance(duration=duration, distance=distance, service=service, window_open=opens, window_close=closes,
                       demand=demand, vehicle_capacity=capacity, n_vehicles=n_vehicles,
                       max_route_duration=max_route_duration, horizon=horizon, allow_dropping=allow_dropping,
                       drop_penalty=drop_penalty)


def feasible(inst: VrpInstance, route: tuple[int, ...]) -> bool:
    """Brute-force side, independent of the module: capacity, then every departure time where the schedule changes.

    A route's length (return - departure) only shrinks as the departure moves later, until a window closes, so trying
    each departure that makes some window bind (open or close) finds a feasible, short-enough schedule if one exists.
    """
    if inst.demand is not None and sum(int(inst.demand[v]) for v in route) > int(inst.vehicle_capacity or 0):
        return False
    opens, closes = inst.opens(), inst.closes()
    prefix, t, prev = [], 0, 0
    for node in route:
        t += int(inst.service[prev]) + int(inst.duration[prev, node])
        prefix.append(t)
        prev = node
    candidates = {int(opens[0]), int(closes[0])}
    candidates |= {int(opens[v]) - p for v, p in zip(route, prefix, strict=True)}
    candidates |= {int(closes[v]) - p for v, p in zip(route, prefix, strict=True)}
    for start in candidates:
        if not int(opens[0]) <= start <= int(closes[0]):
            continue
        t, prev, ok = start, 0, True
        for node in route:
            t = max(int(opens[node]), t + int(inst.service[prev]) + int(inst.duration[prev, node]))
            ok = ok and t <= int(closes[node])
            prev = node
        back = t + int(inst.service[prev]) + int(inst.duration[prev, 0])
        if ok and back <= inst.horizon and (inst.max_route_duration is None or back - start <= inst.max_route_duration):
            return True
    return False


def brute_force(inst: VrpInstance, *, vehicles_first: bool = False) -> tuple[int, int]:
    """(routes, cost) of the optimum over every subset, order and split into at most n_vehicles routes.

    The cost includes drop penalties; with `vehicles_first` fewer routes win before cost (Solomon's hierarchy).
    """
    customers = list(range(1, inst.n_locations))
    best: tuple[int, int] | None = None
    drop_sets = itertools.chain.from_iterable(itertools.combinations(customers, k) for k in range(len(customers) + 1))
    for dropped in drop_sets if inst.allow_dropping else [()]:
        kept = [c for c in customers if c not in dropped]
        penalty = len(dropped) * inst.drop_penalty
        for order in itertools.permutations(kept):
            for cuts in itertools.combinations_with_replacement(range(len(order) + 1), inst.n_vehicles - 1):
                bounds = [0, *cuts, len(order)]
                routes = [order[a:b] for a, b in itertools.pairwise(bounds) if b > a]
                if all(feasible(inst, r) for r in routes):
                    cost = penalty + sum(int(inst.cost[a, b]) for r in routes
                                         for a, b in itertools.pairwise((0, *r, 0)))
                    key = (len(routes) if vehicles_first else 0, cost)
                    best = key if best is None else min(best, key)
    assert best is not None, "the brute force found no feasible solution"
    return best


def total(inst: VrpInstance, sol: VrpSolution) -> int:
    return sol.objective + len(sol.dropped) * inst.drop_penalty


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tsp_matches_brute_force(seed: int) -> None:
    inst = make_instance(7, seed)
    sol = solve_vrp(inst, BUDGET)
    assert check_solution(inst, sol) == []
    assert sol.objective == brute_force(inst)[1]


def test_distance_objective_is_distance_not_time() -> None:
    inst = make_instance(6, 4, with_distance=True)
    sol = solve_vrp(inst, BUDGET)
    assert check_solution(inst, sol) == []
    assert sol.objective == brute_force(inst)[1]


@pytest.mark.parametrize("seed", [5, 6])
def test_windows_and_capacity_match_brute_force(seed: int) -> None:
    inst = make_instance(6, seed, n_vehicles=3, windows=True, capacity=18)
    sol = solve_vrp(inst, BUDGET)
    assert check_solution(inst, sol) == []
    assert sol.objective == brute_force(inst)[1]
    for route, times in zip(sol.routes, sol.arrival, strict=True):
        for node, t in zip(route, times, strict=True):
            assert inst.window_open[node] <= t <= inst.window_close[node]
    if inst.demand is not None:
        assert all(sum(int(inst.demand[v]) for v in r) <= 18 for r in sol.routes)


def test_route_duration_splits_the_day() -> None:
    free = make_instance(6, 7, n_vehicles=3)
    longest = solve_vrp(free, BUDGET)
    assert longest.n_vehicles_used == 1
    one_day = route_schedule(free, longest.routes[0])
    assert one_day is not None
    limit = (one_day[2] - one_day[0]) * 2 // 3
    inst = replace(free, max_route_duration=limit)
    sol = solve_vrp(inst, BUDGET)
    assert check_solution(inst, sol) == []
    assert sol.n_vehicles_used >= 2
    assert sol.objective == brute_force(inst)[1]


def test_dropping_reports_what_cannot_fit() -> None:
    inst = make_instance(6, 8, n_vehicles=1, max_route_duration=250, allow_dropping=True, drop_penalty=500)
    sol = solve_vrp(inst, BUDGET)
    assert check_solution(inst, sol) == []
    assert sol.dropped, "a 250-unit day cannot hold six customers of 10 units each plus this much travel"
    assert total(inst, sol) == brute_force(inst)[1]


def test_no_dropping_makes_an_impossible_visit_an_error() -> None:
    inst = make_instance(4, 9, n_vehicles=1, max_route_duration=60)
    with pytest.raises((InfeasibleError, SolverLimitError)):
        solve_vrp(inst, Budget(work_s=None, wall_s=2.0))


def test_minimise_vehicles_uses_the_fewest_routes() -> None:
    inst = make_instance(6, 10, n_vehicles=3, capacity=20)
    sol = solve_vrp(inst, BUDGET, minimise_vehicles=True)
    assert check_solution(inst, sol) == []
    fewest, cost = brute_force(inst, vehicles_first=True)
    assert (sol.n_vehicles_used, sol.objective) == (fewest, cost)
    assert fewest >= 2, "the test needs capacity to bind"


def test_same_seed_same_routes() -> None:
    inst = make_instance(25, 11, n_vehicles=4, windows=True, capacity=40, horizon=2000)
    first = solve_vrp(inst, Budget(work_s=None, solutions=1500, wall_s=10.0), seed=3)
    second = solve_vrp(inst, Budget(work_s=None, solutions=1500, wall_s=10.0), seed=3)
    assert check_solution(inst, first) == []
    assert (first.routes, first.arrival, first.objective) == (second.routes, second.arrival, second.objective)
    assert first.seconds < 10.0, "the solution limit, not the clock, must end the search for this to mean anything"


def good_solution() -> tuple[VrpInstance, VrpSolution]:
    inst = make_instance(5, 12, n_vehicles=2, windows=True, capacity=20, horizon=1000, max_route_duration=600)
    sol = solve_vrp(inst, BUDGET)
    assert check_solution(inst, sol) == []
    return inst, sol


def test_checker_catches_coverage_errors() -> None:
    inst, sol = good_solution()
    flat = [v for r in sol.routes for v in r]
    twice = replace(sol, routes=((*sol.routes[0], flat[-1]), *sol.routes[1:]))
    assert any("visited 2 times" in e for e in check_solution(inst, twice))
    route0 = sol.routes[0]
    short = replace(sol, routes=(route0[:-1], *sol.routes[1:]),
                    arrival=(sol.arrival[0][:-1], *sol.arrival[1:]))
    assert any("neither visited nor dropped" in e for e in check_solution(inst, short))
    dropped = replace(short, dropped=(route0[-1],))
    assert any("dropping is not allowed" in e for e in check_solution(inst, dropped))
    assert any("not a customer" in e for e in check_solution(inst, replace(sol, routes=((0, *flat),))))


def test_checker_catches_capacity_windows_duration_and_objective() -> None:
    inst, sol = good_solution()
    assert inst.demand is not None
    heavy = replace(inst, vehicle_capacity=int(max(sum(int(inst.demand[v]) for v in r) for r in sol.routes)) - 1)
    assert any("capacity" in e for e in check_solution(heavy, sol))
    early = replace(sol, arrival=((sol.arrival[0][0] - 1000, *sol.arrival[0][1:]), *sol.arrival[1:]))
    assert any("outside" in e for e in check_solution(inst, early))
    longest = max(range(len(sol.routes)), key=lambda r: len(sol.routes[r]))
    times = sol.arrival[longest]
    assert len(times) > 1
    rushed_times = (times[0], times[0], *times[2:])  # the second visit cannot start while the first is in service
    rushed = replace(sol, arrival=tuple(rushed_times if r == longest else a for r, a in enumerate(sol.arrival)))
    assert any("before" in e for e in check_solution(inst, rushed))
    tight = replace(inst, max_route_duration=1)
    assert any("lasts" in e for e in check_solution(tight, sol))
    soon = replace(inst, horizon=100)
    assert check_solution(soon, sol)
    assert any("objective" in e for e in check_solution(inst, replace(sol, objective=sol.objective + 1)))
    # a sequence whose windows cannot be met is caught even with made-up, self-consistent times
    closed = np.array(inst.window_close)
    closed[sol.routes[0][-1]] = 0
    opened = np.zeros_like(closed)
    shut = replace(inst, window_open=opened, window_close=closed)
    assert any("cannot be reached" in e for e in check_solution(shut, sol))


def test_instance_validation() -> None:
    inst = make_instance(3, 13)
    with pytest.raises(ValueError, match="square"):
        replace(inst, duration=np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="negative"):
        replace(inst, duration=-np.ones((4, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="service"):
        replace(inst, service=np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError, match="together"):
        replace(inst, demand=np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="window_open > window_close"):
        replace(inst, window_open=np.array([0, 5, 0, 0]), window_close=np.array([9, 4, 9, 9]))
    with pytest.raises(ValueError):
        inst.duration[0, 1] = 5


@pytest.mark.parametrize("metaheuristic", ["GUIDED_LOCAL_SEARCH", "TABU_SEARCH"])
def test_other_metaheuristics_reach_the_optimum(metaheuristic: str) -> None:
    inst = make_instance(6, 5, n_vehicles=3, windows=True, capacity=18)
    sol = solve_vrp(inst, BUDGET, metaheuristic=metaheuristic, first_solution="PARALLEL_CHEAPEST_INSERTION")
    assert check_solution(inst, sol) == []
    assert sol.objective == brute_force(inst)[1]


def test_unknown_strategy_names_are_rejected() -> None:
    inst = make_instance(3, 14)
    with pytest.raises(ValueError, match="ITERATED_LOCAL_SEARCH"):
        solve_vrp(inst, Budget(work_s=None, wall_s=1.0), metaheuristic="ANNEALING")
    with pytest.raises(ValueError, match="first_solution"):
        solve_vrp(inst, Budget(work_s=None, wall_s=1.0), first_solution="NEAREST")


def paired_instance(seed: int, pairs: int, n_vehicles: int) -> VrpInstance:
    """Demands in pairs that sum to the capacity (10), so `pairs` vehicles pack them exactly: a bin-packing trap
    on which some first-solution strategies find no plan at all (as parallel cheapest insertion on X-n176-k26)."""
    rng = np.random.default_rng(seed)
    demand = [0]
    for _ in range(pairs):
        a = int(rng.integers(1, 10))
        demand += [a, 10 - a]
    xy = rng.integers(0, 100, size=(len(demand), 2))
    diff = xy[:, None, :] - xy[None, :, :]
    dist = np.rint(np.hypot(diff[..., 0], diff[..., 1])).astype(np.int64)
    return VrpInstance(duration=dist, distance=dist, service=np.zeros(len(demand), dtype=np.int64), window_open=None,
                       window_close=None, demand=np.array(demand), vehicle_capacity=10, n_vehicles=n_vehicles,
                       max_route_duration=None, horizon=int(dist.sum()))


FALLBACK_BUDGET = Budget(work_s=None, solutions=200, wall_s=3.0)


def test_the_default_first_strategy_failing_falls_back_to_the_next() -> None:
    """Local cheapest insertion (the default) and savings find no plan here; the chain goes on until one does."""
    inst = paired_instance(14, 10, 11)
    sol = solve_vrp(inst, FALLBACK_BUDGET)
    assert check_solution(inst, sol) == []
    assert not sol.dropped
    assert sol.attempts and sol.attempts[0].startswith("LOCAL_CHEAPEST_INSERTION: ")
    assert sol.first_solution not in {"", "LOCAL_CHEAPEST_INSERTION"}
    assert sol.stats["first_solution"] == sol.first_solution and sol.stats["fallbacks"] == len(sol.attempts)


@pytest.mark.parametrize("metaheuristic", ["ITERATED_LOCAL_SEARCH", "GUIDED_LOCAL_SEARCH"])
def test_parallel_cheapest_insertion_failing_falls_back(metaheuristic: str) -> None:
    """The X-n176-k26 failure in small: parallel cheapest insertion returns no plan at once (ROUTING_NOT_SOLVED
    under ILS, ROUTING_FAIL under GLS); local cheapest insertion, next in the chain, finds one."""
    inst = paired_instance(0, 10, 11)
    sol = solve_vrp(inst, FALLBACK_BUDGET, first_solution="PARALLEL_CHEAPEST_INSERTION", metaheuristic=metaheuristic)
    assert check_solution(inst, sol) == []
    assert sol.first_solution == "LOCAL_CHEAPEST_INSERTION"
    assert [a.split(":")[0] for a in sol.attempts] == ["PARALLEL_CHEAPEST_INSERTION"]


def test_chain_order_is_documented_and_ends_with_the_own_construction() -> None:
    from territory_opt.routing.vrp import NEAREST_NEIGHBOUR, first_solution_chain

    assert first_solution_chain("PATH_CHEAPEST_ARC") == ("PATH_CHEAPEST_ARC", "LOCAL_CHEAPEST_INSERTION", "SAVINGS",
                                                         "PARALLEL_CHEAPEST_INSERTION", NEAREST_NEIGHBOUR)
    assert first_solution_chain("LOCAL_CHEAPEST_INSERTION")[0] == "LOCAL_CHEAPEST_INSERTION"
    assert len(set(first_solution_chain("CHRISTOFIDES"))) == 6


def test_no_strategy_finding_a_plan_is_an_error_that_lists_them() -> None:
    """Exact packing with no spare vehicle: no strategy and no nearest-neighbour plan fits the fleet."""
    inst = paired_instance(0, 12, 12)
    with pytest.raises(SolverLimitError) as raised:
        solve_vrp(inst, Budget(work_s=None, wall_s=1.0))
    message = str(raised.value)
    for name in ("LOCAL_CHEAPEST_INSERTION", "SAVINGS", "PARALLEL_CHEAPEST_INSERTION", "PATH_CHEAPEST_ARC",
                 "NEAREST_NEIGHBOUR"):
        assert name in message


@pytest.mark.parametrize("seed", range(6))
def test_nearest_neighbour_plan_keeps_every_rule(seed: int) -> None:
    """The own construction on windows, capacity and day length: what it plans passes the independent checker,
    and with dropping not allowed it either covers everyone or gives up (None)."""
    from territory_opt.routing.vrp import nearest_neighbour_routes

    for allow in (True, False):
        inst = make_instance(12, seed, n_vehicles=3, windows=True, capacity=25, max_route_duration=250,
                             horizon=600, allow_dropping=allow, drop_penalty=1000)
        routes = nearest_neighbour_routes(inst)
        if routes is None:
            assert not allow
            continue
        arrival = tuple(tuple(route_schedule(inst, r)[1]) for r in routes)  # type: ignore[index]
        visited = {v for r in routes for v in r}
        dropped = tuple(v for v in range(1, inst.n_locations) if v not in visited)
        cost = sum(int(inst.cost[a, b]) for r in routes for a, b in itertools.pairwise([0, *r, 0]))
        sol = VrpSolution(routes, arrival, dropped, cost, len(routes), "nn", 0.0)
        assert check_solution(inst, sol) == []
        assert allow or not dropped


def test_nearest_neighbour_covers_everyone_when_vehicles_suffice() -> None:
    from territory_opt.routing.vrp import nearest_neighbour_routes

    inst = paired_instance(3, 8, 16)  # one vehicle per customer at worst
    routes = nearest_neighbour_routes(inst)
    assert routes is not None and sorted(v for r in routes for v in r) == list(range(1, inst.n_locations))
