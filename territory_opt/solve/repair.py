"""A first feasible alignment by rounding and repair, so CP-SAT starts from a solution instead of searching for one.

1. Round: each need goes to the rep with its largest LP value (or its nearest eligible rep without an LP).
2. Zones: each free rep settles in the zone where most of its work already is; needs in other zones move to an
   eligible rep in their own zone.
3. Repair balance by local search: repeatedly take the rep furthest outside its workload band and shift one need
   out of it (overloaded) or into it (underloaded), choosing the move that most reduces the total band violation,
   then the cheapest; when no shift helps, swap two needs between reps. Locks, teams, zones and the contact cap
   hold after every move.

Deterministic (no randomness, ties broken by index). Returns None when the search gets stuck; the caller then
relies on CP-SAT alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.problem import NO_REP, Problem
from .candidates import Arcs
from .scaling import capped_customers


@dataclass
class _State:
    problem: Problem
    arcs: Arcs
    cost: np.ndarray  # per arc
    assign: np.ndarray  # rep per need
    load: np.ndarray  # (Q, R) per balanced metric and rep (workload in seconds first)
    zone: np.ndarray  # (K, R) zone of each rep per kind, -1 while unset
    capped: set[int]  # customers where the contact cap can bind
    low: np.ndarray  # (Q, R) band
    high: np.ndarray  # (Q, R) band
    scale: np.ndarray  # (Q, 1) per metric, so violations of different units add up comparably

    def violation(self, rep: np.ndarray, load: np.ndarray) -> np.ndarray:
        """Total band violation of `rep` at `load` ((Q, len(rep))), each metric relative to its typical band."""
        excess = np.maximum(load - self.high[:, rep], 0) + np.maximum(self.low[:, rep] - load, 0)
        return (excess / self.scale).sum(axis=0)


def _initial(problem: Problem, arcs: Arcs, cost: np.ndarray, lp_x: np.ndarray | None) -> np.ndarray:
    """Per need, the arc with the largest LP value, else the cheapest arc."""
    score = -cost.astype(float) if lp_x is None else lp_x - 1e-9 * cost
    order = np.lexsort((-score, arcs.need))
    first = order[np.searchsorted(arcs.need[order], np.arange(problem.n_needs))]
    return arcs.rep[first].astype(np.int64)


def _zone_ok(state: _State, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
    p = state.problem
    ok = np.ones(len(need), dtype=bool)
    for k in range(p.n_zone_kinds):
        z = p.need_zone[k, need]
        rz = state.zone[k, rep]
        ok &= (z < 0) | (rz < 0) | (rz == z)
    return ok


def _settle_zones(state: _State) -> None:
    """Give each free rep the zone holding most of its work, then move needs that fall outside."""
    p = state.problem
    for k in range(p.n_zone_kinds):
        z = p.need_zone[k]
        bound = np.flatnonzero(z >= 0)
        n_zones = len(p.zone_names[k])
        work = np.zeros((p.n_reps, max(n_zones, 1)))
        np.add.at(work, (state.assign[bound], z[bound]), p.workload(bound, state.assign[bound]))
        pinned = p.rep_zone[k]
        chosen = np.where(work.sum(axis=1) > 0, np.argmax(work, axis=1), -1)
        state.zone[k] = np.where(pinned >= 0, pinned, chosen)
    for need in range(p.n_needs):
        rep = int(state.assign[need])
        if _zone_ok(state, np.array([need]), np.array([rep]))[0]:
            continue
        lo, hi = state.arcs.start[need], state.arcs.start[need + 1]
        reps, costs = state.arcs.rep[lo:hi], state.cost[lo:hi]
        ok = _zone_ok(state, np.full(len(reps), need), reps)
        if not ok.any():
            continue  # left for the repair loop (it will stay violated, and the caller falls back)
        target = int(reps[ok][np.argmin(costs[ok])])
        _move(state, need, target)


def _move(state: _State, need: int, target: int) -> None:
    p = state.problem
    source = int(state.assign[need])
    state.load[:, source] -= p.amounts(np.array([need]), np.array([source]))[:, 0]
    state.load[:, target] += p.amounts(np.array([need]), np.array([target]))[:, 0]
    state.assign[need] = target
    for k in range(p.n_zone_kinds):
        if p.need_zone[k, need] >= 0 and state.zone[k, target] < 0:
            state.zone[k, target] = p.need_zone[k, need]


def _cap_ok(state: _State, need: int, target: int) -> bool:
    p = state.problem
    customer = int(p.need_customer[need])
    if customer not in state.capped:
        return True
    others = np.flatnonzero(p.need_customer == customer)
    reps = {int(state.assign[o]) for o in others if o != need} | {target}
    return len(reps) <= p.customer_caps[customer]


def _arc_cost(state: _State, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
    return state.problem.arc_cost(need, rep)


def _best_shift(state: _State, rep: int, over: bool, arcs_by_rep: np.ndarray,
                rep_bounds: np.ndarray) -> tuple[int, int] | None:
    """The shift out of (over) or into (under) `rep` that most reduces total violation, then costs least."""
    p, arcs = state.problem, state.arcs
    if over:
        needs = np.flatnonzero(state.assign == rep)
        needs = needs[p.need_locked_rep[needs] == NO_REP]
        if len(needs) == 0:
            return None
        counts = arcs.start[needs + 1] - arcs.start[needs]
        arc_idx = np.concatenate([np.arange(arcs.start[n], arcs.start[n + 1]) for n in needs])
        need = np.repeat(needs, counts)
        source = np.full(len(need), rep)
        target = arcs.rep[arc_idx]
    else:
        arc_idx = arcs_by_rep[rep_bounds[rep]:rep_bounds[rep + 1]]
        need = arcs.need[arc_idx]
        source = state.assign[need]
        keep = (source != rep) & (p.need_locked_rep[need] == NO_REP)
        arc_idx, need, source = arc_idx[keep], need[keep], source[keep]
        target = np.full(len(need), rep)
    keep = (target != source) & _zone_ok(state, need, target)
    need, source, target = need[keep], source[keep], target[keep]
    if len(need) == 0:
        return None
    out_of, into = p.amounts(need, source), p.amounts(need, target)
    before = state.violation(source, state.load[:, source]) + state.violation(target, state.load[:, target])
    after = (state.violation(source, state.load[:, source] - out_of)
             + state.violation(target, state.load[:, target] + into))
    gain = after - before
    extra = _arc_cost(state, need, target) - _arc_cost(state, need, source)
    for i in np.lexsort((target, need, extra, gain)):
        if gain[i] >= 0:
            return None
        if _cap_ok(state, int(need[i]), int(target[i])):
            return int(need[i]), int(target[i])
    return None


def _best_swap(state: _State, rep: int) -> tuple[int, int, int, int] | None:
    """Swap one need of `rep` with one need of another rep b, the pair that most reduces the violation of both."""
    p, arcs = state.problem, state.arcs
    mine = np.flatnonzero((state.assign == rep) & (p.need_locked_rep == NO_REP))
    best: tuple[float, float, int, int, int, int] | None = None
    for n1 in mine.tolist():
        for b in arcs.rep[arcs.start[n1]:arcs.start[n1 + 1]].tolist():
            if b == rep or not _zone_ok(state, np.array([n1]), np.array([b]))[0]:
                continue
            theirs = np.flatnonzero((state.assign == b) & (p.need_locked_rep == NO_REP))
            if len(theirs) == 0:
                continue
            can_come = np.array([rep in arcs.rep[arcs.start[n]:arcs.start[n + 1]] for n in theirs.tolist()])
            theirs = theirs[can_come & _zone_ok(state, theirs, np.full(len(theirs), rep))]
            if len(theirs) == 0:
                continue
            m = len(theirs)
            pair = np.array([rep, b])
            before = state.violation(pair, state.load[:, pair]).sum()
            n1_out = p.amounts(np.array([n1]), np.array([rep]))
            n1_in = p.amounts(np.array([n1]), np.array([b]))
            rep_after = state.load[:, [rep]] - n1_out + p.amounts(theirs, np.full(m, rep))
            b_after = state.load[:, [b]] + n1_in - p.amounts(theirs, np.full(m, b))
            gain = (state.violation(np.full(m, rep), rep_after) + state.violation(np.full(m, b), b_after)) - before
            cost = (_arc_cost(state, np.full(m, n1), np.full(m, b)) + _arc_cost(state, theirs, np.full(m, rep))
                    - _arc_cost(state, np.full(m, n1), np.full(m, rep)) - _arc_cost(state, theirs, np.full(m, b)))
            for i in np.flatnonzero(gain < 0).tolist():
                candidate = (float(gain[i]), float(cost[i]), n1, b, int(theirs[i]), rep)
                if best is None or candidate < best:
                    best = candidate
    if best is None:
        return None
    _, _, n1, b, n2, a = best
    return n1, b, n2, a


def _totals(problem: Problem, assign: np.ndarray) -> np.ndarray:
    amounts = problem.amounts(np.arange(problem.n_needs), assign)
    return np.vstack([np.bincount(assign, weights=row, minlength=problem.n_reps) for row in amounts]).astype(np.int64)


def _scales(high: np.ndarray) -> np.ndarray:
    """Per metric, the median finite band top (at least 1): one unit of violation is one typical rep's total."""
    out = np.ones((len(high), 1))
    for q, row in enumerate(high):
        finite = row[(row > 0) & (row < np.iinfo(np.int64).max // 4)]
        if len(finite):
            out[q, 0] = max(float(np.median(finite)), 1.0)
    return out


def repair(problem: Problem, arcs: Arcs, lp_x: np.ndarray | None = None, *, max_moves: int = 20_000,
           allow_swaps: bool = True) -> np.ndarray | None:
    """A feasible alignment over `arcs`, or None when rounding and local search cannot find one."""
    if problem.n_needs == 0:
        return np.zeros(0, np.int64)
    if (np.diff(arcs.start) == 0).any():
        return None
    cost = problem.arc_cost(arcs.need, arcs.rep)
    assign = _initial(problem, arcs, cost, lp_x)
    zone = np.full((problem.n_zone_kinds, problem.n_reps), -1, dtype=np.int64)
    low, high = problem.band_min, problem.band_max
    state = _State(problem, arcs, cost, assign, _totals(problem, assign), zone,
                   set(capped_customers(problem).tolist()), low, high, _scales(high))
    _settle_zones(state)
    arcs_by_rep = np.argsort(arcs.rep, kind="stable")
    rep_bounds = np.searchsorted(arcs.rep[arcs_by_rep], np.arange(problem.n_reps + 1))
    stuck: set[int] = set()
    for _ in range(max_moves):
        viol = state.violation(np.arange(problem.n_reps), state.load)
        viol[list(stuck)] = 0
        rep = int(np.argmax(viol))
        if viol[rep] <= 0:
            break
        shift = None
        over = bool((state.load[:, rep] > high[:, rep]).any())
        under = bool((state.load[:, rep] < low[:, rep]).any())
        for direction in ([True] if over else []) + ([False] if under else []):
            shift = _best_shift(state, rep, direction, arcs_by_rep, rep_bounds)
            if shift is not None:
                break
        if shift is not None:
            _move(state, *shift)
            stuck.clear()
            continue
        swap = _best_swap(state, rep) if allow_swaps else None
        if swap is not None:
            n1, b, n2, a = swap
            _move(state, n1, b)
            _move(state, n2, a)
            stuck.clear()
            continue
        stuck.add(rep)
    from ..metrics import check  # the judge decides, not this heuristic

    return state.assign if not check(problem, state.assign) else None
