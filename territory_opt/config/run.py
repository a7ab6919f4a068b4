"""How a run goes: routing, the logistics shoulder, the solver, the executor, and where the output goes."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .base import MAX_INT, NAME_PATTERN, NonNegativeFloat, PositiveFloat, StrictModel, resolve_path
from .sources import database_url_problem

# fitted by bench/drive_fit.py on the demo's routed plan solved with drive in the workload (docs/benchmarks.md)
DEFAULT_TRIP_CALL_HOURS = 5.6
DEFAULT_HOP_FACTOR = 0.70
DEFAULT_NEIGHBOURS = 16


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
        return None if value is None else resolve_path(value, info)

    @model_validator(mode="after")
    def _matrix_given(self) -> Routing:
        if self.travel == "matrix" and self.travel_matrix is None:
            raise ValueError("travel: matrix needs travel_matrix (a CSV or Parquet file)")
        return self


class Workload(StrictModel):
    """What a rep's workload counts: its calls and, with `drive`, an estimate of the drive they cause
    (`territory_opt/model/drive.py`): per visit, at `speed_kmh`, 2 x the road km from the rep's home x the call's
    hours / `trip_call_hours`, plus `hop_factor` x the customer's spacing from its neighbours."""

    drive: bool = Field(
        True, description="Count each visit's estimated drive in the workload that the balance band and "
        "capacity_hours hold (false: call time only; reps.csv shows the estimate either way).")
    speed_kmh: PositiveFloat | None = Field(
        None, description="Average road speed of the estimate; default: routing.speed_kmh, else "
        "logistics.default_speed_kmh.")
    trip_call_hours: Annotated[float, Field(gt=0, le=24, allow_inf_nan=False)] = Field(
        DEFAULT_TRIP_CALL_HOURS, description="Hours of calls one trip out from home and back serves: a visit's share "
        "of the way out and back (2 x road km from the rep's home) is its call hours / this; fitted on the demo's "
        "routed call plans (bench/drive_fit.py).")
    hop_factor: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = Field(
        DEFAULT_HOP_FACTOR, description="Road km driven per visit between calls, per road km of the customer's "
        "spacing (its mean distance to the `neighbours` nearest other customers its team visits); fitted with "
        "trip_call_hours.")
    neighbours: Annotated[int, Field(ge=1, le=100)] = Field(
        DEFAULT_NEIGHBOURS, description="How many nearest customers of the same team a customer's spacing is "
        "measured to (about a day's calls: one day visits only some of the customers around it).")


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
        return resolve_path(value, info)
