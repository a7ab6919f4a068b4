"""The capacitated engine's main heuristic: a centre-swap local search in which every centre set is judged by a
min-cost-flow assignment (`assign.py`), alternated with moving each centre to its group's cheapest site, with
kicks at local optima."""

from __future__ import annotations

import math
from typing import TypeGuard

import numpy as np

from ..budget import WorkMeter
from .assign import assign_flow, assign_transport
from .judge import design_objective, design_violations
from .meter import FLOW_CELLS_PER_ARC, pay_cells
from .problem import DesignProblem
from .result import EPS, Answer
from .rules import site_room, size_floor, uniform_load
from .scaling import Scaling

FLOW_NEAREST = 10  # the flow search lets each customer use its 10 cheapest centres
FLOW_SWAP_SITES = 6  # sites tried per centre in the flow search
FLOW_MAX_STALL = 400  # the flow search stops after this many kicks in a row that found nothing better


def relocate(problem: DesignProblem, cost: np.ndarray, answer: Answer) -> np.ndarray:
    """Move each centre to the site that serves its own customers most cheaply (sizes, so penalties, unchanged).

    Centres are moved in order of saving, each to a site no other centre holds and whose room fits the group.
    """
    room = site_room(problem)
    openable = room >= size_floor(problem)
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


def group_scores(problem: DesignProblem, cost: np.ndarray, answer: Answer, slot: int) -> np.ndarray:
    """How well each site would serve the customers of centre `slot` (an empty centre: its closest customer)."""
    group = answer.assignment == answer.centres[slot]
    if group.any():
        return cost[group].sum(axis=0)
    return problem.distance[int(np.argmin(problem.distance[:, answer.centres[slot]]))].copy()


def flow_search(problem: DesignProblem, cost: np.ndarray, units: np.ndarray, scaling: Scaling,
                 centres: np.ndarray, meter: WorkMeter, rng: np.random.Generator) -> tuple[Answer | None, dict]:
    """A centre-swap local search in which every centre set is judged by an assignment found by a min-cost flow
    over each customer's nearest centres (the best one when demands are equal, a rounded transportation relaxation
    otherwise), alternated with moving each centre to its group's cheapest site. Swaps try, for one centre at a
    time, the sites that serve its group best; at a local optimum, k centres are kicked and the descent restarts."""
    p = problem.p
    uniform = uniform_load(problem) is not None
    arcs_per_flow = problem.n_customers * (min(p, FLOW_NEAREST) + 2) + (0 if uniform else int(problem.loads.sum()))
    evaluations = swaps = kicks = 0

    def judge(sites: np.ndarray) -> Answer | None:
        sites = np.sort(sites)
        pay_cells(meter, FLOW_CELLS_PER_ARC * arcs_per_flow)
        assign = assign_flow if uniform else assign_transport
        assignment = assign(problem, units, scaling, sites, nearest=FLOW_NEAREST)
        if assignment is None or design_violations(problem, sites, assignment):
            return None
        return Answer(sites, assignment, design_objective(problem, sites, assignment))

    def better(a: Answer | None, b: Answer) -> TypeGuard[Answer]:
        return a is not None and a.objective < b.objective - EPS * max(1.0, abs(b.objective))

    def descend(current: Answer) -> Answer:
        nonlocal evaluations, swaps
        improved = True
        while improved and not meter.exhausted():
            improved = False
            moved = judge(relocate(problem, cost, current))
            evaluations += 1
            if better(moved, current):
                current, improved = moved, True
                continue
            for slot in rng.permutation(p).tolist():
                if meter.exhausted():
                    break
                scores = group_scores(problem, cost, current, slot)
                group = current.assignment == current.centres[slot]
                scores[current.centres] = np.inf
                pay_cells(meter, problem.n_sites * max(1, int(group.sum())))
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

    start = judge(centres)
    if start is None:
        return None, {}
    best = descend(start)
    k = stall = 0
    stall_limit = min(FLOW_MAX_STALL, math.comb(problem.n_sites, p))  # tiny instances run out of new sets quickly
    while not meter.exhausted() and problem.n_sites > p and stall < stall_limit:
        k = k % 3 + 1
        # a local optimum: kick k centres to random nearby free sites and descend again (kept only if better)
        sites = best.centres.copy()
        for slot in rng.choice(p, size=min(k, p), replace=False).tolist():
            scores = group_scores(problem, cost, best, slot)
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
    exact = assign_flow(problem, units, scaling, best.centres)
    if exact is not None and not design_violations(problem, best.centres, exact):
        objective = design_objective(problem, best.centres, exact)
        if objective < best.objective:
            best = Answer(best.centres, exact, objective)
    return best, {"flow_evaluations": evaluations, "flow_swaps": swaps, "flow_kicks": kicks, "flow_stall": stall,
                  "flow_search": round(best.objective, 6)}
