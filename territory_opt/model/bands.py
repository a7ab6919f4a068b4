"""Balance bands: each rep's target, lowest and highest total of a balanced amount (workload, value, ...).

One place for the arithmetic, used when the problem is built (call-time bands) and when routing moves each rep's
drive time into its band (real-hours bands, `routing/feedback.py`).
"""

from __future__ import annotations

import numpy as np


def team_components(rep_in_team: np.ndarray) -> np.ndarray:
    """Component label per team: teams sharing a rep share a workload pool (and a balance target)."""
    n_teams = rep_in_team.shape[1]
    parent = list(range(n_teams))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row in rep_in_team:
        teams = np.flatnonzero(row)
        for other in teams[1:]:
            parent[find(int(other))] = find(int(teams[0]))
    return np.array([find(i) for i in range(n_teams)])


def team_groups(rep_in_team: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(teams, their reps) per group of teams sharing reps (`team_components`), in label order: the unit every
    balance target, band and counting argument is taken over. Groups may have no reps."""
    comp = team_components(rep_in_team)
    groups = []
    for label in np.unique(comp):
        teams = np.flatnonzero(comp == label)
        groups.append((teams, np.flatnonzero(rep_in_team[:, teams].any(axis=1))))
    return groups


def balance_targets(rep_in_team: np.ndarray, need_team: np.ndarray, need_workload_s: np.ndarray,
                    capacity_s: np.ndarray, tolerance: float | None,
                    clip_to_capacity: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each rep's target, lowest and highest workload, in seconds (or of any other per-need amount).

    A rep's target is its share of its team's workload, in proportion to its capacity (reps with no capacity
    count as the median capacity of their team, or equal shares when nobody has one). Teams that share reps
    pool their workload. The band is target x (1 +/- tolerance), and never above the rep's capacity unless
    `clip_to_capacity` is off (amounts other than workload). Tolerance None: no band, only the capacity (or the
    whole team's amount, which never binds).
    """
    n_reps = rep_in_team.shape[0]
    team_load = np.bincount(need_team, weights=need_workload_s.astype(float), minlength=rep_in_team.shape[1])
    target = np.zeros(n_reps)
    for teams, reps in team_groups(rep_in_team):
        if len(reps) == 0:
            continue
        caps = capacity_s[reps].astype(float)
        known = np.isfinite(caps)
        weights = np.where(known, caps, np.median(caps[known]) if known.any() else 1.0)
        target[reps] = team_load[teams].sum() * weights / weights.sum()
    if tolerance is None:
        lo = np.zeros(n_reps, dtype=np.int64)
        hi = np.full(n_reps, int(np.sum(need_workload_s)), dtype=np.int64)
    else:
        lo, hi = tolerance_band(target, tolerance)
    if clip_to_capacity:
        hi = np.where(np.isfinite(capacity_s), np.minimum(hi, np.floor(capacity_s)), hi).astype(np.int64)
    lo = np.minimum(lo, hi)
    return target, lo, hi



def tolerance_band(target: np.ndarray, tolerance: float, offset: np.ndarray | float = 0.0,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Whole-second band target x (1 +/- tolerance) - offset (e.g. a rep's drive time, when the band holds its
    calls only), rounded inwards with a tolerance for floating-point noise."""
    lo = np.ceil(target * (1.0 - tolerance) - offset - 1e-9).astype(np.int64)
    hi = np.floor(target * (1.0 + tolerance) - offset + 1e-9).astype(np.int64)
    return lo, hi
