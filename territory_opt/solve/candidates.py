"""Candidate arcs: which (need, rep) pairs the sparse model considers.

Only the k nearest eligible reps of a need's team, plus the locked rep, the current rep and any arcs a caller
insists on (e.g. the LP relaxation's support), so the model stays small while every rule stays expressible.
Eligibility is the rules' (`rules.eligible`, `rules.need_groups`, `rules.group_members`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..model.member_travel import MemberTravel
from ..model.problem import NO_REP, Problem
from .rules import eligible, group_members, need_groups


@dataclass(frozen=True)
class Arcs:
    """Sorted by (need, rep); `start[i]:start[i+1]` are need i's arcs."""

    need: np.ndarray
    rep: np.ndarray
    start: np.ndarray

    def __len__(self) -> int:
        return len(self.need)


def make_arcs(problem: Problem, need: np.ndarray, rep: np.ndarray) -> Arcs:
    keep = eligible(problem, need, rep)
    key = np.unique(need[keep].astype(np.int64) * problem.n_reps + rep[keep])
    need_out, rep_out = key // problem.n_reps, key % problem.n_reps
    start = np.searchsorted(need_out, np.arange(problem.n_needs + 1))
    return Arcs(need_out, rep_out, start)


def all_arcs(problem: Problem) -> Arcs:
    """Every eligible arc (the full model)."""
    need, rep = np.nonzero(problem.rep_in_team[:, problem.need_team].T)
    return make_arcs(problem, need, rep)


def count_all_arcs(problem: Problem) -> int:
    """How many arcs the full model has (before locks and exclusions), without building them."""
    return sum(len(needs) * len(group_members(problem, key)) for key, needs in need_groups(problem).items())


NEAR_FACTOR = 3  # a bundle's k cheapest reps are sought among its NEAR_FACTOR x k nearest to its centre


def _cheapest_near(problem: Problem, table: MemberTravel, needs: np.ndarray, members: np.ndarray,
                   k: int) -> np.ndarray:
    """(len(needs), k) positions in `members` of each bundle's k cheapest reps by its members' exact travel, among
    the reps nearest its centre: reading every rep's cell of every bundle is what the member table avoids."""
    near = min(len(members), NEAR_FACTOR * k)
    _, idx = cKDTree(problem.rep_xy[members]).query(problem.customer_xy[problem.need_customer[needs]], k=near)
    idx = np.asarray(idx, dtype=np.int64).reshape(len(needs), near)
    cost = table[np.repeat(needs, near), members[idx.ravel()]].reshape(len(needs), near)
    pick = np.argsort(cost, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(idx, pick, axis=1)


def nearest_arcs(problem: Problem, k: int, extra: tuple[np.ndarray, np.ndarray] | None = None,
                 only: np.ndarray | None = None) -> Arcs:
    """The k nearest eligible reps of each need's team (zone pins respected), plus locked, current, `extra` arcs;
    with `only` (sorted need indices), the nearest, locked and current arcs of those needs alone."""
    needs_parts, reps_parts = [], []
    for key, needs in need_groups(problem).items():
        if only is not None:
            needs = np.intersect1d(needs, only)
            if len(needs) == 0:
                continue
        members = group_members(problem, key)
        if len(members) == 0:
            continue
        kk = min(k, len(members))
        if isinstance(problem.arc_travel, MemberTravel):  # cheapest of the reps nearest the bundles' centres
            idx = _cheapest_near(problem, problem.arc_travel, needs, members, kk)
        elif problem.arc_travel is not None:  # "nearest" = cheapest by the given arc costs
            table = problem.arc_travel[np.ix_(needs, members)]
            idx = np.argsort(table, axis=1, kind="stable")[:, :kk]
        else:
            _, idx = cKDTree(problem.rep_xy[members]).query(problem.customer_xy[problem.need_customer[needs]], k=kk)
            idx = idx.reshape(len(needs), kk)
        needs_parts.append(np.repeat(needs, kk))
        reps_parts.append(members[idx.ravel()])
    for column in (problem.need_locked_rep, problem.need_current_rep):
        has = np.flatnonzero(column != NO_REP)
        if only is not None:
            has = np.intersect1d(has, only)
        needs_parts.append(has)
        reps_parts.append(column[has])
    if extra is not None:
        needs_parts.append(extra[0])
        reps_parts.append(extra[1])
    need = np.concatenate(needs_parts) if needs_parts else np.zeros(0, np.int64)
    rep = np.concatenate(reps_parts) if reps_parts else np.zeros(0, np.int64)
    return make_arcs(problem, need.astype(np.int64), rep.astype(np.int64))


REACH_FACTOR = 2.0  # `reach_arcs`: each rep reaches its nearest needs until they hold this many times its band's top


def reach_arcs(problem: Problem, factor: float = REACH_FACTOR) -> tuple[np.ndarray, np.ndarray]:
    """(need, rep) arcs from each rep to its nearest needs of every group it may serve, as many as hold about
    `factor` x its highest allowed workload: the k nearest reps of each need leave a rep in a sparse corner
    without the work its band's floor asks (at 1,000,000 customers the field team's flow over the 32 nearest had
    no answer, and doubling k for every need heads for a billion arcs), while these give each rep its own reach."""
    needs_parts, reps_parts = [], []
    for key, needs in need_groups(problem).items():
        members = group_members(problem, key)
        if len(members) == 0 or len(needs) == 0:
            continue
        mean = max(float(problem.need_workload_s[needs].mean()), 1.0)
        count = int(min(len(needs), np.ceil(factor * float(problem.rep_max_s[members].max()) / mean)))
        if count < 1:
            continue
        _, idx = cKDTree(problem.customer_xy[problem.need_customer[needs]]).query(problem.rep_xy[members], k=count)
        idx = np.asarray(idx, dtype=np.int64).reshape(len(members), count)
        needs_parts.append(needs[idx.ravel()])
        reps_parts.append(np.repeat(members, count))
    if not needs_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(needs_parts).astype(np.int64), np.concatenate(reps_parts).astype(np.int64)

