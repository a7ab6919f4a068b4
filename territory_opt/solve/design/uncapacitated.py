"""The uncapacitated engine (no capacity, size or balance rule): a short interchange search gives the Lagrangian
subgradient a target, its bound tells the long VNS when to stop, and a gap left on a small instance (up to
UNCAP_CPSAT_MAX_ARCS pairs) goes to CP-SAT, hinted, which may prove it closed. Every answer states its gap (with
integer costs the bound rounds up)."""

from __future__ import annotations

import math

import numpy as np

from ..budget import WorkMeter
from .cpsat import run_cpsat
from .interchange import local_search, open_state, pmedian_search, vns
from .lagrangian import lagrangian
from .model import make_arcs
from .problem import DesignProblem
from .result import EPS, DesignResult, finish
from .scaling import cost_scaling, integral, rounded_bound, to_units

UNCAP_CPSAT_MAX_ARCS = 12_000  # uncapacitated instances up to this many (customer, site) pairs try CP-SAT on a gap


def solve_uncapacitated(problem: DesignProblem, meter: WorkMeter, seed: int, workers: int) -> DesignResult:
    """A short search gives the subgradient a target; its bound then tells the long search when to stop. A gap
    left on a small instance goes to CP-SAT, hinted with the search's answer, which may prove it closed."""
    cost = problem.weight[:, None] * problem.distance
    is_integral = integral(cost)
    rng = np.random.default_rng(seed)
    stats: dict = {"customers": problem.n_customers, "sites": problem.n_sites}
    total = meter.left()
    child = meter.child(total * 0.1)
    state, _ = pmedian_search(cost, problem.p, child, rng)
    meter.settle(child)
    stats["first_search"] = round(state.objective, 6)
    start = np.sort(cost, axis=1)[:, min(problem.p, problem.n_sites - 1)]  # lambda_c: a far-ish site's cost
    child = meter.child(total * 0.25)
    lag = lagrangian(cost, problem.p, state.objective, start, child, max_iter=3000)
    meter.settle(child)
    bound = rounded_bound(max(lag.bound, 0.0), is_integral)
    stats.update(lagrangian_iterations=lag.iterations, lagrangian_bound=round(lag.bound, 6))

    def open_gap() -> bool:
        return state.objective > bound + EPS * max(1.0, bound) and not meter.exhausted()

    closable = problem.n_customers * problem.n_sites <= UNCAP_CPSAT_MAX_ARCS
    engine = "interchange"
    if open_gap():
        # restart from the relaxation's sites too: they are often close to the optimum
        from_lag = local_search(cost, open_state(cost, lag.sites), meter)
        if from_lag.objective < state.objective:
            state = from_lag
        child = meter.child(total * 0.3 if closable else meter.left() - total * 0.05)
        state, search_stats = vns(cost, problem.p, state, child, rng, bound)
        meter.settle(child)
        stats.update(search_stats)
    if open_gap():
        # a tighter upper target lets the subgradient climb further
        child = meter.child(total * 0.05)
        more = lagrangian(cost, problem.p, state.objective, lag.multipliers, child, max_iter=2000, theta=0.5)
        meter.settle(child)
        if more.bound > lag.bound:
            stats["lagrangian_bound"] = round(more.bound, 6)
            bound = max(bound, rounded_bound(more.bound, is_integral))
    if open_gap() and closable:
        engine = "interchange+cpsat"
        scaling = cost_scaling(problem, cost)
        units = to_units(cost, scaling)
        arcs = make_arcs(units, np.ones(cost.shape, dtype=bool), None, None)
        outcome = run_cpsat(problem, arcs, units, scaling, np.ones(problem.n_sites, dtype=bool),
                             (state.sites, state.nearest), meter.left(), meter, seed, workers)
        stats["cpsat"] = f"{outcome.status}, {len(arcs.customer)} arcs, {outcome.work:.2f} det-s"
        if outcome.centres is not None:
            found = open_state(cost, outcome.centres)
            if found.objective < state.objective:
                state = found
            if math.isfinite(outcome.bound_units):
                bound = max(bound, outcome.bound_units / scaling.scale)
    elif open_gap():
        state, search_stats = vns(cost, problem.p, state, meter, rng, bound)
        stats["vns_shakes"] = stats.get("vns_shakes", 0) + search_stats["vns_shakes"]
        stats["vns_improvements"] = stats.get("vns_improvements", 0) + search_stats["vns_improvements"]
    stats["wall_capped"] = int(meter.wall_capped)
    stats["work_s"] = round(meter.used, 3)
    return finish(problem, state.sites, state.nearest, bound, engine, stats)
