"""Soft contiguity: pay a little travel to remove enclaves, so territories come out in one piece more often.

A customer is an enclave when most of its neighbours (Delaunay neighbours among the same team's customers) belong to
one other rep. Moving it to that rep joins the pieces on the map; it is worth doing when it costs at most
`weight` visit-km more and every hard rule still holds (the rules' own checks, asked through the ledger). Solved
as a post-pass on an optimal or near-optimal alignment rather than inside CP-SAT: neighbour agreement is quadratic
in the model (one variable per edge and rep), which measured far too heavy for the nightly budget, while the
post-pass is a few array passes.

Deterministic: candidates are taken in a fixed order (most agreeing neighbours, then cheapest, then index).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay, QhullError

from ..model.problem import Problem
from .ledger import Ledger


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


def reduce_enclaves(problem: Problem, assignment: np.ndarray, weight: float, *,
                    max_passes: int = 4) -> tuple[np.ndarray, int]:
    """The alignment with enclaves moved to their neighbours' rep where that costs at most `weight` visit-km each;
    returns it and the number of moves."""
    assign = np.asarray(assignment, dtype=np.int64).copy()
    if weight <= 0 or problem.n_needs == 0:
        return assign, 0
    ledger = Ledger(problem, assign, copy=False)
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
            if assign[need] != target and ledger.allows(need, target) \
                    and extra + ledger.balance_growth(need, target) <= weight:
                ledger.move(need, target)
                changed += 1
        moves += changed
        if changed == 0:
            break
    return assign, moves
