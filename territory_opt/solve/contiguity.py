"""Soft contiguity: pay a little travel to remove enclaves, so territories come out in one piece more often.

A customer is an enclave when most of its neighbours (Delaunay neighbours among the same team's customers) belong to
one other rep. Moving it to that rep joins the pieces on the map; it is worth doing when it costs at most
`weight` visit-km more and every hard rule still holds (bands of every metric, contact cap, boundaries, skills,
locks, exclusions, continuity caps). Solved as a post-pass on an optimal or near-optimal alignment rather than
inside CP-SAT: neighbour agreement is quadratic in the model (one variable per edge and rep), which measured far
too heavy for the nightly budget, while the post-pass is a few array passes.

Deterministic: candidates are taken in a fixed order (most agreeing neighbours, then cheapest, then index).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay, QhullError

from ..model.problem import NO_REP, Problem
from .scaling import capped_customers, minute_units, off_target_growth, rep_targets


def neighbours(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR-style Delaunay adjacency (indptr, indices) of `points`; no edges when they are too few or collinear."""
    n = len(points)
    if n < 4:  # tiny sets: everyone neighbours everyone
        indptr = np.arange(0, n * max(n - 1, 0) + 1, max(n - 1, 1)) if n > 1 else np.zeros(n + 1, np.int64)
        indices = np.array([j for i in range(n) for j in range(n) if j != i], dtype=np.int64)
        return indptr.astype(np.int64), indices
    try:
        tri = Delaunay(points, qhull_options="QJ Qbb Qc")
    except QhullError:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int64)
    indptr, indices = tri.vertex_neighbor_vertices
    return indptr.astype(np.int64), indices.astype(np.int64)


class _Ledger:
    """What the hard rules need to know, kept up to date move by move."""

    def __init__(self, problem: Problem, assign: np.ndarray) -> None:
        self.p = problem
        self.assign = assign
        amounts = problem.amounts(np.arange(problem.n_needs), assign)
        self.load = np.vstack([np.bincount(assign, weights=row, minlength=problem.n_reps)
                               for row in amounts]).astype(np.int64)
        self.low, self.high = problem.band_min, problem.band_max
        self.capped = set(capped_customers(problem).tolist())
        moving = problem.moving(np.arange(problem.n_needs), assign)
        self.moved = int(moving.sum())
        self.moved_value = int(problem.need_value[moving].sum()) if problem.need_value is not None else 0
        # per boundary kind: how many of each rep's needs lie in each zone
        self.zone_count = []
        for k in range(problem.n_zone_kinds):
            count = np.zeros((problem.n_reps, len(problem.zone_names[k])), dtype=np.int64)
            bound = problem.need_zone[k] >= 0
            np.add.at(count, (assign[bound], problem.need_zone[k][bound]), 1)
            self.zone_count.append(count)

    def allowed(self, need: int, target: int) -> bool:
        p, source = self.p, int(self.assign[need])
        if p.need_locked_rep[need] != NO_REP or not p.eligible(np.array([need]), np.array([target]))[0]:
            return False
        out_of = p.amounts(np.array([need]), np.array([source]))[:, 0]
        into = p.amounts(np.array([need]), np.array([target]))[:, 0]
        if (self.load[:, source] - out_of < self.low[:, source]).any():
            return False
        if (self.load[:, target] + into > self.high[:, target]).any():
            return False
        for k, count in enumerate(self.zone_count):
            zone = p.need_zone[k, need]
            if zone >= 0 and count[target].sum() > count[target, zone]:
                return False  # the target already works in another zone
        was, now = p.moving(np.array([need]), np.array([source]))[0], p.moving(np.array([need]), np.array([target]))[0]
        if p.max_moved is not None and self.moved - was + now > p.max_moved:
            return False
        if p.max_moved_value is not None and p.need_value is not None and now and not was \
                and self.moved_value + p.need_value[need] > p.max_moved_value:
            return False
        customer = int(p.need_customer[need])
        if customer in self.capped:
            others = np.flatnonzero(p.need_customer == customer)
            reps = {int(self.assign[o]) for o in others if o != need} | {target}
            if len(reps) > p.customer_caps[customer]:
                return False
        return True

    def balance_growth(self, need: int, target: int) -> float:
        """What the move adds to the soft balance term, visit-km (0 when there is none)."""
        units = minute_units(self.p)
        if units == 0:
            return 0.0
        source = int(self.assign[need])
        out_of = int(self.p.workload(np.array([need]), np.array([source]))[0])
        into = int(self.p.workload(np.array([need]), np.array([target]))[0])
        return off_target_growth(self.load[0], {source: -out_of, target: into}, rep_targets(self.p), units)

    def move(self, need: int, target: int) -> None:
        p, source = self.p, int(self.assign[need])
        self.load[:, source] -= p.amounts(np.array([need]), np.array([source]))[:, 0]
        self.load[:, target] += p.amounts(np.array([need]), np.array([target]))[:, 0]
        was, now = p.moving(np.array([need]), np.array([source]))[0], p.moving(np.array([need]), np.array([target]))[0]
        self.moved += int(now) - int(was)
        if p.need_value is not None:
            self.moved_value += (int(now) - int(was)) * int(p.need_value[need])
        for k, count in enumerate(self.zone_count):
            zone = p.need_zone[k, need]
            if zone >= 0:
                count[source, zone] -= 1
                count[target, zone] += 1
        self.assign[need] = target


def reduce_enclaves(problem: Problem, assignment: np.ndarray, weight: float, *,
                    max_passes: int = 4) -> tuple[np.ndarray, int]:
    """The alignment with enclaves moved to their neighbours' rep where that costs at most `weight` visit-km each;
    returns it and the number of moves."""
    assign = np.asarray(assignment, dtype=np.int64).copy()
    if weight <= 0 or problem.n_needs == 0:
        return assign, 0
    ledger = _Ledger(problem, assign)
    graphs = []
    for team in range(len(problem.team_names)):
        needs = np.flatnonzero(problem.need_team == team)
        indptr, indices = neighbours(problem.customer_xy[problem.need_customer[needs]])
        graphs.append((needs, indptr, indices))
    moves = 0
    for _ in range(max_passes):
        candidates = []
        for needs, indptr, indices in graphs:
            for local, need in enumerate(needs.tolist()):
                around = assign[needs[indices[indptr[local]:indptr[local + 1]]]]
                if len(around) < 2:
                    continue
                reps, counts = np.unique(around, return_counts=True)
                best = int(np.argmax(counts))
                if reps[best] == assign[need] or 2 * counts[best] <= len(around):
                    continue
                target = int(reps[best])
                extra = float(problem.arc_cost(np.array([need, need]), np.array([target, assign[need]])) @ [1, -1])
                if extra <= weight:
                    candidates.append((-int(counts[best]), extra, need, target))
        changed = 0
        for _, extra, need, target in sorted(candidates):
            if assign[need] != target and ledger.allowed(need, target) \
                    and extra + ledger.balance_growth(need, target) <= weight:
                ledger.move(need, target)
                changed += 1
        moves += changed
        if changed == 0:
            break
    return assign, moves
