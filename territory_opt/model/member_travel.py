"""A bundle's exact visit-km for each rep, summed over its members when a cell is read, not stored.

Units whole (`solve/aggregate.py`) rewrites the needs of one unit and team as one bundled need whose cost for a
rep is its members' exact visit-km. Stored dense (bundles x reps) that table held 240,000 x 2,000 floats at
1,000,000 customers and took about 1.6 billion member-rep evaluations to fill: the run stopped there after 16
minutes at 5.6 GB. The engines read only the cells of their candidate arcs and of the moves they try, so above a
size the table is this object instead: the same numbers, computed for the cells asked for.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

NO_REP = -1  # no current rep (model.problem takes its NO_REP from here)
BLOCK_MEMBERS = 1_000_000  # member rows summed per block (about 100 MB of temporaries)


@dataclasses.dataclass(frozen=True, eq=False)
class MemberTravel:
    """(B, R) table: cell (b, c) is the objective's travel plus continuity (visit-km) of giving bundle b to the rep
    of column c, the sum over b's members of visits x travel weight x road km, plus the continuity price for each
    member taken off its current rep (single needs keep their continuity in `Problem.arc_cost`: not counted here).

    Read it as the dense table is read: `table[need, rep]` with index arrays (broadcast like numpy's, so
    `table[np.ix_(needs, reps)]` is a grid), `table[keep]` for a boolean row mask, `table[:, reps]` for columns."""

    ptr: np.ndarray  # (B + 1,) each bundle's members: member rows ptr[b]:ptr[b + 1]
    member_xy: np.ndarray  # (M, 2) metres
    member_weight: np.ndarray  # (M,) visits x the team's travel weight
    member_current: np.ndarray  # (M,) the member's current rep (an index into `rep_xy`'s reps), NO_REP if none
    single: np.ndarray  # (B,) bool: the bundle is a single need (its continuity is counted by the problem)
    rep_xy: np.ndarray  # (R0, 2) the reps' homes, metres
    columns: np.ndarray  # (R,) the rep (index into rep_xy) of each column
    detour_factor: float
    continuity_weight: float

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ptr) - 1, len(self.columns)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], slice):
            if key[0] != slice(None):
                raise TypeError("MemberTravel: only table[:, columns] slices columns")
            return dataclasses.replace(self, columns=self.columns[np.asarray(key[1], dtype=np.int64)])
        if isinstance(key, tuple) and len(key) == 2:
            return self.cells(key[0], key[1])
        keep = np.asarray(key)
        if keep.dtype != bool or keep.shape != (self.shape[0],):
            raise TypeError("MemberTravel: rows are chosen with a boolean mask over the bundles")
        return self.rows(keep)

    def rows(self, keep: np.ndarray) -> MemberTravel:
        """The table of the kept bundles only (their members' arrays cut out)."""
        sizes = np.diff(self.ptr)[keep]
        member_keep = np.repeat(keep, np.diff(self.ptr))
        return dataclasses.replace(
            self, ptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            member_xy=self.member_xy[member_keep], member_weight=self.member_weight[member_keep],
            member_current=self.member_current[member_keep], single=self.single[keep])

    def cells(self, need: Any, col: Any) -> np.ndarray:
        """The cells (need[i], col[i]) (broadcast), in the shape of the broadcast index."""
        need_b, col_b = np.broadcast_arrays(np.asarray(need, dtype=np.int64), np.asarray(col, dtype=np.int64))
        flat_need, flat_col = need_b.ravel(), col_b.ravel()
        sizes = self.ptr[flat_need + 1] - self.ptr[flat_need]
        out = np.empty(len(flat_need))
        # blocks of about BLOCK_MEMBERS member rows: the engines ask for millions of cells at once (every candidate
        # arc of 240,000 bundles), and one pass over all their members held about 100 bytes per member row
        ends = np.searchsorted(np.cumsum(sizes), np.arange(1, 1 + int(sizes.sum()) // BLOCK_MEMBERS) * BLOCK_MEMBERS)
        bounds = np.unique(np.concatenate([[0], ends, [len(flat_need)]]))
        for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            out[start:stop] = self._block(flat_need[start:stop], flat_col[start:stop], sizes[start:stop])
        return out.reshape(need_b.shape)

    def _block(self, need: np.ndarray, col: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        owner = np.repeat(np.arange(len(need)), sizes)
        member = np.repeat(self.ptr[need] - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes) + np.arange(len(owner))
        rep = self.columns[col][owner]
        delta = self.member_xy[member] - self.rep_xy[rep]
        value = self.member_weight[member] * (np.hypot(delta[:, 0], delta[:, 1]) * self.detour_factor / 1000.0)
        current = self.member_current[member]
        moved = (current != NO_REP) & (current != rep) & ~self.single[need][owner]
        value = value + self.continuity_weight * moved
        return np.bincount(owner, weights=value, minlength=len(need))
