"""Candidate arcs: which (need, rep) pairs the sparse model considers.

Only the k nearest eligible reps of a need's team, plus the locked rep, the current rep and any arcs a caller
insists on (e.g. the LP relaxation's support), so the model stays small while every rule stays expressible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..model.problem import NO_REP, Problem


@dataclass(frozen=True)
class Arcs:
    """Sorted by (need, rep); `start[i]:start[i+1]` are need i's arcs."""

    need: np.ndarray
    rep: np.ndarray
    start: np.ndarray

    def __len__(self) -> int:
        return len(self.need)


def make_arcs(problem: Problem, need: np.ndarray, rep: np.ndarray) -> Arcs:
    keep = problem.eligible(need, rep)
    key = np.unique(need[keep].astype(np.int64) * problem.n_reps + rep[keep])
    need_out, rep_out = key // problem.n_reps, key % problem.n_reps
    start = np.searchsorted(need_out, np.arange(problem.n_needs + 1))
    return Arcs(need_out, rep_out, start)


def all_arcs(problem: Problem) -> Arcs:
    """Every eligible arc (the full model)."""
    need, rep = np.nonzero(problem.rep_in_team[:, problem.need_team].T)
    return make_arcs(problem, need, rep)


def count_all_arcs(problem: Problem) -> int:
    """How many arcs the full model has (before locks), without building them."""
    if problem.n_zone_kinds == 0 and problem.need_skills is None:
        team_sizes = problem.rep_in_team.sum(axis=0)
        return int(team_sizes[problem.need_team].sum())
    return sum(len(needs) * len(group_members(problem, key)) for key, needs in need_groups(problem).items())


def need_groups(problem: Problem) -> dict[tuple[int, ...], np.ndarray]:
    """Needs grouped by team, required skills and zone per boundary kind: a group shares its eligible reps."""
    skills = problem.need_skills if problem.need_skills is not None else np.zeros(problem.n_needs, np.int64)
    rows = [problem.need_team[None, :], skills[None, :]]
    if problem.n_zone_kinds:
        rows.append(problem.need_zone)
    keys = np.vstack(rows)
    unique, inverse = np.unique(keys.T, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(unique) + 1))
    return {tuple(int(v) for v in unique[g]): order[bounds[g]:bounds[g + 1]] for g in range(len(unique))}


def group_members(problem: Problem, key: tuple[int, ...]) -> np.ndarray:
    """Reps of the group's team whose zone pins (if any) allow the group's zones."""
    ok = problem.rep_in_team[:, key[0]].copy()
    if problem.rep_skills is not None:
        ok &= (key[1] & ~problem.rep_skills) == 0
    for k, zone in enumerate(key[2:]):
        if zone >= 0:
            pin = problem.rep_zone[k]
            ok &= (pin < 0) | (pin == zone)
    return np.flatnonzero(ok)


def nearest_arcs(problem: Problem, k: int, extra: tuple[np.ndarray, np.ndarray] | None = None) -> Arcs:
    """The k nearest eligible reps of each need's team (zone pins respected), plus locked, current, `extra` arcs."""
    needs_parts, reps_parts = [], []
    for key, needs in need_groups(problem).items():
        members = group_members(problem, key)
        if len(members) == 0:
            continue
        kk = min(k, len(members))
        if problem.arc_travel is not None:  # "nearest" = cheapest by the given arc costs
            table = problem.arc_travel[np.ix_(needs, members)]
            idx = np.argsort(table, axis=1, kind="stable")[:, :kk]
        else:
            _, idx = cKDTree(problem.rep_xy[members]).query(problem.customer_xy[problem.need_customer[needs]], k=kk)
            idx = idx.reshape(len(needs), kk)
        needs_parts.append(np.repeat(needs, kk))
        reps_parts.append(members[idx.ravel()])
    for column in (problem.need_locked_rep, problem.need_current_rep):
        has = np.flatnonzero(column != NO_REP)
        needs_parts.append(has)
        reps_parts.append(column[has])
    if extra is not None:
        needs_parts.append(extra[0])
        reps_parts.append(extra[1])
    need = np.concatenate(needs_parts) if needs_parts else np.zeros(0, np.int64)
    rep = np.concatenate(reps_parts) if reps_parts else np.zeros(0, np.int64)
    return make_arcs(problem, need.astype(np.int64), rep.astype(np.int64))
