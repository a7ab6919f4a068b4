"""The scenario: a frozen, strictly validated description of one territory run.

Every model forbids unknown keys, so a typo in the YAML is an error rather than a silently ignored setting, and
every problem is reported at once with its location (`teams[2].covers.tiers`), not just the first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ConfigError, Finding

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# finite: an infinite visit count, speed or weight would only fail deep inside the solver
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
MAX_INT = 2**31 - 1  # counts and seeds the solvers take as 32-bit integers
Weight = Annotated[float, Field(ge=0, le=1e6)]  # objective weights: far beyond any use, inside 64-bit costs


class StrictModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _resolve(path: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if base is not None and not path.is_absolute():
        return Path(base) / path
    return path


DATABASE_SCHEMES = ("postgresql", "postgres")
SqlParam = str | int | float | bool | None


def is_database_url(value: object) -> bool:
    """`postgresql://...` (or `postgres://`): an input or output that lives in PostgreSQL/PostGIS."""
    return isinstance(value, str) and value.split("://", 1)[0].lower() in DATABASE_SCHEMES and "://" in value


def database_url_problem(url: str) -> str | None:
    """Why a database URL may not be used, or None. Passwords never live in a scenario (it is shared, versioned and
    copied into run folders): libpq reads them from PGPASSWORD, PGPASSFILE or ~/.pgpass."""
    if not is_database_url(url):
        return f"{url!r} is not a postgresql:// URL"
    parts = urlsplit(url)
    keys = {key.strip().lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}  # %-escapes decoded
    if parts.password is not None or "password" in keys:
        return ("the URL holds a password; remove it and give it in PGPASSWORD or a .pgpass file "
                "(passwords never go in the scenario)")
    try:
        port = parts.port  # None when not given; raises on a port that is not a number from 0 to 65535
    except ValueError:
        port = 0
    if port == 0:
        return f"the URL's port is not a number from 1 to 65535 ({safe_url(url)})"
    return None


def safe_url(url: str) -> str:
    """The URL as shown in messages, the manifest and logs: scheme, user, host, port and database only."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class LayerSource(StrictModel):
    """One input layer: a file (CSV with lon/lat, GeoJSON, GeoPackage, Parquet/GeoParquet, Shapefile), or a
    PostgreSQL/PostGIS table or query."""

    path: Path | None = Field(None, description="File path, relative to the scenario file (a bare path is "
                              "shorthand for `{path: ...}`). Give `path` or `url`, not both.")
    layer: str | None = Field(None, description="Layer name inside a multi-layer file (GeoPackage).")
    lon: str = Field("lon", description="Longitude column of a CSV, plain Parquet file or a table without "
                     "geometry (WGS84 degrees).")
    lat: str = Field("lat", description="Latitude column of a CSV, plain Parquet file or a table without "
                     "geometry (WGS84 degrees).")
    url: str | None = Field(None, description="A database instead of a file: `postgresql://[user@]host[:port]/"
                            "database`. Credentials come only from libpq's environment (PGUSER, PGPASSWORD, "
                            "PGPASSFILE) or ~/.pgpass; a URL with a password is refused.")
    table: str | None = Field(None, description="Database: the table (or view) to read, `[schema.]name` "
                              "(identifiers are quoted, so case and spaces are kept). Give `table` or `query`.")
    query: str | None = Field(None, description="Database: a SELECT to read instead of a table; values go in "
                              "`params` as `:name` placeholders, never pasted into the text.")
    params: dict[str, SqlParam] = Field(default_factory=dict, description="Database: values bound to the "
                                        "query's `:name` placeholders.")
    geometry: str = Field("geom", description="Database: the geometry column (read with geopandas, CRS from its "
                          "SRID); when the result has no such column, `lon`/`lat` columns are used.")

    @field_validator("path")
    @classmethod
    def _resolve_path(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    @model_validator(mode="after")
    def _one_source(self) -> LayerSource:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either path (a file) or url (a postgresql:// database), not both")
        if self.url is None:
            if self.table is not None or self.query is not None or self.params:
                raise ValueError("table, query and params need url (a postgresql:// database)")
            return self
        problem = database_url_problem(self.url)
        if problem:
            raise ValueError(problem)
        if (self.table is None) == (self.query is None):
            raise ValueError("a database input needs either table or query (not both)")
        if self.table is not None and not self.table.strip():
            raise ValueError("table is empty")
        if self.table is not None and self.params:
            raise ValueError("params only apply to query")
        return self

    @property
    def label(self) -> str:
        """How messages name this input: the file path, or the database (no credentials) and table or query."""
        if self.path is not None:  # two layers of one GeoPackage are told apart
            return str(self.path) + (f" layer {self.layer}" if self.layer else "")
        what = f"table {self.table}" if self.table is not None else "query"
        return f"{safe_url(str(self.url))} {what}"

    @property
    def first_row(self) -> int:
        """Row number of the layer's first record in messages: 2 in a CSV (its header is row 1), else 1 (feature 1,
        or the first row of a database table sorted by id)."""
        return first_row_of(self.path)


CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})


def first_row_of(path: Path | None) -> int:
    """Row number of a file's first record in messages (see `LayerSource.first_row`)."""
    return 2 if path is not None and path.suffix.lower() in CSV_SUFFIXES else 1


def _layer_shorthand(value: Any) -> Any:
    """Allow `customers: data/customers.csv` as well as `customers: {path: ...}` (and a bare URL for `url`)."""
    if is_database_url(value):
        return {"url": value}
    if isinstance(value, str | Path):
        return {"path": value}
    return value


# the schema (`territory-opt schema`) admits the shorthand too, so editors accept the sample scenarios
LayerInput = Annotated[LayerSource, BeforeValidator(_layer_shorthand, json_schema_input_type=str | LayerSource)]


class Inputs(StrictModel):
    customers: LayerInput = Field(description="Outlets: customer_id, location, sector, current_value, "
                                  "potential_value (required).")
    reps: LayerInput = Field(description="Rep roster: rep_id, home location, team (required).")
    depots: LayerInput | None = Field(None, description="Depot points with depot_id.")
    routes: LayerInput | None = Field(None, description="Delivery network LineStrings (depot_id, speed_kmh).")
    distributors: LayerInput | None = Field(None, description="Distributor footprint polygons with distributor_id.")


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


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


def _default_service() -> dict[str, ServiceLevel]:
    return {
        "gold": ServiceLevel(visits_per_cycle=4, call_minutes=45),
        "silver": ServiceLevel(visits_per_cycle=2, call_minutes=30),
        "bronze": ServiceLevel(visits_per_cycle=1, call_minutes=20),
    }


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
    continuity_weight: Weight = Field(
        0.0,
        description="Cost of moving a customer away from its current rep, in visit-kilometres "
        "(0: continuity is ignored).",
    )
    balance_weight: Weight = Field(
        0.0,
        description="Soft balance inside the tolerance band: cost of each hour a rep's workload lies off its "
        "target, in visit-kilometres (0: any workload inside the band is as good as any other, and travel "
        "savings push loads to the band's edges).",
    )


def _default_bands() -> dict[str, float | None]:
    return {"near": 25.0, "mid": 60.0, "far": None}


class Routing(StrictModel):
    """Call-cycle routing: each rep's visits planned on days and routed from home, drive time fed back into balance."""

    enabled: bool = Field(False, description="Plan routes (routes.geojson, schedule.csv, drive hours in reps.csv).")
    days_per_week: Annotated[int, Field(ge=1, le=7)] = Field(5, description="Working days per week of the cycle.")
    day_start: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                           description="When a working day starts (HH:MM): schedule.csv times and opening hours.")
    day_hours: Annotated[float, Field(gt=0, le=24)] = Field(
        9.0, description="From leaving home to being back, break included.")
    break_minutes: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        30.0, description="Break time inside each working day.")
    speed_kmh: PositiveFloat | None = Field(
        None, description="Average road speed between calls (straight line x rules.detour_factor at this speed); "
        "default: logistics.default_speed_kmh.")
    rebalance_rounds: Annotated[int, Field(ge=0, le=10)] = Field(
        2, description="Rounds of assign -> route -> re-assign with each rep's measured drive time in its workload "
        "(0: route once, balance on call hours only).")
    rebalance_threshold: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.02, description="Stop the rounds once no rep's drive time changes by more than this share of its work.")
    workers: Annotated[int, Field(ge=1, le=64)] = Field(1, description="Processes routing reps in parallel.")
    solution_limit: Annotated[int, Field(ge=1, le=MAX_INT)] = Field(
        500, description="Improving moves per day route (a count, not a clock, so plans are reproducible).")
    travel: Literal["straight", "network", "matrix"] = Field(
        "straight", description="How drive time between calls is found: `straight` (straight line x "
        "rules.detour_factor at speed_kmh), `network` (along inputs.routes, with straight legs at "
        "logistics.leg_speed_kmh onto it, or the straight local road at that speed when quicker), `matrix` (the "
        "file in travel_matrix).")
    travel_matrix: Path | None = Field(
        None, description="With travel: matrix, a CSV or Parquet file of from_id, to_id, seconds (or minutes) and "
        "optionally metres (or km); ids are customer ids or rep ids (a rep's home). Pairs it lacks take the reverse "
        "pair, else the straight-line estimate; kpis.json counts them.")

    @field_validator("travel_matrix")
    @classmethod
    def _resolve_matrix(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    @model_validator(mode="after")
    def _matrix_given(self) -> Routing:
        if self.travel == "matrix" and self.travel_matrix is None:
            raise ValueError("travel: matrix needs travel_matrix (a CSV or Parquet file)")
        return self


class Logistics(StrictModel):
    """The logistical shoulder: each customer's distance and time from its serving depot along the route network."""

    snap_tolerance_m: NonNegativeFloat = Field(
        50.0, description="A route line ending this close to another line is joined to it by a straight edge of the "
        "gap (digitising gaps); 0 joins nothing."
    )
    default_speed_kmh: PositiveFloat = Field(
        60.0, description="Speed on route lines without `speed_kmh`, and on the road distance estimated as straight "
        "line x `rules.detour_factor` (no routes, or a customer whose part of the network reaches no depot)."
    )
    leg_speed_kmh: PositiveFloat = Field(
        30.0, description="Speed on the straight legs from a depot or customer to its nearest network point."
    )
    bands: dict[Annotated[str, Field(pattern=NAME_PATTERN)], PositiveFloat | None] = Field(
        default_factory=_default_bands,
        description="Shoulder bands in order, name: upper edge in km; a shoulder on an edge falls in the next band, "
        "the last band has no edge (null). Default `{near: 25, mid: 60, far: null}`: near < 25 km <= mid < 60 km <= "
        "far.",
    )
    inside_beyond_km: PositiveFloat | None = Field(
        None, description="Customers whose shoulder_km exceeds this are served by the inside channel "
        "(channel_reason `far_shoulder`); null: no limit. Needs depots (without them no customer has a shoulder)."
    )

    @field_validator("bands")
    @classmethod
    def _increasing_edges(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        if not value:
            raise ValueError("give at least one band")
        names, edges = list(value), list(value.values())
        if edges[-1] is not None:
            raise ValueError(f"the last band ({names[-1]}) is unbounded: give it null, not {edges[-1]:g}")
        problems = [f"band {name} has no upper edge (only the last band may be null)"
                    for name, edge in zip(names[:-1], edges[:-1], strict=True) if edge is None]
        bounded = [(n, e) for n, e in zip(names[:-1], edges[:-1], strict=True) if e is not None]
        problems += [f"upper edges must increase: {b} ({eb:g} km) is not above {a} ({ea:g} km)"
                     for (a, ea), (b, eb) in pairwise(bounded) if eb <= ea]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @property
    def band_names(self) -> list[str]:
        return list(self.bands)

    @property
    def band_upper_km(self) -> list[float]:
        """Upper edges of every band but the last (which is unbounded)."""
        return [float(e) for e in list(self.bands.values())[:-1] if e is not None]


class Solver(StrictModel):
    time_limit_s: PositiveFloat = Field(
        60.0,
        description="Work budget of the optimiser in CP-SAT deterministic seconds (close to wall seconds on one "
        "core). A work budget, not a clock, keeps runs reproducible; a wall-clock safety stop ends the search at "
        "3 x budget + 30 s on a very slow machine.",
    )
    seed: int = Field(0, ge=0, le=MAX_INT, description="Random seed; the same inputs and seed give the same outputs.")
    workers: Annotated[int, Field(ge=1, le=64)] = Field(
        1, description="CP-SAT search workers; several interleave deterministically, so answers stay reproducible."
    )


class DatabaseOutput(StrictModel):
    """Results written to PostgreSQL/PostGIS as well as the output folder, in one transaction: readers see the
    previous answer until the new one is complete, and a failed write leaves the tables (and the folder) as they
    were."""

    url: str = Field(description="`postgresql://[user@]host[:port]/database`; credentials only from PGUSER, "
                     "PGPASSWORD, PGPASSFILE or ~/.pgpass (a URL with a password is refused).")
    db_schema: str | None = Field(None, alias="schema", description="Schema of the tables (created when missing); "
                                  "default: the connection's search_path (usually public).")
    assignments: str = Field("assignments", description="Table for assignments.csv's rows plus `run_id` and the "
                             "customer's point geometry (EPSG:4326).")
    territories: str = Field("territories", description="Table for territories.geojson's polygons plus `run_id` "
                             "(EPSG:4326).")
    mode: Literal["replace", "append"] = Field(
        "replace", description="`replace`: the tables hold tonight's answer only (old rows deleted in the same "
        "transaction); `append`: every run's rows are kept, told apart by `run_id`.")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        problem = database_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("db_schema", "assignments", "territories")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\x00" in value or len(value) > 63):
            raise ValueError("a table or schema name needs 1 to 63 characters")
        return value

    @model_validator(mode="after")
    def _two_tables(self) -> DatabaseOutput:
        if self.assignments.strip() == self.territories.strip():
            raise ValueError(f"assignments and territories both name table {self.assignments!r}; give each its own")
        return self


class Executor(StrictModel):
    """Where the independent parts of a run go: the large engine's parts, each rep's routes, each team's shapes."""

    kind: Literal["local", "processes", "dask"] = Field(
        "local", description="`local`: in this process (where solver.workers or routing.workers is above 1, that "
        "stage keeps its own pool of that many processes); `processes`: a pool of `workers` processes on this "
        "machine for all three stages; `dask`: tasks on a dask.distributed cluster, the one at `scheduler` or a "
        "LocalCluster of `workers` processes. The answer is the same byte for byte whichever kind runs it "
        "(docs/dask.md).")
    workers: Annotated[int, Field(ge=1, le=4096)] | None = Field(
        None, description="Pool size (`processes`) or LocalCluster worker processes (`dask` without a scheduler); "
        "default: the machine's cores. Ignored with a scheduler: the cluster has the workers it has.")
    scheduler: str | None = Field(
        None, pattern=r"^(tcp|ws)://\S+$",
        description="Address of an existing Dask scheduler, e.g. `tcp://scheduler:8786` (used by kind `dask` only, "
        "so `--set executor.kind=local` runs the same scenario here); default: start a LocalCluster for the run and "
        "close it after. Plain `tcp://` or `ws://`: the scenario has no place for TLS certificates (run the job "
        "inside the cluster's network, or through an SSH tunnel).")
    threads_per_worker: Annotated[int, Field(ge=1, le=64)] = Field(
        1, description="Threads per LocalCluster worker; 1 runs one part per process at a time (the parts are "
        "CPU-bound Python and OR-Tools work).")
    memory_limit: str | None = Field(
        None, pattern=r"^\d+(\.\d+)?\s*([KMGT]i?B)?$",
        description="Memory limit per LocalCluster worker, e.g. `8GB` (Dask pauses a worker at 80 % and restarts "
        "it at 95 %); default: none.")
    retries: Annotated[int, Field(ge=0, le=10)] = Field(
        2, description="Dask: times a part that raised an unexpected error is run again. Parts of a lost worker "
        "are re-run by the scheduler anyway (up to its allowed-failures, 3 by default); errors in the user's data "
        "are never retried.")


class Output(StrictModel):
    dir: Path = Field(Path("out"), description="Output folder, relative to the scenario file.")
    layout: Literal["single", "runs"] = Field(
        "single", description="`single`: the folder holds the latest answer, replaced whole when a run succeeds. "
        "`runs` (nightly): each run in `runs/<UTC time>-<scenario hash>/`, and `latest` (a symlink) moved to it only "
        "once it is complete; `run --previous auto` then compares against `latest`.")
    report_tiles: str | None = Field(
        None, description="Background tiles for report.html's map, an XYZ URL template such as "
        "`https://tile.openstreetmap.org/{z}/{x}/{y}.png` (viewing then needs the network); default: none, the "
        "report works offline.")
    report_attribution: str | None = Field(None, description="Attribution text for report_tiles.")
    database: DatabaseOutput | None = Field(None, description="Also write assignments and territories to "
                                            "PostgreSQL/PostGIS tables, in one transaction.")

    @field_validator("dir")
    @classmethod
    def _resolve_dir(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)


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


def _is_generalist(team: Team) -> bool:
    return all(block == Covers() for block in team.covers)


def _strategy_problems(strategy: str | None, teams: list[Team]) -> list[str]:
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


class Quality(StrictModel):
    """Thresholds of the data-quality warnings (warnings.csv, the report; `run --strict` fails on any)."""

    far_km: PositiveFloat = Field(
        150.0, description="Warn about customers farther than this (road km) from every rep who may serve them.")
    change_threshold: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        0.2, description="Warn when customers, reps, needs, total workload or total value move by more than this "
        "share against the previous run (`run --previous`).")
    fail_on_change: bool = Field(
        False, description="Fail the run (exit 2, nothing written, `latest` kept) instead of warning when a count or "
        "total moved past change_threshold: a truncated nightly extract never replaces last night's answer. Other "
        "warnings still only warn (`--strict` fails on all).")


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


class Scenario(StrictModel):
    """A whole territory run: inputs, how customers are tiered and served, teams, rules, solver, output."""

    name: str = Field(pattern=NAME_PATTERN, description="Scenario name (letters, digits, _ . -).")
    description: str = Field("", description="Free text shown in reports.")
    inputs: Inputs = Field(description="Input layers; paths are relative to the scenario file.")
    crs: str | None = Field(
        None, description="Metric CRS for distances (e.g. EPSG:2180); default: the UTM zone of the data."
    )
    cycle_weeks: Annotated[int, Field(ge=1, le=52)] = Field(4, description="Length of the call cycle.")
    tiers: Tiers = Field(default_factory=Tiers, description="Value tiers from current and potential value.")
    service: dict[str, ServiceLevel] = Field(
        default_factory=_default_service,
        description="Service policy per tier name: visits, minutes per call, channel, minimum order value, sector "
        "exceptions; workload hours = visits_per_cycle x call_minutes / 60. Order: tiers, then this policy (channel "
        "inside by the tier, then min_order_value, then logistics.inside_beyond_km), then segments, then "
        "service_raises.",
    )
    service_raises: list[ServiceRaise] = Field(
        default_factory=list,
        description="Score rules applied after segmentation, e.g. `{score: attractiveness, at_least: 70, "
        "extra_visits: 1}`: each customer of a segment scoring at least that gets the extra visits (and workload); "
        "tier and channel stay. Default: none.",
    )
    mode: Literal["rebalance", "design"] = Field(
        "rebalance",
        description="rebalance: reps keep their homes and customers are assigned to them. design: territory "
        "centres are chosen too: per team a p-median over its customers, then rounds of assigning under every rule "
        "and moving each rep to the best home among its own customers, while travel falls (up to "
        "solver.time_limit_s); reps.csv gives each rep's suggested home and how far it moved, and customers are "
        "then assigned as in rebalance.",
    )
    strategy: Literal["geographic", "sector", "hybrid"] | None = Field(
        None,
        description="How the field is organised, checked against `teams`: geographic = one generalist team split by "
        "area; sector = one team per sector ('direction'), each across the whole area, sectors not shared; hybrid "
        "= one generalist team plus specialist overlay teams. Carve-out (exclusive) teams are allowed in all.",
    )
    teams: list[Team] = Field(min_length=1, description="Sales teams, matched against customers in this order.")
    key_accounts: KeyAccounts = Field(default_factory=KeyAccounts, description="Key-account and novelty carve-out.")
    segments: Segments = Field(default_factory=Segments, description="Micro-segments and their scores.")
    rules: Rules = Field(default_factory=Rules, description="Rules every alignment must keep.")
    routing: Routing = Field(default_factory=Routing, description="Call-cycle routing (off by default).")
    quality: Quality = Field(default_factory=Quality, description="Data-quality warning thresholds.")
    hierarchy: Hierarchy = Field(default_factory=Hierarchy,
                                 description="Districts and regions the territories roll up to (optional).")
    logistics: Logistics = Field(default_factory=Logistics,
                                 description="Depot shoulders along the route network, and their bands.")
    solver: Solver = Field(default_factory=Solver, description="Optimiser settings.")
    executor: Executor = Field(
        default_factory=Executor,
        description="Where independent parts run: this process, a process pool or a Dask cluster (docs/dask.md).")
    output: Output = Field(default_factory=Output, description="Where results go.")

    _source_sha256: str = PrivateAttr(default="")
    _source_path: str = PrivateAttr(default="")
    _overrides: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("crs")
    @classmethod
    def _metric_crs(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(value)
        except CRSError as exc:
            raise ValueError(f"unknown CRS {value!r}") from exc
        if not crs.is_projected:
            raise ValueError(f"{value!r} is not a projected (metric) CRS")
        return value

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        problems: list[str] = []
        tier_names = list(self.tiers.names)
        missing = [t for t in tier_names if t not in self.service]
        if missing:
            problems.append(f"service: no service level for tier(s) {', '.join(missing)}")
        unknown = [t for t in self.service if t not in tier_names]
        if unknown:
            problems.append(f"service: tier(s) {', '.join(unknown)} are not in tiers.names {tier_names}")
        problems += [f"service_raises[{i}].score: buyer_attractiveness needs segments.scores.buyer_columns (without "
                     "them no segment has that score)" for i, r in enumerate(self.service_raises)
                     if r.score == "buyer_attractiveness" and not self.segments.scores.buyer_columns]
        seen: set[str] = set()
        for i, team in enumerate(self.teams):
            if team.name in seen:
                problems.append(f"teams[{i}].name: team {team.name!r} is defined twice")
            seen.add(team.name)
            for block in team.covers:
                for tier in block.tiers or []:
                    if tier not in tier_names:
                        problems.append(f"teams[{i}].covers.tiers: unknown tier {tier!r} (tiers are {tier_names})")
        problems += [f"strategy: {problem}" for problem in _strategy_problems(self.strategy, self.teams)]
        if self.routing.enabled and self.routing.travel == "network" and self.inputs.routes is None:
            problems.append("routing.travel: network needs inputs.routes (the route network)")
        team_names = [t.name for t in self.teams]
        for name in self.rules.precedence or []:
            if name not in team_names:
                problems.append(f"rules.precedence: unknown team {name!r} (teams are {team_names})")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def source_sha256(self) -> str:
        """SHA-256 of the scenario file's bytes (empty when built in Python)."""
        return self._source_sha256

    @property
    def overrides(self) -> tuple[str, ...]:
        """The `--set key.path=value` overrides laid over the file, in order."""
        return self._overrides

    @property
    def source_name(self) -> str:
        """Where the scenario came from, for messages: its file path, or "scenario" when built in Python."""
        return self._source_path or "scenario"


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def findings_from_validation(exc: ValidationError, source: str) -> list[Finding]:
    """One finding per pydantic error, each with its YAML path (`teams[2].covers.tiers`)."""
    findings = []
    for err in exc.errors():
        where = _location(tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p)))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (not part of the scenario schema; check the spelling)"
        for line in message.splitlines():
            sub = re.match(r"^([\w\[\].]+): (.*)$", line)
            if sub and not where:
                findings.append(Finding(sub.group(2), source=source, field=sub.group(1)))
            else:
                findings.append(Finding(line, source=source, field=where))
    return findings


def parse_scenario(data: Any, *, base_dir: Path | None = None, source: str = "<scenario>") -> Scenario:
    """Validate a mapping as a scenario; relative paths resolve against `base_dir`."""
    if not isinstance(data, dict):
        raise ConfigError(Finding("the scenario must be a YAML mapping of keys to values", source=source))
    output = data.get("output", {})
    if base_dir is not None and isinstance(output, dict) and "dir" not in output:
        # the default folder is relative to the scenario file like a given one, not to the working directory
        data = {**data, "output": {**output, "dir": Output.model_fields["dir"].default}}
    try:
        return Scenario.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(findings_from_validation(exc, source)) from None


def apply_overrides(data: Any, overrides: Sequence[str], source: str) -> Any:
    """`key.path=value` settings laid over the scenario's YAML mapping; each value is read as YAML (`true`, `30`,
    `[a, b]`, `null`), and missing mappings on the path are created."""
    if not overrides:
        return data
    data = {} if data is None else data
    for text in overrides:
        key, sep, value = text.partition("=")
        path = [part.strip() for part in key.split(".")]
        if not sep or not all(path):
            raise ConfigError(Finding(f"--set {text!r}: expected key.path=value, e.g. rules.balance_tolerance=0.15",
                                      source=source))
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            raise ConfigError(Finding(f"--set {text!r}: the value is not valid YAML", source=source)) from None
        node = data
        for part in path[:-1]:
            if node.get(part) is None:  # absent, or an empty `key:` in the file
                node[part] = {}
            node = node[part]
            if not isinstance(node, dict):
                break
        if not isinstance(node, dict):
            raise ConfigError(Finding(f"--set {text!r}: {'.'.join(path[:-1])} is not a mapping", source=source))
        node[path[-1]] = parsed
    return data


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read and validate a scenario YAML file (loaded safely: no Python objects from YAML tags), with any
    `--set key.path=value` overrides laid over it before validation."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(Finding("file not found", source=source)) from None
    except IsADirectoryError:
        raise ConfigError(Finding("is a folder, not a scenario file", source=source)) from None
    except OSError as exc:
        raise ConfigError(Finding(f"cannot read: {exc.strerror}", source=source)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(Finding(f"not UTF-8 text (byte {exc.start})", source=source)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        row = mark.line + 1 if mark is not None else None
        raise ConfigError(Finding(f"not valid YAML: {problem}", source=source, row=row)) from None
    if overrides and data is not None and not isinstance(data, dict):
        raise ConfigError(Finding("the scenario must be a mapping of keys to settings", source=source))
    data = apply_overrides(data, overrides, source)
    scenario = parse_scenario(data, base_dir=path.resolve().parent, source=source)
    scenario._overrides = tuple(overrides)
    scenario._source_sha256 = hashlib.sha256(raw).hexdigest()
    scenario._source_path = source
    return scenario


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario file, for editors and for `territory-opt schema`."""
    return Scenario.model_json_schema()


def scenario_reference() -> str:
    """Every scenario key as a Markdown table, generated from the schema (the README embeds it)."""
    schema = scenario_json_schema()
    defs = schema.get("$defs", {})
    rows: list[str] = ["| key | type | default | meaning |", "|---|---|---|---|"]
    shown: dict[int, str] = {}

    def target(prop: dict[str, Any]) -> dict[str, Any] | None:
        for option in [prop, *prop.get("anyOf", []), prop.get("items", {}), prop.get("additionalProperties") or {}]:
            if isinstance(option, dict) and "$ref" in option:
                return defs[option["$ref"].split("/")[-1]]
        return None

    def type_name(prop: dict[str, Any]) -> str:
        options = prop.get("anyOf", [prop])
        names = []
        for o in options:
            if "$ref" in o:
                names.append("mapping")
            elif o.get("type") == "array":
                names.append("list")
            elif o.get("type") == "object":
                names.append("mapping")
            elif "type" in o:
                names.append({"number": "number", "integer": "integer", "string": "text", "boolean": "true/false",
                              "null": "null"}[o["type"]])
        return " or ".join(dict.fromkeys(names)) or "any"

    def walk(model: dict[str, Any], prefix: str) -> None:
        required = set(model.get("required", []))
        for key, prop in model.get("properties", {}).items():
            path = f"{prefix}{key}"
            sub = target(prop)
            suffix = "[]" if prop.get("type") == "array" and sub else ".*" if prop.get("type") == "object" else ""
            plain_default = "default" in prop and not isinstance(prop["default"], dict | list)
            default = "required" if key in required else (
                "`" + json.dumps(prop["default"]) + "`" if plain_default else "")
            meaning = " ".join(prop.get("description", sub.get("description", "") if sub else "").split())
            if sub is not None and id(sub) in shown:  # the same structure again (input layers): say so once
                meaning += f" Same keys as `{shown[id(sub)]}`."
            rows.append(f"| `{path}{suffix}` | {type_name(prop)} | {default} | {meaning} |")
            if sub is not None and id(sub) not in shown:
                shown[id(sub)] = path
                walk(sub, f"{path}{suffix}.")

    walk(schema, "")
    return "\n".join(rows) + "\n"


def paths_outside(scenario: Scenario, roots: Sequence[Path]) -> list[Finding]:
    """Every file or folder the scenario names that resolves (symlinks followed) outside all of `roots`."""
    allowed = [Path(r).resolve() for r in roots]
    named: list[tuple[str, Path]] = [(f"inputs.{name}", source.path) for name in
                                     ("customers", "reps", "depots", "routes", "distributors")
                                     if (source := getattr(scenario.inputs, name)) is not None
                                     and source.path is not None]  # a database input has no path to escape
    if scenario.routing.travel_matrix is not None:
        named.append(("routing.travel_matrix", scenario.routing.travel_matrix))
    named.append(("output.dir", scenario.output.dir))
    out = []
    for field, path in named:
        real = Path(path).resolve()
        if not any(real == root or root in real.parents for root in allowed):
            out.append(Finding(f"{path} is outside the allowed roots ({', '.join(map(str, allowed))})",
                               source=scenario.source_name, field=field))
    return out
