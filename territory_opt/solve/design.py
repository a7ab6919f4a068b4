"""Design mode: choose which `p` candidate sites become territory centres, and which centre serves each customer.

This is the p-median family (DESIGN.md section 4, "design" mode). One engine per kind of problem:
- uncapacitated p-median (no capacity, size or balance rule): a vertex-substitution local search (Whitaker's fast
  interchange, vectorised over all swaps at once) inside a variable-neighbourhood search, and a Lagrangian
  relaxation whose subgradient run proves a lower bound, so every answer states its gap (with integer costs the
  bound rounds up); a gap left on a small instance (up to UNCAP_CPSAT_MAX_ARCS pairs) goes to CP-SAT, hinted;
- capacity, size bounds and/or soft balance (`size_target`, `balance_penalty`): CP-SAT on the assignment model
  (x[c, s], y[s], an exact deviation variable per site for the balance penalty), around three heuristics that find
  the answers: the uncapacitated centres re-assigned under the rules, a centre-swap search that judges each centre
  set by a min-cost-flow assignment (exact when all demands are equal, a rounded transportation relaxation
  otherwise), and a region LNS that re-solves a few neighbouring centres and their customers exactly with CP-SAT.
  CP-SAT's bound on the whole model (or the uncapacitated Lagrangian bound, whichever is higher) is reported.

Every engine is deterministic for a seed and worker count. Budgets are counted in work seconds, never in wall time:
numpy steps pay for the cost-matrix cells they touch, CP-SAT calls for their deterministic time. The rates are
calibrated so that a work second is about a wall second on the benchmark machine (2-core AMD EPYC) when it is idle
and `workers` cores are free; on a busy machine a run takes longer but gives the same answer. A generous wall-clock
cap (`design_wall_cap`) only stops a run on a very busy machine, and `stats["wall_capped"]` then says so.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from ..errors import InfeasibleError, SolverLimitError

CELLS_PER_SECOND = 5.0e8  # cost-matrix cells per work second (numpy on one core of the benchmark machine)
CPSAT_DET_PER_CPU_SECOND = 0.5  # CP-SAT deterministic seconds per CPU second there (measured 0.4-0.7 on design models)
CPSAT_CALL_S = 0.02  # work seconds charged per CP-SAT call on top of its deterministic time (model copy, presolve)
STEP_OVERHEAD_CELLS = 3.0e4  # what one step's Python and numpy call overhead costs, in cells (about 50 us)
BLOCK_CELLS = 1 << 22  # customers are processed in blocks of about this many cells, so memory stays bounded
FULL_MODEL_MAX_ARCS = 250_000  # above this CP-SAT sees each customer's k nearest sites only
UNCAP_CPSAT_MAX_ARCS = 12_000  # uncapacitated instances up to this many (customer, site) pairs try CP-SAT on a gap
SPARSE_START_K = 16  # first k for the sparse model; doubled while the sparse model is infeasible
HEURISTIC_SHARE = 0.05  # share of the budget the CP-SAT engines give the uncapacitated local search
BOUND_SHARE = 0.03  # the uncapacitated Lagrangian bound (a fallback when CP-SAT's bound is weaker)
FIRST_CPSAT_SHARE = 0.12  # CP-SAT on the whole model: a first answer and bound
FINAL_CPSAT_SHARE = 0.2  # CP-SAT on the whole model again, hinted with the best answer; the region LNS gets the rest
REGION_NEAR_SITES = 8  # a region's candidate sites: each freed customer's nearest ones
REGION_MAX_CENTRES = 10
REGION_MAX_CUSTOMERS = 60
REGION_MAX_SITES = 60
REGION_WORK = 1.0  # work seconds at most per region model (one CP-SAT worker)
COST_RESOLUTION = 1.0e6  # when costs are not integers at any power of ten up to 1e6: largest cost -> this many units
CELLS_PER_ARC = 2_000.0  # building one arc's variables and constraints in Python, in cells (about 3 us)
FLOW_MAX_ARCS = 2_000_000  # larger assignment flows are skipped (the CP-SAT phases and the LNS remain)
FLOW_NEAREST = 10  # the flow search lets each customer use its 10 cheapest centres
FLOW_SWAP_SITES = 6  # sites tried per centre in the flow search
FLOW_CELLS_PER_ARC = 80.0  # a min-cost flow's cost per arc, in cells (measured about 150 ns per arc)
FLOW_MAX_STALL = 400  # the flow search stops after this many kicks in a row that found nothing better
FLOW_SEARCH_SHARE = 0.4  # the flow-judged swap search
OPTIMAL_GAP = 1e-9
EPS = 1e-9


@dataclass(frozen=True, eq=False)
class DesignProblem:
    """A territory-design instance: pick `p` of the S candidate sites and serve every customer from one of them.

    Objective: sum over customers of weight * distance to its centre, plus, per open centre,
    balance_penalty * |served demand - size_target|. Hard rules: site capacity and size bounds on served demand.
    `demand` defaults to one per customer, so sizes then count customers.
    """

    distance: np.ndarray
    weight: np.ndarray
    p: int
    demand: np.ndarray | None = None
    site_capacity: np.ndarray | None = None
    size_bounds: tuple[int, int] | None = None
    size_target: float | None = None
    balance_penalty: float = 0.0

    def __post_init__(self) -> None:
        distance = _frozen(self.distance, np.float64, "distance")
        if distance.ndim != 2 or distance.shape[0] == 0 or distance.shape[1] == 0:
            raise ValueError(f"distance must be a non-empty (customers, sites) matrix, got shape {distance.shape}")
        n_customers, n_sites = distance.shape
        if not np.isfinite(distance).all() or (distance < 0).any():
            raise ValueError("distance must be finite and >= 0")
        weight = _frozen(self.weight, np.float64, "weight")
        if weight.shape != (n_customers,):
            raise ValueError(f"weight must have shape ({n_customers},), got {weight.shape}")
        if not np.isfinite(weight).all() or (weight < 0).any():
            raise ValueError("weight must be finite and >= 0")
        if isinstance(self.p, bool) or not isinstance(self.p, int | np.integer) or not 1 <= self.p <= n_sites:
            raise ValueError(f"p must be an integer in [1, {n_sites}], got {self.p!r}")
        object.__setattr__(self, "distance", distance)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "p", int(self.p))
        if self.demand is not None:
            demand = _integers(self.demand, "demand")
            if demand.shape != (n_customers,) or (demand < 0).any():
                raise ValueError(f"demand must be ({n_customers},) integers >= 0")
            object.__setattr__(self, "demand", demand)
        if self.site_capacity is not None:
            capacity = _integers(self.site_capacity, "site_capacity")
            if capacity.shape != (n_sites,) or (capacity < 0).any():
                raise ValueError(f"site_capacity must be ({n_sites},) integers >= 0")
            object.__setattr__(self, "site_capacity", capacity)
        if self.size_bounds is not None:
            bounds = tuple(self.size_bounds) if isinstance(self.size_bounds, tuple | list) else ()
            if len(bounds) != 2 or not all(isinstance(b, int | np.integer) and not isinstance(b, bool)
                                           for b in bounds):
                raise ValueError(f"size_bounds must be two integers (lo, hi), got {self.size_bounds!r}")
            lo, hi = int(bounds[0]), int(bounds[1])
            if not 0 <= lo <= hi:
                raise ValueError(f"size_bounds must satisfy 0 <= lo <= hi, got {(lo, hi)}")
            object.__setattr__(self, "size_bounds", (lo, hi))
        if self.size_target is not None:
            target = _number(self.size_target, "size_target")
            if not math.isfinite(target) or target < 0:
                raise ValueError(f"size_target must be finite and >= 0, got {self.size_target!r}")
            object.__setattr__(self, "size_target", target)
        penalty = _number(self.balance_penalty, "balance_penalty")
        if not math.isfinite(penalty) or penalty < 0:
            raise ValueError(f"balance_penalty must be finite and >= 0, got {self.balance_penalty!r}")
        if penalty > 0 and self.size_target is None:
            raise ValueError("balance_penalty > 0 needs a size_target")
        object.__setattr__(self, "balance_penalty", penalty)
        loads = self.demand if self.demand is not None else np.ones(n_customers, dtype=np.int64)
        loads.flags.writeable = False
        object.__setattr__(self, "_loads", loads)

    @property
    def n_customers(self) -> int:
        return int(self.distance.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.distance.shape[1])

    @property
    def loads(self) -> np.ndarray:
        """Demand counted against capacity and size rules (one per customer when none is given)."""
        return self._loads  # type: ignore[attr-defined]

    @property
    def has_balance(self) -> bool:
        return self.balance_penalty > 0 and self.size_target is not None

    @property
    def is_uncapacitated(self) -> bool:
        return self.site_capacity is None and self.size_bounds is None and not self.has_balance


def _frozen(values: object, dtype: type, name: str) -> np.ndarray:
    try:
        array = np.array(values, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    array.flags.writeable = False
    return array


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def _integers(values: object, name: str) -> np.ndarray:
    raw = np.asarray(values)
    if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and not (np.isfinite(raw).all()
                                                                      and (raw == np.round(raw)).all())):
        raise ValueError(f"{name} must hold integers")
    return _frozen(raw, np.int64, name)


@dataclass(frozen=True)
class DesignResult:
    """Chosen centres (sorted site indices), each customer's centre, the objective and a proven lower bound."""

    centres: np.ndarray
    assignment: np.ndarray
    objective: float
    bound: float
    gap: float
    engine: str
    status: str
    stats: dict = field(default_factory=dict)


# --- the independent judge -------------------------------------------------------------------------------------


def _served(problem: DesignProblem, centres: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """Demand served by each centre, in the order of `centres`."""
    by_site = np.bincount(assignment, weights=problem.loads, minlength=problem.n_sites)
    return np.rint(by_site[centres]).astype(np.int64)


def design_objective(problem: DesignProblem, centres: np.ndarray, assignment: np.ndarray) -> float:
    """The objective recomputed from the answer alone: weighted distance plus the balance penalty per centre.

    It does not check the rules (that is `design_violations`); it only needs site indices in range.
    """
    centres = np.asarray(centres, dtype=np.int64)
    assignment = np.asarray(assignment, dtype=np.int64)
    if assignment.shape != (problem.n_customers,) or centres.ndim != 1:
        raise ValueError("assignment must give one site per customer and centres must be a list of sites")
    both = np.r_[assignment, centres]
    if ((both < 0) | (both >= problem.n_sites)).any():
        raise ValueError("site indices must be in [0, n_sites)")
    rows = np.arange(problem.n_customers)
    total = float(np.sum(problem.weight * problem.distance[rows, assignment]))
    if problem.has_balance:
        sizes = _served(problem, centres, assignment)
        total += problem.balance_penalty * float(np.abs(sizes - problem.size_target).sum())
    return total


def design_violations(problem: DesignProblem, centres: np.ndarray, assignment: np.ndarray) -> list[str]:
    """Every hard rule the answer breaks (empty when it is feasible), checked without the solver."""
    centres = np.asarray(centres)
    assignment = np.asarray(assignment)
    found: list[str] = []
    if centres.shape != (problem.p,) or centres.dtype.kind not in "iu":
        return [f"centres must be {problem.p} site indices, got shape {centres.shape}"]
    if assignment.shape != (problem.n_customers,) or assignment.dtype.kind not in "iu":
        return [f"assignment must be {problem.n_customers} site indices, got shape {assignment.shape}"]
    if ((centres < 0) | (centres >= problem.n_sites)).any():
        return ["a centre is not a site index"]
    if len(np.unique(centres)) != problem.p:
        found.append("centres repeat a site")
    outside = np.flatnonzero(~np.isin(assignment, centres))
    if len(outside):
        found.append(f"{len(outside)} customers are served by a site that is not a centre (first: {outside[0]})")
        return found
    sizes = _served(problem, centres.astype(np.int64), assignment.astype(np.int64))
    if problem.site_capacity is not None:
        cap = problem.site_capacity[centres]
        for site, size, limit in zip(centres[sizes > cap], sizes[sizes > cap], cap[sizes > cap], strict=True):
            found.append(f"site {site} serves demand {size} above its capacity {limit}")
    if problem.size_bounds is not None:
        lo, hi = problem.size_bounds
        for site, size in zip(centres, sizes, strict=True):
            if not lo <= size <= hi:
                found.append(f"site {site} serves demand {size} outside the size bounds [{lo}, {hi}]")
    return found


# --- work budget -----------------------------------------------------------------------------------------------


def design_wall_cap(work_s: float) -> float:
    """Wall-clock safety stop for a work budget: generous, so that only a very busy machine ever meets it."""
    return 10.0 * work_s + 60.0


class _Budget:
    """Work seconds left: numpy steps pay per cell touched, CP-SAT with its deterministic time (see module doc).

    A child budget shares the parent's wall deadline; `settle` books its work on the parent.
    """

    def __init__(self, work_s: float, deadline: float | None = None) -> None:
        self.limit = max(float(work_s), 0.0)
        self.used = 0.0
        self.deadline = time.perf_counter() + design_wall_cap(work_s) if deadline is None else deadline
        self.wall_capped = False

    def child(self, work_s: float) -> _Budget:
        return _Budget(min(work_s, self.left()), self.deadline)

    def settle(self, child: _Budget) -> None:
        self.used += child.used
        self.wall_capped |= child.wall_capped

    def pay_cells(self, cells: float) -> None:
        """Pay for one vectorised step: its cells plus the fixed cost of the Python around it."""
        self.used += (cells + STEP_OVERHEAD_CELLS) / CELLS_PER_SECOND

    def pay_cpsat(self, deterministic_s: float, workers: int) -> None:
        self.used += deterministic_s / (CPSAT_DET_PER_CPU_SECOND * workers) + CPSAT_CALL_S

    def left(self) -> float:
        return self.limit - self.used

    def exhausted(self) -> bool:
        if time.perf_counter() > self.deadline:
            self.wall_capped = True
            return True
        return self.used >= self.limit

    def wall_left(self) -> float:
        return self.deadline - time.perf_counter()


# --- uncapacitated p-median: fast interchange, VNS, Lagrangian bound -------------------------------------------


def _blocks(n_rows: int, n_cols: int) -> list[slice]:
    step = max(1, BLOCK_CELLS // max(1, n_cols))
    return [slice(a, min(a + step, n_rows)) for a in range(0, n_rows, step)]


@dataclass
class _Open:
    """An open set with each customer's nearest and second-nearest open cost (what a swap evaluation needs)."""

    sites: np.ndarray  # sorted open site indices
    nearest: np.ndarray  # (C,) site index
    d1: np.ndarray  # (C,) cost to the nearest open site
    d2: np.ndarray  # (C,) cost to the second nearest (inf when p == 1)
    objective: float


def _open_state(cost: np.ndarray, sites: np.ndarray) -> _Open:
    sites = np.sort(np.asarray(sites, dtype=np.int64))
    sub = cost[:, sites]
    rows = np.arange(cost.shape[0])
    if len(sites) == 1:
        first = np.zeros(cost.shape[0], dtype=np.int64)
        d2 = np.full(cost.shape[0], np.inf)
    else:
        two = np.argpartition(sub, 1, axis=1)[:, :2]
        first = two[:, 0]
        d2 = sub[rows, two[:, 1]]
    d1 = sub[rows, first]
    return _Open(sites, sites[first], d1, d2, float(d1.sum()))


def _best_swap(cost: np.ndarray, state: _Open, budget: _Budget) -> tuple[float, int, int]:
    """Best (delta, site out, site in) over all swaps, in O(C * S) array work (Whitaker's fast interchange).

    delta(out r, in i) = gain(i) + loss(r, i), where gain(i) = sum_c min(0, cost[c, i] - d1[c]) and loss(r, i) sums
    max(0, min(cost[c, i], d2[c]) - d1[c]) over the customers whose nearest open site is r.
    """
    n_sites = cost.shape[1]
    slot = np.searchsorted(state.sites, state.nearest)
    gain = np.zeros(n_sites)
    loss = np.zeros((len(state.sites), n_sites))
    for block in _blocks(cost.shape[0], n_sites):
        part = cost[block]
        d1 = state.d1[block, None]
        gain += np.minimum(part - d1, 0.0).sum(axis=0)
        extra = np.minimum(part, state.d2[block, None])
        extra -= d1
        np.maximum(extra, 0.0, out=extra)
        order = np.argsort(slot[block], kind="stable")
        ordered = slot[block][order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        loss[ordered[starts]] += np.add.reduceat(extra[order], starts, axis=0)
    budget.pay_cells(4.0 * cost.size)
    delta = loss + gain[None, :]
    delta[:, state.sites] = np.inf
    flat = int(np.argmin(delta))
    out_slot, site_in = divmod(flat, n_sites)
    return float(delta.flat[flat]), int(state.sites[out_slot]), int(site_in)


def _local_search(cost: np.ndarray, state: _Open, budget: _Budget) -> _Open:
    """Best-improvement swaps until none improves (or the budget ends)."""
    if len(state.sites) == cost.shape[1]:
        return state
    while not budget.exhausted():
        delta, out, into = _best_swap(cost, state, budget)
        if delta >= -EPS * max(1.0, abs(state.objective)):
            break
        sites = state.sites.copy()
        sites[np.searchsorted(sites, out)] = into
        state = _open_state(cost, sites)
        budget.pay_cells(cost.shape[0] * len(sites))
    return state


def _greedy(cost: np.ndarray, p: int, budget: _Budget) -> np.ndarray:
    """Add sites one by one, each the one that lowers the total cost most (the classic greedy start)."""
    n_customers, n_sites = cost.shape
    current = np.full(n_customers, np.inf)  # min(cost, inf) = cost: the first pick is the best single site
    is_open = np.zeros(n_sites, dtype=bool)
    for _ in range(p):
        totals = np.zeros(n_sites)
        for block in _blocks(n_customers, n_sites):
            totals += np.minimum(cost[block], current[block, None]).sum(axis=0)
        budget.pay_cells(2.0 * cost.size)
        totals[is_open] = np.inf
        site = int(np.argmin(totals))
        is_open[site] = True
        current = np.minimum(current, cost[:, site])
    return np.flatnonzero(is_open)


def _shake(state: _Open, n_sites: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Swap k random open sites for k random closed ones (the VNS neighbourhood of size k)."""
    closed = np.setdiff1d(np.arange(n_sites), state.sites)
    k = min(k, len(state.sites), len(closed))
    leave = rng.choice(len(state.sites), size=k, replace=False)
    enter = rng.choice(closed, size=k, replace=False)
    sites = state.sites.copy()
    sites[leave] = enter
    return sites


@dataclass
class _Lagrangian:
    bound: float  # best L(lambda) found: a valid lower bound
    sites: np.ndarray  # the p sites the relaxation opened at its best multipliers
    iterations: int
    multipliers: np.ndarray


def _lagrangian(cost: np.ndarray, p: int, upper: float, start: np.ndarray, budget: _Budget, max_iter: int,
                theta: float = 2.0) -> _Lagrangian:
    """Relax "each customer served once" with multipliers lambda and run subgradient ascent on them.

    L(lambda) = sum_c lambda_c + (sum of the p smallest rho_s), rho_s = sum_c min(0, cost[c, s] - lambda_c), is a lower
    bound for every lambda; the step is Polyak's towards `upper`, theta halves after 20 steps without progress.
    """
    lam = start.astype(np.float64).copy()
    best = _Lagrangian(-np.inf, np.zeros(p, dtype=np.int64), 0, lam.copy())
    stall = 0
    for it in range(max_iter):
        if budget.exhausted():
            break
        rho = np.zeros(cost.shape[1])
        for block in _blocks(cost.shape[0], cost.shape[1]):
            rho += np.minimum(cost[block] - lam[block, None], 0.0).sum(axis=0)
        sites = np.argpartition(rho, p - 1)[:p] if p < cost.shape[1] else np.arange(p)
        value = float(lam.sum() + rho[sites].sum())
        served = (cost[:, sites] < lam[:, None]).sum(axis=1)
        budget.pay_cells(3.0 * cost.size + cost.shape[0] * p)
        if value > best.bound + EPS * max(1.0, abs(value)):
            best = _Lagrangian(value, np.sort(sites), it + 1, lam.copy())
            stall = 0
        else:
            stall += 1
            if stall >= 20:
                theta /= 2.0
                stall = 0
        best.iterations = it + 1
        sub = 1.0 - served
        norm = float(sub @ sub)
        if norm == 0.0 or upper - value <= EPS * max(1.0, abs(upper)) or theta < 1e-4:
            break
        lam += theta * (upper - value) / norm * sub
    return best


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.rint(values)) <= 1e-9 * np.maximum(1.0, np.abs(values))))


def _rounded_bound(bound: float, integral: bool) -> float:
    """With integer costs the optimum is an integer, so a fractional bound rounds up (a tolerance covers float sums)."""
    if not integral or not math.isfinite(bound):
        return bound
    return float(math.ceil(bound - 1e-7 * max(1.0, abs(bound))))


def _pmedian_search(cost: np.ndarray, p: int, budget: _Budget, rng: np.random.Generator,
                    lower: float = -np.inf) -> tuple[_Open, dict]:
    """Greedy start and fast interchange, then VNS until the budget ends or the answer meets `lower`."""
    state = _local_search(cost, _open_state(cost, _greedy(cost, p, budget)), budget)
    return _vns(cost, p, state, budget, rng, lower)


def _solve_uncapacitated(problem: DesignProblem, budget: _Budget, seed: int, workers: int) -> DesignResult:
    """A short search gives the subgradient a target; its bound then tells the long search when to stop. A gap
    left on a small instance goes to CP-SAT, hinted with the search's answer, which may prove it closed."""
    cost = problem.weight[:, None] * problem.distance
    integral = _integral(cost)
    rng = np.random.default_rng(seed)
    stats: dict = {"customers": problem.n_customers, "sites": problem.n_sites}
    total = budget.left()
    child = budget.child(total * 0.1)
    state, _ = _pmedian_search(cost, problem.p, child, rng)
    budget.settle(child)
    stats["first_search"] = round(state.objective, 6)
    start = np.sort(cost, axis=1)[:, min(problem.p, problem.n_sites - 1)]  # lambda_c: a far-ish site's cost
    child = budget.child(total * 0.25)
    lag = _lagrangian(cost, problem.p, state.objective, start, child, max_iter=3000)
    budget.settle(child)
    bound = _rounded_bound(max(lag.bound, 0.0), integral)
    stats.update(lagrangian_iterations=lag.iterations, lagrangian_bound=round(lag.bound, 6))

    def open_gap() -> bool:
        return state.objective > bound + EPS * max(1.0, bound) and not budget.exhausted()

    closable = problem.n_customers * problem.n_sites <= UNCAP_CPSAT_MAX_ARCS
    engine = "interchange"
    if open_gap():
        # restart from the relaxation's sites too: they are often close to the optimum
        from_lag = _local_search(cost, _open_state(cost, lag.sites), budget)
        if from_lag.objective < state.objective:
            state = from_lag
        child = budget.child(total * 0.3 if closable else budget.left() - total * 0.05)
        state, search_stats = _vns(cost, problem.p, state, child, rng, bound)
        budget.settle(child)
        stats.update(search_stats)
    if open_gap():
        # a tighter upper target lets the subgradient climb further
        child = budget.child(total * 0.05)
        more = _lagrangian(cost, problem.p, state.objective, lag.multipliers, child, max_iter=2000, theta=0.5)
        budget.settle(child)
        if more.bound > lag.bound:
            stats["lagrangian_bound"] = round(more.bound, 6)
            bound = max(bound, _rounded_bound(more.bound, integral))
    if open_gap() and closable:
        engine = "interchange+cpsat"
        scaling = _scaling(problem, cost)
        units = _units(cost, scaling)
        arcs = _make_arcs(units, np.ones(cost.shape, dtype=bool), None, None)
        outcome = _run_cpsat(problem, arcs, units, scaling, np.ones(problem.n_sites, dtype=bool),
                             (state.sites, state.nearest), budget.left(), budget, seed, workers)
        stats["cpsat"] = f"{outcome.status}, {len(arcs.customer)} arcs, {outcome.work:.2f} det-s"
        if outcome.centres is not None:
            found = _open_state(cost, outcome.centres)
            if found.objective < state.objective:
                state = found
            if math.isfinite(outcome.bound_units):
                bound = max(bound, outcome.bound_units / scaling.scale)
    elif open_gap():
        state, search_stats = _vns(cost, problem.p, state, budget, rng, bound)
        stats["vns_shakes"] = stats.get("vns_shakes", 0) + search_stats["vns_shakes"]
        stats["vns_improvements"] = stats.get("vns_improvements", 0) + search_stats["vns_improvements"]
    stats["wall_capped"] = int(budget.wall_capped)
    stats["work_s"] = round(budget.used, 3)
    return _result(problem, state.sites, state.nearest, bound, engine, stats)


def _vns(cost: np.ndarray, p: int, state: _Open, budget: _Budget, rng: np.random.Generator,
         lower: float) -> tuple[_Open, dict]:
    """Variable-neighbourhood search: shake k random swaps, local search, keep if better (k back to 1), else k+1."""
    n_sites = cost.shape[1]
    kmax = max(1, min(p, n_sites - p))
    k, shakes, improvements = 1, 0, 0
    while n_sites > p and not budget.exhausted():
        if state.objective <= lower + EPS * max(1.0, abs(lower)):
            break
        candidate = _local_search(cost, _open_state(cost, _shake(state, n_sites, k, rng)), budget)
        shakes += 1
        if candidate.objective < state.objective - EPS * max(1.0, abs(state.objective)):
            state, k = candidate, 1
            improvements += 1
        else:
            k = k % kmax + 1
    return state, {"vns_shakes": shakes, "vns_improvements": improvements}


def _result(problem: DesignProblem, centres: np.ndarray, assignment: np.ndarray, bound: float, engine: str,
            stats: dict) -> DesignResult:
    centres = np.sort(np.asarray(centres, dtype=np.int64))
    assignment = np.asarray(assignment, dtype=np.int64)
    objective = design_objective(problem, centres, assignment)
    if objective < bound <= objective + 1e-9 * max(1.0, abs(objective)):
        bound = objective  # float noise in the bound's sums; a larger excess would be a bug and stays visible
    gap = 0.0 if objective <= 0 else max(0.0, (objective - bound) / abs(objective))
    centres.flags.writeable = False
    assignment.flags.writeable = False
    return DesignResult(centres, assignment, objective, bound, gap, engine,
                        "optimal" if gap <= OPTIMAL_GAP else "feasible", stats)


# --- CP-SAT engine: capacity, size bounds, soft balance --------------------------------------------------------


@dataclass(frozen=True)
class _Scaling:
    """Objective units per cost unit. Costs are rounded down (and penalty lines drawn under the true penalty), so
    CP-SAT's objective never exceeds the true one and its bound, divided by `scale`, is a valid bound; `exact` says no
    rounding happened at all."""

    scale: float
    exact: bool


def _scaling(problem: DesignProblem, cost: np.ndarray) -> _Scaling:
    values = [cost.ravel()]
    if problem.has_balance:
        values.append(np.array([problem.balance_penalty, problem.balance_penalty * problem.size_target]))
    flat = np.concatenate(values)
    top = max(float(np.abs(flat).max()), 1e-300)
    room = 2.0 ** 52 / max(1, problem.n_customers + problem.n_sites)  # totals stay exact in int64 and float64
    for k in range(7):
        scale = 10.0 ** k
        if top * scale > room:
            break
        if _integral(flat * scale):
            return _Scaling(scale, True)
    k = math.ceil(math.log10(COST_RESOLUTION / top))
    scale = 10.0 ** k
    while top * scale > room and k > -300:
        k -= 1
        scale = 10.0 ** k
    return _Scaling(scale, False)


@dataclass(frozen=True)
class _Arcs:
    """Candidate (customer, site) pairs of the model, grouped by customer."""

    customer: np.ndarray
    site: np.ndarray
    full: bool  # every eligible pair is in: CP-SAT's bound is then a bound for the problem itself


def _eligible(problem: DesignProblem) -> np.ndarray:
    """(C, S) mask: the customer's demand fits the site's capacity and the size ceiling."""
    room = _site_room(problem)
    return problem.loads[:, None] <= room[None, :]


def _site_room(problem: DesignProblem) -> np.ndarray:
    """Largest demand each site may serve (capacity and size ceiling)."""
    room = np.full(problem.n_sites, int(problem.loads.sum()), dtype=np.int64)  # no site serves more than all
    if problem.site_capacity is not None:
        room = np.minimum(room, problem.site_capacity)
    if problem.size_bounds is not None:
        room = np.minimum(room, problem.size_bounds[1])
    return room


def _make_arcs(cost: np.ndarray, eligible: np.ndarray, k: int | None, extra: np.ndarray | None) -> _Arcs:
    """All eligible arcs (k None), or each customer's k cheapest eligible sites plus the hint's arc."""
    if k is None or k >= cost.shape[1]:
        customer, site = np.nonzero(eligible)
        return _Arcs(customer, site, True)
    ranked = np.where(eligible, cost, np.inf)
    nearest = np.argsort(ranked, axis=1, kind="stable")[:, :k]
    keep = np.zeros_like(eligible)
    np.put_along_axis(keep, nearest, True, axis=1)
    if extra is not None:
        keep[np.arange(cost.shape[0]), extra] = True
    keep &= eligible
    customer, site = np.nonzero(keep)
    return _Arcs(customer, site, False)


@dataclass
class _Model:
    model: cp_model.CpModel
    y: list[cp_model.IntVar]
    x: list[cp_model.IntVar]
    dev: list[cp_model.IntVar]  # per site, empty without balance
    lines: tuple[int, int, int, int]  # the balance lines' (slope_lo, cut_hi, cut_lo, slope_hi), see _add_balance
    added: dict[str, int]


def _by_site(arcs: _Arcs, n_sites: int) -> list[np.ndarray]:
    order = np.argsort(arcs.site, kind="stable")
    cuts = np.searchsorted(arcs.site[order], np.arange(n_sites + 1))
    return [order[cuts[s]:cuts[s + 1]] for s in range(n_sites)]


def _add_sites(model: cp_model.CpModel, problem: DesignProblem, openable: np.ndarray) -> list[cp_model.IntVar]:
    """y[s] = site s is a centre; exactly p of them, none where no rule lets the site be opened."""
    y = [model.new_bool_var(f"y{s}") for s in range(problem.n_sites)]
    for s in np.flatnonzero(~openable).tolist():
        model.add(y[s] == 0)
    model.add(sum(y) == problem.p)
    return y


def _add_assignment(model: cp_model.CpModel, arcs: _Arcs, y: list[cp_model.IntVar],
                    n_customers: int) -> list[cp_model.IntVar]:
    """x[a] = the arc's customer is served by its site; exactly one per customer, only from an open site.

    x <= y is written per arc (the strong p-median linking): its LP relaxation is what makes the bound tight.
    """
    x = [model.new_bool_var(f"x{a}") for a in range(len(arcs.customer))]
    cuts = np.searchsorted(arcs.customer, np.arange(n_customers + 1))
    for c in range(n_customers):
        model.add_exactly_one(x[cuts[c]:cuts[c + 1]])
    for a, s in enumerate(arcs.site.tolist()):
        model.add(x[a] <= y[s])
    return x


def _add_size_rules(model: cp_model.CpModel, problem: DesignProblem, arcs: _Arcs, x: list[cp_model.IntVar],
                    y: list[cp_model.IntVar], groups: list[np.ndarray]) -> int:
    """Served demand of an open site within [lo, min(capacity, hi)]; a closed site serves nothing."""
    if problem.site_capacity is None and problem.size_bounds is None:
        return 0
    loads = problem.loads[arcs.customer]
    room = _site_room(problem)
    lo = problem.size_bounds[0] if problem.size_bounds is not None else 0
    count = 0
    for s, members in enumerate(groups):
        if len(members) == 0:
            continue
        size = cp_model.LinearExpr.weighted_sum([x[a] for a in members], loads[members].tolist())
        total = int(loads[members].sum())
        if total > room[s]:
            model.add(size <= int(room[s]) * y[s])
            count += 1
        if lo > 0:
            model.add(size >= lo * y[s])
            count += 1
    return count


def _balance_lines(problem: DesignProblem, scaling: _Scaling) -> tuple[int, int, int, int]:
    a = problem.balance_penalty * scaling.scale
    at = a * problem.size_target
    return (math.floor(a + 1e-9 * a), math.ceil(at - 1e-9 * at), math.floor(at + 1e-9 * at),
            math.ceil(a - 1e-9 * a))


def _add_balance(model: cp_model.CpModel, problem: DesignProblem, arcs: _Arcs, x: list[cp_model.IntVar],
                 y: list[cp_model.IntVar], groups: list[np.ndarray], scaling: _Scaling) -> list[cp_model.IntVar]:
    """dev[s] >= penalty * |size[s] - target| for an open site, in objective units, drawn from below.

    Two lines, with slopes and intercepts rounded the way that keeps each under the true penalty:
    dev >= floor(a) * size - ceil(a * target) * y and dev >= floor(a * target) * y - ceil(a) * size (a = scaled
    penalty). With integral a and a * target both are exact and their maximum is the penalty itself.
    """
    if not problem.has_balance:
        return []
    slope_lo, cut_hi, cut_lo, slope_hi = _balance_lines(problem, scaling)
    loads = problem.loads[arcs.customer]
    dev = []
    for s, members in enumerate(groups):
        total = int(loads[members].sum()) if len(members) else 0
        top = max(slope_lo * total, cut_lo, 0)
        d = model.new_int_var(0, top, f"dev{s}")
        size = (cp_model.LinearExpr.weighted_sum([x[a_] for a_ in members], loads[members].tolist())
                if len(members) else 0)
        model.add(d >= slope_lo * size - cut_hi * y[s])
        model.add(d >= cut_lo * y[s] - slope_hi * size)
        dev.append(d)
    return dev


def _build(problem: DesignProblem, arcs: _Arcs, units: np.ndarray, scaling: _Scaling,
           openable: np.ndarray) -> _Model:
    model = cp_model.CpModel()
    y = _add_sites(model, problem, openable)
    x = _add_assignment(model, arcs, y, problem.n_customers)
    groups = _by_site(arcs, problem.n_sites)
    added = {"size_rules": _add_size_rules(model, problem, arcs, x, y, groups)}
    dev = _add_balance(model, problem, arcs, x, y, groups, scaling)
    added["balance"] = len(dev)
    costs = units[arcs.customer, arcs.site]
    model.minimize(cp_model.LinearExpr.weighted_sum(x, costs.tolist()) + sum(dev))
    lines = _balance_lines(problem, scaling) if dev else (0, 0, 0, 0)
    return _Model(model, y, x, dev, lines, added)


@dataclass(frozen=True)
class _CpOutcome:
    status: str
    centres: np.ndarray | None
    assignment: np.ndarray | None
    bound_units: float
    work: float
    seconds: float


def _add_hint(problem: DesignProblem, arcs: _Arcs, built: _Model, centres: np.ndarray,
              assignment: np.ndarray) -> None:
    """Hint every variable, the deviations included: a complete hint is a solution CP-SAT starts from at once."""
    is_open = np.zeros(problem.n_sites, dtype=bool)
    is_open[centres] = True
    for s, var in enumerate(built.y):
        built.model.add_hint(var, bool(is_open[s]))
    chosen = assignment[arcs.customer] == arcs.site
    for var, value in zip(built.x, chosen.tolist(), strict=True):
        built.model.add_hint(var, value)
    if built.dev:
        slope_lo, cut_hi, cut_lo, slope_hi = built.lines
        size = np.bincount(assignment, weights=problem.loads, minlength=problem.n_sites).astype(np.int64)
        y = is_open.astype(np.int64)
        dev = np.maximum(np.maximum(slope_lo * size - cut_hi * y, cut_lo * y - slope_hi * size), 0)
        for var, value in zip(built.dev, dev.tolist(), strict=True):
            built.model.add_hint(var, int(value))


def _run_cpsat(problem: DesignProblem, arcs: _Arcs, units: np.ndarray, scaling: _Scaling, openable: np.ndarray,
               hint: tuple[np.ndarray, np.ndarray] | None, work: float, budget: _Budget, seed: int,
               workers: int, light: bool = False) -> _CpOutcome:
    """Solve the model over `arcs` for `work` deterministic seconds (paid from `budget`); `light` skips the
    symmetry and probing passes, whose fixed cost dominates the small region models."""
    built = _build(problem, arcs, units, scaling, openable)
    budget.pay_cells(CELLS_PER_ARC * len(arcs.customer))
    if hint is not None:
        _add_hint(problem, arcs, built, *hint)
    solver = cp_model.CpSolver()
    params = solver.parameters
    deterministic = max(work - CPSAT_CALL_S, 0.005) * CPSAT_DET_PER_CPU_SECOND * workers
    params.max_deterministic_time = deterministic
    params.max_time_in_seconds = max(1.0, budget.wall_left())
    params.num_workers = int(workers)
    params.interleave_search = workers > 1
    params.random_seed = int(seed)
    params.linearization_level = 2
    if light:
        params.symmetry_level = 0
        params.cp_model_probing_level = 0
    status = solver.solve(built.model)
    budget.pay_cpsat(float(solver.deterministic_time), workers)
    if solver.wall_time >= params.max_time_in_seconds - 0.5 and solver.deterministic_time < deterministic:
        budget.wall_capped = True
    name = solver.status_name(status).lower()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _CpOutcome(name, None, None, -np.inf, float(solver.deterministic_time), float(solver.wall_time))
    x = np.fromiter((solver.boolean_value(v) for v in built.x), dtype=bool, count=len(built.x))
    y = np.fromiter((solver.boolean_value(v) for v in built.y), dtype=bool, count=len(built.y))
    assignment = np.full(problem.n_customers, -1, dtype=np.int64)
    assignment[arcs.customer[x]] = arcs.site[x]
    return _CpOutcome(name, np.flatnonzero(y), assignment, float(solver.best_objective_bound),
                      float(solver.deterministic_time), float(solver.wall_time))


def _counting_findings(problem: DesignProblem) -> list[str]:
    """Infeasibility that counting proves: a customer no site can take, too little room in the p largest sites,
    or size floors that need more demand than there is."""
    findings = []
    room = _site_room(problem)
    loads = problem.loads
    lo = problem.size_bounds[0] if problem.size_bounds is not None else 0
    openable = room >= lo
    usable = np.where(openable, room, -1)
    homeless = np.flatnonzero(loads > usable.max())
    if len(homeless):
        findings.append(f"{len(homeless)} customers have more demand than any site may serve (first: customer "
                        f"{homeless[0]}, demand {loads[homeless[0]]}, largest room {max(int(usable.max()), 0)})")
    if openable.sum() < problem.p:
        findings.append(f"only {int(openable.sum())} sites can serve the size floor {lo}; {problem.p} centres needed")
    total = int(loads.sum())
    largest = np.sort(usable[openable])[::-1][:problem.p]
    if openable.sum() >= problem.p and total > int(largest.sum()):
        findings.append(f"total demand {total} exceeds the {problem.p} largest site rooms together "
                        f"({int(largest.sum())}), short by {total - int(largest.sum())}")
    if lo * problem.p > total:
        findings.append(f"{problem.p} centres with at least {lo} demand each need {lo * problem.p}, "
                        f"but total demand is {total}")
    return findings


def _uniform_load(problem: DesignProblem) -> int | None:
    """The one demand every customer has, or None when demands differ."""
    loads = problem.loads
    return int(loads[0]) if (loads == loads[0]).all() else None


def _assign_flow(problem: DesignProblem, units: np.ndarray, scaling: _Scaling, centres: np.ndarray,
                 nearest: int | None = None) -> np.ndarray | None:
    """Best assignment to fixed centres when every demand is the same: a min-cost flow, convex penalty included.

    Each unit of a centre's size is its own arc to the sink with the penalty's marginal cost (convex, so the flow
    fills them in order); size floors are arcs with a large negative cost. With `nearest`, each customer may only
    use that many of its cheapest centres (faster; then only a good assignment, not the best). None when it does not
    fit or fails.
    """
    d = _uniform_load(problem)
    n, p = problem.n_customers, len(centres)
    if d is None or n * p > FLOW_MAX_ARCS:
        return None
    sub = units[:, centres]
    if d == 0:  # no customer counts against any rule: nearest centre, unless a size floor can never be met
        return None if _floor(problem) > 0 else centres[np.argmin(sub, axis=1)]
    if nearest is not None and nearest < p:
        near = np.argpartition(sub, nearest - 1, axis=1)[:, :nearest]
        cust, cent = np.repeat(np.arange(n), nearest), near.ravel()
    else:
        cust, cent = np.repeat(np.arange(n), p), np.tile(np.arange(p), n)
    reach = np.bincount(cent, minlength=p)  # no centre can take more customers than have an arc to it
    room = np.minimum(_site_room(problem)[centres] // d, reach)
    lo_units = -(-_floor(problem) // d)
    if (room < lo_units).any() or room.sum() < n:
        return None
    flow = min_cost_flow.SimpleMinCostFlow()
    sink = n + p
    flow.add_arcs_with_capacity_and_unit_cost(cust.astype(np.int32), (n + cent).astype(np.int32),
                                              np.ones(len(cust), dtype=np.int64), sub[cust, cent])
    size = np.concatenate([np.arange(1, int(r) + 1) for r in room])
    owner = np.repeat(np.arange(p), room)
    if problem.has_balance:
        a = problem.balance_penalty * scaling.scale
        marginal = a * (np.abs(size * d - problem.size_target) - np.abs((size - 1) * d - problem.size_target))
        marginal = np.rint(marginal).astype(np.int64)
    else:
        marginal = np.zeros(len(size), dtype=np.int64)
    floors = size <= lo_units
    if floors.any():
        big = 2 * (int(np.abs(sub).max()) + 2 * int(np.abs(marginal).max()) + 1)
        marginal = marginal - big * floors
    flow.add_arcs_with_capacity_and_unit_cost((n + owner).astype(np.int32), np.full(len(size), sink, dtype=np.int32),
                                              np.ones(len(size), dtype=np.int64), marginal)
    flow.set_nodes_supplies(np.arange(n + p + 1, dtype=np.int32),
                            np.r_[np.ones(n, dtype=np.int64), np.zeros(p, dtype=np.int64), -n])
    if flow.solve() != flow.OPTIMAL:
        return None
    used = flow.flows(np.arange(len(cust), dtype=np.int32)) > 0
    if used.sum() != n:
        return None
    assignment = np.empty(n, dtype=np.int64)
    assignment[cust[used]] = centres[cent[used]]
    sizes = np.bincount(cent[used], minlength=p)
    if (sizes < lo_units).any():
        return None
    return assignment


def _assign_transport(problem: DesignProblem, units: np.ndarray, scaling: _Scaling, centres: np.ndarray,
                      nearest: int | None = None) -> np.ndarray | None:
    """Unequal demands: the transportation relaxation (a customer's demand may split) as a min-cost flow in demand
    units, then every split customer goes whole to a centre with room, largest share first. A good assignment,
    not always the best; None when the rounding finds no room or the flow would be too large."""
    loads = problem.loads
    n, p = problem.n_customers, len(centres)
    sub = units[:, centres]
    k = p if nearest is None else min(nearest, p)
    near = np.argpartition(sub, k - 1, axis=1)[:, :k] if k < p else np.tile(np.arange(p), (n, 1))
    active = np.flatnonzero(loads > 0)
    cust, cent = np.repeat(active, k), near[active].ravel()
    demand = loads[cust]
    room = np.minimum(_site_room(problem)[centres], np.bincount(cent, weights=demand, minlength=p).astype(np.int64))
    lo, total = _floor(problem), int(loads.sum())
    if room.sum() < total or (room < lo).any() or int(room.sum()) + len(cust) > FLOW_MAX_ARCS:
        return None
    resolution = 64.0  # unit costs are cost per demand unit, kept to 1/64 of an objective unit
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(cust.astype(np.int32), (n + cent).astype(np.int32), demand,
                                              np.rint(sub[cust, cent] * resolution / demand).astype(np.int64))
    size = np.concatenate([np.arange(1, int(r) + 1) for r in room])
    owner = np.repeat(np.arange(p), room)
    marginal = np.zeros(len(size))
    if problem.has_balance:
        a = problem.balance_penalty * scaling.scale * resolution
        marginal = a * (np.abs(size - problem.size_target) - np.abs(size - 1 - problem.size_target))
    marginal = np.rint(marginal).astype(np.int64)
    floors = size <= lo
    if floors.any():
        big = 2 * (int(np.abs(sub).max() * resolution) + 2 * int(np.abs(marginal).max()) + 1)
        marginal = marginal - big * floors
    flow.add_arcs_with_capacity_and_unit_cost((n + owner).astype(np.int32), np.full(len(size), n + p, dtype=np.int32),
                                              np.ones(len(size), dtype=np.int64), marginal)
    supplies = np.zeros(n + p + 1, dtype=np.int64)
    supplies[:n] = loads
    supplies[n + p] = -total
    flow.set_nodes_supplies(np.arange(n + p + 1, dtype=np.int32), supplies)
    if flow.solve() != flow.OPTIMAL:
        return None
    share = flow.flows(np.arange(len(cust), dtype=np.int32)).reshape(len(active), k)
    slot = np.full(n, -1, dtype=np.int64)
    idle = loads == 0
    slot[idle] = np.argmin(sub[idle], axis=1)
    whole = share == loads[active][:, None]
    has_whole = whole.any(axis=1)
    slot[active[has_whole]] = near[active[has_whole], np.argmax(whole[has_whole], axis=1)]
    served = np.bincount(slot[slot >= 0], weights=loads[slot >= 0], minlength=p).astype(np.int64)
    limit = _site_room(problem)[centres]
    split = np.flatnonzero(~has_whole)
    for i in split[np.argsort(-loads[active[split]], kind="stable")].tolist():
        c = int(active[i])
        options = near[c][np.lexsort((sub[c, near[c]], -share[i]))]
        fits = options[served[options] + loads[c] <= limit[options]]
        if not len(fits):
            return None
        slot[c] = int(fits[0])
        served[slot[c]] += loads[c]
    if (served < lo).any():
        return None
    return centres[slot]


def _relocate(problem: DesignProblem, cost: np.ndarray, answer: _Answer) -> np.ndarray:
    """Move each centre to the site that serves its own customers most cheaply (sizes, so penalties, unchanged).

    Centres are moved in order of saving, each to a site no other centre holds and whose room fits the group.
    """
    room = _site_room(problem)
    openable = room >= _floor(problem)
    slot = np.searchsorted(answer.centres, answer.assignment)
    order = np.argsort(slot, kind="stable")
    ordered = slot[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sums = np.zeros((len(answer.centres), problem.n_sites))
    sums[ordered[starts]] = np.add.reduceat(cost[order], starts, axis=0)
    sizes = np.bincount(slot, weights=problem.loads, minlength=len(answer.centres))
    allowed = openable[None, :] & (room[None, :] >= sizes[:, None])
    sums = np.where(allowed, sums, np.inf)
    current = sums[np.arange(len(answer.centres)), answer.centres]
    saving = current - sums.min(axis=1)
    centres = answer.centres.copy()
    taken = np.zeros(problem.n_sites, dtype=bool)
    taken[centres] = True
    for j in np.argsort(-saving, kind="stable").tolist():
        ranked = np.argsort(sums[j], kind="stable")
        for site in ranked[:8].tolist():
            if site == centres[j]:
                break
            if not taken[site] and sums[j, site] < current[j]:
                taken[centres[j]] = False
                taken[site] = True
                centres[j] = site
                break
    return centres


def _group_scores(problem: DesignProblem, cost: np.ndarray, answer: _Answer, slot: int) -> np.ndarray:
    """How well each site would serve the customers of centre `slot` (an empty centre: its closest customer)."""
    group = answer.assignment == answer.centres[slot]
    if group.any():
        return cost[group].sum(axis=0)
    return problem.distance[int(np.argmin(problem.distance[:, answer.centres[slot]]))].copy()


def _flow_search(problem: DesignProblem, cost: np.ndarray, units: np.ndarray, scaling: _Scaling,
                 centres: np.ndarray, budget: _Budget, rng: np.random.Generator) -> tuple[_Answer | None, dict]:
    """A centre-swap local search in which every centre set is judged by an assignment found by a min-cost flow
    over each customer's nearest centres (the best one when demands are equal, a rounded transportation relaxation
    otherwise), alternated with moving each centre to its group's cheapest site. Swaps try, for one centre at a
    time, the sites that serve its group best; at a local optimum, k centres are kicked and the descent restarts."""
    p = problem.p
    uniform = _uniform_load(problem) is not None
    arcs_per_flow = problem.n_customers * (min(p, FLOW_NEAREST) + 2) + (0 if uniform else int(problem.loads.sum()))

    def judge(sites: np.ndarray) -> _Answer | None:
        sites = np.sort(sites)
        budget.pay_cells(FLOW_CELLS_PER_ARC * arcs_per_flow)
        assign = _assign_flow if uniform else _assign_transport
        assignment = assign(problem, units, scaling, sites, nearest=FLOW_NEAREST)
        if assignment is None or design_violations(problem, sites, assignment):
            return None
        return _Answer(sites, assignment, design_objective(problem, sites, assignment))

    def better(a: _Answer | None, b: _Answer) -> bool:
        return a is not None and a.objective < b.objective - EPS * max(1.0, abs(b.objective))

    def descend(current: _Answer) -> _Answer:
        nonlocal evaluations, swaps
        improved = True
        while improved and not budget.exhausted():
            improved = False
            moved = judge(_relocate(problem, cost, current))
            evaluations += 1
            if better(moved, current):
                current, improved = moved, True
                continue
            for slot in rng.permutation(p).tolist():
                if budget.exhausted():
                    break
                scores = _group_scores(problem, cost, current, slot)
                group = current.assignment == current.centres[slot]
                scores[current.centres] = np.inf
                budget.pay_cells(problem.n_sites * max(1, int(group.sum())))
                for site in np.argsort(scores, kind="stable")[:FLOW_SWAP_SITES].tolist():
                    if not np.isfinite(scores[site]):
                        break
                    sites = current.centres.copy()
                    sites[slot] = site
                    trial = judge(sites)
                    evaluations += 1
                    if better(trial, current):
                        current, improved = trial, True
                        swaps += 1
                        break
                if improved:
                    break
        return current

    evaluations = swaps = kicks = 0
    start = judge(centres)
    if start is None:
        return None, {}
    best = descend(start)
    k = stall = 0
    stall_limit = min(FLOW_MAX_STALL, math.comb(problem.n_sites, p))  # tiny instances run out of new sets quickly
    while not budget.exhausted() and problem.n_sites > p and stall < stall_limit:
        k = k % 3 + 1
        # a local optimum: kick k centres to random nearby free sites and descend again (kept only if better)
        sites = best.centres.copy()
        for slot in rng.choice(p, size=min(k, p), replace=False).tolist():
            scores = _group_scores(problem, cost, best, slot)
            scores[sites] = np.inf
            near = np.argsort(scores, kind="stable")[:2 * FLOW_SWAP_SITES]
            near = near[np.isfinite(scores[near])]
            if len(near):
                sites[slot] = int(near[rng.integers(len(near))])
        kicks += 1
        trial = judge(sites)
        trial = descend(trial) if trial is not None else None
        if better(trial, best):
            best, k, stall = trial, 0, 0
        else:
            stall += 1
    exact = _assign_flow(problem, units, scaling, best.centres)
    if exact is not None and not design_violations(problem, best.centres, exact):
        objective = design_objective(problem, best.centres, exact)
        if objective < best.objective:
            best = _Answer(best.centres, exact, objective)
    return best, {"flow_evaluations": evaluations, "flow_swaps": swaps, "flow_kicks": kicks, "flow_stall": stall,
                  "flow_search": round(best.objective, 6)}


def _assign_greedy(problem: DesignProblem, units: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Largest demands first, each to its cheapest centre with room left (or its cheapest at all: a partial hint)."""
    room = _site_room(problem)[centres].astype(np.int64)
    loads = problem.loads
    sub = units[:, centres]
    order = np.lexsort((np.arange(problem.n_customers), -loads))
    assignment = np.empty(problem.n_customers, dtype=np.int64)
    for c in order.tolist():
        ranked = np.argsort(sub[c], kind="stable")
        fits = ranked[room[ranked] >= loads[c]]
        j = int(fits[0]) if len(fits) else int(ranked[0])
        room[j] -= loads[c]
        assignment[c] = centres[j]
    return assignment


@dataclass
class _Answer:
    centres: np.ndarray
    assignment: np.ndarray
    objective: float


def _region_problem(problem: DesignProblem, customers: np.ndarray, sites: np.ndarray, q: int) -> DesignProblem:
    """The same rules on a region: these customers, these candidate sites, q centres among them."""
    return DesignProblem(
        distance=problem.distance[np.ix_(customers, sites)], weight=problem.weight[customers], p=q,
        demand=problem.loads[customers],
        site_capacity=None if problem.site_capacity is None else problem.site_capacity[sites],
        size_bounds=problem.size_bounds, size_target=problem.size_target, balance_penalty=problem.balance_penalty)


def _region_lns(problem: DesignProblem, start: _Answer, budget: _Budget, rng: np.random.Generator, work: float,
                units: np.ndarray, scaling: _Scaling) -> tuple[_Answer, dict]:
    """Large-neighbourhood search by regions: free q neighbouring centres and their customers, let the centres move
    to any nearby site, and re-solve that region exactly with CP-SAT; keep it when the whole objective improves.

    A region's objective (its customers' costs and its centres' penalties) is separable from the rest, so the
    region model is a smaller DesignProblem with the same rules. q grows when a full round finds nothing; the search
    ends when rounds of every q up to REGION_MAX_CENTRES find nothing. When every demand is the same, each round
    ends with the exact assignment to the current centres (a min-cost flow), which moves customers across regions.
    """
    stop_at = budget.used + work
    n_sites = problem.n_sites
    near_k = min(n_sites, REGION_NEAR_SITES)
    near = np.argsort(problem.distance, axis=1, kind="stable")[:, :near_k]
    anchor = np.argmin(problem.distance, axis=0)  # the customer closest to each site: where the site "is"
    best = start
    q_max = min(problem.p, REGION_MAX_CENTRES)
    q = min(2, q_max)
    rounds = solved = improved = 0
    while budget.used < stop_at and not budget.exhausted():
        rounds += 1
        found = False
        for seed_site in rng.permutation(best.centres).tolist():
            if budget.used >= stop_at or budget.exhausted():
                break
            if seed_site not in best.centres:
                continue
            ranked = best.centres[np.argsort(problem.distance[anchor[seed_site], best.centres], kind="stable")]
            region = np.r_[seed_site, ranked[ranked != seed_site][:q - 1]]
            customers = np.flatnonzero(np.isin(best.assignment, region))
            if len(customers) > REGION_MAX_CUSTOMERS:
                order = np.argsort(problem.distance[customers, seed_site], kind="stable")
                keep_centres = np.unique(best.assignment[customers[order[:REGION_MAX_CUSTOMERS]]])
                region = region[np.isin(region, keep_centres)] if np.isin(region, keep_centres).any() else region[:1]
                customers = np.flatnonzero(np.isin(best.assignment, region))
            others = np.setdiff1d(best.centres, region)
            counts = np.bincount(near[customers].ravel(), minlength=n_sites)
            counts[others] = 0
            counts[region] = len(customers) + 1  # the current centres always stay candidates
            pool = np.flatnonzero(counts)
            if len(pool) > REGION_MAX_SITES:
                pool = pool[np.argsort(-counts[pool], kind="stable")[:REGION_MAX_SITES]]
            pool = np.sort(pool)
            sub = _region_problem(problem, customers, pool, len(region))
            if _counting_findings(sub):
                continue
            sub_cost = sub.weight[:, None] * sub.distance
            sub_scaling = _scaling(sub, sub_cost)
            sub_units = _units(sub_cost, sub_scaling)
            local = np.searchsorted(pool, best.assignment[customers])
            hint = (np.searchsorted(pool, region), local)
            outcome = _run_cpsat(sub, _make_arcs(sub_units, _eligible(sub), None, None), sub_units, sub_scaling,
                                 _site_room(sub) >= _floor(sub), hint, min(REGION_WORK, stop_at - budget.used),
                                 budget, int(rng.integers(1 << 30)), 1, light=True)
            solved += 1
            if outcome.centres is None:
                continue
            centres = np.sort(np.r_[others, pool[outcome.centres]])
            assignment = best.assignment.copy()
            assignment[customers] = pool[outcome.assignment]
            objective = design_objective(problem, centres, assignment)
            if objective < best.objective - EPS * max(1.0, abs(best.objective)) and len(centres) == problem.p:
                best = _Answer(centres, assignment, objective)
                improved += 1
                found = True
        flowed = _assign_flow(problem, units, scaling, best.centres)
        if flowed is not None and not design_violations(problem, best.centres, flowed):
            objective = design_objective(problem, best.centres, flowed)
            if objective < best.objective - EPS * max(1.0, abs(best.objective)):
                best = _Answer(best.centres, flowed, objective)
                improved += 1
                found = True
        budget.pay_cells(4.0 * problem.n_customers * problem.p)
        if not found:
            if q >= q_max:
                break
            q += 1
    return best, {"lns_rounds": rounds, "lns_regions": solved, "lns_improvements": improved, "lns_last_q": q}


def _floor(problem: DesignProblem) -> int:
    return problem.size_bounds[0] if problem.size_bounds is not None else 0


def _units(cost: np.ndarray, scaling: _Scaling) -> np.ndarray:
    """Costs in integer objective units, rounded down (a tolerance keeps exact products exact)."""
    scaled = cost * scaling.scale
    return np.floor(scaled + 1e-9 * np.maximum(1.0, np.abs(scaled))).astype(np.int64)


def _distance_bound(cost: np.ndarray, p: int, upper: float, budget: _Budget) -> float:
    """The uncapacitated Lagrangian bound: valid under any capacity, size or balance rule (they only add cost)."""
    start = np.sort(cost, axis=1)[:, min(p, cost.shape[1] - 1)]
    lag = _lagrangian(cost, p, upper, start, budget, max_iter=500)
    return _rounded_bound(max(lag.bound, 0.0), _integral(cost))


def _solve_cpsat(problem: DesignProblem, budget: _Budget, seed: int, workers: int) -> DesignResult:
    """Uncapacitated centres re-assigned under the rules; CP-SAT on the whole model (often optimal at once on small
    instances, else a first answer and bound); the flow-judged swap search; region LNS; CP-SAT again, hinted with
    the best answer."""
    findings = _counting_findings(problem)
    if findings:
        raise InfeasibleError(findings)
    cost = problem.weight[:, None] * problem.distance
    scaling = _scaling(problem, cost)
    units = _units(cost, scaling)
    rng = np.random.default_rng(seed)
    stats: dict = {"customers": problem.n_customers, "sites": problem.n_sites, "cost_scale": scaling.scale,
                   "cost_scale_exact": int(scaling.exact)}
    total = budget.left()
    child = budget.child(total * HEURISTIC_SHARE)
    state, _ = _pmedian_search(cost, problem.p, child, rng)
    budget.settle(child)
    assignment = _assign_flow(problem, units, scaling, state.sites)
    if assignment is None:
        assignment = _assign_transport(problem, units, scaling, state.sites)
    if assignment is None:
        assignment = _assign_greedy(problem, units, state.sites)
    best: _Answer | None = None
    if not design_violations(problem, state.sites, assignment):
        best = _Answer(state.sites, assignment, design_objective(problem, state.sites, assignment))
        stats["heuristic"] = round(best.objective, 6)
    child = budget.child(total * BOUND_SHARE)
    distance_bound = _distance_bound(cost, problem.p, best.objective if best else 2.0 * state.objective + 1.0, child)
    budget.settle(child)
    stats["distance_bound"] = distance_bound
    eligible = _eligible(problem)
    openable = _site_room(problem) >= _floor(problem)
    k = None if int(eligible.sum()) <= FULL_MODEL_MAX_ARCS else SPARSE_START_K
    bound_units = -np.inf

    def run(phase: str, work: float) -> _CpOutcome:
        """CP-SAT hinted with the best answer so far; a sparse model grows its k while it is infeasible."""
        nonlocal k, best, bound_units
        while True:
            hint = (best.centres, best.assignment) if best is not None else (state.sites, assignment)
            arcs = _make_arcs(units, eligible, k, hint[1])
            outcome = _run_cpsat(problem, arcs, units, scaling, openable, hint, work, budget, seed, workers)
            stats[phase] = f"{outcome.status}, {len(arcs.customer)} arcs, {outcome.work:.2f} det-s"
            if outcome.status != "infeasible" or budget.exhausted():
                break
            if arcs.full:
                raise InfeasibleError(["no choice of centres serves every customer within the capacity and size "
                                       "rules"])
            k = None if 2 * k >= problem.n_sites else 2 * k
        if outcome.centres is not None:
            found = _Answer(outcome.centres, outcome.assignment,
                            design_objective(problem, outcome.centres, outcome.assignment))
            if best is None or found.objective <= best.objective:
                best = found
        if arcs.full:
            bound_units = max(bound_units, outcome.bound_units)
        return outcome

    first = run("cpsat1", total * FIRST_CPSAT_SHARE)
    proven = first.status == "optimal" and k is None
    if not proven and not budget.exhausted() and problem.n_customers * min(problem.p, FLOW_NEAREST) <= FLOW_MAX_ARCS:
        child = budget.child(total * FLOW_SEARCH_SHARE)
        found, flow_stats = _flow_search(problem, cost, units, scaling,
                                         best.centres if best is not None else state.sites, child, rng)
        budget.settle(child)
        stats.update(flow_stats)
        if found is not None and (best is None or found.objective < best.objective):
            best = found
    if not proven and not budget.exhausted() and best is not None:
        lns_work = max(budget.left() - total * FINAL_CPSAT_SHARE, 0.0)
        best, lns_stats = _region_lns(problem, best, budget, rng, lns_work, units, scaling)
        stats.update(lns_stats)
    if not proven and not budget.exhausted():
        run("cpsat2", budget.left())
    if best is None:
        raise SolverLimitError("no answer meets every capacity and size rule within the time limit")
    bound = distance_bound
    if math.isfinite(bound_units):
        bound = max(bound, bound_units / scaling.scale)
    if k is not None:
        stats["bound_scope"] = "uncapacitated relaxation (CP-SAT saw only each customer's nearest sites)"
    stats["candidate_sites"] = "all eligible" if k is None else f"{k} nearest"
    stats["wall_capped"] = int(budget.wall_capped)
    stats["work_s"] = round(budget.used, 3)
    return _result(problem, best.centres, best.assignment, bound, "cpsat", stats)


def solve_design(problem: DesignProblem, *, time_limit_s: float = 60.0, seed: int = 0,
                 workers: int = 1) -> DesignResult:
    """Choose `problem.p` centres and serve every customer, minimising the objective under the hard rules.

    `time_limit_s` is a work budget (reproducible, roughly seconds on one core), not wall time: the same problem,
    seed and worker count give the same answer on any machine load. Raises InfeasibleError when the capacity and
    size rules cannot all hold, SolverLimitError when no feasible answer is found within the budget.
    """
    if not isinstance(problem, DesignProblem):
        raise ValueError("problem must be a DesignProblem")
    if not math.isfinite(time_limit_s) or time_limit_s <= 0:
        raise ValueError(f"time_limit_s must be > 0, got {time_limit_s!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    budget = _Budget(time_limit_s)
    if problem.is_uncapacitated:
        return _solve_uncapacitated(problem, budget, int(seed), workers)
    return _solve_cpsat(problem, budget, int(seed), workers)
