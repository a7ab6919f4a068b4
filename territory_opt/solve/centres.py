"""Design mode on the CLI's problem: choose where each team's territories are centred, then move reps there.

Per team (in scenario order; a rep in several teams is placed by its first team) three starts are built on the
team's aggregated customers (weight = visits x travel weight, demand = workload):
- "capacitated": the capacitated p-median (`design/`, with its proven bound): p = the team's reps, a rep becomes
  one centre, so the reps' workload band is each centre's size bound, and `rules.balance_weight` the same soft
  pull towards the target as in the assignment; it places centres and balances them at once;
- "p-median": the uncapacitated p-median (travel only);
- "k-means": centres weighted by workload (the balanced quantity), snapped to customers.
Each start is matched to today's homes by least total distance and assigned once under every rule (the same
assignment engine and budget for each: one judge); the best then goes through location-allocation rounds: assign
every customer under all rules (balance, boundaries, skills, locks, contact cap) with the fast flow engine, move
each rep to the best home among its own customers (the 1-median), repeat while travel falls by more than 0.1 %.
The final homes are the reps' suggested homes; the run then assigns with them as in rebalance mode.

Why three starts and not the capacitated engine alone: on the demo it wins the first assignment by 3-5 % and cuts
the final travel by 2.3 % (docs/benchmarks.md), but in a short budget on a large team it may find no answer at
all (its heuristic start breaks a band and CP-SAT's first call overruns a small budget); the other two starts cost
little and keep design mode from depending on it.

Large teams are aggregated before the p-median: customers snap to a grid whose cells hold their weighted mean
location, total weight and workload, and candidate sites are the demand points nearest the cells of a coarser
grid. Zone pins and other hard rules are not part of the p-median: the assignment rounds enforce them. A team
whose reps also serve another team has no band of its own (its reps' bands cover both): its capacitated start
then has the soft pull only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from ..errors import InfeasibleError, SolverLimitError
from ..model.bands import team_components
from ..model.problem import Problem
from .budget import Budget
from .design import DesignProblem, DesignResult, solve_design

MAX_POINTS = 2_500  # demand points per team after aggregation
MAX_SITES = 400  # candidate centres per team (and per rep in the 1-median step)
MAX_DEMAND_UNITS = 20_000  # a team's workload in at most this many demand units (the capacitated start)
STARTS = ("capacitated", "p-median", "k-means")  # every start design mode tries (module doc)


@dataclass(frozen=True)
class TeamDesign:
    """How one team's starting centres were chosen, each engine measured against its own bound (nan: not run)."""

    team: str
    p: int
    points: int
    sites: int
    pmedian_objective: float
    pmedian_bound: float
    pmedian_gap: float
    engine: str
    capacitated_objective: float = math.nan  # travel (visit-km) plus the soft balance term, on the aggregated team
    capacitated_bound: float = math.nan
    capacitated_gap: float = math.nan
    workload_unit_s: float = math.nan  # seconds per demand unit of the capacitated start
    size_bounds: tuple[int, int] | None = None  # each centre's workload band, in demand units (None: no band)
    capacitated_note: str = ""  # why the capacitated engine gave no answer (its start is then the p-median's)


@dataclass(frozen=True)
class DesignedHomes:
    rep_xy: np.ndarray  # (R, 2) suggested homes; reps of no designed team keep theirs
    designed: np.ndarray  # (R,) bool
    teams: list[TeamDesign] = field(default_factory=list)
    rounds: list[dict[str, float | int | str]] = field(default_factory=list)  # objective after each round

    def moved_km(self, before: np.ndarray) -> np.ndarray:
        delta = self.rep_xy - before
        return np.asarray(np.hypot(delta[:, 0], delta[:, 1]) / 1000.0)


@dataclass(frozen=True)
class TeamPoints:
    """A team's customers, aggregated: demand points, candidate sites among them, and the distances (km)."""

    xy: np.ndarray  # (P, 2) metres
    weight: np.ndarray  # (P,) visits x travel weight
    workload_s: np.ndarray  # (P,) seconds
    sites: np.ndarray  # (S,) indices into xy
    distance: np.ndarray  # (P, S) road km proxy (straight line x detour)


def aggregate(xy: np.ndarray, weight: np.ndarray, demand: np.ndarray,
              limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At most `limit` demand points: the points themselves, or grid cells (weighted mean location, sums)."""
    if len(xy) <= limit:
        return xy, weight, demand
    span = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1.0))
    cell = span / (8.0 * np.sqrt(limit))  # fine first: clustered customers occupy few cells of a coarse grid
    while True:
        keys = np.floor((xy - xy.min(axis=0)) / cell).astype(np.int64)
        _, label = np.unique(keys, axis=0, return_inverse=True)
        label = label.reshape(-1)
        if label.max() + 1 <= limit:
            break
        cell *= 1.25
    n = int(label.max()) + 1
    mass = np.bincount(label, weights=weight + 1e-9, minlength=n)
    centre = np.column_stack([np.bincount(label, weights=xy[:, k] * (weight + 1e-9), minlength=n) / mass
                              for k in range(2)])
    return centre, np.bincount(label, weights=weight, minlength=n), np.bincount(label, weights=demand,
                                                                                minlength=n).astype(np.int64)


def candidate_sites(xy: np.ndarray, weight: np.ndarray, limit: int) -> np.ndarray:
    """Indices of at most `limit` demand points spread over the area (all of them when few enough)."""
    if len(xy) <= limit:
        return np.arange(len(xy))
    cells, _, _ = aggregate(xy, weight, np.zeros(len(xy), np.int64), limit)
    _, nearest = cKDTree(xy).query(cells)
    return np.asarray(np.unique(nearest))


def team_points(problem: Problem, team: int) -> TeamPoints:
    """The team's needs as at most MAX_POINTS demand points, weighted by visits x travel, with their workload."""
    needs = np.flatnonzero(problem.need_team == team)
    xy = problem.customer_xy[problem.need_customer[needs]]
    weight = problem.need_visits[needs] * np.maximum(problem.need_travel_weight[needs], 1e-3)
    points, point_weight, workload = aggregate(xy, weight, problem.min_workload_s[needs].astype(np.int64),
                                               MAX_POINTS)
    sites = candidate_sites(points, point_weight, MAX_SITES)
    delta = points[:, None, :] - points[None, sites, :]
    distance = np.hypot(delta[..., 0], delta[..., 1]) * problem.detour_factor / 1000.0
    return TeamPoints(points, point_weight, workload, sites, distance)


def capacitated_problem(problem: Problem, team: int, reps: np.ndarray, points: TeamPoints,
                        p: int) -> tuple[DesignProblem, float]:
    """The team as a capacitated p-median and the seconds per demand unit: demand = workload; each centre's size
    within the reps' band, rounded inwards to whole units (so that with exact units a centre in it is in the band;
    reps with different bands give the lowest floor to the highest ceiling, and the assignment rounds do the rest);
    with a balance weight, a penalty per unit off the reps' mean target like the assignment's soft balance term
    (visit-km per hour)."""
    demand, unit_s = demand_units(points.workload_s)
    own_band = p == len(reps) and _team_alone(problem, team)
    bounds = None
    if own_band:
        lo = math.ceil(float(problem.rep_min_s[reps].min()) / unit_s)
        hi = math.floor(float(problem.rep_max_s[reps].max()) / unit_s)
        bounds = (lo, hi) if lo <= hi else (hi, lo)  # a band narrower than one unit: the unit around it
    target = float(problem.rep_target_s[reps].mean()) / unit_s if own_band else float(demand.sum()) / p
    penalty = problem.balance_weight * unit_s / 3600.0
    design = DesignProblem(points.distance, points.weight, p, demand=demand, size_bounds=bounds,
                           size_target=target if penalty > 0 else None, balance_penalty=penalty)
    return design, unit_s


def demand_units(workload_s: np.ndarray) -> tuple[np.ndarray, float]:
    """Workloads as integer demand units, and the seconds per unit: their greatest common divisor (exact: call
    times are whole minutes times visits), coarsened when that would make more than MAX_DEMAND_UNITS in all (the
    flows price each unit); then rounded along the cumulative sum, so the total stays exact and no point is off by
    a unit or more (rounding each point alone would shift a centre's size by up to half a unit per point)."""
    workload = np.asarray(workload_s, dtype=np.int64)
    positive = workload[workload > 0]
    if len(positive) == 0:
        return np.zeros(len(workload), dtype=np.int64), 1.0
    unit_s = max(float(np.gcd.reduce(positive)), float(workload.sum()) / MAX_DEMAND_UNITS)
    cumulative = np.rint(np.cumsum(workload) / unit_s).astype(np.int64)
    return np.diff(cumulative, prepend=0), unit_s


def _team_alone(problem: Problem, team: int) -> bool:
    """Whether the team's reps serve this team only (their bands are then the team's own)."""
    comp = team_components(problem.rep_in_team)
    return int((comp == comp[team]).sum()) == 1


def _team_starts(problem: Problem, team: int, reps: np.ndarray, starts: tuple[str, ...], work_s: float,
                 seed: int) -> tuple[dict[str, np.ndarray], TeamDesign]:
    """Each requested start's centres (metres) for one team, and how they were found. The capacitated engine
    gets 3/4 of the team's work when the p-median runs too; when it finds no answer (it may not, in a short budget
    on a large team), its start is the p-median's centres and the report says why."""
    points = team_points(problem, team)
    p = min(len(reps), len(points.sites))
    found: dict[str, np.ndarray] = {}
    share = 0.75 if "capacitated" in starts else 0.0
    plain = capacitated = None
    unit_s, bounds, note = math.nan, None, ""
    if "capacitated" in starts:
        design, unit_s = capacitated_problem(problem, team, reps, points, p)
        bounds = design.size_bounds
        try:
            capacitated = solve_design(design, Budget(work_s=share * work_s), seed=seed)
        except (InfeasibleError, SolverLimitError) as exc:
            note = f"{type(exc).__name__}: {exc.findings[0].message if exc.findings else exc}"
    if "p-median" in starts or ("capacitated" in starts and capacitated is None):
        plain = solve_design(DesignProblem(points.distance, points.weight, p),
                             Budget(work_s=(1.0 - share) * work_s), seed=seed)
        if "p-median" in starts:
            found["p-median"] = points.xy[points.sites[plain.centres]]
    if "capacitated" in starts:
        chosen = capacitated if capacitated is not None else plain
        assert chosen is not None
        found["capacitated"] = points.xy[points.sites[chosen.centres]]
    if "k-means" in starts:  # points aggregated by workload, the quantity k-means balances
        needs = np.flatnonzero(problem.need_team == team)
        xy = problem.customer_xy[problem.need_customer[needs]]
        load = problem.min_workload_s[needs].astype(float)
        spots, spot_load, _ = aggregate(xy, load, np.zeros(len(needs), np.int64), MAX_POINTS)
        means = weighted_kmeans(spots, spot_load, min(len(reps), len(spots)), seed)
        found["k-means"] = spots[cKDTree(spots).query(means)[1]]
    report = TeamDesign(problem.team_names[team], p, len(points.xy), len(points.sites), *_figures(plain),
                        *_figures(capacitated)[:3], unit_s, bounds, note)
    return found, report


def _figures(result: DesignResult | None) -> tuple[float, float, float, str]:
    if result is None:
        return math.nan, math.nan, math.nan, ""
    return result.objective, result.bound, result.gap, result.engine


def one_medians(problem: Problem, assignment: np.ndarray, rep_xy: np.ndarray) -> np.ndarray:
    """Each rep's best home among its own customers' locations: least visit-weighted distance to them all."""
    out = rep_xy.copy()
    weight = problem.need_visits * np.maximum(problem.need_travel_weight, 1e-3)
    order = np.argsort(assignment, kind="stable")
    bounds = np.searchsorted(assignment[order], np.arange(problem.n_reps + 1))
    for rep in range(problem.n_reps):
        mine = order[bounds[rep]:bounds[rep + 1]]
        if len(mine) == 0:
            continue
        xy = problem.customer_xy[problem.need_customer[mine]]
        candidates = np.unique(xy, axis=0)
        if len(candidates) > MAX_SITES:
            candidates = xy[candidate_sites(xy, weight[mine], MAX_SITES)]
        cost = np.zeros(len(candidates))
        for block in range(0, len(candidates), 64):
            part = candidates[block:block + 64]
            cost[block:block + 64] = (np.hypot(xy[None, :, 0] - part[:, None, 0], xy[None, :, 1] - part[:, None, 1])
                                      * weight[mine]).sum(axis=1)
        out[rep] = candidates[int(np.argmin(cost))]
    return out


def weighted_kmeans(xy: np.ndarray, weight: np.ndarray, k: int, seed: int, iterations: int = 30) -> np.ndarray:
    """k centres minimising weighted squared distance (Lloyd's method from a seeded k-means++ start)."""
    rng = np.random.default_rng(seed)
    mass = np.maximum(weight, 1e-12)
    centres = [xy[int(rng.choice(len(xy), p=mass / mass.sum()))]]
    for _ in range(1, k):
        d2 = np.min(((xy[:, None, :] - np.array(centres)[None, :, :]) ** 2).sum(axis=2), axis=1) * mass
        centres.append(xy[int(rng.choice(len(xy), p=d2 / d2.sum()))] if d2.sum() > 0 else xy[len(centres) % len(xy)])
    c = np.array(centres, dtype=float)
    for _ in range(iterations):
        label = cKDTree(c).query(xy)[1]
        total = np.bincount(label, weights=mass, minlength=k)
        moved = np.column_stack([np.bincount(label, weights=xy[:, j] * mass, minlength=k) for j in range(2)])
        c = np.where(total[:, None] > 0, moved / np.maximum(total, 1e-12)[:, None], c)
    return c


def _place(problem: Problem, reps: np.ndarray, centres: np.ndarray, rep_xy: np.ndarray) -> None:
    """Move `reps` onto `centres`, today's homes to centres by least total move."""
    cost = np.hypot(*(problem.rep_xy[reps][:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    rows, cols = linear_sum_assignment(cost)
    rep_xy[reps[rows]] = centres[cols]


def design_homes(problem: Problem, *, time_limit_s: float, seed: int, rounds: int = 8, candidate_reps: int = 8,
                 starts: tuple[str, ...] = STARTS) -> DesignedHomes:
    """Suggested homes: per team the `starts` (see the module doc), the best after one assignment under every rule
    kept, then location-allocation rounds (assign under every rule with the fast flow engine, move each rep to the
    1-median of its territory) while travel keeps falling. `time_limit_s` is the whole work budget: 20 % for the
    starts' engines, the rest shared by the assignments (one per start, then one per round)."""
    from .budget import Budget
    from .engine import SolveParams, solve

    unknown = sorted(set(starts) - set(STARTS))
    if unknown or not starts:
        raise ValueError(f"starts must be a non-empty subset of {STARTS}, got {starts!r}")
    homes = {name: problem.rep_xy.copy() for name in starts}
    designed = np.zeros(problem.n_reps, dtype=bool)
    teams: list[TeamDesign] = []
    active = [t for t in range(len(problem.team_names)) if (problem.need_team == t).any()]
    start_budget = 0.2 * time_limit_s / max(len(active), 1)
    for team in active:
        reps = np.flatnonzero(problem.rep_in_team[:, team] & ~designed)
        if len(reps) == 0:
            continue
        found, report = _team_starts(problem, team, reps, starts, start_budget, seed)
        for name, centres in found.items():
            _place(problem, reps[:len(centres)], centres, homes[name])
        designed[reps] = True
        teams.append(report)
    history: list[dict[str, float | int | str]] = []
    params = SolveParams(candidate_reps=candidate_reps, engine="large")
    budget = Budget(work_s=0.8 * time_limit_s / max(rounds + len(starts) - 1, 1))
    tried = []
    for name in starts:
        result = solve(problem.replace(rep_xy=homes[name]), budget, seed=seed, params=params)
        history.append({"round": 0, "start": name, "objective": round(result.objective, 3)})
        tried.append((result.objective, name, homes[name], result.assignment))
    best, _, best_xy, assignment = min(tried, key=lambda s: (s[0], s[1]))
    for round_no in range(1, rounds):
        rep_xy = np.where(designed[:, None], one_medians(problem, assignment, best_xy), problem.rep_xy)
        result = solve(problem.replace(rep_xy=rep_xy), budget, seed=seed, params=params)
        history.append({"round": round_no, "objective": round(result.objective, 3)})
        if result.objective >= best * (1 - 1e-3):
            break
        best_xy, best, assignment = rep_xy, result.objective, result.assignment
    return DesignedHomes(best_xy, designed, teams, history)
