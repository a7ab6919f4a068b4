"""Units whole: the needs of one alignment unit and team become one bundled need, solved as one.

Per team, every customer of a unit goes to the same rep. Rather than a constraint per pair of customers, the
problem is rewritten with one need per (unit, team, rule group): its workload, visits, value and metrics are the
members' sums, and its cost for each rep the members' exact visit-km (a dense row over the team's reps), so the
objective and the bands of the bundled problem are those of the original one. Exceptions stay single needs and
are reported: locked customers, customers with excluded reps, customers whose contact cap binds, and customers
of one unit split by a rule group (e.g. a product line only some reps carry, or a distributor boundary through the
unit). A hard limit on moves (`rules.max_moved`) counts customers one by one: with it the problem is not bundled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.member_travel import MemberTravel
from ..model.problem import NO_REP, Problem
from .rules import active_rules, capped_customers, need_groups

CHUNK = 20_000  # member rows per dense block (memory: CHUNK x team reps floats)
# above this many bundle x rep cells the travel table is read member by member, not stored (model/member_travel.py):
# 100,000 customers / 300 reps (24,265 bundles, 7.3 million cells, 58 MB) stay dense; 1,000,000 / 2,000 (about 480
# million cells) would need 3.8 GB and 1.6 billion member-rep evaluations to fill
DENSE_MAX_CELLS = 50_000_000


@dataclass(frozen=True)
class Bundling:
    """The bundled problem and the way back: bundle b holds original needs `needs[ptr[b]:ptr[b + 1]]`."""

    problem: Problem
    ptr: np.ndarray  # (B + 1,)
    needs: np.ndarray  # (N,) original need indices, grouped by bundle
    exceptions: int  # original needs of a unit not in their unit's main bundle (locks, exclusions, caps, groups)

    def expand(self, assignment: np.ndarray) -> np.ndarray:
        """The original needs' reps from the bundles' reps."""
        out = np.empty(len(self.needs), dtype=np.int64)
        out[self.needs] = np.repeat(np.asarray(assignment, dtype=np.int64), np.diff(self.ptr))
        return out

    def contract(self, original: np.ndarray) -> np.ndarray:
        """Each bundle's rep from an original assignment (its first member's rep)."""
        return np.asarray(original, dtype=np.int64)[self.needs[self.ptr[:-1]]]


def single_needs(problem: Problem) -> np.ndarray:
    """(N,) needs that stay on their own: no unit, locked or restricted by a pair rule, or a capped customer's."""
    assert problem.need_unit is not None
    single = problem.need_unit < 0
    for piece in active_rules(problem):
        restricted = None if piece.bundles else piece.restricted_needs(problem)
        if restricted is not None:
            single |= restricted
    capped = np.zeros(problem.n_customers, dtype=bool)
    capped[capped_customers(problem)] = True
    return single | capped[problem.need_customer]


def bundle(problem: Problem) -> Bundling | None:
    """The problem with each unit's needs per team bundled; None when it has no units or nothing to bundle."""
    if problem.need_unit is None or problem.max_moved is not None or problem.max_moved_value is not None:
        return None
    single = single_needs(problem)
    group = np.empty(problem.n_needs, dtype=np.int64)
    for g, members in enumerate(need_groups(problem).values()):
        group[members] = g
    n_groups = int(group.max(initial=0)) + 1
    unit = problem.need_unit.astype(np.int64)
    key = np.where(single, -1 - np.arange(problem.n_needs), unit * n_groups + group)
    order = np.lexsort((np.arange(problem.n_needs), key))  # bundles in key order, singles first (negative keys)
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    ptr = np.r_[starts, problem.n_needs].astype(np.int64)
    if len(starts) == problem.n_needs:
        return None
    owner = np.repeat(np.arange(len(starts)), np.diff(ptr))
    first = order[starts]
    is_single = single[first]
    bundled = _bundled_problem(problem, order, ptr, owner, first, is_single)
    main = _main_bundle_needs(problem, order, ptr, first, is_single)
    return Bundling(bundled, ptr, order.astype(np.int64), int(problem.n_needs - main))


def _main_bundle_needs(problem: Problem, order: np.ndarray, ptr: np.ndarray, first: np.ndarray,
                       is_single: np.ndarray) -> int:
    """How many needs sit in the biggest bundle of their (unit, team): the rest are exceptions to "units whole"."""
    assert problem.need_unit is not None
    sizes = np.diff(ptr)
    unit_team = problem.need_unit[first] * len(problem.team_names) + problem.need_team[first]
    unit_team = np.where(is_single, -1 - np.arange(len(first)), unit_team)
    best: dict[int, int] = {}
    for k, size in zip(unit_team.tolist(), sizes.tolist(), strict=True):
        if k >= 0:
            best[k] = max(best.get(k, 0), size)
    return int(sum(best.values())) + int((problem.need_unit[order] < 0).sum())


def _bundled_problem(p: Problem, order: np.ndarray, ptr: np.ndarray, owner: np.ndarray, first: np.ndarray,
                     is_single: np.ndarray) -> Problem:
    assert p.need_unit is not None
    n_bundles = len(first)

    def total(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.asarray(values)[order], ptr[:-1]).astype(np.asarray(values).dtype) \
            if n_bundles else np.zeros(0, np.asarray(values).dtype)

    visits = total(p.need_visits)
    # customers of the bundled problem: one per bundle, except single needs keep their (possibly shared) customer
    single_customers = np.unique(p.need_customer[first[is_single]])
    cust_index = np.full(p.n_customers, -1, dtype=np.int64)
    cust_index[single_customers] = np.arange(len(single_customers))
    member_xy = p.customer_xy[p.need_customer[order]]
    weight = np.maximum(p.need_visits[order], 1).astype(float)
    centre = np.vstack([np.add.reduceat(member_xy[:, d] * weight, ptr[:-1]) for d in range(2)]).T \
        / np.add.reduceat(weight, ptr[:-1])[:, None]
    bundle_rows = np.flatnonzero(~is_single)
    need_customer = np.where(is_single, cust_index[p.need_customer[first]],
                             len(single_customers) + np.cumsum(~is_single) - 1).astype(np.int64)
    customer_ids = np.concatenate([p.customer_ids[single_customers],
                                   np.array([f"unit bundle {b}" for b in bundle_rows], dtype=object)]).astype(str)
    customer_xy = np.vstack([p.customer_xy[single_customers], centre[bundle_rows]])
    caps = None if p.customer_max_reps is None else np.concatenate(
        [p.customer_max_reps[single_customers], np.full(len(bundle_rows), p.max_reps_per_customer, np.int64)])
    current = np.where(is_single, p.need_current_rep[first], NO_REP)
    calls = total(p.need_workload_s)
    # a workload table only when the members' workload depends on the rep (drive from each rep's home,
    # model/drive.py, or given per arc): the members' exact workload per rep is then the bundle's, and the bundled
    # problem carries no drive estimate of its own, so drive is counted once; without it the large engine stays open
    # to the bundled problem
    travel: np.ndarray | MemberTravel
    if p.rep_independent_workload and p.arc_travel is None and n_bundles * p.n_reps > DENSE_MAX_CELLS:
        travel, members_rep_free = _member_travel(p, order, ptr, is_single), {}
    else:
        travel, workload = _dense_rows(p, order, ptr, owner, is_single)
        members_rep_free = {} if p.rep_independent_workload else {"arc_workload_s": workload}
    excluded = _bundled_exclusions(p, first, is_single)
    return p.replace(
        customer_ids=customer_ids, customer_xy=customer_xy, customer_max_reps=caps,
        need_customer=need_customer, need_team=p.need_team[first], need_visits=visits, need_workload_s=calls,
        need_travel_weight=p.need_travel_weight[first], need_locked_rep=p.need_locked_rep[first],
        need_current_rep=current,
        need_zone=p.need_zone[:, first] if p.n_zone_kinds else p.need_zone,
        need_skills=None if p.need_skills is None else p.need_skills[first],
        excluded=excluded,
        need_metric=np.vstack([total(row) for row in p.need_metric]) if p.metric_names else p.need_metric,
        need_value=None if p.need_value is None else total(p.need_value),
        arc_travel=travel, **members_rep_free,
        drive_s_per_km=None, drive_base_s=None, drive_counts=False,
        need_drive_s=None if p.need_drive_s is None else total(p.need_drive_s),
        member_ptr=ptr.copy(), member_customer=p.need_customer[order], member_xy=member_xy,
        need_unit=np.where(is_single, -1, p.need_unit[first]).astype(np.int64),
    )


def _bundled_exclusions(p: Problem, first: np.ndarray, is_single: np.ndarray) -> np.ndarray:
    """Exclusions of single needs, renumbered (bundles hold no excluded needs)."""
    if len(p.excluded) == 0:
        return p.excluded
    r = max(p.n_reps, 1)
    new_of = np.full(p.n_needs, -1, dtype=np.int64)
    new_of[first[is_single]] = np.flatnonzero(is_single)
    need, rep = p.excluded // r, p.excluded % r
    keep = new_of[need] >= 0
    return np.sort(new_of[need[keep]] * r + rep[keep]).astype(np.int64)


def _member_travel(p: Problem, order: np.ndarray, ptr: np.ndarray, is_single: np.ndarray) -> MemberTravel:
    """The bundles' travel rows computed cell by cell when read (model/member_travel.py), for tables too big to
    store."""
    return MemberTravel(ptr=ptr.astype(np.int64), member_xy=p.customer_xy[p.need_customer[order]],
                        member_weight=(p.need_visits * p.need_travel_weight)[order],
                        member_current=p.need_current_rep[order].astype(np.int64), single=is_single.copy(),
                        rep_xy=p.rep_xy, columns=np.arange(p.n_reps, dtype=np.int64),
                        detour_factor=float(p.detour_factor), continuity_weight=float(p.continuity_weight))


def _dense_rows(p: Problem, order: np.ndarray, ptr: np.ndarray, owner: np.ndarray,
                is_single: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, R) each bundle's exact visit-km (travel plus continuity for members moved off their current rep) and
    workload seconds for every rep of its team; 0 for reps of other teams (never eligible)."""
    n_bundles = len(ptr) - 1
    travel = np.zeros((n_bundles, p.n_reps))
    workload = np.zeros((n_bundles, p.n_reps), dtype=np.int64)
    team_of_member = p.need_team[order]
    for team in range(len(p.team_names)):
        reps = np.flatnonzero(p.rep_in_team[:, team])
        rows = np.flatnonzero(team_of_member == team)
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            needs = order[chunk]
            need_grid = np.repeat(needs, len(reps))
            rep_grid = np.tile(reps, len(needs))
            cost = p.arc_cost(need_grid, rep_grid).reshape(len(needs), len(reps))
            work = np.asarray(p.workload(need_grid, rep_grid), dtype=np.int64).reshape(len(needs), len(reps))
            np.add.at(travel, (owner[chunk][:, None], reps[None, :]), cost)
            np.add.at(workload, (owner[chunk][:, None], reps[None, :]), work)
    # single needs keep their own current rep, so their continuity stays in arc_cost: take it out of the row
    current = p.need_current_rep[order[ptr[:-1]]]
    moved = (current[:, None] != NO_REP) & (current[:, None] != np.arange(p.n_reps)[None, :])
    travel -= np.where(is_single[:, None] & moved, p.continuity_weight, 0.0)
    return travel, workload
