"""Region large-neighbourhood search: free a few neighbouring centres and their customers, let the centres move to
any nearby site, and re-solve that region exactly with CP-SAT (a smaller `DesignProblem` with the same rules)."""

from __future__ import annotations

import numpy as np

from ..budget import WorkMeter
from .assign import assign_flow
from .cpsat import run_cpsat
from .judge import design_objective, design_violations
from .meter import pay_cells
from .model import make_arcs
from .problem import DesignProblem
from .result import EPS, Answer
from .rules import counting_findings, eligible, site_room, size_floor
from .scaling import Scaling, cost_scaling, to_units

REGION_NEAR_SITES = 8  # a region's candidate sites: each freed customer's nearest ones
REGION_MAX_CENTRES = 10
REGION_MAX_CUSTOMERS = 60
REGION_MAX_SITES = 60
REGION_WORK = 1.0  # work seconds at most per region model (one CP-SAT worker)


def region_problem(problem: DesignProblem, customers: np.ndarray, sites: np.ndarray, q: int) -> DesignProblem:
    """The same rules on a region: these customers, these candidate sites, q centres among them."""
    return DesignProblem(
        distance=problem.distance[np.ix_(customers, sites)], weight=problem.weight[customers], p=q,
        demand=problem.loads[customers],
        site_capacity=None if problem.site_capacity is None else problem.site_capacity[sites],
        size_bounds=problem.size_bounds, size_target=problem.size_target, balance_penalty=problem.balance_penalty)


def region_lns(problem: DesignProblem, start: Answer, meter: WorkMeter, rng: np.random.Generator, work: float,
                units: np.ndarray, scaling: Scaling) -> tuple[Answer, dict]:
    """Large-neighbourhood search by regions: free q neighbouring centres and their customers, let the centres move
    to any nearby site, and re-solve that region exactly with CP-SAT; keep it when the whole objective improves.

    A region's objective (its customers' costs and its centres' penalties) is separable from the rest, so the
    region model is a smaller DesignProblem with the same rules. q grows when a full round finds nothing; the search
    ends when rounds of every q up to REGION_MAX_CENTRES find nothing. When every demand is the same, each round
    ends with the exact assignment to the current centres (a min-cost flow), which moves customers across regions.
    """
    stop_at = meter.used + work
    n_sites = problem.n_sites
    near_k = min(n_sites, REGION_NEAR_SITES)
    near = np.argsort(problem.distance, axis=1, kind="stable")[:, :near_k]
    anchor = np.argmin(problem.distance, axis=0)  # the customer closest to each site: where the site "is"
    best = start
    q_max = min(problem.p, REGION_MAX_CENTRES)
    q = min(2, q_max)
    rounds = solved = improved = 0
    while meter.used < stop_at and not meter.exhausted():
        rounds += 1
        found = False
        for seed_site in rng.permutation(best.centres).tolist():
            if meter.used >= stop_at or meter.exhausted():
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
            sub = region_problem(problem, customers, pool, len(region))
            if counting_findings(sub):
                continue
            sub_cost = sub.weight[:, None] * sub.distance
            sub_scaling = cost_scaling(sub, sub_cost)
            sub_units = to_units(sub_cost, sub_scaling)
            local = np.searchsorted(pool, best.assignment[customers])
            hint = (np.asarray(np.searchsorted(pool, region)), local)
            outcome = run_cpsat(sub, make_arcs(sub_units, eligible(sub), None, None), sub_units, sub_scaling,
                                 site_room(sub) >= size_floor(sub), hint, min(REGION_WORK, stop_at - meter.used),
                                 meter, int(rng.integers(1 << 30)), 1, light=True)
            solved += 1
            if outcome.centres is None:
                continue
            centres = np.sort(np.r_[others, pool[outcome.centres]])
            assignment = best.assignment.copy()
            assignment[customers] = pool[outcome.assignment]
            objective = design_objective(problem, centres, assignment)
            if objective < best.objective - EPS * max(1.0, abs(best.objective)) and len(centres) == problem.p:
                best = Answer(centres, assignment, objective)
                improved += 1
                found = True
        flowed = assign_flow(problem, units, scaling, best.centres)
        if flowed is not None and not design_violations(problem, best.centres, flowed):
            objective = design_objective(problem, best.centres, flowed)
            if objective < best.objective - EPS * max(1.0, abs(best.objective)):
                best = Answer(best.centres, flowed, objective)
                improved += 1
                found = True
        pay_cells(meter, 4.0 * problem.n_customers * problem.p)
        if not found:
            if q >= q_max:
                break
            q += 1
    return best, {"lns_rounds": rounds, "lns_regions": solved, "lns_improvements": improved, "lns_last_q": q}
