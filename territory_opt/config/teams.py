"""Sales teams: which customers each covers, and the team structure a strategy implies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from .base import MAX_INT, NAME_PATTERN, PositiveFloat, StrictModel, Weight


class Covers(StrictModel):
    """Which customers a team covers; all conditions given must hold (an empty block covers everyone)."""

    sectors: list[str] | None = Field(None, description="Customer `sector` values this team covers.")
    tiers: list[str] | None = Field(None, description="Value tiers this team covers.")
    key_account: bool | None = Field(None, description="Only key accounts (true) or only the others (false).")
    channels: list[Literal["field", "inside"]] | None = Field(
        None, description="Service channel from the tier's policy (`inside` for phone/remote selling)."
    )
    shoulder_bands: list[str] | None = Field(None, description="Logistical shoulder bands (e.g. `[far]`).")
    distributors: list[str] | None = Field(None, description="Distributor footprints (`distributor_id` values).")
    columns: dict[str, list[str]] = Field(
        default_factory=dict, description="Any other customer column and the values it must take."
    )


def _one_or_many(value: Any) -> Any:
    """`covers: {...}` is shorthand for a list of one block."""
    return [value] if isinstance(value, dict | Covers) else value


class Team(StrictModel):
    name: str = Field(pattern=NAME_PATTERN, description="Team name; reps.csv's `team` column refers to it.")
    covers: Annotated[list[Covers], BeforeValidator(_one_or_many, json_schema_input_type=Covers | list[Covers])] = \
        Field(default_factory=lambda: [Covers()],
              description="Which customers the team must cover: one block, or a list of blocks of which any may match "
              "(e.g. the bottom tier or the far shoulder).")
    exclusive: bool = Field(
        False,
        description="A customer this team covers is covered by no later team (carve-outs: key accounts, "
        "inside sales). Teams are matched in the order listed.",
    )
    reps: list[str] | None = Field(
        None, description="Rep ids of this team; by default the roster rows whose `team` names it."
    )
    call_minutes_factor: PositiveFloat = Field(
        1.0, description="Multiplies the tier's call minutes for this team (e.g. 0.5 for phone calls)."
    )
    products: list[str] | None = Field(
        None,
        description="Product lines this team sells. With it, a rep may serve a customer only if the rep's `products` "
        "(roster column; blank = every line) include each of these lines the customer buys (skills).",
    )
    boundaries: list[Literal["distributor", "depot"]] | None = Field(
        None,
        description="Hard boundaries this team's territories never cross (default: rules.boundaries). A rep with "
        "a `distributor_id`/`depot_id` in the roster is pinned to that area; the model places the others.",
    )
    travel_weight: Weight = Field(
        1.0, description="Weight of travel in the objective for this team (0 for inside sales)."
    )
    contiguous: bool = Field(
        True, description="Each rep's territory is one connected piece of alignment units (units.source off: "
        "not applied).")
    max_customers: Annotated[int, Field(ge=1, le=MAX_INT)] | None = Field(
        None, description="Hard rule: each rep of this team serves at most this many of the team's customers "
        "(null: no limit)."
    )
    max_km: PositiveFloat | None = Field(
        None, description="Hard rule: a rep of this team serves a customer only within this many road km (straight "
        "line x rules.detour_factor) of the rep's home (null: no limit)."
    )


def _is_generalist(team: Team) -> bool:
    return all(block == Covers() for block in team.covers)


def strategy_problems(strategy: str | None, teams: list[Team]) -> list[str]:
    """The team structure a strategy implies; one message per mismatch."""
    field = [t for t in teams if not t.exclusive]
    generalists = [t.name for t in field if _is_generalist(t)]
    specialists = [t for t in field if not _is_generalist(t)]
    if strategy == "geographic" and (len(field) != 1 or not generalists):
        return [f"strategy geographic: expected one generalist field team, found {[t.name for t in field]}"]
    if strategy == "hybrid" and (len(generalists) != 1 or not specialists):
        return [f"strategy hybrid: expected one generalist team plus specialist overlays, found generalists "
                f"{generalists} and specialists {[t.name for t in specialists]}"]
    if strategy == "sector":
        problems = [f"strategy sector: team {t.name!r} must cover a list of sectors (and nothing else)"
                    for t in field if any(b.sectors is None for b in t.covers)]
        seen: dict[str, str] = {}
        for team in field:
            for sector in (s for b in team.covers for s in (b.sectors or [])):
                if sector in seen and seen[sector] != team.name:
                    problems.append(f"strategy sector: sector {sector!r} is covered by both {seen[sector]!r} "
                                    f"and {team.name!r}")
                seen[sector] = team.name
        return problems
    return []
