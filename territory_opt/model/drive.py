"""Drive time in the workload: an estimate of the driving each visit causes, from the rep's home to the customer.

A rep's day leaves home, calls on customers near each other and comes back: the way out and back (about twice the
road km from home) is shared by that day's calls, in proportion to the time each takes, and every call adds a short
hop from the previous one. Per need and cycle:

    drive seconds = visits x 3600 / speed_kmh x (2 x road_km x call_hours / trip_call_hours
                                                 + hop_factor x spacing_km)

`road_km` is the road-distance proxy from the rep's home to the customer (straight line x `rules.detour_factor`,
`Problem.road_km`), `call_hours` one call's length, `trip_call_hours` the hours of calls one trip out and back
serves (a working day's calls), `spacing_km` the mean road km from the customer to the `neighbours` (16) nearest
other customers its team visits, and `hop_factor` x that the drive from the previous call (calls are further apart
where customers are sparse). `trip_call_hours` and `hop_factor` are fitted by least squares on the demo's routed
call plans (`bench/drive_fit.py`, docs/benchmarks.md); every scenario may set its own (`workload:`). Only visited
needs drive: teams with `travel_weight: 0` work by phone.

The estimate is rep-dependent, so `Problem` holds per need its seconds per road km and its seconds whatever the
distance, and `Problem.workload(need, rep)` adds `rint(per_km x road_km + base)` on the fly (every engine, the
bound and the judge read workload there, so they agree to the second). Problems above `PER_REP_MAX_ARCS` candidate
arcs go to the large engine, whose flow relaxation needs one workload per need: there the estimate is taken at the
nearest rep of the team and baked into the need's workload (`Problem.need_drive_s`), and `kpis.json` says so.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

# Same figure as solve.engine.LARGE_MIN_ARCS (a test keeps them equal): above it the large engine takes the problem.
PER_REP_MAX_ARCS = 400_000


def drive_terms(visits: np.ndarray, call_s: np.ndarray, spacing_km: np.ndarray, *, speed_kmh: float,
                trip_call_hours: float, hop_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Per need: (drive seconds per road km from the rep's home, drive seconds whatever the distance) per cycle, for
    `visits` visits of `call_s` seconds each, `spacing_km` from the customer's neighbours (`local_spacing_km`)."""
    visits = np.maximum(np.asarray(visits, dtype=float), 0.0)
    s_per_km = 3600.0 / speed_kmh
    per_km = visits * 2.0 * (np.asarray(call_s, dtype=float) / 3600.0) / trip_call_hours * s_per_km
    return per_km, visits * hop_factor * np.asarray(spacing_km, dtype=float) * s_per_km


def local_spacing_km(xy: np.ndarray, team: np.ndarray, driving: np.ndarray, neighbours: int,
                     detour_factor: float) -> np.ndarray:
    """Per need, the mean road km (straight line x detour) to the `neighbours` nearest other driving needs of its
    team: how far apart that team's calls lie around the customer (0 for needs that do not drive)."""
    out = np.zeros(len(team))
    for t in np.unique(team[driving]).tolist():
        members = np.flatnonzero(driving & (team == t))
        k = min(neighbours, len(members) - 1)
        if k < 1:
            continue
        distance, _ = cKDTree(xy[members]).query(xy[members], k=k + 1)
        out[members] = distance[:, 1:].mean(axis=1) / 1000.0 * detour_factor
    return out


def drive_seconds(per_km: np.ndarray, base_s: np.ndarray, road_km: np.ndarray) -> np.ndarray:
    """Whole seconds of drive per cycle: per_km x road_km + base_s, rounded to the nearest."""
    return np.rint(np.asarray(per_km, dtype=float) * np.asarray(road_km, dtype=float)
                   + np.asarray(base_s, dtype=float)).astype(np.int64)
