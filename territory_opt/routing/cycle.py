"""Call-cycle routing: every rep's visits on days of the cycle, each day a route from home and back.

1. `routing.days` puts every required visit on a (week, day): weekday sectors around the rep's home, visits spread
   evenly over the weeks, both by each visit's call plus its estimated drive (`model/drive.py`);
2. each day is routed with OR-Tools (`routing.vrp`): one vehicle from the rep's home, service = the call, the
   working day (minus the break) as the route's span limit, customers' opening hours as time windows;
3. a visit the day cannot hold is moved to the day of the same week with the most time left, re-routed there;
   failing that, a customer called at most once a week may move to the nearest other week without its call; the
   visit is reported as unplanned only when no such day takes it;
4. a day the routing cannot plan at all (every first-solution strategy of `vrp.first_solution_chain` failed, or the
   model raised) is never a crash or a silently empty day: it is kept in `RepPlan.failed_days` (reported in
   warnings.csv and counted in kpis.json's `routing.unrouted_days`), and its visits go through step 3 like dropped
   ones (one by one, so the same day may still take some of them).

Reps are independent, so they are planned in parallel processes when `workers > 1`; results come back in rep order,
and each day's search stops on a count of solutions (not a clock), so plans are reproducible.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InfeasibleError, SolverLimitError, TerritoryOptError
from ..executor import PartExecutor, ProcessExecutor
from ..model.problem import Problem
from ..solve.budget import Budget
from .days import Visit, spread_visits, weekday_sectors
from .travel import Block, StraightTravel, Travel
from .vrp import VrpInstance, route_schedule, solve_vrp

DROP_PENALTY = 10**9  # a dropped visit costs more than any route travels


@dataclass(frozen=True)
class RoutingSettings:
    weeks: int = 4
    days: int = 5
    day_s: int = 9 * 3600  # from leaving home to coming back, break included
    break_s: int = 30 * 60
    speed_kmh: float = 50.0
    detour_factor: float = 1.3
    metaheuristic: str = "GREEDY_DESCENT"  # stops by itself at a local optimum: fast and reproducible
    solution_limit: int = 500
    time_limit_s: float = 5.0  # safety cap per day route
    travel: Travel | None = None  # None: straight line x detour_factor at speed_kmh

    def travel_model(self) -> Travel:
        return self.travel or StraightTravel(self.speed_kmh, self.detour_factor)

    @property
    def day_budget(self) -> Budget:
        """One day route's budget: a count of accepted solutions, with a wall-clock safety stop."""
        return Budget(work_s=None, solutions=self.solution_limit, wall_s=self.time_limit_s)


@dataclass(frozen=True)
class DayRoute:
    week: int
    day: int
    needs: tuple[int, ...]  # problem need indices in visiting order
    arrive_s: tuple[int, ...]  # start of each call, seconds after the day starts
    depart_s: tuple[int, ...]
    leave_s: int  # leaving home
    back_s: int  # back home
    drive_s: int
    call_s: int
    path_xy: np.ndarray  # (len(needs) + 2, 2) home, stops, home


@dataclass(frozen=True)
class FailedDay:
    """A day of the cycle the routing could not plan at all (its visits were moved or reported as unplanned)."""

    week: int
    day: int
    visits: int
    reason: str


@dataclass(frozen=True)
class RepPlan:
    rep: int
    days: tuple[DayRoute, ...]
    unplanned: tuple[int, ...] = ()  # need index of each visit no day could take (repeated per visit)
    stats: dict[str, int] = field(default_factory=dict)
    failed_days: tuple[FailedDay, ...] = ()

    @property
    def drive_s(self) -> int:
        return sum(d.drive_s for d in self.days)

    @property
    def call_s(self) -> int:
        return sum(d.call_s for d in self.days)


@dataclass(frozen=True)
class RepInput:
    """Everything one rep's planning needs (plain arrays, so it pickles cheaply to a worker process)."""

    rep: int
    home: np.ndarray  # (2,)
    needs: np.ndarray  # (n,) problem need indices
    xy: np.ndarray  # (n, 2)
    visits: np.ndarray  # (n,) per cycle
    call_s: np.ndarray  # (n,) seconds per call
    window_open: np.ndarray | None  # (n,) seconds after the day starts
    window_close: np.ndarray | None
    point_ids: np.ndarray  # (n,) travel point of each need: its customer's index
    home_id: int  # travel point of the rep's home: n_customers + rep
    drive_s: np.ndarray | None = None  # (n,) estimated drive seconds per visit (model/drive.py), if any

    def visit_work_s(self) -> np.ndarray:
        """Seconds one visit costs the rep's day: its call and its estimated drive."""
        return self.call_s.astype(float) + (0.0 if self.drive_s is None else self.drive_s)


def rep_travel(rep: RepInput, settings: RoutingSettings) -> Block:
    """One rep's travel block: row/column 0 is home, 1.. its needs in RepInput order."""
    ids = np.concatenate([[rep.home_id], rep.point_ids]).astype(np.int64)
    return settings.travel_model().block(ids, np.vstack([rep.home[None, :], rep.xy]))


def day_instance(rep: RepInput, travel: Block, members: list[int], settings: RoutingSettings) -> VrpInstance:
    """One day of one rep as a routing instance: node 0 is home, node i the visit `members[i - 1]`."""
    idx = np.array(members)
    rows = np.concatenate([[0], idx + 1])
    duration, distance = travel.seconds[np.ix_(rows, rows)], travel.metres[np.ix_(rows, rows)]
    service = np.concatenate([[0], rep.call_s[idx]]).astype(np.int64)
    opens = closes = None
    if rep.window_open is not None and rep.window_close is not None:
        opens = np.concatenate([[0], rep.window_open[idx]]).astype(np.int64)
        closes = np.concatenate([[settings.day_s], rep.window_close[idx]]).astype(np.int64)
    return VrpInstance(duration=duration, distance=distance, service=service, window_open=opens,
                       window_close=closes, demand=None, vehicle_capacity=None, n_vehicles=1,
                       max_route_duration=settings.day_s - settings.break_s, horizon=settings.day_s,
                       allow_dropping=True, drop_penalty=DROP_PENALTY)


def day_members(rep: RepInput, settings: RoutingSettings) -> dict[tuple[int, int], list[int]]:
    """Each (week, day)'s visits, as indices into the rep's arrays: weekday sectors, visits spread evenly, both by
    each visit's call *and* estimated drive, so a far sector's days are not fuller than a near one's."""
    work = rep.visit_work_s()
    weekday = weekday_sectors(rep.xy, rep.home, rep.visits * work / settings.weeks, settings.days)
    visits: list[Visit] = spread_visits(rep.visits, work, weekday, settings.weeks, settings.days)
    by_day: dict[tuple[int, int], list[int]] = {}
    for v in visits:
        by_day.setdefault((v.week, v.day), []).append(v.customer)
    return by_day


class RoundRejected(Exception):
    """A re-assign round's alignment is worse in a way no balance makes up for (`key` names it in the history,
    e.g. territories left in pieces): the rounds end with the best kept so far."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class DayNotRouted(Exception):
    """The routing found no plan for a day at all (the message says why)."""


def _route_day(rep: RepInput, travel: Block, members: list[int],
               settings: RoutingSettings) -> tuple[DayRoute | None, list[int], bool]:
    """Route one day's visits (indices into the rep's arrays); returns the route, the visits it dropped and whether
    the wall-clock safety stop ended the search (the route may then depend on the machine's load). Raises
    `DayNotRouted` when no plan was found at all."""
    if not members:
        return None, [], False
    instance = day_instance(rep, travel, members, settings)
    duration, service = instance.duration, instance.service
    points = np.vstack([rep.home[None, :], rep.xy[np.array(members)]])
    try:
        solution = solve_vrp(instance, settings.day_budget, metaheuristic=settings.metaheuristic)
    except (TerritoryOptError, RuntimeError) as exc:  # InfeasibleError, SolverLimitError, an OR-Tools failure
        raise DayNotRouted(str(exc)) from exc
    dropped = [members[i - 1] for i in solution.dropped]
    if not solution.routes:
        return None, dropped, solution.wall_capped
    order = tuple(solution.routes[0])
    timed = route_schedule(instance, order)  # the shortest day for this sequence: no avoidable waiting
    leave, arrive, back = timed if timed is not None else (0, list(solution.arrival[0]), settings.day_s)
    path = [0, *order, 0]
    drive = int(sum(duration[a, b] for a, b in itertools.pairwise(path)))
    depart = [a + int(service[i]) for a, i in zip(arrive, order, strict=True)]
    return DayRoute(0, 0, tuple(int(rep.needs[members[i - 1]]) for i in order), tuple(arrive), tuple(depart), leave,
                    back, drive, int(service.sum()), points[path]), dropped, solution.wall_capped


def plan_rep(rep: RepInput, settings: RoutingSettings) -> RepPlan:
    """The whole cycle of one rep (see the module docstring)."""
    by_day = day_members(rep, settings)
    n_visits = sum(len(members) for members in by_day.values())
    routes: dict[tuple[int, int], DayRoute | None] = {}
    pending: list[tuple[int, int]] = []  # (week, customer) visits a day dropped
    travel = rep_travel(rep, settings)
    capped = 0
    failed: list[FailedDay] = []
    for key in sorted(by_day):
        try:
            route, dropped, wall_capped = _route_day(rep, travel, by_day[key], settings)
        except DayNotRouted as exc:  # reported, and its visits try the other days of the week like dropped ones
            failed.append(FailedDay(key[0], key[1], len(by_day[key]), str(exc)))
            route, dropped, wall_capped = None, list(by_day[key]), False
        capped += wall_capped
        routes[key] = route
        by_day[key] = [m for m in by_day[key] if m not in dropped]
        pending += [(key[0], m) for m in dropped]
    unplanned: list[int] = []
    moved = 0
    for week, member in pending:
        placed = False
        for other in _weeks_to_try(rep, by_day, week, member, settings):
            placed, week_capped = _place_in_week(rep, travel, by_day, routes, other, member, settings)
            capped += week_capped
            if placed:
                moved += 1
                break
        if not placed:
            unplanned.append(int(rep.needs[member]))
    days = tuple(_stamped(routes[key], key) for key in sorted(routes) if routes[key] is not None)
    return RepPlan(rep.rep, days, tuple(unplanned), {"visits": n_visits, "moved_to_other_day": moved,
                                                     "estimated_pairs": travel.estimated,
                                                     "wall_capped_days": capped, "unrouted_days": len(failed)},
                   tuple(failed))


def _place_in_week(rep: RepInput, travel: Block, by_day: dict[tuple[int, int], list[int]],
                   routes: dict[tuple[int, int], DayRoute | None], week: int, member: int,
                   settings: RoutingSettings) -> tuple[bool, int]:
    """Put one visit on the day of `week` with the most time left that takes it whole (re-routed there; `by_day`
    and `routes` updated). Returns whether it was placed and how many of the tries hit the wall-clock stop."""
    capped = 0
    for day in _days_by_slack(routes, week, settings):
        if member in by_day.get((week, day), []):
            continue  # one call per customer and day
        route = routes.get((week, day))
        used = 0 if route is None else route.back_s - route.leave_s
        if used + int(rep.call_s[member]) > settings.day_s - settings.break_s:
            break  # days come by slack: no later day has room either
        trial = [*by_day.get((week, day), []), member]
        try:
            route, dropped, wall_capped = _route_day(rep, travel, trial, settings)
        except DayNotRouted:
            continue  # this day cannot take it; the next may
        capped += wall_capped
        if not dropped:
            by_day[(week, day)], routes[(week, day)] = trial, route
            return True, capped
    return False, capped


def _weeks_to_try(rep: RepInput, by_day: dict[tuple[int, int], list[int]], week: int, member: int,
                  settings: RoutingSettings) -> list[int]:
    """Where a visit no day of its week could take may go: its own week first; a customer called at most once a
    week may then move to the nearest other week (earlier first) in which it has no call, so it keeps its number
    of visits at the price of their spacing."""
    if rep.visits[member] >= settings.weeks:
        return [week]
    called = {w for (w, _), members in by_day.items() if member in members}
    others = sorted((w for w in range(settings.weeks) if w != week and w not in called),
                    key=lambda w: (abs(w - week), w))
    return [week, *others]


def _days_by_slack(routes: dict[tuple[int, int], DayRoute | None], week: int, settings: RoutingSettings) -> list[int]:
    def used(day: int) -> int:
        route = routes.get((week, day))
        return 0 if route is None else route.back_s - route.leave_s

    return sorted(range(settings.days), key=lambda day: (used(day), day))


def _stamped(route: DayRoute | None, key: tuple[int, int]) -> DayRoute:
    assert route is not None
    return DayRoute(key[0], key[1], route.needs, route.arrive_s, route.depart_s, route.leave_s, route.back_s,
                    route.drive_s, route.call_s, route.path_xy)


def rep_inputs(problem: Problem, assignment: np.ndarray, window_open: np.ndarray | None = None,
               window_close: np.ndarray | None = None, routed: np.ndarray | None = None) -> list[RepInput]:
    """One input per rep with needs to visit: its customers, visits and call length (workload / visits). Needs
    outside `routed` (e.g. inside sales, served by phone) are not visited."""
    out = []
    visits = np.maximum(np.rint(problem.need_visits).astype(np.int64), 0)
    if routed is not None:
        visits = np.where(routed, visits, 0)
    call_s = np.where(visits > 0, problem.need_workload_s / np.maximum(visits, 1), 0).round().astype(np.int64)
    for rep in range(problem.n_reps):
        needs = np.flatnonzero((assignment == rep) & (visits > 0))
        if len(needs) == 0:
            continue
        customers = problem.need_customer[needs]
        drive = problem.drive_s(needs, np.full(len(needs), rep, dtype=np.int64)) / visits[needs]
        out.append(RepInput(
            rep=rep, home=problem.rep_xy[rep], needs=needs, xy=problem.customer_xy[customers], visits=visits[needs],
            call_s=call_s[needs],
            window_open=None if window_open is None else window_open[customers],
            window_close=None if window_close is None else window_close[customers],
            point_ids=customers.astype(np.int64), home_id=problem.n_customers + rep, drive_s=drive))
    return out


def plan_routes(problem: Problem, assignment: np.ndarray, settings: RoutingSettings, *, workers: int = 1,
                window_open: np.ndarray | None = None, window_close: np.ndarray | None = None,
                routed: np.ndarray | None = None, executor: PartExecutor | None = None) -> list[RepPlan]:
    """Every rep's cycle, one part per rep (arrays only), on `executor` (default: `workers` spawned processes, safe
    with OR-Tools' threads); results in rep order."""
    inputs = rep_inputs(problem, assignment, window_open, window_close, routed)
    runner = executor if executor is not None else ProcessExecutor(workers=workers)
    return runner.map(plan_rep, inputs, settings, stage="routing")


@dataclass(frozen=True)
class RoutingOutcome:
    plans: list[RepPlan]
    problem: Problem  # the problem the final assignment was solved on (call bands net of drive time)
    assignment: np.ndarray
    rounds: list[dict[str, float | int]]  # per round: work spread before re-assigning
    travel: str = "straight"  # which travel model timed the legs
    # per rep, the kept plan's work (calls + routed drive) off its share of its team's work, signed (work_deviation)
    work_deviation: np.ndarray | None = None


def rep_drive(plans: list[RepPlan], n_reps: int) -> tuple[np.ndarray, np.ndarray]:
    """(drive s, call s) per rep from its plan (zeros for reps without one)."""
    drive, calls = np.zeros(n_reps), np.zeros(n_reps)
    for plan in plans:
        drive[plan.rep], calls[plan.rep] = plan.drive_s, plan.call_s
    return drive, calls


def plan_with_feedback(problem: Problem, assignment: np.ndarray, settings: RoutingSettings, *,
                       resolve: Callable[[Problem], np.ndarray], tolerance: float | None, rounds: int,
                       threshold: float, workers: int = 1, window_open: np.ndarray | None = None,
                       window_close: np.ndarray | None = None, routed: np.ndarray | None = None,
                       executor: PartExecutor | None = None, capacity_s: np.ndarray | None = None,
                       mend: Callable[[Problem, np.ndarray, int], np.ndarray | None] | None = None) -> RoutingOutcome:
    """Route, then (up to `rounds` times) re-assign with each rep's drive time inside its workload and route again,
    until no rep's drive changes by more than `threshold` of its work and every visit has a day; the round with the
    fewest unplanned visits, then the best-balanced real hours, is kept (marked `kept` in the history). Each round
    holds calls + drive within the rep's capacity (`capacity_s`) less the work its days could not hold in earlier
    rounds. Each round first `mend`s the kept round's alignment (given with that round's number) to the new bands
    (border moves from where it is, `solve.local`; `in_place` in the history), and `resolve`s the whole problem only
    when that finds nothing:
    solving again from nothing moves every territory and fills other reps to their new tops."""
    from .feedback import drive_adjusted, unplanned_seconds, work_deviation, work_spread, work_targets

    # measured drive replaces the estimate (model/drive.py): the rounds balance calls + routed drive, never both
    calls_only = problem.calls_only()
    plans = plan_routes(calls_only, assignment, settings, workers=workers, window_open=window_open,
                        window_close=window_close, routed=routed, executor=executor)
    drive, calls = rep_drive(plans, problem.n_reps)
    calls = calls_only.rep_totals(assignment)[0]  # call seconds, visited or not (inside sales works by phone)
    history: list[dict[str, float | int]] = [{"round": 0, **work_spread(calls, drive,
                                                                          work_targets(calls_only, drive)),
                                              "unplanned_visits": unplanned_visits(plans)}]
    spill = unplanned_seconds(plans, calls_only)
    working = problem  # round 0 was solved on the problem as given (with the drive estimate, if it counts)
    kept = (plans, working, assignment, 0)
    for round_no in range(1, rounds + 1):
        last = history[-1]
        if round_no > 1 and last["unplanned_visits"] == 0 and float(last["max_drive_change"]) <= threshold:
            break
        working = drive_adjusted(calls_only, drive, tolerance, capacity_s, spill)
        try:
            mended = None if mend is None else mend(working, kept[2], kept[3])
            assignment = resolve(working) if mended is None else mended
        except (InfeasibleError, SolverLimitError):  # the reps cannot take every call with that taken out
            history.append({"round": round_no, "infeasible": 1})
            break
        except RoundRejected as rejected:
            history.append({"round": round_no, rejected.key: 1})
            break
        plans = plan_routes(working, assignment, settings, workers=workers, window_open=window_open,
                            window_close=window_close, routed=routed, executor=executor)
        new_drive, _ = rep_drive(plans, problem.n_reps)
        calls = calls_only.rep_totals(assignment)[0]
        change = np.abs(new_drive - drive) / np.maximum(calls + new_drive, 1.0)
        drive = new_drive
        spill = spill + unplanned_seconds(plans, calls_only)
        history.append({"round": round_no, **work_spread(calls, drive, work_targets(calls_only, drive)),
                        "max_drive_change": round(float(change.max(initial=0.0)), 4),
                        "unplanned_visits": unplanned_visits(plans), "in_place": int(mended is not None)})
        if _spread_key(history[-1]) < _spread_key(history[kept[3]]):
            kept = (plans, working, assignment, round_no)
    plans, working, assignment, best = kept  # re-routing moves drive time: a later round can come out worse
    for entry in history:
        entry["kept"] = int(entry["round"] == best)
    travel = type(settings.travel_model()).__name__.removesuffix("Travel").lower()
    kept_drive, _ = rep_drive(plans, problem.n_reps)
    deviation = work_deviation(calls_only.rep_totals(assignment)[0], kept_drive, work_targets(calls_only, kept_drive))
    return RoutingOutcome(plans, working, assignment, history, travel, deviation)


def unplanned_visits(plans: list[RepPlan]) -> int:
    """Required visits no day of the cycle holds, over every rep's plan."""
    return sum(len(plan.unplanned) for plan in plans)


def _spread_key(entry: dict[str, float | int]) -> tuple[int, float, float]:
    """Which round to keep: the fewest visits without a day (a plan a rep cannot drive is no plan), then the
    round that balances real hours best, the widest deviation first, then the mean."""
    return int(entry["unplanned_visits"]), float(entry["max_deviation"]), float(entry["mean_deviation"])
