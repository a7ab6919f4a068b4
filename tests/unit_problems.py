"""Problems on alignment units the unit tests share: a grid of square units, its side-sharing adjacency, and an
assignment given per unit.

Unit k of a rows x cols grid sits at (row k // cols, column k % cols), its centre at ((column + 0.5) x SIDE,
(row + 0.5) x SIDE) metres. Customers sit in their unit (spread a little when a unit holds several).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from territory_opt.model.problem import Problem

from .problems import build_problem

SIDE = 1000.0


def grid_edges(rows: int, cols: int) -> np.ndarray:
    """(E, 2) pairs u < v of grid units sharing a side (rook neighbours)."""
    pairs = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    pairs += [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def grid_centres(rows: int, cols: int) -> np.ndarray:
    return np.array([[(k % cols + 0.5) * SIDE, (k // cols + 0.5) * SIDE] for k in range(rows * cols)])


def unit_cell(row: float, col: float) -> list[float]:
    """The centre of the unit at (row, column), as a rep's home."""
    return [(col + 0.5) * SIDE, (row + 0.5) * SIDE]


def grid_problem(rows: int, cols: int, rep_xy: Any, *, per_unit: int = 1, workload: Any = 3600,
                 tolerance: float | None = None, contiguous: bool = True, **changes: Any) -> Problem:
    """One team, `per_unit` customers in every unit (customer i in unit i // per_unit), the grid's adjacency and
    every rep in the team; bands from `tolerance` (None: wide open, as `build_problem`)."""
    n_units = rows * cols
    centre = grid_centres(rows, cols)
    unit = np.repeat(np.arange(n_units), per_unit)
    offset = np.tile(np.linspace(-0.3, 0.3, per_unit) * SIDE if per_unit > 1 else np.zeros(1), n_units)
    xy = centre[unit] + np.column_stack([offset, np.zeros(len(unit))])
    fields: dict[str, Any] = dict(need_unit=unit.astype(np.int64), unit_edges=grid_edges(rows, cols),
                                  unit_xy=centre, team_contiguous=np.array([contiguous]))
    return build_problem(xy, rep_xy, workload=workload, tolerance=tolerance, **(fields | changes))


def per_unit(problem: Problem, unit_rep: Any) -> np.ndarray:
    """An assignment giving every need of unit k to rep unit_rep[k]."""
    assert problem.need_unit is not None
    return np.asarray(unit_rep, dtype=np.int64)[problem.need_unit]
