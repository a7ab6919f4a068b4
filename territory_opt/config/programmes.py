"""Tiered account programmes (`programmes:`): per tier, what the company offers (the service offer: visits, call
minutes, channel, minimum order, order frequency) and what the customer earns by its own behaviour (the trading
terms: payment days, rebate ladders on payment timeliness, order regularity or share of wallet), with the constants
of the profitability view (margin, cost per hour, cost per order).

The rules themselves are in `prepare/programmes.py`; this module only describes and checks them.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from .base import NAME_PATTERN, NonNegativeFloat, PositiveFloat, StrictModel
from .policy import ServiceLevel
from .teams import Covers

Channel = Literal["field", "inside"]
# behaviour a rebate ladder may read: (higher is better, lowest value, highest value)
BEHAVIOURS: dict[str, tuple[bool, float, float]] = {
    "on_time_share": (True, 0.0, 1.0),
    "days_late": (False, 0.0, 365.0),
    "orders_per_year": (True, 0.0, 10_000.0),
    "share_of_wallet": (True, 0.0, 1.0),
}
MAX_REBATE_PCT = 50.0


class RebateLadder(StrictModel):
    """One rebate ladder: a behaviour's thresholds, best band first, and the rebate each band earns."""

    on_time_share: list[float] | None = Field(
        None, description="Thresholds on the customer's `on_time_share` (share of invoices paid on time, 0..1), "
        "best first and strictly decreasing: a customer at or above a threshold earns its band.")
    days_late: list[float] | None = Field(
        None, description="Thresholds on the customer's `days_late` (mean days paid after the due date), best "
        "first and strictly increasing: a customer at or below a threshold earns its band.")
    orders_per_year: list[float] | None = Field(
        None, description="Thresholds on the customer's `orders_per_year` (order regularity), best first and "
        "strictly decreasing: at or above earns the band.")
    share_of_wallet: list[float] | None = Field(
        None, description="Thresholds on share of wallet, current_value / potential_value (0..1, capped at 1), best "
        "first and strictly decreasing: at or above earns the band.")
    rebate_pct: list[Annotated[float, Field(gt=0, le=MAX_REBATE_PCT, allow_inf_nan=False)]] = Field(
        description="Rebate in % of current_value per band, best band first (not increasing), one per threshold; "
        "below the last threshold, or with the behaviour unknown, the base band earns no rebate.")

    @property
    def behaviour(self) -> str:
        """The one behaviour this ladder reads."""
        return next(name for name in BEHAVIOURS if getattr(self, name) is not None)

    @property
    def thresholds(self) -> list[float]:
        values = getattr(self, self.behaviour)
        assert values is not None
        return list(values)

    @model_validator(mode="after")
    def _one_monotone_ladder(self) -> RebateLadder:
        given = [name for name in BEHAVIOURS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a rebate ladder reads exactly one behaviour of {', '.join(BEHAVIOURS)} (got "
                             f"{', '.join(given) or 'none'})")
        name = given[0]
        higher_better, low, high = BEHAVIOURS[name]
        values = self.thresholds
        problems = []
        if not values:
            problems.append(f"{name}: give at least one threshold")
        if len(values) != len(self.rebate_pct):
            problems.append(f"{name} has {len(values)} thresholds but rebate_pct has {len(self.rebate_pct)} values: "
                            "one rebate per threshold")
        for v in values:
            if not low <= v <= high or v != v:
                problems.append(f"{name}: threshold {v:g} is outside [{low:g}, {high:g}]")
        order = "decreasing" if higher_better else "increasing"
        for a, b in pairwise(values):
            if (b >= a) if higher_better else (b <= a):
                problems.append(f"{name}: thresholds must be strictly {order}, best band first ({b:g} after {a:g})")
        for a, b in pairwise(self.rebate_pct):
            if b > a:
                problems.append(f"rebate_pct must not increase from the best band down ({b:g} after {a:g})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Offer(StrictModel):
    """What the company offers a tier (behaviour it controls). Visits, minutes and channel replace the tier's
    `service:` values; the order keys describe the offer and feed the profitability view."""

    visits_per_cycle: NonNegativeFloat | None = Field(
        None, description="Visits per call cycle (replaces `service.<tier>.visits_per_cycle`).")
    call_minutes: PositiveFloat | None = Field(
        None, description="Minutes per call, before the team's factor (replaces `service.<tier>.call_minutes`).")
    channel: Channel | None = Field(None, description="`field` or `inside` (replaces `service.<tier>.channel`).")
    order_min_value: NonNegativeFloat | None = Field(
        None, description="Minimum value of one order the programme accepts (in current_value's currency), shown in "
        "programmes.csv. Not the routing rule `service.<tier>.min_order_value` (inside by value per visit).")
    order_min_qty: NonNegativeFloat | None = Field(
        None, description="Minimum quantity (units) of one order; shown in programmes.csv.")
    orders_per_year: PositiveFloat | None = Field(
        None, description="Order frequency the programme offers (deliveries per year); the cost estimate uses it "
        "for customers without `orders_per_year` or `avg_order_value`.")


def _one_or_many(value: Any) -> Any:
    """`rebates: {...}` is shorthand for a list of one ladder."""
    return [value] if isinstance(value, dict | RebateLadder) else value


class Terms(StrictModel):
    """What the customer earns by its own behaviour: payment terms and rebate ladders."""

    payment_days: Annotated[int, Field(ge=0, le=365)] | None = Field(
        None, description="Payment terms in days (0: prepayment).")
    rebates: Annotated[list[RebateLadder], BeforeValidator(
        _one_or_many, json_schema_input_type=RebateLadder | list[RebateLadder])] = Field(
        default_factory=list, description="Rebate ladders, e.g. `{on_time_share: [0.95, 0.8], rebate_pct: [3, 1]}`; "
        "one mapping or a list, whose rebates add up.")


class SectorProgramme(StrictModel):
    """A tier's programme for the customers of one sector: each key given replaces the tier's."""

    name: str | None = Field(None, pattern=NAME_PATTERN, description="Programme name in this sector (default: "
                             "the tier's).")
    offer: Offer = Field(default_factory=Offer, description="Offer keys replacing the tier's.")
    terms: Terms | None = Field(None, description="Trading terms replacing the tier's whole terms.")


class SegmentProgramme(StrictModel):
    """A variant for the customers matching a `covers` block (segment key columns such as payment_format or
    sales_approach, `segment_id`, or any customer column): the first matching entry is laid over the tier's (and
    sector's) programme."""

    covers: Covers = Field(description="Which customers: the same conditions as a team's `covers`, e.g. `{columns: "
                           "{payment_format: [cash]}}` or `{columns: {segment_id: [...]}}`.")
    name: str | None = Field(None, pattern=NAME_PATTERN, description="Programme name for them (default: the tier's "
                             "or sector's).")
    offer: Offer = Field(default_factory=Offer, description="Order keys replacing the tier's (order_min_value, "
                         "order_min_qty, orders_per_year); visits, minutes and channel are set per tier or sector.")
    terms: Terms | None = Field(None, description="Trading terms replacing the tier's (or sector's) whole terms.")

    @model_validator(mode="after")
    def _order_keys_only(self) -> SegmentProgramme:
        fixed = [k for k in ("visits_per_cycle", "call_minutes", "channel") if getattr(self.offer, k) is not None]
        if fixed:
            raise ValueError(f"offer.{', '.join(fixed)}: set per tier or sector (the workload is decided before "
                             "segments exist); a segment variant may change the order keys and the terms")
        return self


class Programme(StrictModel):
    """One tier's programme: a name, the service offer and the trading terms, with per-sector exceptions."""

    name: str = Field(pattern=NAME_PATTERN, description="Programme name, as programmes.csv and the report show it.")
    offer: Offer = Field(default_factory=Offer, description="The service offer (behaviour the company controls).")
    terms: Terms = Field(default_factory=Terms, description="The trading terms (behaviour the customer controls).")
    by_sector: dict[str, SectorProgramme] = Field(
        default_factory=dict, description="Per customer `sector`: a variant of this programme (any subset of name, "
        "offer, terms).")
    by_segment: list[SegmentProgramme] = Field(
        default_factory=list, description="Variants for customer segments, tried in order (the first match wins, "
        "over the sector's variant).")


class Programmes(StrictModel):
    """Tiered account programmes and the constants of the profitability view (contribution after cost to serve)."""

    tiers: dict[str, Programme] = Field(
        default_factory=dict, description="Programme per tier name; a tier without one gets no programme (`none`: "
        "no payment terms, no rebate), its customers are still costed and flagged.")
    margin_pct: Annotated[float, Field(ge=0, le=1)] = Field(
        0.25, description="Gross margin as a share of current_value: margin = current_value x margin_pct.")
    field_hour_cost: NonNegativeFloat = Field(
        60.0, description="Cost of one hour of a travelling team (calls and the drive estimate), in current_value's "
        "currency.")
    inside_hour_cost: NonNegativeFloat = Field(
        35.0, description="Cost of one hour of a phone team (travel_weight 0).")
    order_cost: NonNegativeFloat = Field(
        10.0, description="Handling cost of one order (picking, delivery, invoice).")
    default_orders_per_year: NonNegativeFloat = Field(
        12.0, description="Orders per year assumed for a customer with neither `orders_per_year`, `avg_order_value` "
        "nor an offered frequency (`offer.orders_per_year`).")
    flag_below: float = Field(
        0.0, allow_inf_nan=False, description="A customer with sales whose contribution (margin - cost to serve - "
        "rebate) is below this is flagged `unprofitable`; customers without sales (current_value 0) are prospects, "
        "never flagged.")


def merged_service(service: dict[str, ServiceLevel], programmes: Programmes | None,
                   tier_names: list[str]) -> tuple[dict[str, ServiceLevel], list[str]]:
    """The service level per tier the run uses: `service:` (the old keys, still read), with each programme's offer
    laid over it (visits, minutes, channel; per sector too). Returns the levels and the tiers left without
    `visits_per_cycle` or `call_minutes` (a problem for the scenario's cross-check)."""
    levels: dict[str, ServiceLevel] = {}
    incomplete: list[str] = []
    for tier in tier_names:
        base = service[tier].model_dump(exclude_none=True) if tier in service else {}
        programme = None if programmes is None else programmes.tiers.get(tier)
        if programme is not None:
            base.update(_service_keys(programme.offer))
            sectors: dict[str, Any] = {k: dict(v) for k, v in base.get("by_sector", {}).items()}
            for sector, variant in programme.by_sector.items():
                keys = _service_keys(variant.offer)
                if keys:
                    sectors[sector] = {**sectors.get(sector, {}), **keys}
            base["by_sector"] = sectors
        if "visits_per_cycle" not in base or "call_minutes" not in base:
            incomplete.append(tier)
            continue
        levels[tier] = ServiceLevel.model_validate(base)
    return levels, incomplete


def _service_keys(offer: Offer) -> dict[str, Any]:
    return {k: v for k in ("visits_per_cycle", "call_minutes", "channel") if (v := getattr(offer, k)) is not None}
