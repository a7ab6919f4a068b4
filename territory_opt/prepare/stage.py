"""The preparation stage: enriched customers -> key accounts, micro-segments and their scores, service raises, the
teams that must cover each customer, and the product-line advice."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Scenario, Segments
from ..errors import ConfigError, Finding
from ..lists import split_list
from ..model.bands import team_components
from ..roster import team_matrix, team_members
from .advice import product_line_advice
from .enrich import apply_service_raises
from .segment import Coverage, build_coverage, mark_key_accounts
from .segment_table import ScoreWeights, build_segments


def segment_customers(customers: pd.DataFrame, settings: Segments, warnings: list[Finding],
                      source: str = "scenario") -> tuple[pd.Series, pd.DataFrame]:
    """Micro-segments and their scores; key columns the data lacks are skipped, with a warning."""
    missing = [c for c in settings.columns if c not in customers]
    if missing:
        warnings.append(Finding(f"segment key column(s) {', '.join(missing)} not in the customers; skipped",
                                source=source, field="segments.columns"))
    missing_buyer = [c for c in settings.scores.buyer_columns if c not in customers]
    if missing_buyer:
        raise ConfigError(Finding(f"customers have no column(s) {', '.join(missing_buyer)}", source=source,
                                  field="segments.scores.buyer_columns"))
    weights = ScoreWeights(**settings.scores.model_dump())
    columns = [c for c in settings.columns if c in customers]
    return build_segments(customers, columns, settings.min_size, weights)


def advice_table(customers: pd.DataFrame, reps: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Specialist-or-generalist advice per product line (empty without a `products` column).

    The reps carrying a line are the roster rows listing it in `products` when the roster has that column; else
    the generalist field force (reps of teams that are not carve-outs). Customers of tiers a phone team covers
    (travel_weight 0) count as inside-sales work, not field visits.
    """
    if "products" not in customers:
        return pd.DataFrame(columns=["product_line", "recommendation", "reason"])
    generalists = [t for t in scenario.teams if not t.exclusive]
    field_reps = len(np.unique(np.concatenate(
        [team_members(t.name, t.reps, reps) for t in generalists] or [np.zeros(0, np.int64)])))
    reps_per_line = None
    if "products" in reps:
        lines = reps["products"].map(split_list).explode().dropna()
        reps_per_line = lines.value_counts().to_dict()
    inside_tiers = sorted({tier for t in scenario.teams if t.travel_weight == 0 for block in t.covers
                           for tier in (block.tiers or [])})
    table = customers[["customer_id", "products", "sector", "visits_per_cycle", "workload_hours", "tier"]
                      + (["buyer_roles"] if "buyer_roles" in customers else [])]
    lines_sold = {line for text in table["products"] for line in split_list(text)}
    known = reps_per_line if reps_per_line and lines_sold <= set(reps_per_line) else None
    advice = product_line_advice(pd.DataFrame(table), reps_per_line=known, cycle_weeks=scenario.cycle_weeks,
                                 field_reps=max(field_reps, 1), inside_tiers=inside_tiers)
    return advice.round(4)



def segment_stage(customers: gpd.GeoDataFrame, reps: pd.DataFrame, scenario: Scenario,
                  warnings: list[Finding]) -> tuple[gpd.GeoDataFrame, Coverage, pd.DataFrame]:
    """Key accounts, micro-segments and their scores, service raises, and coverage (which teams must cover each
    customer); returns the customers (with `segment_id` and `teams`), the coverage and the segment table."""
    customers = mark_key_accounts(customers, scenario.key_accounts)
    segment_ids, segments = segment_customers(customers, scenario.segments, warnings, scenario.source_name)
    customers["segment_id"] = segment_ids.to_numpy()
    customers, n_raised = apply_service_raises(customers, segments, scenario.service_raises)
    if n_raised:
        warnings.append(Finding(f"{n_raised} customers get extra visits from service_raises (segment scores)",
                                source=scenario.source_name, field="service_raises"))
    coverage = build_coverage(customers, scenario, team_components(team_matrix(scenario, reps)))
    if len(coverage.absorbed_customer):
        n = len(np.unique(coverage.absorbed_customer))
        warnings.append(Finding(
            f"{n} customers need more teams than max_reps_per_customer allows; their last teams by precedence "
            "were dropped and absorbed (listed in contact_cap.csv)", source=scenario.source_name,
            field="rules.precedence"))
    customers["teams"] = coverage.teams_of_customers(len(customers))
    if len(coverage.uncovered):
        sample = ", ".join(customers["customer_id"].iloc[coverage.uncovered[:5]])
        warnings.append(Finding(f"{len(coverage.uncovered)} customers are covered by no team (e.g. {sample}); "
                                "they get no rep", source=scenario.source_name, field="teams"))
    return customers, coverage, segments
