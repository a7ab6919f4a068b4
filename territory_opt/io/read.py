"""Scenario inputs -> validated GeoDataFrames in one metric CRS.

Every problem found in every file is collected and raised together as one `InputError`, each naming the file,
the row (the CSV line number, or the feature number of a GIS layer) and the field, so an analyst fixes the data
in one pass instead of one error per run.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from ..config import CSV_SUFFIXES, LayerSource, Scenario, first_row_of, is_database_url
from ..errors import Finding, InputError
from ..lists import split_list
from ..roster import team_members

WGS84 = CRS.from_epsg(4326)
MAX_FINDINGS_PER_FIELD = 20
MAX_NUMBER = 1e15  # values, speeds: far beyond any real one, small enough to add up in 64-bit integers
GIS_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}
# GDAL otherwise closes an unclosed ring with a bare RuntimeWarning and GEOS then fails naming no feature; refused,
# the feature comes back empty and is reported with its row
pyogrio.set_gdal_config_options({"OGR_GEOMETRY_ACCEPT_UNCLOSED_RING": "NO"})
MAX_INPUT_BYTES = 4 * 2**30  # one layer; a national customer master as CSV is a few hundred MB


@dataclass(frozen=True)
class LayerSpec:
    """What one layer must contain: its id column, geometry kind, and typed columns."""

    name: str
    id_column: str | None
    geometry: str  # "point", "line" or "polygon"
    required_text: tuple[str, ...] = ()
    required_numbers: tuple[str, ...] = ()
    optional_text: tuple[str, ...] = ()
    optional_numbers: tuple[str, ...] = ()
    optional_bools: tuple[str, ...] = ()
    positive_numbers: tuple[str, ...] = ()
    whole_numbers: tuple[str, ...] = ()
    maximum: tuple[tuple[str, float, str], ...] = ()  # (column, largest value, why) beyond MAX_NUMBER's default
    optional_times: tuple[str, ...] = ()  # "HH:MM" clock times, read as minutes after midnight (NaN: blank)


CUSTOMERS = LayerSpec(
    "customers",
    "customer_id",
    "point",
    required_text=("sector",),
    required_numbers=("current_value", "potential_value"),
    optional_text=(
        "products",
        "payment_format",
        "product_version",
        "sales_approach",
        "current_rep_id",
        "locked_rep_id",
        "excluded_rep_ids",
    ),
    optional_numbers=("max_reps",),
    optional_bools=("key_account",),
    optional_times=("open_time", "close_time"),
    positive_numbers=("max_reps",),
    maximum=(("max_reps", 1000.0, "a contact cap"),),
    whole_numbers=("max_reps",),
)
REPS = LayerSpec(
    "reps",
    "rep_id",
    "point",
    required_text=("team",),
    optional_text=("products", "role", "depot_id", "distributor_id", "district", "region"),
    optional_numbers=("capacity_hours",),
    positive_numbers=("capacity_hours",),
    maximum=(("capacity_hours", 8784.0, "the hours in a year"),),
)
DEPOTS = LayerSpec("depots", "depot_id", "point")
ROUTES = LayerSpec("routes", None, "line", optional_text=("depot_id",), optional_numbers=("speed_kmh",),
                   positive_numbers=("speed_kmh",))
DISTRIBUTORS = LayerSpec("distributors", "distributor_id", "polygon")

TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f", ""}


@dataclass(frozen=True)
class Inputs:
    """All input layers, validated and projected to `crs` (metres); ids are strings, row order kept."""

    customers: gpd.GeoDataFrame
    reps: gpd.GeoDataFrame
    depots: gpd.GeoDataFrame | None
    routes: gpd.GeoDataFrame | None
    distributors: gpd.GeoDataFrame | None
    crs: CRS
    warnings: tuple[Finding, ...]
    file_hashes: dict[str, str] = field(default_factory=dict)


class FindingLog:
    """Collects findings, keeping at most a few per (file, field, kind) so one bad column cannot flood the report."""

    def __init__(self) -> None:
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []
        self._counts: dict[tuple[str, str, str], int] = defaultdict(int)
        self.rows_with_errors: set[tuple[str, int]] = set()  # (source, row), also of findings past the cap

    def add(self, finding: Finding, *, kind: str = "", warning: bool = False) -> None:
        key = (finding.source, finding.field, kind or finding.message)
        self._counts[key] += 1
        if not warning and finding.row is not None:
            self.rows_with_errors.add((finding.source, finding.row))
        if self._counts[key] <= MAX_FINDINGS_PER_FIELD:
            (self.warnings if warning else self.errors).append(finding)

    def sources_with_errors(self) -> set[str]:
        return {finding.source for finding in self.errors}

    def in_file_order(self) -> list[Finding]:
        """The errors file by file (in the order first reported), each file's rows top to bottom, findings without a
        row after them: how the operator reads the file to fix it."""
        files = {source: rank for rank, source in enumerate(dict.fromkeys(f.source for f in self.errors))}
        return sorted(self.errors, key=lambda f: (files[f.source], f.row is None, f.row or 0))

    def summarise_overflow(self) -> None:
        for (source, fld, kind), count in self._counts.items():
            if count > MAX_FINDINGS_PER_FIELD:
                self.errors.append(
                    Finding(f"... and {count - MAX_FINDINGS_PER_FIELD} more rows like that ({kind})",
                            source=source, field=fld)
                )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


SEPARATORS = (",", ";", "\t")
SEPARATOR_NAMES = {",": "','", ";": "';'", "\t": "a tab"}


def _likely_separator(line: str) -> str | None:
    counts = {sep: line.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else None


def _sniff_delimiter(path: Path) -> tuple[str, str | None]:
    """The header's separator, and a problem when the first data row is separated by another one (a file saved
    from two tools: the header with commas, the rows with semicolons)."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
        first = handle.readline()
    sep = _likely_separator(header) or ","
    row_sep = _likely_separator(first)
    if row_sep is not None and first.count(sep) == 0 and header.count(sep) > 0:
        return sep, (f"the header is separated by {SEPARATOR_NAMES[sep]} but the rows by "
                     f"{SEPARATOR_NAMES[row_sep]}; save the file with one separator")
    return sep, None


def _gdal_reason(exc: Exception, suffix: str) -> str:
    """GDAL's reason in a user's words: an unrecognised format says what is expected, not GDAL's driver hint."""
    text = str(exc).splitlines()[0]
    if "not recognized as being in a supported file format" not in text:
        return text
    if suffix in GIS_SUFFIXES:
        return f"the file is not valid {suffix} data (GDAL does not recognise its contents)"
    return (f"file type {suffix or '(no extension)'!r} is not recognised; use CSV, GeoJSON, GeoPackage, "
            "(Geo)Parquet or Shapefile")


def _read_database(source: LayerSource, log: FindingLog, label: str, id_column: str | None) -> pd.DataFrame | None:
    from .postgis import read_layer  # SQLAlchemy and psycopg load only when a scenario uses a database

    try:
        return read_layer(source, id_column, label)
    except InputError as exc:
        for finding in exc.findings:
            log.add(finding)
    return None


def _read_table(source: LayerSource, log: FindingLog, label: str,
                id_column: str | None = None) -> tuple[pd.DataFrame | None, int]:
    """Read a file or database layer into a (Geo)DataFrame; returns it and the row-number offset for messages."""
    if source.path is None:
        return _read_database(source, log, label, id_column), source.first_row
    path = source.path
    name = str(path)
    if not path.exists():
        log.add(Finding(f"{label} file not found", source=name))
        return None, 0
    if path.is_dir() and path.suffix.lower() != ".gdb":
        log.add(Finding(f"{label} path is a folder, not a file", source=name))
        return None, 0
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            log.add(Finding(f"{label} file is {size / 2**30:.1f} GiB, above the {MAX_INPUT_BYTES / 2**30:.0f} GiB "
                            "limit for one layer; filter it, or read it from a database table or query", source=name))
            return None, 0
        if suffix in CSV_SUFFIXES:
            sep, mixed = _sniff_delimiter(path)
            if mixed:
                log.add(Finding(mixed, source=name, row=2))
                return None, 0
            frame = pd.read_csv(
                path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                skipinitialspace=True,
            )
            return frame, first_row_of(path)
        if suffix in PARQUET_SUFFIXES:
            try:
                return gpd.read_parquet(path), first_row_of(path)
            except ValueError:
                return pd.read_parquet(path), first_row_of(path)
        frame = pyogrio.read_dataframe(path, layer=source.layer)
        return frame, first_row_of(path)
    except UnicodeDecodeError as exc:
        log.add(Finding(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", source=name))
    except (pd.errors.ParserError, csv.Error) as exc:
        log.add(Finding(f"cannot parse as CSV: {str(exc).strip()}", source=name))
    except pd.errors.EmptyDataError:
        log.add(Finding(f"{label} file is empty", source=name))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        log.add(Finding(f"cannot read {label} layer: {_gdal_reason(exc, suffix)}", source=name))
    except PermissionError:
        log.add(Finding(f"cannot read {label} file: permission denied", source=name))
    except Exception as exc:  # any reader failure on a user's file is bad input, not a bug
        log.add(Finding(f"cannot read {label} file ({type(exc).__name__}: {exc})", source=name))
    return None, 0


def _as_text(series: pd.Series) -> pd.Series:
    values = series.astype(object).where(series.notna(), "")
    return values.map(lambda v: str(v).strip()).astype(str)


def _check_ids(frame: pd.DataFrame, spec: LayerSpec, name: str, offset: int, log: FindingLog) -> None:
    col = spec.id_column
    assert col is not None
    ids = frame[col]
    for pos in np.flatnonzero((ids == "").to_numpy()):
        log.add(Finding(f"{col} is empty", source=name, row=int(pos) + offset, field=col))
    nonempty = ids[ids != ""]
    dup = nonempty.duplicated(keep="first")
    if dup.any():
        first_pos = {v: i for i, v in reversed(list(enumerate(ids)))}
        for pos in np.flatnonzero(dup.reindex(ids.index, fill_value=False).to_numpy()):
            value = ids.iloc[pos]
            log.add(
                Finding(f"duplicate {col} {value!r} (first at row {first_pos[value] + offset})",
                        source=name, row=int(pos) + offset, field=col),
                kind="duplicate id",
            )


def _coerce_columns(frame: pd.DataFrame, spec: LayerSpec, name: str, offset: int, log: FindingLog) -> pd.DataFrame:
    """Check required columns, parse numbers and booleans; text columns become stripped strings."""
    frame = frame.copy()
    missing = [c for c in (spec.id_column, *spec.required_text, *spec.required_numbers) if c and c not in frame]
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    for col in missing:
        found = [str(c) for c in frame.columns if c != geometry]
        besides = " besides the location (lon/lat or geometry)" if geometry else ""
        log.add(Finding(f"required column '{col}' is missing (columns found{besides}: {', '.join(found)})",
                        source=name, field=col))
    for col in (spec.id_column, *spec.required_text, *spec.optional_text):
        if col and col in frame:
            frame[col] = _as_text(frame[col])
    for col in (*spec.required_numbers, *spec.optional_numbers):
        if col not in frame:
            continue
        raw = frame[col]
        text = _as_text(raw)
        numbers = pd.to_numeric(text.where(text != "", None), errors="coerce").astype(float)
        required = col in spec.required_numbers
        for pos in np.flatnonzero(numbers.isna().to_numpy()):
            value = text.iloc[pos]
            if value == "" and not required:
                continue
            message = "value is missing" if value == "" else f"not a number: {value!r}"
            log.add(Finding(message, source=name, row=int(pos) + offset, field=col), kind=f"{col} not a number")
        bad = ~np.isfinite(numbers.fillna(0.0).to_numpy())
        if col in spec.positive_numbers:
            bad |= numbers.fillna(1.0).to_numpy() <= 0
            rule = "must be a finite number > 0"
        else:
            bad |= numbers.fillna(0.0).to_numpy() < 0
            rule = "must be a finite number >= 0"
        if col in spec.whole_numbers:
            filled = numbers.fillna(1.0).to_numpy()
            fraction = np.isfinite(filled) & (filled != np.round(filled))
            bad |= fraction
            rule = rule.replace("number", "whole number")
        for pos in np.flatnonzero(bad):
            log.add(Finding(f"{rule}, got {text.iloc[pos]!r}", source=name, row=int(pos) + offset, field=col),
                    kind=f"{col} out of range")
        largest, why = next(((m, w) for c, m, w in spec.maximum if c == col), (MAX_NUMBER, "the largest value taken"))
        for pos in np.flatnonzero(~bad & (numbers.fillna(0.0).to_numpy() > largest)):  # sums would overflow
            log.add(Finding(f"must be at most {largest:g} ({why}), got {text.iloc[pos]!r}", source=name,
                            row=int(pos) + offset, field=col), kind=f"{col} too large")
        frame[col] = numbers
    for col in spec.optional_times:
        if col not in frame:
            continue
        text = _as_text(frame[col])
        parts = text.str.extract(r"^(\d{1,2}):(\d{2})$")
        hours, minutes = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[1], errors="coerce")
        valid = (hours <= 23) & (minutes <= 59)
        for pos in np.flatnonzero((~valid & (text != "")).to_numpy()):
            log.add(Finding(f"not a clock time HH:MM: {text.iloc[pos]!r}", source=name, row=int(pos) + offset,
                            field=col), kind=f"{col} not a time")
        frame[col] = (hours * 60 + minutes).where(valid).astype(float)
    if len(spec.optional_times) == 2 and all(c in frame for c in spec.optional_times):
        opens, closes = (frame[c].to_numpy(float) for c in spec.optional_times)
        for pos in np.flatnonzero(np.isfinite(opens) & np.isfinite(closes) & (opens >= closes)):
            log.add(Finding(f"{spec.optional_times[0]} must be before {spec.optional_times[1]}", source=name,
                            row=int(pos) + offset, field=spec.optional_times[1]), kind="opening hours reversed")
    for col in spec.optional_bools:
        if col not in frame:
            continue
        text = _as_text(frame[col]).str.lower()
        is_true = text.isin(TRUE_WORDS)
        for pos in np.flatnonzero((~is_true & ~text.isin(FALSE_WORDS)).to_numpy()):
            log.add(Finding(f"not true/false: {frame[col].iloc[pos]!r}", source=name, row=int(pos) + offset,
                            field=col), kind=f"{col} not bool")
        frame[col] = is_true.to_numpy()
    return frame


def _points_from_lonlat(frame: pd.DataFrame, source: LayerSource, name: str, offset: int,
                        log: FindingLog) -> gpd.GeoDataFrame | None:
    missing = [c for c in (source.lon, source.lat) if c not in frame]
    if missing:
        # one column whose name holds the others: the file's delimiter is not one of those detected
        hint = (f"; the header was read as one column {str(frame.columns[0])[:60]!r}: separate columns with a comma, "
                "semicolon or tab" if len(frame.columns) == 1 else " (set inputs.<layer>.lon/lat if it has another "
                "name)")
        for col in missing:
            log.add(Finding(f"coordinate column '{col}' is missing{hint}", source=name, field=col))
        return None
    coords = {}
    for col, limit in ((source.lon, 180.0), (source.lat, 90.0)):
        text = _as_text(frame[col])
        values = pd.to_numeric(text.where(text != "", None), errors="coerce").astype(float).to_numpy()
        for pos in np.flatnonzero(~np.isfinite(values)):
            value = text.iloc[pos]
            message = "coordinate is missing" if value in ("", "nan", "NaN") else f"not a valid coordinate: {value!r}"
            log.add(Finding(message, source=name, row=int(pos) + offset, field=col), kind=f"{col} invalid")
        out = np.isfinite(values) & (np.abs(values) > limit)  # inf was reported above
        for pos in np.flatnonzero(out):
            log.add(Finding(f"{values[pos]:g} is out of range [-{limit:g}, {limit:g}]", source=name,
                            row=int(pos) + offset, field=col), kind=f"{col} out of range")
        values = np.where(np.isfinite(values) & ~out, values, np.nan)
        coords[col] = values
    geometry = gpd.points_from_xy(coords[source.lon], coords[source.lat])
    data = frame.drop(columns=[source.lon, source.lat])
    return gpd.GeoDataFrame(data, geometry=geometry, crs=WGS84)


def _check_coordinates(geoms: np.ndarray, present: np.ndarray, crs: CRS | None, name: str, offset: int,
                       log: FindingLog) -> None:
    """Every vertex finite and, in a layer in degrees, within [-180, 180] x [-90, 90]: a layer in metres without
    its CRS (read as degrees) is refused here instead of landing thousands of km away."""
    coords, index = shapely.get_coordinates(np.where(present, geoms, None), return_index=True)
    if len(coords) == 0:
        return
    bad = ~np.isfinite(coords).all(axis=1)
    geographic = crs is None or CRS.from_user_input(crs).is_geographic
    if geographic:
        bad |= (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
    for pos in np.unique(index[bad]):
        x, y = coords[bad][index[bad] == pos][0]
        if not (np.isfinite(x) and np.isfinite(y)):
            message = f"geometry has a coordinate that is not a finite number ({x:g}, {y:g})"
        else:
            where = ("its geometry column's SRID (ST_SetSRID)" if is_database_url(name) else
                     "its CRS (a .prj file, the GeoPackage's SRS or a GeoJSON crs member)")
            message = (f"coordinate ({x:g}, {y:g}) is out of range for longitude/latitude in degrees; if the layer "
                       f"is in metres, give it {where}")
        log.add(Finding(message, source=name, row=int(pos) + offset, field="geometry"), kind="bad coordinate")


def _check_geometry(frame: gpd.GeoDataFrame, spec: LayerSpec, name: str, offset: int,
                    log: FindingLog) -> gpd.GeoDataFrame:
    """Geometry kind per layer; empty points are errors, invalid polygons are repaired and reported."""
    geoms = frame.geometry.to_numpy()
    kinds = {"point": ("Point",), "line": ("LineString", "MultiLineString"), "polygon": ("Polygon", "MultiPolygon")}
    allowed = kinds[spec.geometry]
    type_names = shapely.get_type_id(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if spec.geometry == "point":  # a NaN in either coordinate (GDAL reads `NaN` in a GeoJSON) is no location
        points = np.where(type_names == 0, geoms, None)
        finite = np.isfinite(shapely.get_x(points).astype(float)) & np.isfinite(shapely.get_y(points).astype(float))
        missing |= ~finite & (type_names == 0)
    for pos in np.flatnonzero(missing):
        if (name, int(pos) + offset) in log.rows_with_errors:
            continue  # its lon/lat column was already reported
        what = "location" if spec.geometry == "point" else "geometry"
        why = " (missing, empty, or a polygon ring that does not close)" if spec.geometry == "polygon" else ""
        log.add(Finding(f"{spec.name[:-1]} has no {what}{why}", source=name, row=int(pos) + offset, field="geometry"),
                kind="no geometry")
    present = ~missing
    actual = np.array([g.geom_type if g is not None else "" for g in geoms], dtype=object)
    for pos in np.flatnonzero(present & ~np.isin(actual, allowed)):
        log.add(Finding(f"geometry is a {actual[pos]}, expected {' or '.join(allowed)}", source=name,
                        row=int(pos) + offset, field="geometry"), kind="geometry type")
    _check_coordinates(geoms, present, frame.crs, name, offset, log)
    if spec.geometry == "polygon":
        invalid = present & ~shapely.is_valid(geoms)
        repaired = geoms.copy()
        for pos in np.flatnonzero(invalid):
            reason = shapely.is_valid_reason(geoms[pos])
            fixed = shapely.make_valid(geoms[pos])
            polys = shapely.get_parts(fixed)
            polys = [p for p in polys if p.geom_type in ("Polygon", "MultiPolygon")]
            repaired[pos] = shapely.union_all(polys) if polys else None
            if repaired[pos] is None or repaired[pos].is_empty:
                log.add(Finding(f"invalid polygon ({reason}) has no area after repair", source=name,
                                row=int(pos) + offset, field="geometry"))
            else:
                log.add(Finding(f"invalid polygon repaired with make_valid ({reason})", source=name,
                                row=int(pos) + offset, field="geometry"), warning=True, kind="repaired")
        frame = frame.set_geometry(gpd.GeoSeries(repaired, crs=frame.crs, index=frame.index))
    return frame


def _haversine_km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    lon, lat, lon0r, lat0r = map(np.radians, (lon, lat, lon0, lat0))
    a = np.sin((lat - lat0r) / 2) ** 2 + np.cos(lat) * np.cos(lat0r) * np.sin((lon - lon0r) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


@dataclass(frozen=True)
class Region:
    """Where the customers are: a robust centre and radius used to catch stray or swapped coordinates."""

    lon: float
    lat: float
    radius_km: float

    @classmethod
    def of(cls, lon: np.ndarray, lat: np.ndarray) -> Region | None:
        ok = np.isfinite(lon) & np.isfinite(lat)
        if ok.sum() < 3:
            return None
        lon0, lat0 = float(np.median(lon[ok])), float(np.median(lat[ok]))
        dist = _haversine_km(lon[ok], lat[ok], lon0, lat0)
        # the 95th percentile, but in a small file never the farthest point: one stray point must not set the radius
        spread = float(np.quantile(dist, min(0.95, 1.0 - 1.5 / len(dist))))
        return cls(lon0, lat0, max(4.0 * spread, spread + 150.0))

    def check(self, frame: gpd.GeoDataFrame, name: str, offset: int, log: FindingLog) -> None:
        lon = shapely.get_x(frame.geometry.to_numpy()).astype(float)
        lat = shapely.get_y(frame.geometry.to_numpy()).astype(float)
        ok = np.isfinite(lon) & np.isfinite(lat)
        dist = np.full(len(frame), np.nan)
        dist[ok] = _haversine_km(lon[ok], lat[ok], self.lon, self.lat)
        swapped = np.full(len(frame), np.inf)
        ok_swap = ok & (np.abs(lon) <= 90)
        swapped[ok_swap] = _haversine_km(lat[ok_swap], lon[ok_swap], self.lon, self.lat)
        for pos in np.flatnonzero(ok & (dist > self.radius_km)):
            hint = " (lat and lon look swapped)" if swapped[pos] <= self.radius_km else ""
            log.add(Finding(f"point ({lon[pos]:.5f}, {lat[pos]:.5f}) is {dist[pos]:.0f} km from the data's region "
                            f"(centre {self.lon:.3f}, {self.lat:.3f}; radius {self.radius_km:.0f} km){hint}",
                            source=name, row=int(pos) + offset, field="lon/lat"), kind="outside region")


    def check_extent(self, frame: gpd.GeoDataFrame, name: str, offset: int, log: FindingLog) -> None:
        """Lines and polygons: a feature whose nearest bounding-box point lies beyond the region's radius is most
        likely in the wrong CRS (degrees declared as metres, or the reverse), not a real road or footprint."""
        bounds = shapely.bounds(frame.geometry.to_numpy())
        ok = np.isfinite(bounds).all(axis=1)
        lon = np.clip(self.lon, bounds[:, 0], bounds[:, 2])
        lat = np.clip(self.lat, bounds[:, 1], bounds[:, 3])
        dist = np.full(len(frame), np.nan)
        dist[ok] = _haversine_km(lon[ok], lat[ok], self.lon, self.lat)
        for pos in np.flatnonzero(ok & (dist > self.radius_km)):
            log.add(Finding(f"feature lies {dist[pos]:.0f} km from the customers' region (centre {self.lon:.3f}, "
                            f"{self.lat:.3f}; radius {self.radius_km:.0f} km); is the layer's CRS right?",
                            source=name, row=int(pos) + offset, field="geometry"), kind="outside region")


def _load_layer(source: LayerSource | None, spec: LayerSpec, log: FindingLog,
                hashes: dict[str, str]) -> tuple[gpd.GeoDataFrame | None, int]:
    if source is None:
        return None, 0
    name = source.label
    n_errors = len(log.errors)
    frame, offset = _read_table(source, log, spec.name, spec.id_column)
    if frame is None:
        return None, 0
    if source.path is not None:
        hashes[spec.name] = file_sha256(source.path)
    else:
        from .postgis import frame_sha256

        hashes[spec.name] = frame_sha256(frame)
    if len(frame) == 0:
        log.add(Finding(f"{spec.name} {'file' if source.path is not None else 'table or query'} has no rows",
                        source=name))
        return None, 0
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    geo = frame if isinstance(frame, gpd.GeoDataFrame) else None
    if geo is None or geo.geometry.name not in geo or (geo.geometry.isna().all() and spec.geometry == "point"):
        if spec.geometry != "point":
            log.add(Finding(f"{spec.name} needs {spec.geometry} geometries; use GeoJSON, GeoPackage or GeoParquet",
                            source=name))
            return None, 0
        base = pd.DataFrame(frame.drop(columns=[frame.geometry.name])) if geo is not None else frame
        geo = _points_from_lonlat(base, source, name, offset, log)
        if geo is None:
            return None, 0
    elif geo.crs is None:
        log.add(Finding("layer has no CRS; assumed WGS84 (EPSG:4326)", source=name), warning=True)
        geo = geo.set_crs(WGS84)
    geo = _coerce_columns(geo, spec, name, offset, log)
    if spec.id_column and spec.id_column in geo:
        _check_ids(geo, spec, name, offset, log)
    geo = _check_geometry(geo, spec, name, offset, log)
    if len(log.errors) > n_errors:
        # the run stops, but the layer's good rows still go through the checks that span layers (a rep's team,
        # a customer's depot), so one pass lists every problem; a problem without a row spoils the whole layer
        # (all rows, so row numbers hold; `load_inputs` skips the geometric checks of a layer with errors)
        return (None if any(finding.row is None for finding in log.errors[n_errors:]) else geo), offset
    return geo.to_crs(WGS84) if not geo.crs.equals(WGS84) else geo, offset


def choose_crs(scenario: Scenario, customers_wgs84: gpd.GeoDataFrame) -> CRS:
    """The scenario's CRS, or the UTM zone of the customers' centroid."""
    if scenario.crs:
        return CRS.from_user_input(scenario.crs)
    crs = customers_wgs84.estimate_utm_crs()
    return crs


def _check_references(scenario: Scenario, customers: gpd.GeoDataFrame | None, reps: gpd.GeoDataFrame,
                      depots: gpd.GeoDataFrame | None, distributors: gpd.GeoDataFrame | None,
                      log: FindingLog) -> None:
    """Cross-file references: rep teams exist, referenced reps, depots and distributors exist, no team is empty.

    The roster's checks run even when the customers had errors (`customers` None), so both are reported at once.
    """
    reps_name = scenario.inputs.reps.label
    reps_first = scenario.inputs.reps.first_row
    team_names = [t.name for t in scenario.teams]
    rep_ids = set(reps["rep_id"])
    explicit = {rid for t in scenario.teams for rid in (t.reps or [])}
    for pos, (rid, team_text) in enumerate(zip(reps["rep_id"], reps["team"], strict=True)):
        for team in split_list(team_text):
            if team not in team_names and rid not in explicit:
                log.add(Finding(f"unknown team {team!r} (the scenario's teams are {', '.join(team_names)})",
                                source=reps_name, row=pos + reps_first, field="team"), kind="unknown team")
    for i, team in enumerate(scenario.teams):
        for rid in team.reps or []:
            if rid not in rep_ids:
                log.add(Finding(f"team {team.name!r} lists rep {rid!r}, which is not in {reps_name}",
                                source=scenario.source_name, field=f"teams[{i}].reps"))
        members = team_members(team.name, team.reps, reps)
        if len(members) == 0:
            log.add(Finding(f"team {team.name!r} has no reps (no row of {reps_name} has team={team.name})",
                            source=scenario.source_name, field=f"teams[{i}]"))
    for district, members in scenario.hierarchy.districts.items():
        for rid in members:
            if rid not in rep_ids:
                log.add(Finding(f"district {district!r} lists rep {rid!r}, which is not in {reps_name}",
                                source=scenario.source_name, field=f"hierarchy.districts.{district}"))
    if "depot_id" in reps and depots is not None:
        known = set(depots["depot_id"])
        for pos in np.flatnonzero(((reps["depot_id"] != "") & ~reps["depot_id"].isin(known)).to_numpy()):
            log.add(Finding(f"depot {reps['depot_id'].iloc[pos]!r} is not in the depots layer", source=reps_name,
                            row=int(pos) + reps_first, field="depot_id"))
    if "distributor_id" in reps and distributors is not None and scenario.inputs.distributors is not None:
        # a rep pinned to a footprint the layer lacks: named here, not an infeasible zone later
        known = set(distributors["distributor_id"].astype(str))
        pins = reps["distributor_id"].fillna("").astype(str)
        for pos in np.flatnonzero(((pins != "") & ~pins.isin(known)).to_numpy()):
            log.add(Finding(f"distributor {pins.iloc[pos]!r} is not in {scenario.inputs.distributors.label}",
                            source=reps_name, row=int(pos) + reps_first, field="distributor_id"),
                    kind="distributor unknown")
    if customers is None:
        return
    cust_name = scenario.inputs.customers.label
    cust_first = scenario.inputs.customers.first_row
    if "locked_rep_id" in customers:
        values = customers["locked_rep_id"]
        for pos in np.flatnonzero(((values != "") & ~values.isin(rep_ids)).to_numpy()):
            log.add(Finding(f"rep {values.iloc[pos]!r} is not in {reps_name}", source=cust_name,
                            row=int(pos) + cust_first, field="locked_rep_id"), kind="locked_rep_id unknown")
    if "current_rep_id" in customers:  # a rep who left is normal: their customers are moved ("lost rep")
        values = customers["current_rep_id"]
        gone = np.flatnonzero(((values != "") & ~values.isin(rep_ids)).to_numpy())
        if len(gone):
            names = sorted(set(values.iloc[gone]))
            log.add(Finding(f"{len(gone)} customers' current rep is not in {reps_name} "
                            f"({', '.join(map(repr, names[:5]))}{', ...' if len(names) > 5 else ''}): they get a new "
                            "rep, listed in changes.csv as 'lost rep'", source=cust_name,
                            row=int(gone[0]) + cust_first, field="current_rep_id"), warning=True)


def load_inputs(scenario: Scenario, parts: Callable[[str, int, int], None] | None = None) -> Inputs:
    """Read, check and project every layer; raises InputError listing every problem found. `parts(label, done,
    total)` hears of each layer read (the progress bar)."""
    log = FindingLog()
    hashes: dict[str, str] = {}
    src = scenario.inputs
    layers = [(getattr(src, spec.name), spec) for spec in (CUSTOMERS, REPS, DEPOTS, ROUTES, DISTRIBUTORS)]
    given, done = sum(source is not None for source, _ in layers), 0
    loaded: list[tuple[gpd.GeoDataFrame | None, int]] = []
    for source, spec in layers:
        loaded.append(_load_layer(source, spec, log, hashes))
        if parts is not None and source is not None:
            done += 1
            parts("layers", done, given)
    (customers, c_off), (reps, r_off), (depots, d_off), (routes, l_off), (distributors, f_off) = loaded

    def sound(frame: gpd.GeoDataFrame | None, source: LayerSource | None) -> bool:
        """Loaded without a row error: its geometry can be compared with the others'."""
        return frame is not None and source is not None and source.label not in log.sources_with_errors()

    if sound(customers, src.customers):
        region = Region.of(shapely.get_x(customers.geometry.to_numpy()), shapely.get_y(customers.geometry.to_numpy()))
        if region is not None:
            region.check(customers, src.customers.label, c_off, log)
            if sound(reps, src.reps):
                region.check(reps, src.reps.label, r_off, log)
            if sound(depots, src.depots):
                region.check(depots, src.depots.label, d_off, log)
            if sound(routes, src.routes):
                region.check_extent(routes, src.routes.label, l_off, log)
            if sound(distributors, src.distributors):
                region.check_extent(distributors, src.distributors.label, f_off, log)
    if reps is not None:
        _check_references(scenario, customers, reps, depots, distributors, log)
    log.summarise_overflow()
    if log.errors:
        raise InputError(log.in_file_order())
    assert customers is not None and reps is not None
    crs = choose_crs(scenario, customers)

    def project(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
        return None if frame is None else frame.to_crs(crs)

    return Inputs(
        customers=project(customers),
        reps=project(reps),
        depots=project(depots),
        routes=project(routes),
        distributors=project(distributors),
        crs=crs,
        warnings=tuple(log.warnings),
        file_hashes=hashes,
    )


def run_file(folder: Path, name: str) -> Path:
    """A file a run wrote into `folder`, or an input error saying which is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError([Finding("run folder not found", source=str(folder))])
    path = folder / name
    if not path.is_file():
        raise InputError([Finding(f"{name} is missing: is this a territory-opt run folder?", source=str(folder))])
    return path


def read_run_table(folder: Path, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A CSV of a run folder as text columns, with the columns named checked."""
    path = run_file(folder, name)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError([Finding(f"cannot read as CSV ({type(exc).__name__})", source=str(path))]) from None
    missing = [c for c in columns if c not in frame]
    if missing:
        raise InputError([Finding(f"missing column(s): {', '.join(missing)}", source=str(path))])
    return frame


def read_run_json(folder: Path, name: str) -> dict[str, Any]:
    """A run folder's JSON file (kpis.json, manifest.json) as a dict."""
    path = run_file(folder, name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Finding(f"not valid JSON ({exc})", source=str(path))]) from None
    if not isinstance(data, dict):
        raise InputError([Finding("not a JSON object", source=str(path))])
    return data


def read_previous_assignments(folder: Path) -> pd.DataFrame:
    """A previous run's `assignments.csv` as (customer_id, team, rep_id): the baseline of `run --previous`."""
    columns = ("customer_id", "team", "rep_id")
    frame = read_run_table(folder, "assignments.csv", columns)
    out = pd.DataFrame({c: _as_text(frame[c]) for c in columns})
    twice = out.duplicated(["customer_id", "team"], keep="first").to_numpy()
    if twice.any():
        path = Path(folder) / "assignments.csv"
        row = int(np.flatnonzero(twice)[0]) + first_row_of(path)
        raise InputError([Finding("a customer and team appear twice", source=str(path), row=row,
                                  field="customer_id")])
    return out


def read_previous_kpis(folder: Path) -> dict[str, Any]:
    """A previous run's kpis.json, or {} when it has none or cannot be read (only the change warnings need it)."""
    try:
        return read_run_json(folder, "kpis.json")
    except InputError:
        return {}
