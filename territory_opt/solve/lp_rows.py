"""The LP relaxation's matrix, built block by block: each rule adds its rows (and any columns they need)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class SparseLp:
    """Rows and extra columns added block by block (one block per rule), then handed to GLOP as one matrix."""

    def __init__(self, n_arcs: int) -> None:
        self.n_arcs = n_arcs
        self.n_cols = n_arcs
        self.extra_upper: list[np.ndarray] = []  # bounds and costs of the columns after the arcs
        self.extra_cost: list[np.ndarray] = []
        self.n_rows = 0
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []

    def new_columns(self, n: int, upper: float = 1.0, cost: float = 0.0) -> int:
        """Add `n` columns in [0, upper] at `cost` each; returns the first one's index."""
        first = self.n_cols
        self.n_cols += n
        self.extra_upper.append(np.full(n, upper))
        self.extra_cost.append(np.full(n, cost))
        return first

    def add(self, row: np.ndarray, col: np.ndarray, val: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Rows numbered 0..len(lower)-1 within the block."""
        self.rows.append(self.n_rows + row)
        self.cols.append(col)
        self.vals.append(val)
        self.lower.append(lower)
        self.upper.append(upper)
        self.n_rows += len(lower)

    def link(self, arcs_idx: np.ndarray, groups: np.ndarray) -> int:
        """x[arc] <= y[group] for each listed arc; returns the first y column."""
        n_groups = int(groups.max(initial=-1)) + 1
        first = self.new_columns(n_groups)
        n = len(arcs_idx)
        self.add(np.concatenate([np.arange(n), np.arange(n)]), np.concatenate([arcs_idx, first + groups]),
                 np.concatenate([np.ones(n), -np.ones(n)]), np.full(n, -np.inf), np.zeros(n))
        return first

    def matrix(self) -> sp.csr_matrix:
        return sp.csr_matrix((np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
                             shape=(self.n_rows, self.n_cols))
