"""A solved run as the writer, the report and the CLI receive it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from ..executor import PartTime
from ..prepare.prepared import Prepared
from ..routing.cycle import RoutingOutcome
from ..solve import Result


@dataclass(frozen=True)
class RunResult:
    prepared: Prepared
    result: Result
    assignments: pd.DataFrame
    reps: pd.DataFrame
    territories: gpd.GeoDataFrame
    kpis: dict[str, Any]  # kpis.json's content (JSON values)
    timings: dict[str, float]
    seed: int
    routing: RoutingOutcome | None = None
    changes: pd.DataFrame | None = None  # changes.py: every customer-team whose rep differs from the baseline
    levels: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)  # "district"/"region": rolled-up shapes
    part_times: list[PartTime] = field(default_factory=list)  # executor.py: each independent part's seconds
    programmes: pd.DataFrame | None = None  # results/programmes.py: programmes.csv, with a `programmes:` block

