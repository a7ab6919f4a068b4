"""Vehicle routing with time windows, capacity, day length and optional visits, on OR-Tools' routing library.

`solve_vrp` builds one `RoutingModel` per call: arc costs from the distance matrix (or the duration matrix when no
distance is given), a time dimension whose transit is service at the origin plus travel (slack = waiting, windows as
cumul ranges, the working-day length as a span upper bound, the horizon as the latest return), a load dimension when
demand is given, and one disjunction per location when dropping is allowed. `check_solution` re-derives everything
from the matrices, independently of the solver, so benchmarks and tests trust the checker rather than the model.

Search: local cheapest insertion, then OR-Tools' iterated local search (ruin and recreate with simulated-annealing
acceptance); guided local search and the other OR-Tools metaheuristics remain selectable. Measured at 10 s per
instance on 12 Solomon and 3 X instances (bench/published_routing.py, docs/benchmarks.md): mean gap to the best-known
values 2.66 % (Solomon) and 3.93 % (X) against guided local search's 4.07 % and 6.66 %; better on 10 of the 15,
equal on 3, worse on 2.

Determinism (measured on OR-Tools 9.15.6755, tests/test_vrp.py and the benchmark): the search is single-threaded and
its random choices (ruin, annealing) come from generators with fixed seeds, so the same instance, parameters and
`solution_limit` give the same routes run after run, whatever the load, as long as the solution limit, not the
clock, ends the search (a 600-solution run on R205 was identical with a 60 s and a 3 s cap that it did not reach).
`seed` is passed to the constraint solver's `ReSeed`, but neither routing search reads that generator: different
seeds gave identical routes, so there is no seed to vary. A wall-clock `time_limit_s` is always set (neither search
stops on its own); when it is what ends the search, the answer depends on machine speed and load (two 4 s runs of
R205 differed). Reproducible budget: `solution_limit` (a count of accepted solutions: every improving move of the
local search) with a generous time cap as a safety net.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_ils_pb2

from ..errors import InfeasibleError, SolverLimitError
from ..solve.budget import Budget

__all__ = ["ITERATED_LOCAL_SEARCH", "NEAREST_NEIGHBOUR", "VrpInstance", "VrpSolution", "check_solution",
           "first_solution_chain", "nearest_neighbour_routes", "route_schedule", "solve_vrp"]


def _frozen(array: np.ndarray | None, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """A read-only int64 copy, checked for shape and sign, so a caller cannot change an instance after validation."""
    if array is None:
        return None
    out = np.array(array, dtype=np.int64, copy=True)
    if out.shape != shape:
        raise ValueError(f"{name} has shape {out.shape}, expected {shape}")
    if out.size and int(out.min()) < 0:
        raise ValueError(f"{name} has negative entries")
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False, repr=False)
class VrpInstance:
    """One routing problem: location 0 is the depot (the rep's home), every other location is a customer to visit.

    Times are integers in any one unit (seconds for the product, tenths for Solomon). The depot's window bounds the
    departure, `horizon` bounds the return; `max_route_duration` bounds return minus departure, waiting included.
    """

    duration: np.ndarray
    distance: np.ndarray | None
    service: np.ndarray
    window_open: np.ndarray | None
    window_close: np.ndarray | None
    demand: np.ndarray | None
    vehicle_capacity: int | None
    n_vehicles: int
    max_route_duration: int | None
    horizon: int
    allow_dropping: bool = False
    drop_penalty: int = 0
    n_locations: int = field(init=False)

    def __post_init__(self) -> None:
        duration = np.asarray(self.duration)
        if duration.ndim != 2 or duration.shape[0] != duration.shape[1] or duration.shape[0] < 1:
            raise ValueError(f"duration must be a non-empty square matrix, got shape {duration.shape}")
        n = duration.shape[0]
        set_ = object.__setattr__
        set_(self, "n_locations", n)
        set_(self, "duration", _frozen(duration, "duration", (n, n)))
        set_(self, "distance", _frozen(self.distance, "distance", (n, n)))
        set_(self, "service", _frozen(self.service, "service", (n,)))
        set_(self, "window_open", _frozen(self.window_open, "window_open", (n,)))
        set_(self, "window_close", _frozen(self.window_close, "window_close", (n,)))
        set_(self, "demand", _frozen(self.demand, "demand", (n,)))
        if int(self.service[0]) != 0:
            raise ValueError("service at the depot (location 0) must be 0")
        if (self.window_open is None) != (self.window_close is None):
            raise ValueError("window_open and window_close must be given together")
        if self.window_open is not None and bool(np.any(self.window_open > self.window_close)):
            bad = np.flatnonzero(self.window_open > self.window_close).tolist()
            raise ValueError(f"window_open > window_close at locations {bad[:10]}")
        if (self.demand is None) != (self.vehicle_capacity is None):
            raise ValueError("demand and vehicle_capacity must be given together")
        if self.vehicle_capacity is not None and int(self.vehicle_capacity) < 0:
            raise ValueError("vehicle_capacity must be non-negative")
        if self.demand is not None and int(self.demand[0]) != 0:
            raise ValueError("demand at the depot (location 0) must be 0")
        if int(self.n_vehicles) < 1:
            raise ValueError("n_vehicles must be at least 1")
        if self.max_route_duration is not None and int(self.max_route_duration) < 0:
            raise ValueError("max_route_duration must be non-negative")
        if int(self.horizon) < 0:
            raise ValueError("horizon must be non-negative")
        if int(self.drop_penalty) < 0:
            raise ValueError("drop_penalty must be non-negative")

    def __repr__(self) -> str:
        """A one-line summary: the matrices would flood logs and tracebacks."""
        return (f"VrpInstance(locations={self.n_locations}, vehicles={self.n_vehicles}, "
                f"windows={self.window_open is not None}, capacity={self.vehicle_capacity}, "
                f"max_route_duration={self.max_route_duration}, horizon={self.horizon}, "
                f"allow_dropping={self.allow_dropping})")

    @property
    def cost(self) -> np.ndarray:
        """The matrix the objective sums: distance when given, else duration."""
        return self.distance if self.distance is not None else self.duration

    def opens(self) -> np.ndarray:
        """Earliest start of service per location (0 without windows)."""
        if self.window_open is None:
            return np.zeros(self.n_locations, dtype=np.int64)
        return self.window_open

    def closes(self) -> np.ndarray:
        """Latest start of service per location, capped at the horizon (the horizon without windows)."""
        if self.window_close is None:
            return np.full(self.n_locations, int(self.horizon), dtype=np.int64)
        return np.minimum(self.window_close, int(self.horizon))


@dataclass(frozen=True)
class VrpSolution:
    """Routes of the used vehicles (depot excluded), start-of-service times, dropped locations and the travel cost."""

    routes: tuple[tuple[int, ...], ...]
    arrival: tuple[tuple[int, ...], ...]
    dropped: tuple[int, ...]
    objective: int
    n_vehicles_used: int
    status: str
    seconds: float
    wall_capped: bool = False  # the safety stop, not the solution count, ended the search: load may change it
    first_solution: str = ""  # the strategy that produced the first plan (`first_solution_chain`)
    attempts: tuple[str, ...] = ()  # "STRATEGY: status" of each strategy that found no plan before it

    @property
    def bound(self) -> float:
        """Routing proves no lower bound."""
        return float("nan")

    @property
    def stats(self) -> dict[str, float | int | str]:
        return {"seconds": round(self.seconds, 3), "wall_capped": int(self.wall_capped),
                "vehicles": self.n_vehicles_used, "dropped": len(self.dropped),
                "first_solution": self.first_solution, "fallbacks": len(self.attempts)}


def route_schedule(instance: VrpInstance, route: tuple[int, ...]) -> tuple[int, list[int], int] | None:
    """(departure, start-of-service times, return) of the shortest-day schedule of a fixed sequence, or None.

    Service starts as early as the windows allow, so the return is the earliest possible; the departure is the latest
    that still makes that return, which removes avoidable waiting and so gives the shortest possible day. None when
    a window cannot be met even leaving at the depot's opening time.
    """
    dur, service = instance.duration, instance.service
    opens, closes = instance.opens(), instance.closes()
    t, prev = int(opens[0]), 0
    for node in route:
        t = max(int(opens[node]), t + int(service[prev]) + int(dur[prev, node]))
        if t > int(closes[node]):
            return None
        prev = node
    earliest_return = t + int(service[prev]) + int(dur[prev, 0])
    latest, nxt = earliest_return, 0
    for node in reversed(route):
        latest = min(int(closes[node]), latest - int(service[node]) - int(dur[node, nxt]))
        nxt = node
    departure = min(latest - int(dur[0, nxt]), int(closes[0]))
    arrivals, t, prev = [], departure, 0
    for node in route:
        t = max(int(opens[node]), t + int(service[prev]) + int(dur[prev, node]))
        arrivals.append(t)
        prev = node
    return departure, arrivals, t + int(service[prev]) + int(dur[prev, 0])


def _max_route_time(instance: VrpInstance) -> int:
    """An upper bound on any route's return time without windows: every service plus each location's longest arc."""
    return int(instance.service.sum()) + int(instance.duration.max(axis=1).sum()) + int(instance.duration[0].max())


def _needs_time_dimension(instance: VrpInstance) -> bool:
    """False for pure capacitated routing, where a time dimension would only slow the search down."""
    return (instance.window_open is not None or instance.max_route_duration is not None
            or int(instance.horizon) < _max_route_time(instance))


ITERATED_LOCAL_SEARCH = "ITERATED_LOCAL_SEARCH"


def _enum_value(enum: Any, name: str, what: str, extra: tuple[str, ...] = ()) -> int:
    """The protobuf enum value for a name, with the valid names in the error."""
    try:
        return int(enum.Value(name))
    except ValueError:
        raise ValueError(f"unknown {what} {name!r}; expected one of {[*enum.keys(), *extra]}") from None


def _iterated_local_search(params: Any) -> None:
    """Ruin-and-recreate ILS, `solve_vrp`'s default (against guided local search: module docstring, docs/benchmarks.md).

    Each iteration ruins with one of three strategies picked at random (two spatially close routes, a random walk of
    10 visits, or SISR strings of up to 10 visits, Christiaens and Vanden Berghe 2020), recreates by local cheapest
    insertion, descends greedily, and accepts the result by simulated annealing (temperature 100 -> 0.01 over the
    search). Route-based ruins are meant for the time-window sets, SISR for the capacity sets; no measurement of each
    ruin alone is recorded in docs/benchmarks.md.
    """
    params.use_iterated_local_search = True
    ils = params.iterated_local_search_parameters
    ruin_recreate = ils.ruin_recreate_parameters
    ruin_recreate.ruin_strategies.add().spatially_close_routes.num_ruined_routes = 2
    ruin_recreate.ruin_strategies.add().random_walk.num_removed_visits = 10
    sisr = ruin_recreate.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = 10
    sisr.avg_num_removed_visits = 10
    sisr.bypass_factor = 0.01
    ruin_recreate.ruin_composition_strategy = routing_ils_pb2.RuinCompositionStrategy.RUN_ONE_RANDOMLY
    ruin_recreate.recreate_strategy.heuristic = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    annealing.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
    annealing.initial_temperature = 100.0
    annealing.final_temperature = 0.01
    ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()
    ils.improve_perturbed_solution = True


FALLBACK_FIRST_SOLUTIONS = ("LOCAL_CHEAPEST_INSERTION", "SAVINGS", "PARALLEL_CHEAPEST_INSERTION", "PATH_CHEAPEST_ARC")
NEAREST_NEIGHBOUR = "NEAREST_NEIGHBOUR"  # the own construction that ends the chain (`nearest_neighbour_routes`)
FALLBACK_SHARE = 0.25  # a fallback construction may spend this share of the wall time left (PATH_CHEAPEST_ARC can
# search until its limit without a first solution: X-n176-k26, docs/benchmarks.md)
FALLBACK_GRACE = 0.1  # share of the wall limit the fallbacks may still spend, all together, once it has run out


def first_solution_chain(first_solution: str) -> tuple[str, ...]:
    """The strategies `solve_vrp` tries in order until one gives a first plan: the one asked for, then local cheapest
    insertion (the default, first on all 11 X instances at 2 s), savings (first on all 11 too), parallel cheapest
    insertion and path cheapest arc (both failed on X-n176-k26, docs/benchmarks.md "Update 2026-12-07 (engine)"),
    and last the own nearest-neighbour construction, which only fails when the fleet runs out and dropping is not
    allowed."""
    return (first_solution, *[s for s in FALLBACK_FIRST_SOLUTIONS if s != first_solution], NEAREST_NEIGHBOUR)


def nearest_neighbour_routes(instance: VrpInstance) -> tuple[tuple[int, ...], ...] | None:
    """A plan that respects every rule, built without OR-Tools: each vehicle in turn goes to the nearest (by cost)
    unvisited customer it can still serve (capacity, window, return by the horizon, day length), until none fits.

    What no vehicle takes is dropped when dropping is allowed; otherwise None (the fleet ran out). With every single
    demand within a vehicle's capacity, every customer reachable alone and enough vehicles, it always finds a plan.
    Deterministic: ties go to the lower location index.
    """
    n = instance.n_locations
    cost, dur, service = instance.cost, instance.duration, instance.service
    opens, closes = instance.opens(), instance.closes()
    horizon, max_span = int(instance.horizon), instance.max_route_duration
    demand = instance.demand if instance.demand is not None else np.zeros(n, dtype=np.int64)
    capacity = int(instance.vehicle_capacity) if instance.vehicle_capacity is not None else int(demand.sum())
    timed = _needs_time_dimension(instance)
    left = np.ones(n, dtype=bool)
    left[0] = False
    routes: list[tuple[int, ...]] = []
    for _ in range(int(instance.n_vehicles)):
        if not left.any():
            break
        route: list[int] = []
        last, t, load = 0, int(opens[0]), 0
        while True:
            fits = left & (load + demand <= capacity)
            arrive = np.maximum(opens, t + int(service[last]) + dur[last])
            if timed:
                back = arrive + service + dur[:, 0]
                fits &= (arrive <= closes) & (back <= horizon)
            candidates = np.flatnonzero(fits)
            chosen = -1
            for c in candidates[np.lexsort((candidates, cost[last, candidates]))].tolist():
                if timed and max_span is not None and int(back[c]) - int(opens[0]) > int(max_span):
                    schedule = route_schedule(instance, (*route, c))  # leaving later may shorten the day
                    if schedule is None or schedule[2] - schedule[0] > int(max_span):
                        continue
                chosen = c
                break
            if chosen < 0:
                break
            route.append(chosen)
            left[chosen] = False
            last, t, load = chosen, int(arrive[chosen]), load + int(demand[chosen])
        if not route:
            break  # nothing fits an empty vehicle, so nothing fits the next (identical) one either
        routes.append(tuple(route))
    if left.any() and not instance.allow_dropping:
        return None
    return tuple(routes)


def _build_model(instance: VrpInstance, minimise_vehicles: bool) -> tuple[Any, Any]:
    """The OR-Tools routing model of an instance: (index manager, routing model)."""
    n, n_vehicles = instance.n_locations, int(instance.n_vehicles)
    manager = pywrapcp.RoutingIndexManager(n, n_vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    cost = instance.cost
    arc_cost = routing.RegisterTransitMatrix(cost.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(arc_cost)

    if _needs_time_dimension(instance):
        horizon = int(instance.horizon)
        transit = instance.duration + instance.service[:, None]  # leave i after serving it, then travel to j
        time_cb = routing.RegisterTransitMatrix(transit.tolist())
        routing.AddDimension(time_cb, horizon, horizon, False, "time")  # slack = waiting for a window to open
        time_dim = routing.GetDimensionOrDie("time")
        opens, closes = instance.opens(), instance.closes()
        for node in range(1, n):
            time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(int(opens[node]), int(closes[node]))
        for v in range(n_vehicles):
            time_dim.CumulVar(routing.Start(v)).SetRange(int(opens[0]), int(closes[0]))
            time_dim.CumulVar(routing.End(v)).SetRange(int(opens[0]), horizon)
            if instance.max_route_duration is not None:
                time_dim.SetSpanUpperBoundForVehicle(int(instance.max_route_duration), v)

    if instance.demand is not None:
        load_cb = routing.RegisterUnaryTransitVector(instance.demand.tolist())
        routing.AddDimension(load_cb, 0, int(instance.vehicle_capacity or 0), True, "load")

    if instance.allow_dropping:
        for node in range(1, n):
            routing.AddDisjunction([manager.NodeToIndex(node)], int(instance.drop_penalty))

    if minimise_vehicles:
        # every route set travels at most one arc out of each location and each vehicle's start
        routing.SetFixedCostOfAllVehicles((n - 1 + n_vehicles) * int(cost.max()) + 1)
    return manager, routing


def _routes_of(manager: Any, routing: Any, assignment: Any, n_vehicles: int) -> tuple[tuple[int, ...], ...]:
    """The non-empty routes of an OR-Tools assignment, as location sequences (depot excluded)."""
    routes = []
    for v in range(n_vehicles):
        index = assignment.Value(routing.NextVar(routing.Start(v)))
        route = []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = assignment.Value(routing.NextVar(index))
        if route:
            routes.append(tuple(route))
    return tuple(routes)


def _status(routing: Any) -> str:
    return str(routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status()))


def solve_vrp(instance: VrpInstance, budget: Budget, *, seed: int = 0,
              first_solution: str = "LOCAL_CHEAPEST_INSERTION", metaheuristic: str = ITERATED_LOCAL_SEARCH,
              minimise_vehicles: bool = False, tune: Callable[[Any], None] | None = None) -> VrpSolution:
    """Best routes found within the limits (OR-Tools routing, single thread).

    `first_solution` is an OR-Tools `FirstSolutionStrategy` name; the default is local cheapest insertion because
    PATH_CHEAPEST_ARC found no first solution at all on tight windows (Solomon R101 and RC101) within 10 s
    (docs/benchmarks.md). `metaheuristic` is a `LocalSearchMetaheuristic` name (e.g. GUIDED_LOCAL_SEARCH) or
    ITERATED_LOCAL_SEARCH, the default: OR-Tools' ruin-and-recreate ILS (`_iterated_local_search`), whose mean gap on
    Solomon and X at 10 s was 35-41 % lower than guided local search's (module docstring).
    The budget's `wall_cap` is always set because neither ever stops by itself; its `solutions` stop the search
    after that many accepted solutions, reproducible across machines when it, not the clock, ends the search
    (module docstring; `VrpSolution.wall_capped` says which ended it).

    A first-solution strategy that finds no plan is not the end: the strategies of `first_solution_chain` are tried
    in turn, each fallback's construction capped at FALLBACK_SHARE of the wall time left or FALLBACK_GRACE x the
    limit, whichever is more, but never past the limit plus FALLBACK_GRACE x the limit (the stated margin of a
    failed first strategy; the nearest-neighbour construction is a few milliseconds of numpy on top),
    and the first plan found
    is then improved by the same search for the rest of the budget (from a given plan OR-Tools offers no
    ruin-and-recreate, so ITERATED_LOCAL_SEARCH improves it by guided local search). `VrpSolution.first_solution`
    names the strategy that produced the plan and `attempts` the ones that failed. A plan found by a fallback whose
    construction the clock cut short may depend on the machine's load.

    `seed` re-seeds the constraint solver; routing's own searches ignore it (measured: no change). With
    `minimise_vehicles`, each used vehicle costs more than any set of routes can travel, so fewer vehicles always win
    (Solomon's hierarchical objective); drop penalties are not dominated by it. `tune` may edit the OR-Tools
    `RoutingSearchParameters` last (benchmarks, experiments; the first attempt's and the improvement's). Raises
    `InfeasibleError` when OR-Tools proves there is no solution and no strategy finds one, `SolverLimitError` when
    none was found in time.
    """
    time_limit_s = budget.wall_cap
    solution_limit = budget.solutions
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = _enum_value(routing_enums_pb2.FirstSolutionStrategy.Value, first_solution,
                                                 "first_solution")
    if metaheuristic == ITERATED_LOCAL_SEARCH:
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        _iterated_local_search(params)
    else:
        params.local_search_metaheuristic = _enum_value(routing_enums_pb2.LocalSearchMetaheuristic.Value,
                                                        metaheuristic, "metaheuristic", (ITERATED_LOCAL_SEARCH,))
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    if solution_limit is not None:
        params.solution_limit = int(solution_limit)
    if tune is not None:
        tune(params)

    started = time.perf_counter()
    n, n_vehicles = instance.n_locations, int(instance.n_vehicles)
    if n == 1:
        return VrpSolution((), (), (), 0, 0, "ROUTING_OPTIMAL", time.perf_counter() - started)

    def left_s() -> float:
        return time_limit_s - (time.perf_counter() - started)

    manager, routing = _build_model(instance, minimise_vehicles)
    routing.solver().ReSeed(int(seed))
    if params.use_iterated_local_search:
        assignment = routing.SolveWithIteratedLocalSearch(params)
    else:
        assignment = routing.SolveWithParameters(params)
    status = _status(routing)
    if assignment is not None:
        if status == "ROUTING_NOT_SOLVED":
            status = "ROUTING_SUCCESS"  # 9.15's SolveWithIteratedLocalSearch returns a solution but leaves it unset
        return _solution(instance, _routes_of(manager, routing, assignment, n_vehicles), status, started,
                         time_limit_s, first_solution, ())
    if status == "ROUTING_INVALID":
        raise ValueError("OR-Tools rejected the model or the search parameters (ROUTING_INVALID)")

    attempts = [f"{first_solution}: {status}"]
    proven = status == "ROUTING_INFEASIBLE"
    routes: tuple[tuple[int, ...], ...] | None = None
    strategy = NEAREST_NEIGHBOUR
    for strategy in first_solution_chain(first_solution)[1:]:
        if strategy == NEAREST_NEIGHBOUR:
            routes = nearest_neighbour_routes(instance)
            if routes is None:
                attempts.append(f"{NEAREST_NEIGHBOUR}: the fleet ran out")
            break
        # a share of the time left, or at least the grace, but never past the limit plus the grace
        left = left_s()
        cap = max(left * FALLBACK_SHARE, FALLBACK_GRACE * time_limit_s + min(left, 0.0))
        if cap <= 0:
            attempts.append(f"{strategy}: no time left")
            continue
        construct = pywrapcp.DefaultRoutingSearchParameters()
        construct.first_solution_strategy = _enum_value(routing_enums_pb2.FirstSolutionStrategy.Value, strategy,
                                                        "first_solution")
        construct.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        construct.solution_limit = 1  # the construction alone: the search comes after, from its plan
        construct.time_limit.FromMilliseconds(max(1, round(cap * 1000)))
        manager, routing = _build_model(instance, minimise_vehicles)
        routing.solver().ReSeed(int(seed))
        found = routing.SolveWithParameters(construct)
        if found is not None:
            routes = _routes_of(manager, routing, found, n_vehicles)
            break
        attempts.append(f"{strategy}: {_status(routing)}")
        proven |= _status(routing) == "ROUTING_INFEASIBLE"
    if routes is None:
        tried = "; ".join(attempts)
        if proven:
            raise InfeasibleError(f"no routes satisfy the windows, capacity and day length (tried {tried})")
        raise SolverLimitError(f"no routes found within {time_limit_s:g} s (tried {tried})")

    status = "ROUTING_SUCCESS"
    if left_s() > 0:  # improve the plan with the search asked for, for the rest of the budget
        improve = pywrapcp.DefaultRoutingSearchParameters()
        improve.CopyFrom(params)
        improve.use_iterated_local_search = False
        if metaheuristic == ITERATED_LOCAL_SEARCH:
            improve.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        improve.time_limit.FromMilliseconds(max(1, round(left_s() * 1000)))
        manager, routing = _build_model(instance, minimise_vehicles)
        routing.CloseModelWithParameters(improve)
        routing.solver().ReSeed(int(seed))
        initial = routing.ReadAssignmentFromRoutes([[manager.NodeToIndex(v) for v in r] for r in routes], True)
        better = routing.SolveFromAssignmentWithParameters(initial, improve) if initial is not None else None
        if better is not None:
            routes = _routes_of(manager, routing, better, n_vehicles)
            status = _status(routing)
            if status == "ROUTING_NOT_SOLVED":
                status = "ROUTING_SUCCESS"
    return _solution(instance, routes, status, started, time_limit_s, strategy, tuple(attempts))


def _solution(instance: VrpInstance, routes: tuple[tuple[int, ...], ...], status: str, started: float,
              time_limit_s: float, first_solution: str, attempts: tuple[str, ...]) -> VrpSolution:
    """The solution of a set of routes: start-of-service times, dropped locations, the travel cost."""
    arrival: list[tuple[int, ...]] = []
    visited: set[int] = set()
    for route in routes:
        schedule = route_schedule(instance, route)
        if schedule is None:  # cannot happen for a solution the model accepted; the checker would report it
            raise RuntimeError(f"a route whose windows cannot be met: {route}")
        arrival.append(tuple(schedule[1]))
        visited.update(route)
    dropped = tuple(node for node in range(1, instance.n_locations) if node not in visited)
    objective = sum(_route_cost(instance.cost, r) for r in routes)
    seconds = time.perf_counter() - started
    return VrpSolution(routes, tuple(arrival), dropped, objective, len(routes), status, seconds,
                       wall_capped=seconds >= 0.98 * time_limit_s, first_solution=first_solution, attempts=attempts)


def _route_cost(cost: np.ndarray, route: tuple[int, ...]) -> int:
    """Sum of the arc costs of depot -> route -> depot."""
    path = [0, *route, 0]
    return int(sum(int(cost[a, b]) for a, b in itertools.pairwise(path)))


def check_solution(instance: VrpInstance, solution: VrpSolution) -> list[str]:
    """Every rule the solution breaks, as messages (empty = valid), re-derived from the matrices alone.

    Checks coverage (each location once, or dropped only when allowed), the vehicle count, capacity, the reported
    start-of-service times (inside windows, reachable from the previous visit, departure and return within the depot
    window, horizon and day length), the sequence itself by an earliest-arrival pass with waiting, and the objective.
    """
    errors: list[str] = []
    n = instance.n_locations
    dur, service = instance.duration, instance.service
    opens, closes = instance.opens(), instance.closes()

    seen: dict[int, int] = {}
    for r, route in enumerate(solution.routes):
        if not route:
            errors.append(f"route {r} is empty but reported as used")
        for node in route:
            if not 1 <= node < n:
                errors.append(f"route {r} visits {node}, not a customer location (1..{n - 1})")
                continue
            seen[node] = seen.get(node, 0) + 1
    for node, count in seen.items():
        if count > 1:
            errors.append(f"location {node} is visited {count} times")
    dropped = set(solution.dropped)
    if len(dropped) != len(solution.dropped):
        errors.append("a location is listed as dropped more than once")
    for node in sorted(dropped & set(seen)):
        errors.append(f"location {node} is both visited and dropped")
    if dropped and not instance.allow_dropping:
        errors.append(f"locations {sorted(dropped)[:10]} are dropped but dropping is not allowed")
    missing = [node for node in range(1, n) if node not in seen and node not in dropped]
    if missing:
        errors.append(f"locations {missing[:10]} are neither visited nor dropped")
    if len(solution.routes) > int(instance.n_vehicles):
        errors.append(f"{len(solution.routes)} routes but only {instance.n_vehicles} vehicles")
    if solution.n_vehicles_used != len(solution.routes):
        errors.append(f"n_vehicles_used = {solution.n_vehicles_used} but {len(solution.routes)} routes")
    if len(solution.arrival) != len(solution.routes):
        errors.append(f"{len(solution.arrival)} arrival lists for {len(solution.routes)} routes")
    if errors:
        return errors

    for r, route in enumerate(solution.routes):
        if instance.demand is not None:
            load = int(sum(int(instance.demand[node]) for node in route))
            if load > int(instance.vehicle_capacity or 0):
                errors.append(f"route {r} carries {load} > capacity {instance.vehicle_capacity}")
        errors += _check_times(instance, r, route, solution.arrival[r])
        # independent earliest-arrival pass: is the sequence feasible at all?
        t, prev = int(opens[0]), 0
        for node in route:
            t = max(int(opens[node]), t + int(service[prev]) + int(dur[prev, node]))
            if t > int(closes[node]):
                errors.append(f"route {r}: location {node} cannot be reached before its window closes "
                              f"(earliest {t} > {int(closes[node])})")
                break
            prev = node
        else:
            back = t + int(service[prev]) + int(dur[prev, 0])
            if back > int(instance.horizon):
                errors.append(f"route {r}: earliest return {back} is after the horizon {instance.horizon}")

    total = sum(_route_cost(instance.cost, route) for route in solution.routes)
    if total != solution.objective:
        errors.append(f"objective {solution.objective} but the routes cost {total}")
    return errors


def _check_times(instance: VrpInstance, r: int, route: tuple[int, ...], arrival: tuple[int, ...]) -> list[str]:
    """Messages for the reported start-of-service times of one route."""
    if len(arrival) != len(route):
        return [f"route {r}: {len(arrival)} arrival times for {len(route)} visits"]
    errors = []
    dur, service = instance.duration, instance.service
    opens, closes = instance.opens(), instance.closes()
    for node, t in zip(route, arrival, strict=True):
        if not int(opens[node]) <= t <= int(closes[node]):
            errors.append(f"route {r}: service at {node} starts at {t}, outside [{int(opens[node])}, "
                          f"{int(closes[node])}]")
    for (a, ta), (b, tb) in itertools.pairwise(zip(route, arrival, strict=True)):
        if tb < ta + int(service[a]) + int(dur[a, b]):
            errors.append(f"route {r}: service at {b} starts at {tb}, before {a} can be left and {b} reached "
                          f"({ta} + {int(service[a])} + {int(dur[a, b])})")
    latest_departure = arrival[0] - int(dur[0, route[0]])
    earliest_return = arrival[-1] + int(service[route[-1]]) + int(dur[route[-1], 0])
    if latest_departure < int(opens[0]):
        errors.append(f"route {r}: leaves the depot at {latest_departure} at the latest, before it opens "
                      f"({int(opens[0])})")
    if earliest_return > int(instance.horizon):
        errors.append(f"route {r}: returns at {earliest_return}, after the horizon {instance.horizon}")
    if instance.max_route_duration is not None:
        span = earliest_return - min(latest_departure, int(closes[0]))
        if span > int(instance.max_route_duration):
            errors.append(f"route {r}: lasts {span} > max_route_duration {instance.max_route_duration}")
    return errors
