"""Alignment units: the base geography territories are built from (postcodes, ZIP codes, bricks, or H3 cells).

Every customer falls in exactly one unit; per team, all customers of a unit go to the same rep, and a territory is
the dissolve of its rep's units. Units come from the scenario's `units` layer (polygons with `unit_id`, or a
`unit_id` column on the customers), or are made from the customers themselves (see `build_units`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np


@dataclass(frozen=True)
class Units:
    """The alignment units of a run, in the run's metric CRS.

    `customer_unit[c]` is the index (into `ids`) of customer c's unit, customers in the enriched frame's order;
    `edges` lists each pair of units sharing a border once (u < v), after islands are joined (`joins` says which
    edges were added that way); `source` is "layer", "column" or "h3".
    """

    ids: np.ndarray  # (U,) str
    shapes: gpd.GeoSeries  # (U,) polygons in the run's CRS, positionally aligned with ids
    customer_unit: np.ndarray  # (C,) int64
    edges: np.ndarray  # (E, 2) int64
    source: str
    joins: np.ndarray  # (J, 2) int64: edges added to join islands and units cut off by the study area
    resolution: int | None = None  # the H3 resolution, when source == "h3"

    @property
    def n_units(self) -> int:
        return len(self.ids)
