"""Where the input layers come from: files or PostgreSQL/PostGIS tables, and the rules for database URLs."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from .base import StrictModel, resolve_path

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
    columns: dict[str, str] = Field(default_factory=dict, description="Columns under other names in this layer, "
                                    "`{name we expect: name in the file}`, e.g. `{distributor_id: distributo}` for a "
                                    "Shapefile (which cuts names to 10 characters). Applied when the layer is read, "
                                    "from any file or table.")
    sep: Literal[",", ";", "\t", "|"] | None = Field(None, description="CSV: the column separator; by default "
                                                     "detected from the header (`,`, `;` or a tab).")
    decimal: Literal[".", ","] | None = Field(None, description="CSV: the decimal mark of numbers and coordinates. "
                                              "By default `.`, or `,` when a `;`-separated file writes its numbers "
                                              "with commas only (`52,4064`; the log says so).")
    encoding: str | None = Field(None, description="CSV or Shapefile: the text encoding when it is not UTF-8, e.g. "
                                 "`cp1252` (Windows, Western Europe), `cp1250` (Central Europe) or `latin-1`.")

    @field_validator("path")
    @classmethod
    def _resolve_path(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_path(value, info)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; e.g. utf-8, cp1252, cp1250, latin-1") from None
        return value

    @field_validator("columns")
    @classmethod
    def _one_name_each(cls, value: dict[str, str]) -> dict[str, str]:
        names = [str(name).strip() for name in value.values()]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"two columns are mapped to the same file column {', '.join(map(repr, twice))}")
        if any(not name for name in names) or any(not str(key).strip() for key in value):
            raise ValueError("a column name is empty")
        return {str(key).strip(): str(name).strip() for key, name in value.items()}

    @model_validator(mode="after")
    def _one_source(self) -> LayerSource:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either path (a file) or url (a postgresql:// database), not both")
        if self.url is None:
            if self.table is not None or self.query is not None or self.params:
                raise ValueError("table, query and params need url (a postgresql:// database)")
            return self
        if self.sep is not None or self.decimal is not None or self.encoding is not None:
            raise ValueError("sep, decimal and encoding apply to files, not to a database (its columns are typed)")
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
    units: LayerInput | None = Field(None, description="Alignment units (postcodes, ZIP codes, bricks): polygons "
                                     "with unit_id; a customer's optional unit_id column must name one of them.")
