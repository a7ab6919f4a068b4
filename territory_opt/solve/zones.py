"""Placing free reps in zones before assigning customers (hard boundaries, decomposed).

With `boundaries: [distributor]` every rep works inside one footprint. Choosing each rep's zone inside the big
model makes it hard for CP-SAT to find a first solution (the zone choice and the balance interact), so the choice
is made first, by a small model: each free rep takes one zone (a combination of one value per boundary kind) so
that every zone's workload fits between the lowest and highest workloads its reps may carry, reps going to zones
near their homes. The assignment then runs with every rep pinned, which also splits it into independent zones.
The zone choice is part of the answer, so the reported bound relaxes the boundaries (a valid, weaker bound).
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from ..errors import Finding, InfeasibleError
from ..model.bands import team_groups
from ..model.problem import Problem
from .budget import Budget
from .cpsat_call import solve_model


class PlacementFailed(Exception):
    """No placement passed the counting test, but the test is not a proof here: solve the full model instead."""


def placement_is_exact(problem: Problem) -> bool:
    """Whether the counting test proves infeasibility: every rep sharing work with a bounded team belongs only to
    teams bound by the same kinds, so all of a rep's work lies in its one zone."""
    bounded = (problem.need_zone >= 0)
    kinds_of_team = np.zeros((len(problem.team_names), problem.n_zone_kinds), dtype=bool)
    for k in range(problem.n_zone_kinds):
        kinds_of_team[np.unique(problem.need_team[bounded[k]]), k] = True
    for r in range(problem.n_reps):
        teams = np.flatnonzero(problem.rep_in_team[r])
        patterns = {tuple(kinds_of_team[t]) for t in teams}
        if len(patterns) > 1:
            return False
    return True


def has_free_reps(problem: Problem) -> bool:
    """Whether some rep of a bounded team still has to be placed in a zone."""
    if problem.n_zone_kinds == 0:
        return False
    bounded_teams = np.unique(problem.need_team[np.any(problem.need_zone >= 0, axis=0)])
    in_bounded = np.any(problem.rep_in_team[:, bounded_teams], axis=1)
    return bool(((problem.rep_zone < 0) & in_bounded[None, :]).any())


def _zone_keys(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """The distinct zone combinations of bounded needs, and each need's combination (-1 when unbounded)."""
    bounded = (problem.need_zone >= 0).any(axis=0)
    keys, inverse = np.unique(problem.need_zone[:, bounded].T, axis=0, return_inverse=True)
    need_key = np.full(problem.n_needs, -1, dtype=np.int64)
    need_key[bounded] = inverse.reshape(-1)
    return keys, need_key


SLACK_SHARES = (0.5, 0.25, 0.0)  # tried in turn: the share of each zone's band kept free on both sides


def place_reps(problem: Problem, budget: Budget, *, seed: int) -> Problem:
    """The same problem with every free rep of a bounded team pinned to one zone per boundary kind.

    A zone whose workload only just fits its reps' bands (measured: 0.04 % above the sum of their minimums at
    100,000 customers) leaves the assignment no room for lumpy customers, so the placement first asks each zone's
    workload to keep half of the band free on both sides, then a quarter, then none."""
    for share in SLACK_SHARES[:-1]:
        placed = _place(problem, budget, seed=seed, slack_share=share, last=False)
        if placed is not None:
            return placed
    placed = _place(problem, budget, seed=seed, slack_share=SLACK_SHARES[-1], last=True)
    assert placed is not None  # the last share raises rather than return None
    return placed


def _place(problem: Problem, budget: Budget, *, seed: int, slack_share: float, last: bool) -> Problem | None:
    """One placement model with `slack_share` of every zone's band kept free; None when it has no solution and a
    looser share remains to try."""
    keys, need_key = _zone_keys(problem)
    exact = placement_is_exact(problem)
    groups = team_groups(problem.rep_in_team)
    model = cp_model.CpModel()
    y: dict[tuple[int, int], cp_model.IntVar] = {}
    costs: list[tuple[cp_model.IntVar, int]] = []
    centre = np.zeros((len(keys), 2))
    for z in range(len(keys)):
        mine = need_key == z
        w = problem.min_workload_s[mine].astype(float)
        centre[z] = (problem.customer_xy[problem.need_customer[mine]] * w[:, None]).sum(axis=0) / max(w.sum(), 1.0)
    for r in range(problem.n_reps):
        teams = np.flatnonzero(problem.rep_in_team[r])
        bounded = np.isin(problem.need_team, teams) & (need_key >= 0)
        if not bounded.any():
            continue
        options = []
        for z in np.unique(need_key[bounded]).tolist():
            pins = problem.rep_zone[:, r]
            if ((pins >= 0) & (keys[z] >= 0) & (pins != keys[z])).any():
                continue
            var = model.new_bool_var(f"y{r}_{z}")
            y[(r, z)] = var
            options.append(var)
            km = float(np.hypot(*(problem.rep_xy[r] - centre[z]))) / 1000.0
            costs.append((var, round(km * 100)))
        if not options:
            if problem.rep_min_s[r] > 0 and exact:
                raise InfeasibleError(Finding(f"rep {problem.rep_ids[r]!r} is pinned to a zone where its teams "
                                              "have no customers, so it cannot reach its minimum workload"))
            continue
        if exact:
            model.add_exactly_one(options)
        else:
            model.add_at_most_one(options)
    for teams, reps in groups:
        needs = np.isin(problem.need_team, teams) & (need_key >= 0)
        load = np.bincount(need_key[needs], weights=problem.min_workload_s[needs].astype(float),
                           minlength=len(keys))
        for z in np.flatnonzero(load > 0).tolist():
            terms = [(y[(r, z)], r) for r in reps.tolist() if (r, z) in y]
            low = [int(problem.rep_min_s[r]) if exact else 0 for _, r in terms]
            high = [int(problem.rep_max_s[r]) for _, r in terms]
            if slack_share > 0:  # move each rep's bounds towards its target by that share of the band
                target = [float(problem.rep_target_s[r]) for _, r in terms]
                low = [int(np.ceil(a + slack_share * max(t - a, 0.0))) for a, t in zip(low, target, strict=True)]
                high = [int(np.floor(b - slack_share * max(b - t, 0.0))) for b, t in zip(high, target, strict=True)]
            lo = cp_model.LinearExpr.weighted_sum([v for v, _ in terms], low)
            hi = cp_model.LinearExpr.weighted_sum([v for v, _ in terms], high)
            model.add(lo <= int(load[z]))
            model.add(hi >= int(load[z]))
    model.minimize(cp_model.LinearExpr.weighted_sum([v for v, _ in costs], [c for _, c in costs]))
    call = solve_model(model, budget, workers=1, seed=seed)
    solver, status = call.solver, call.status
    if status == cp_model.INFEASIBLE and not last:
        return None
    if status == cp_model.INFEASIBLE and exact:
        raise InfeasibleError(_placement_findings(problem, keys, need_key, groups))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise PlacementFailed(solver.status_name(status))
    rep_zone = problem.rep_zone.copy()
    for (r, z), var in y.items():
        if solver.boolean_value(var):
            rep_zone[:, r] = np.where(keys[z] >= 0, keys[z], rep_zone[:, r])
    return problem.replace(rep_zone=rep_zone)


def _zone_label(problem: Problem, key: np.ndarray) -> str:
    return " / ".join(f"{kind} {problem.zone_names[k][key[k]]!r}" for k, kind in enumerate(problem.zone_kinds)
                      if key[k] >= 0)


def _placement_findings(problem: Problem, keys: np.ndarray, need_key: np.ndarray,
                        groups: list[tuple[np.ndarray, np.ndarray]]) -> list[Finding]:
    """Why no placement exists: zones whose workload no whole number of reps can carry within their bands."""
    findings = []
    for teams, reps in groups:
        needs = np.isin(problem.need_team, teams) & (need_key >= 0)
        load = np.bincount(need_key[needs], weights=problem.min_workload_s[needs].astype(float),
                           minlength=len(keys))
        lo, hi = float(np.median(problem.rep_min_s[reps])), float(np.median(problem.rep_max_s[reps]))
        names = ", ".join(repr(problem.team_names[t]) for t in teams)
        for z in np.flatnonzero(load > 0).tolist():
            n_min, n_max = int(np.ceil(load[z] / hi)), int(np.floor(load[z] / lo)) if lo > 0 else 10**9
            if n_min > n_max:
                findings.append(Finding(
                    f"{_zone_label(problem, keys[z])} needs {load[z] / 3600:,.1f} h from team(s) {names}: "
                    f"{n_max} reps would be overloaded and {n_min} underloaded at +/- the balance tolerance "
                    "(widen rules.balance_tolerance, pin reps, or drop the boundary for this team)"))
    total_reps = sum(len(reps) for _, reps in groups)
    return findings or [Finding(f"no placement of the {total_reps} reps in the boundary zones lets every zone's "
                                "workload fit its reps' workload bands")]
