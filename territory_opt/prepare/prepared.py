"""What the preparation hands to the solver: the scenario, its inputs, the enriched customers and coverage, the
problem built from them, and what validate reports."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from ..config import Scenario
from ..errors import Finding
from ..io.load import Inputs
from ..model.problem import Problem
from ..routing.travel import Travel
from .segment import Coverage
from .units import Units


@dataclass(frozen=True)
class Prepared:
    """Everything up to (not including) the solve: what `validate` checks."""

    scenario: Scenario
    inputs: Inputs
    customers: gpd.GeoDataFrame
    coverage: Coverage
    problem: Problem
    warnings: tuple[Finding, ...]
    segments: pd.DataFrame
    advice: pd.DataFrame
    travel: Travel | None = None  # the routing's travel model when it is not the straight-line default
    travel_sha256: str | None = None  # the travel matrix file's hash, when routing reads one
    units: Units | None = None  # the alignment units; territories are then dissolves of units (results/units.py)
    # with drive per rep: each team's drive scale the bands were settled on (solve/drive_bands.py), as kpis.json
    # `workload.drive_bands` reports it
    drive_bands: dict[str, dict[str, float]] | None = None

    @property
    def file_hashes(self) -> dict[str, str]:
        """SHA-256 of every input the run read: the layers, and the travel matrix when routing used one."""
        extra = {"travel_matrix": self.travel_sha256} if self.travel_sha256 is not None else {}
        return {**self.inputs.file_hashes, **extra}

