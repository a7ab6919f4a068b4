"""How customers are valued and served: value tiers, each tier's service level, score-based raises, key accounts
and micro-segments."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import NAME_PATTERN, FiniteFloat, NonNegativeFloat, PositiveFloat, StrictModel


class Tiers(StrictModel):
    """Value tiers, best first, cut from one weighted score per customer.

    The score is `current_weight x current_value + potential_weight x potential_value`: it is what every method
    cuts, so "tiers by a weighted score" is a choice of weights, not a method. `quantile` cuts it by rank (the top
    `shares[0]` of customers get `names[0]`...), `thresholds` by fixed score edges (a score >= `thresholds[0]` gets
    `names[0]`...): quantiles keep tier sizes fixed as values move, thresholds keep the bar fixed.
    """

    names: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = Field(
        default_factory=lambda: ["gold", "silver", "bronze"], min_length=1,
        description="Tier names, best first (default gold, silver, bronze).",
    )
    method: Literal["quantile", "thresholds"] = Field(
        "quantile",
        description="How the weighted tier score is cut: `quantile` (by rank, see `shares`) or `thresholds` (by fixed "
        "score edges, see `thresholds`). Both cut the same score (`current_weight`, `potential_weight`). A tier the "
        "rule leaves empty is a warning.",
    )
    shares: list[Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=lambda: [0.2, 0.3, 0.5],
        description="Method quantile: share of customers per tier, best first; adds up to 1 (default 0.2, 0.3, "
        "0.5). Ties in score break on customer_id.",
    )
    thresholds: list[FiniteFloat] | None = Field(
        None,
        description="Method thresholds: the lowest score of each tier but the last, best first and decreasing, one "
        "fewer than names. `[50000, 10000]`: score >= 50000 is gold, >= 10000 silver, the rest bronze.",
    )
    current_weight: NonNegativeFloat = Field(0.5, description="Weight of current_value in the tier score.")
    potential_weight: NonNegativeFloat = Field(0.5, description="Weight of potential_value in the tier score.")

    @field_validator("method", mode="before")
    @classmethod
    def _score_is_not_a_method(cls, value: Any) -> Any:
        if value == "score":
            raise ValueError("`score` is not a method: every method cuts the weighted score (current_weight, "
                             "potential_weight); choose quantile or thresholds")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Tiers:
        problems = self._share_problems() if self.method == "quantile" else self._threshold_problems()
        if len(set(self.names)) != len(self.names):
            problems.append("names must be unique")
        if self.current_weight + self.potential_weight <= 0:
            problems.append("current_weight and potential_weight cannot both be 0")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _share_problems(self) -> list[str]:
        if self.thresholds is not None:
            return ["thresholds apply to method thresholds only (method is quantile, which uses shares)"]
        if len(self.shares) != len(self.names):
            return [f"shares has {len(self.shares)} values but names has {len(self.names)}"]
        if abs(sum(self.shares) - 1.0) > 1e-6:
            return [f"shares must add up to 1 (they add up to {sum(self.shares):g})"]
        return []

    def _threshold_problems(self) -> list[str]:
        problems = []
        if "shares" in self.model_fields_set:
            problems.append("shares apply to method quantile only (method is thresholds)")
        if self.thresholds is None:
            return [*problems, f"method thresholds needs `thresholds`: {len(self.names) - 1} decreasing score "
                    "edge(s), one fewer than names"]
        if len(self.thresholds) != len(self.names) - 1:
            problems.append(f"thresholds has {len(self.thresholds)} values but names has {len(self.names)}: give "
                            "one fewer threshold than names (the last tier has no lower edge)")
        problems += [f"thresholds must decrease (best tier first): {b:g} is not below {a:g}"
                     for a, b in pairwise(self.thresholds) if b >= a]
        return problems


Channel = Literal["field", "inside"]


class SectorService(StrictModel):
    """A tier's service for the customers of one sector: each value given replaces the tier's."""

    visits_per_cycle: NonNegativeFloat | None = Field(None, description="Visits per call cycle in this sector.")
    call_minutes: PositiveFloat | None = Field(None, description="Minutes per call in this sector.")
    channel: Channel | None = Field(None, description="`field` or `inside` in this sector.")


class ServiceLevel(StrictModel):
    """How a tier is served: visits per call cycle, minutes per call, channel, and per-sector exceptions."""

    visits_per_cycle: NonNegativeFloat = Field(description="Visits per call cycle.")
    call_minutes: PositiveFloat = Field(description="Minutes per call, before the team's factor.")
    channel: Channel = Field(
        "field", description="`field` (visited) or `inside` (served remotely, e.g. by a team with `covers: {columns: "
        "{channel: [inside]}}`). Each customer gets a `channel` column and a `channel_reason` (tier, min_order, "
        "far_shoulder or empty)."
    )
    min_order_value: NonNegativeFloat | None = Field(
        None, description="Customers whose current_value per visit, current_value / (visits_per_cycle x 52 / "
        "cycle_weeks), is below this are served by the inside channel (channel_reason `min_order`); null: no minimum."
    )
    by_sector: dict[str, SectorService] = Field(
        default_factory=dict, description="Per customer `sector`: `{visits_per_cycle, call_minutes, channel}` "
        "replacing this tier's values (any subset); a sector no customer has is a warning."
    )


class ServiceRaise(StrictModel):
    """More visits for the customers of segments that score well; applied after segmentation."""

    score: Literal["attractiveness", "competitiveness", "buyer_attractiveness"] = Field(
        description="Segment score the rule reads (0..100, as in segments.csv)."
    )
    at_least: Annotated[float, Field(ge=0, le=100)] = Field(description="Lowest score that earns the raise.")
    extra_visits: PositiveFloat = Field(
        description="Visits per cycle added to each customer of such a segment; rules that hold add up."
    )


def default_service() -> dict[str, ServiceLevel]:
    return {
        "gold": ServiceLevel(visits_per_cycle=4, call_minutes=45),
        "silver": ServiceLevel(visits_per_cycle=2, call_minutes=30),
        "bronze": ServiceLevel(visits_per_cycle=1, call_minutes=20),
    }


class SegmentScores(StrictModel):
    """Weights of each segment score's inputs (each input is normalised 0..1 across segments; 0 drops it)."""

    value: NonNegativeFloat = Field(0.4, description="Attractiveness: weight of the segment's total current value.")
    potential: NonNegativeFloat = Field(0.4, description="Attractiveness: weight of its total potential value.")
    growth: NonNegativeFloat = Field(0.2, description="Attractiveness: weight of headroom (potential - value) / "
                                                     "potential.")
    share_of_wallet: NonNegativeFloat = Field(1.0, description="Competitiveness: weight of value / potential.")
    win_rate: NonNegativeFloat = Field(0.0, description="Competitiveness: weight of the mean `win_rate` column.")
    buyer_columns: dict[str, NonNegativeFloat] = Field(
        default_factory=dict,
        description="Attractiveness to buyers: customer columns (e.g. satisfaction) and their weights.",
    )


class KeyAccounts(StrictModel):
    """Who counts as a key account (carved out to the key-account/project team by `covers: {key_account: true}`)."""

    flag: str | None = Field("key_account", description="Boolean customer column marking key accounts (if present).")
    top_n_by_value: Annotated[int, Field(ge=0)] = Field(
        0, description="Also the N customers with the highest current value."
    )
    products: list[str] = Field(
        default_factory=list, description="Also customers buying any of these product lines (novelties, projects)."
    )


class Segments(StrictModel):
    """Micro-segments: customers grouped by key columns, small groups merged, each group scored."""

    columns: list[str] = Field(
        default_factory=lambda: ["product_version", "payment_format", "sales_approach"],
        description="Key columns (the sector is always the first key); missing columns are skipped with a warning.",
    )
    min_size: Annotated[int, Field(ge=1)] = Field(
        30, description="Segments smaller than this merge into the most similar larger one of the same sector."
    )
    scores: SegmentScores = Field(default_factory=SegmentScores, description="How segments are scored.")


class UnitsConfig(StrictModel):
    source: Literal["auto", "layer", "column", "h3", "off"] = Field(
        "auto", description="Where alignment units come from: auto = the units layer if given, else the "
        "customers' unit_id column if present, else H3 cells made from the customers; off = no units (territories "
        "are customer by customer, contiguity not applied).")

    @field_validator("source", mode="before")
    @classmethod
    def _off_unquoted(cls, value: Any) -> Any:
        """YAML reads a bare `off` as false: `units: {source: off}` means what it says."""
        return "off" if value is False else value

    start_resolution: Annotated[int, Field(ge=0, le=15)] = Field(
        5, description="H3 units: the coarsest resolution (5: cells of about 250 km2).")
    finest_resolution: Annotated[int, Field(ge=0, le=15)] = Field(
        9, description="H3 units: the finest resolution a crowded cell is split down to (9: about 0.1 km2); a cell "
        "still crowded there is cut in halves across its longer side (customers at one address stay together).")
    max_share: Annotated[float, Field(gt=0, le=1)] = Field(
        0.05, description="H3 units: a cell holding more than this share of an average rep's customers (all "
        "teams' customers over all reps) is split into its children.")

    @model_validator(mode="after")
    def _resolutions_in_order(self) -> UnitsConfig:
        if self.finest_resolution < self.start_resolution:
            raise ValueError("units.finest_resolution must be at least units.start_resolution")
        return self
