"""The scenario: a frozen, strictly validated description of one territory run.

Every model forbids unknown keys, so a typo in the YAML is an error rather than a silently ignored setting, and
every problem is reported at once with its location (`teams[2].covers.tiers`), not just the first.

The models live by topic: `sources` (input layers, database URLs), `policy` (tiers, service, segments),
`teams`, `rules` (rules, quality, hierarchy), `run` (routing, logistics, solver, executor, output) and `scenario`
(the whole, YAML loading, the JSON Schema). The names other modules use are re-exported here: this is the API.
"""

from __future__ import annotations

from .policy import KeyAccounts, Segments, ServiceRaise, Tiers
from .run import DatabaseOutput, Executor, Logistics
from .scenario import (
    Scenario,
    load_scenario,
    parse_scenario,
    paths_outside,
    scenario_json_schema,
    scenario_reference,
)
from .sources import CSV_SUFFIXES, LayerSource, first_row_of, is_database_url, safe_url
from .teams import Covers, Team

__all__ = [
    "CSV_SUFFIXES",
    "Covers",
    "DatabaseOutput",
    "Executor",
    "KeyAccounts",
    "LayerSource",
    "Logistics",
    "Scenario",
    "Segments",
    "ServiceRaise",
    "Team",
    "Tiers",
    "first_row_of",
    "is_database_url",
    "load_scenario",
    "parse_scenario",
    "paths_outside",
    "safe_url",
    "scenario_json_schema",
    "scenario_reference",
]
