"""A first feasible alignment by rounding and repair, so CP-SAT starts from a solution instead of searching for one.

1. Round: each need goes to the rep with its largest LP value (or its nearest eligible rep without an LP).
2. Zones: each free rep settles in the zone where most of its work already is; needs in other zones move to an
   eligible rep in their own zone.
3. Repair balance by local search: repeatedly take the rep furthest outside its workload band and shift one need
   out of it (overloaded) or into it (underloaded), choosing the move that most reduces the total band violation,
   then the cheapest; when no shift helps, swap two needs between reps. Every other rule (zones, contact cap,
   continuity caps) holds after each move: the rules' own move checks, asked through the ledger.

Deterministic (no randomness, ties broken by index). Returns None when the search gets stuck; the caller then
relies on CP-SAT alone.
"""

from __future__ import annotations

import numpy as np

from ..model.problem import NO_REP, Problem
from .candidates import Arcs
from .ledger import Ledger

BALANCE = ("balance",)  # the rule this search repairs: every other rule holds after each move
ZONES = ("zones",)


class _Repair:
    """The ledger plus the band-violation measure the search minimises."""

    def __init__(self, ledger: Ledger, arcs: Arcs) -> None:
        p = ledger.problem
        self.ledger, self.problem, self.arcs = ledger, p, arcs
        self.low, self.high = p.band_min, p.band_max
        self.scale = _scales(self.high)  # per metric, so violations of different units add up comparably

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


def _settle_zones(state: _Repair) -> None:
    """Each free rep is committed to the zone holding most of its work (the ledger's start); needs that fall outside
    move to the cheapest eligible rep of their own zone."""
    p, ledger, arcs = state.problem, state.ledger, state.arcs
    if p.n_zone_kinds == 0:
        return
    cost = p.arc_cost(arcs.need, arcs.rep)
    for need in range(p.n_needs):
        rep = int(ledger.assign[need])
        if ledger.keeps_rules(need, rep, only=ZONES):
            continue
        lo, hi = arcs.start[need], arcs.start[need + 1]
        reps, costs = arcs.rep[lo:hi], cost[lo:hi]
        ok = ledger.keeps_rules_many(np.full(len(reps), need), reps, only=ZONES)
        if not ok.any():
            continue  # left for the repair loop (it will stay violated, and the caller falls back)
        ledger.move(need, int(reps[ok][np.argmin(costs[ok])]))


def _best_shift(state: _Repair, rep: int, over: bool, arcs_by_rep: np.ndarray,
                rep_bounds: np.ndarray) -> tuple[int, int] | None:
    """The shift out of (over) or into (under) `rep` that most reduces total violation, then costs least."""
    p, arcs, ledger = state.problem, state.arcs, state.ledger
    assign = ledger.assign
    if over:
        needs = np.flatnonzero(assign == rep)
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
        source = assign[need]
        keep = (source != rep) & (p.need_locked_rep[need] == NO_REP)
        arc_idx, need, source = arc_idx[keep], need[keep], source[keep]
        target = np.full(len(need), rep)
    keep = target != source
    need, source, target = need[keep], source[keep], target[keep]
    keep = ledger.keeps_rules_many(need, target, skip=BALANCE)
    need, source, target = need[keep], source[keep], target[keep]
    if len(need) == 0:
        return None
    out_of, into = p.amounts(need, source), p.amounts(need, target)
    load = ledger.load
    before = state.violation(source, load[:, source]) + state.violation(target, load[:, target])
    after = state.violation(source, load[:, source] - out_of) + state.violation(target, load[:, target] + into)
    gain = after - before
    extra = p.arc_cost(need, target) - p.arc_cost(need, source)
    best = np.lexsort((target, need, extra, gain))[0]
    return (int(need[best]), int(target[best])) if gain[best] < 0 else None


def _best_swap(state: _Repair, rep: int) -> tuple[int, int, int, int] | None:
    """Swap one need of `rep` with one need of another rep b, the pair that most reduces the violation of both."""
    p, arcs, ledger = state.problem, state.arcs, state.ledger
    assign, load = ledger.assign, ledger.load
    mine = np.flatnonzero((assign == rep) & (p.need_locked_rep == NO_REP))
    best: tuple[float, float, int, int, int, int] | None = None
    for n1 in mine.tolist():
        for b in arcs.rep[arcs.start[n1]:arcs.start[n1 + 1]].tolist():
            if b == rep or not ledger.keeps_rules(n1, b, skip=BALANCE):
                continue
            theirs = np.flatnonzero((assign == b) & (p.need_locked_rep == NO_REP))
            if len(theirs) == 0:
                continue
            can_come = np.array([rep in arcs.rep[arcs.start[n]:arcs.start[n + 1]] for n in theirs.tolist()])
            theirs = theirs[can_come]
            theirs = theirs[ledger.keeps_rules_many(theirs, np.full(len(theirs), rep), skip=BALANCE)]
            if len(theirs) == 0:
                continue
            m = len(theirs)
            pair = np.array([rep, b])
            before = state.violation(pair, load[:, pair]).sum()
            n1_out = p.amounts(np.array([n1]), np.array([rep]))
            n1_in = p.amounts(np.array([n1]), np.array([b]))
            rep_after = load[:, [rep]] - n1_out + p.amounts(theirs, np.full(m, rep))
            b_after = load[:, [b]] + n1_in - p.amounts(theirs, np.full(m, b))
            gain = (state.violation(np.full(m, rep), rep_after) + state.violation(np.full(m, b), b_after)) - before
            cost = (p.arc_cost(np.full(m, n1), np.full(m, b)) + p.arc_cost(theirs, np.full(m, rep))
                    - p.arc_cost(np.full(m, n1), np.full(m, rep)) - p.arc_cost(theirs, np.full(m, b)))
            for i in np.flatnonzero(gain < 0).tolist():
                candidate = (float(gain[i]), float(cost[i]), n1, b, int(theirs[i]), rep)
                if best is None or candidate < best:
                    best = candidate
    if best is None:
        return None
    _, _, n1, b, n2, a = best
    return n1, b, n2, a


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
    ledger = Ledger(problem, _initial(problem, arcs, cost, lp_x), copy=False)
    state = _Repair(ledger, arcs)
    _settle_zones(state)
    arcs_by_rep = np.argsort(arcs.rep, kind="stable")
    rep_bounds = np.searchsorted(arcs.rep[arcs_by_rep], np.arange(problem.n_reps + 1))
    stuck: set[int] = set()
    low, high = state.low, state.high
    for _ in range(max_moves):
        viol = state.violation(np.arange(problem.n_reps), ledger.load)
        viol[list(stuck)] = 0
        rep = int(np.argmax(viol))
        if viol[rep] <= 0:
            break
        shift = None
        over = bool((ledger.load[:, rep] > high[:, rep]).any())
        under = bool((ledger.load[:, rep] < low[:, rep]).any())
        for direction in ([True] if over else []) + ([False] if under else []):
            shift = _best_shift(state, rep, direction, arcs_by_rep, rep_bounds)
            if shift is not None:
                break
        if shift is not None:
            ledger.move(*shift)
            stuck.clear()
            continue
        swap = _best_swap(state, rep) if allow_swaps else None
        if swap is not None:
            n1, b, n2, a = swap
            ledger.move(n1, b)
            ledger.move(n2, a)
            stuck.clear()
            continue
        stuck.add(rep)
    from ..metrics import check  # the judge decides, not this heuristic

    return ledger.assign if not check(problem, ledger.assign) else None
