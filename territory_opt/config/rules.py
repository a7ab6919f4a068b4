"""The rules every alignment keeps (balance, contact caps, continuity, boundaries), the data-quality warnings
and the hierarchy territories roll up to."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import MAX_INT, NonNegativeFloat, PositiveFloat, StrictModel, Weight
from .teams import Covers


class CapOverride(StrictModel):
    """A contact cap for the customers one `covers` block selects."""

    covers: Covers = Field(description="Which customers (same conditions as a team's `covers`).")
    max_reps: Annotated[int, Field(ge=1, le=MAX_INT)] = Field(
        description="At most this many different reps call on them.")


class Rules(StrictModel):
    balance_tolerance: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        0.10, description="Each rep's workload stays within (1 +/- tolerance) x its target (null: workload is only "
        "held under capacity_hours)."
    )
    balance_metrics: dict[Literal["value", "potential", "accounts"], Annotated[float, Field(ge=0, lt=1)]] = Field(
        default_factory=dict,
        description="More metrics to balance, each with its own tolerance, e.g. `{value: 0.2, accounts: 0.25}`: "
        "each rep's total current_value, potential_value or number of accounts (customer-team pairs) stays within "
        "(1 +/- tolerance) x its share (shares follow capacity_hours like workload).",
    )
    max_reps_per_customer: Annotated[int, Field(ge=1, le=MAX_INT)] = Field(
        2, description="At most this many different reps call on one customer."
    )
    max_reps_overrides: list[CapOverride] = Field(
        default_factory=list,
        description="Other contact caps for some customers, e.g. `[{covers: {sectors: [horeca]}, max_reps: 1}]`; "
        "the first matching entry wins, and a customer's own `max_reps` column wins over all.",
    )
    candidate_reps: Annotated[int, Field(ge=1)] = Field(
        8, description="Each customer considers only its k nearest reps of a team; grown when infeasible."
    )
    detour_factor: Annotated[float, Field(ge=1, le=10)] = Field(
        1.3, description="Road distance = straight-line distance x this factor."
    )
    boundaries: list[Literal["distributor", "depot"]] = Field(
        default_factory=list,
        description="Hard boundaries no territory crosses: each rep works within one distributor footprint and/or "
        "one depot's area (teams may override).",
    )
    max_moved_customers: Annotated[int, Field(ge=0)] | None = Field(
        None,
        description="Continuity as a hard rule: at most this many (customer, team) pairs may leave their "
        "`current_rep_id` (null: no limit; see continuity_weight for the soft version).",
    )
    max_moved_value: NonNegativeFloat | None = Field(
        None,
        description="Continuity by value, as a hard rule: the (customer, team) pairs that leave their "
        "`current_rep_id` hold at most this much current_value in total (null: no limit).",
    )
    contiguity_weight: Weight = Field(
        0.0,
        description="Soft contiguity: a customer whose neighbours mostly belong to another rep of the team moves "
        "to that rep when it costs at most this many visit-kilometres and every hard rule still holds "
        "(0: off). territories.geojson gives each territory's parts, kpis.json how many have several.",
    )
    outside_footprint: Literal["nearest", "inside", "error"] = Field(
        "nearest",
        description="Customers outside every distributor footprint: served through the nearest footprint, sent to "
        "the inside channel, or refused as an input error.",
    )
    precedence: list[str] | None = Field(
        None,
        description="Team order applied when a customer needs more teams than max_reps_per_customer: the last "
        "teams are dropped and their lines (and workload) go to the customer's first kept team, e.g. the key-account "
        "rep absorbs the specialist lines. Default: the order of `teams`. Every case is listed in contact_cap.csv.",
    )
    continuity_weight: Weight | None = Field(
        None,
        description="Cost of moving a (customer, team) pair away from its current rep, in visit-kilometres (0: "
        "continuity is ignored). Default (null): 20 when customers.csv names a `current_rep_id` for any customer "
        "of a team that may keep that rep, else 0. With `run --previous`, the previous run's reps are the "
        "baseline (customers it did not have keep current_rep_id) and the default is 120: a plan this tool made "
        "last night moves only where tonight's data gives a reason.",
    )
    balance_weight: Weight = Field(
        0.0,
        description="Soft balance inside the tolerance band: cost of each hour a rep's workload lies off its "
        "target, in visit-kilometres (0: any workload inside the band is as good as any other, and travel "
        "savings push loads to the band's edges).",
    )


class Quality(StrictModel):
    """Thresholds of the data-quality warnings (warnings.csv, the report; `run --strict` fails on any)."""

    far_km: PositiveFloat = Field(
        150.0, description="Warn about customers farther than this (road km) from every rep who may serve them.")
    change_threshold: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        0.2, description="Warn when customers, reps, needs, total workload or total value move by more than this "
        "share against the previous run (`run --previous`).")
    outlier_factor: PositiveFloat = Field(
        3.0, description="Warn (far_from_own_rep) about a customer of a travelling team whose road km to its rep's "
        "home pass this many times the median of that rep's customers (and quality.outlier_min_km).")
    outlier_min_km: NonNegativeFloat = Field(
        40.0, description="... and pass this many road km: nearby customers are never outliers.")
    full_share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = Field(
        0.92, description="Warn about a team that travels planned above this share of its reps' capacity_hours "
        "(calls and estimated drive): whole visits need some of each month free to pack into days, so its call "
        "plan would leave visits without a day (on the demo, reps planned below 93 % kept none, above 96 % nearly "
        "all kept some).")
    fail_on_change: bool | None = Field(
        None, description="Fail the run (exit 2, nothing written, `latest` kept) instead of warning when a count or "
        "total moved past change_threshold against the previous run, or the previous run's kpis.json cannot be "
        "read: a truncated nightly extract never replaces last night's answer. Default (null): true with "
        "`output.layout: runs` (the nightly layout), false otherwise. Other warnings still only warn (`--strict` "
        "fails on all).")

    def fails_on_change(self, layout: str) -> bool:
        """Whether a change past the threshold fails the run, under this output layout."""
        return self.fail_on_change if self.fail_on_change is not None else layout == "runs"


class Hierarchy(StrictModel):
    """Territories roll up to districts and regions: from reps.csv's `district` and `region` columns, or named here
    (a rep's own column wins; a district's region here fills reps without one)."""

    districts: dict[str, list[str]] = Field(
        default_factory=dict, description="District name: the rep ids in it, e.g. `{Poznan: [FLD01, FLD02]}`.")
    regions: dict[str, list[str]] = Field(
        default_factory=dict, description="Region name: the district names in it, e.g. `{West: [Poznan, Leszno]}`.")

    @model_validator(mode="after")
    def _each_once(self) -> Hierarchy:
        for level, groups in (("districts", self.districts), ("regions", self.regions)):
            seen: dict[str, str] = {}
            for name, members in groups.items():
                for member in members:
                    if member in seen and seen[member] != name:
                        raise ValueError(f"{level}: {member!r} is in both {seen[member]!r} and {name!r}")
                    seen[member] = name
        return self
