"""Travel between a rep's home and its customers: how long (seconds) and how far (metres) each leg is.

Three models answer the same question, `block(ids, xy) -> Block`, for all ordered pairs of a set of points. Points
are numbered once for the whole run: customers `0..C-1` (problem order), then rep homes `C..C+R-1`.
- `StraightTravel`: straight line x detour factor at an average speed (the default);
- `NetworkTravel`: along the route network from segmentation (each point's straight leg onto its nearest segment,
  then the fastest path between segment ends), or the direct straight-line road at leg speed where that is quicker
  (two customers in the same village do not drive out to the trunk road and back);
- `MatrixTravel`: the user's own matrix (e.g. from their routing engine), looked up by id; a pair the file lacks
  takes its reverse, else the straight-line estimate, and is counted so the run can say how many were estimated.
Each model is plain arrays, so it pickles once to every routing process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra


@dataclass(frozen=True)
class Block:
    seconds: np.ndarray  # (n, n) int64, row = from
    metres: np.ndarray  # (n, n) int64
    estimated: int = 0  # pairs the model had to estimate (matrix files with gaps)


class Travel(Protocol):
    def block(self, ids: np.ndarray, xy: np.ndarray) -> Block: ...


@dataclass(frozen=True)
class StraightTravel:
    speed_kmh: float
    detour_factor: float

    def block(self, ids: np.ndarray, xy: np.ndarray) -> Block:
        delta = xy[:, None, :] - xy[None, :, :]
        metres = np.hypot(delta[..., 0], delta[..., 1]) * self.detour_factor
        return Block(np.rint(metres / (self.speed_kmh / 3.6)).astype(np.int64), np.rint(metres).astype(np.int64))


@dataclass(frozen=True)
class NetworkTravel:
    """Every point snapped once to its nearest network segment (`geo.snap_points`)."""

    graph_s: csr_matrix  # node x node, seconds along each edge (both directions)
    graph_m: csr_matrix  # node x node, metres
    end_node: np.ndarray  # (P, 2) the snapped segment's two end nodes
    end_s: np.ndarray  # (P, 2) seconds from the snap point along the segment to each end
    end_m: np.ndarray  # (P, 2)
    leg_m: np.ndarray  # (P,) straight leg from the point to its snap point
    leg_kmh: float
    direct: StraightTravel  # local roads between nearby points, at leg speed

    def block(self, ids: np.ndarray, xy: np.ndarray) -> Block:
        ends = self.end_node[ids]  # (n, 2)
        nodes, where = np.unique(ends, return_inverse=True)
        where = where.reshape(ends.shape)
        between_s = dijkstra(self.graph_s, indices=nodes)[:, nodes]
        between_m = dijkstra(self.graph_m, indices=nodes)[:, nodes]
        leg_s = self.leg_m[ids] / (self.leg_kmh / 3.6)
        best_s = np.full((len(ids), len(ids)), np.inf)
        best_m = np.full((len(ids), len(ids)), np.inf)
        for a in (0, 1):
            for b in (0, 1):
                total = self.end_s[ids, a][:, None] + between_s[np.ix_(where[:, a], where[:, b])] \
                    + self.end_s[ids, b][None, :]
                length = self.end_m[ids, a][:, None] + between_m[np.ix_(where[:, a], where[:, b])] \
                    + self.end_m[ids, b][None, :]
                better = total < best_s
                best_s, best_m = np.where(better, total, best_s), np.where(better, length, best_m)
        best_s += leg_s[:, None] + leg_s[None, :]
        best_m += self.leg_m[ids][:, None] + self.leg_m[ids][None, :]
        local = self.direct.block(ids, xy)
        use_local = ~np.isfinite(best_s) | (local.seconds <= best_s)
        seconds = np.where(use_local, local.seconds, np.rint(np.where(use_local, 0, best_s)))
        metres = np.where(use_local, local.metres, np.rint(np.where(use_local, 0, best_m)))
        np.fill_diagonal(seconds, 0)
        np.fill_diagonal(metres, 0)
        return Block(seconds.astype(np.int64), metres.astype(np.int64))


@dataclass(frozen=True)
class MatrixTravel:
    """Pairs keyed `from * n_points + to`, sorted; values in whole seconds and metres."""

    keys: np.ndarray  # int64, sorted, unique
    seconds: np.ndarray  # int64
    metres: np.ndarray  # int64
    n_points: int
    fallback: StraightTravel

    def block(self, ids: np.ndarray, xy: np.ndarray) -> Block:
        ids = np.asarray(ids, dtype=np.int64)
        estimate = self.fallback.block(ids, xy)
        seconds, metres = estimate.seconds.copy(), estimate.metres.copy()
        found = np.eye(len(ids), dtype=bool)
        np.fill_diagonal(seconds, 0)
        np.fill_diagonal(metres, 0)
        for forward in (False, True):  # the reverse first, so a given forward pair wins
            key = ids[None, :] * self.n_points + ids[:, None] if not forward else \
                ids[:, None] * self.n_points + ids[None, :]
            pos = np.searchsorted(self.keys, key)
            pos = np.minimum(pos, max(len(self.keys) - 1, 0))
            hit = (self.keys[pos] == key) if len(self.keys) else np.zeros(key.shape, dtype=bool)
            hit &= ~np.eye(len(ids), dtype=bool)
            seconds[hit], metres[hit] = self.seconds[pos[hit]], self.metres[pos[hit]]
            found |= hit
        return Block(seconds, metres, int((~found).sum()))

    def without_points_from(self, first: int) -> MatrixTravel:
        """The same matrix without pairs touching points `first..` (e.g. rep homes that moved)."""
        keep = (self.keys // self.n_points < first) & (self.keys % self.n_points < first)
        return MatrixTravel(self.keys[keep], self.seconds[keep], self.metres[keep], self.n_points, self.fallback)
