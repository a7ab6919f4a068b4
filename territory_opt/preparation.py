"""The preparation stages, everything `validate` and `explain` need and nothing that solves: load, enrich,
segment, units, problem, advice (and the travel matrix when routing asks for one).

Kept apart from `pipeline.py` so `explain` and `validate` do not import the solvers (OR-Tools) they never call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .config import Scenario
from .executor import PartProgress
from .io.load import load_inputs
from .model.build import boundary_columns, build_problem, visited_needs
from .prepare.enrich import enrich
from .prepare.prepared import Prepared
from .prepare.programmes import programme_findings
from .prepare.quality import input_findings
from .prepare.stage import advice_table, segment_stage
from .prepare.units import LayerRows, scenario_units
from .roster import team_matrix

Progress = Callable[[str], None]


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, progress: Progress | None = None) -> Iterator[None]:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)


def prepare(scenario: Scenario, timings: Timings | None = None, progress: Progress | None = None,
            parts: PartProgress | None = None) -> Prepared:
    """Load, enrich, segment and build the problem: everything `validate` checks, no solving. `progress` hears of
    each stage, `parts` of each input layer read."""
    timings = timings or Timings()
    with timings.stage("load", progress):
        inputs = load_inputs(scenario, parts)
    warnings = list(inputs.warnings)
    with timings.stage("enrich", progress):
        customers = enrich(inputs.customers, scenario, depots=inputs.depots, routes=inputs.routes,
                           distributors=inputs.distributors, warnings=warnings)
    with timings.stage("segment", progress):
        customers, coverage, segments = segment_stage(customers, inputs.reps, scenario, warnings)
        if scenario.programmes is not None:
            warnings += programme_findings(customers, scenario.programmes, scenario.source_name)
    with timings.stage("units", progress):
        sources = scenario.inputs
        rows = None if sources.units is None else (LayerRows(sources.units.label, sources.units.first_row),
                                                   LayerRows(sources.customers.label, sources.customers.first_row))
        units = scenario_units(customers, coverage.need_team, team_matrix(scenario, inputs.reps).sum(axis=0),
                               scenario.units, inputs.units, inputs.distributors, warnings, rows,
                               boundary_columns(scenario))
    with timings.stage("problem", progress):
        problem = build_problem(customers, inputs.reps, coverage, scenario, units)
    warnings += input_findings(problem, visited_needs(scenario, problem), scenario.quality.far_km,
                               scenario.inputs.customers.label)
    with timings.stage("advice", progress):
        advice = advice_table(customers, inputs.reps, scenario)
    travel, travel_sha256 = None, None
    if scenario.routing.enabled and scenario.routing.travel != "straight":
        from .routing.stage import build_travel  # OR-Tools' routing: only when routing asks for a road matrix

        with timings.stage("travel", progress):
            travel, travel_sha256 = build_travel(scenario, inputs, problem, warnings)
    return Prepared(scenario, inputs, customers, coverage, problem, tuple(warnings), segments, advice, travel,
                    travel_sha256, units)
