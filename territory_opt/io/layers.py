"""What each input layer must contain, and the checks of one layer on its own: columns, values, ids, geometry.

Each check adds findings naming the file, the row (CSV line, or feature number) and the field, and carries on, so
one pass lists every problem; the checks that span layers are in `region` and `references`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..config import LayerSource, is_database_url
from ..errors import Finding
from .findings import FindingLog

WGS84 = CRS.from_epsg(4326)
MAX_NUMBER = 1e15  # values, speeds: far beyond any real one, small enough to add up in 64-bit integers


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
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (text column, its allowed values; blank always allowed)


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
        "unit_id",
        "channel",
    ),
    # visits_per_cycle, call_minutes and channel: the account's own call plan from the CRM, over the tier policy
    # and the customer's behaviour, read by the programmes' rebate ladders and cost to serve (prepare/programmes.py)
    optional_numbers=("max_reps", "visits_per_cycle", "call_minutes", "on_time_share", "days_late",
                      "orders_per_year", "avg_order_value", "cost_to_serve"),
    optional_bools=("key_account",),
    optional_times=("open_time", "close_time"),
    positive_numbers=("max_reps",),
    maximum=(("max_reps", 1000.0, "a contact cap"), ("visits_per_cycle", 1000.0, "visits in one cycle"),
             ("call_minutes", 1440.0, "the minutes in a day"), ("on_time_share", 1.0, "a share of invoices"),
             ("days_late", 365.0, "a year"), ("orders_per_year", 10_000.0, "orders in a year")),
    whole_numbers=("max_reps",),
    choices=(("channel", ("field", "inside")),),
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
UNITS = LayerSpec("units", "unit_id", "polygon")

COMMA_NUMBER = r"[+-]?\d+,\d+"  # 52,4064: a decimal comma (European exports)
POINT_NUMBER = r"[+-]?\d*\.\d+"
TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f", ""}


def as_text(series: pd.Series) -> pd.Series:
    """Every value as stripped text, missing ones as "": ids and codes compare as the user typed them."""
    values = series.astype(object).where(series.notna(), "")
    return values.map(lambda v: str(v).strip()).astype(str)


def parse_numbers(text: pd.Series, decimal: str = ".") -> pd.Series:
    """Stripped text -> floats (NaN: blank or not a number). With a decimal comma, `52,4064` reads as 52.4064 and
    a value holding a point is not a number (`1.234,5`: a thousands separator, or a point among commas)."""
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False).where(~text.str.contains(".", regex=False), "?")
    return pd.to_numeric(text.where(text != "", None), errors="coerce").astype(float)


def decimal_hint(value: str, decimal: str, layer: str) -> str:
    """How to read a value that is not a number, when its decimal mark is the likely reason."""
    if decimal == "." and pd.Series([value]).str.fullmatch(COMMA_NUMBER).iloc[0]:
        return f"; for decimal commas, add  decimal: \",\"  under inputs.{layer}"
    if decimal == "," and "." in value:
        return " (the layer is read with decimal commas: write it with a comma and no thousands separator)"
    return ""


def decimal_comma_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    """The number columns written with decimal commas, when none of `columns` writes a decimal point: a file
    that is all commas is read with them; one that mixes the two is not guessed at."""
    commas, points = [], False
    for col in dict.fromkeys(columns):
        if col not in frame:
            continue
        text = as_text(frame[col])
        if text.str.fullmatch(COMMA_NUMBER).any():
            commas.append(col)
        points = points or bool(text.str.fullmatch(POINT_NUMBER).any())
    return [] if points else commas


def check_ids(frame: pd.DataFrame, spec: LayerSpec, name: str, offset: int, log: FindingLog) -> None:
    """Every id given and unique; a duplicate names the row of its first occurrence too."""
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


SHAPEFILE_NAME_LENGTH = 10  # a Shapefile's .dbf cuts column names to 10 characters


def likely_column(wanted: str, found: list[str]) -> str | None:
    """The file's column that is most likely `wanted` under another name: cut to 10 characters (a Shapefile), or
    a near spelling (case, a typo); None when none is close."""
    if wanted in found:
        return None
    for name in found:
        if len(wanted) > SHAPEFILE_NAME_LENGTH and name.lower() == wanted[:SHAPEFILE_NAME_LENGTH].lower():
            return name
    lowered = {name.lower(): name for name in found}
    close = difflib.get_close_matches(wanted.lower(), list(lowered), n=1, cutoff=0.8)
    return lowered[close[0]] if close else None


def mapping_hint(wanted: str, actual: str, layer: str) -> str:
    """The exact scenario lines that read column `actual` as `wanted`."""
    return f"add  columns: {{{wanted}: {actual}}}  under inputs.{layer}"


def rename_columns(frame: pd.DataFrame, source: LayerSource, name: str, log: FindingLog) -> pd.DataFrame | None:
    """The layer's `columns:` mapping applied (`{name we expect: name in the file}`); None when a mapped column is
    not in the file, or would clash with a column already under the expected name."""
    if not source.columns:
        return frame
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    found = [str(c) for c in frame.columns if c != geometry]
    problems = 0
    for wanted, actual in source.columns.items():
        if actual not in found:
            close = likely_column(actual, found)
            guess = f"; did you mean {close!r}?" if close else ""
            log.add(Finding(f"columns: maps {wanted} to {actual!r}, which is not in the layer (columns found: "
                            f"{', '.join(found)}){guess}", source=name, field=actual))
            problems += 1
        elif wanted in found and wanted != actual and wanted not in source.columns.values():
            log.add(Finding(f"columns: maps {wanted} to {actual!r}, but the layer has a column {wanted!r} too; "
                            "drop one of them from the file, or the mapping", source=name, field=wanted))
            problems += 1
    if problems:
        return None
    return frame.rename(columns={actual: wanted for wanted, actual in source.columns.items()})


def coerce_columns(frame: pd.DataFrame, spec: LayerSpec, name: str, offset: int, log: FindingLog, *,
                   decimal: str = ".") -> pd.DataFrame:
    """Check required columns, parse numbers (with `decimal` as their decimal mark) and booleans; text columns
    become stripped strings."""
    frame = frame.copy()
    missing = [c for c in (spec.id_column, *spec.required_text, *spec.required_numbers) if c and c not in frame]
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    found = [str(c) for c in frame.columns if c != geometry]
    for col in missing:
        besides = " besides the location (lon/lat or geometry)" if geometry else ""
        close = likely_column(col, found)
        fix = f"; if {close!r} is it, {mapping_hint(col, close, spec.name)}" if close else ""
        log.add(Finding(f"required column '{col}' is missing (columns found{besides}: {', '.join(found)}){fix}",
                        source=name, field=col))
    known = {spec.id_column, *spec.required_text, *spec.required_numbers, *spec.optional_text,
             *spec.optional_numbers, *spec.optional_bools, *spec.optional_times}
    for col in sorted(c for c in known if c and len(c) > SHAPEFILE_NAME_LENGTH and c not in frame):
        cut = next((f for f in found if f not in known and f.lower() == col[:SHAPEFILE_NAME_LENGTH].lower()), None)
        if cut is not None:  # an optional column a Shapefile cut short would be silently left out
            log.add(Finding(f"column {cut!r} looks like '{col}' cut to {SHAPEFILE_NAME_LENGTH} characters (a "
                            f"Shapefile) and is not read as it; {mapping_hint(col, cut, spec.name)}",
                            source=name, field=cut), warning=True)
    for col in filter(None, (spec.id_column, *spec.required_text, *spec.optional_text)):
        if col and col in frame:
            frame[col] = as_text(frame[col])
    for col, allowed in spec.choices:
        if col in frame:
            for pos in np.flatnonzero((~frame[col].isin(("", *allowed))).to_numpy()):
                log.add(Finding(f"must be one of {', '.join(allowed)} (or blank), got {frame[col].iloc[pos]!r}",
                                source=name, row=int(pos) + offset, field=col), kind=f"{col} not allowed")
    for col in (*spec.required_numbers, *spec.optional_numbers):
        if col not in frame:
            continue
        raw = frame[col]
        text = as_text(raw)
        numbers = parse_numbers(text, decimal)
        required = col in spec.required_numbers
        for pos in np.flatnonzero(numbers.isna().to_numpy()):
            value = text.iloc[pos]
            if value == "" and not required:
                continue
            message = ("value is missing" if value == "" else
                       f"not a number: {value!r}{decimal_hint(value, decimal, spec.name)}")
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
        text = as_text(frame[col])
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
        text = as_text(frame[col]).str.lower()
        is_true = text.isin(TRUE_WORDS)
        for pos in np.flatnonzero((~is_true & ~text.isin(FALSE_WORDS)).to_numpy()):
            log.add(Finding(f"not true/false: {frame[col].iloc[pos]!r}", source=name, row=int(pos) + offset,
                            field=col), kind=f"{col} not bool")
        frame[col] = is_true.to_numpy()
    return frame


def points_from_lonlat(frame: pd.DataFrame, source: LayerSource, name: str, offset: int, log: FindingLog, *,
                       decimal: str = ".", layer: str = "<layer>") -> gpd.GeoDataFrame | None:
    """Points from the lon/lat columns (WGS84, `decimal` their decimal mark); a missing or out-of-range coordinate
    is a finding, its point NaN. `layer` is the layer's key under inputs, for the fixes messages suggest."""
    missing = [c for c in (source.lon, source.lat) if c not in frame]
    if missing:
        # one column whose name holds the others: the file's delimiter is not one of those detected
        one = f"; the header was read as one column {str(frame.columns[0])[:60]!r}"
        if len(frame.columns) > 1:
            hint = f" (set inputs.{layer}.lon/lat if it has another name)"
        elif source.sep is not None:
            hint = f"{one} with sep {source.sep!r}: is inputs.{layer}.sep the file's separator?"
        else:
            hint = f"{one}: separate columns with a comma, semicolon or tab, or give the separator as sep"
        for col in missing:
            log.add(Finding(f"coordinate column '{col}' is missing{hint}", source=name, field=col))
        return None
    coords = {}
    for col, limit in ((source.lon, 180.0), (source.lat, 90.0)):
        text = as_text(frame[col])
        values = parse_numbers(text, decimal).to_numpy()
        for pos in np.flatnonzero(~np.isfinite(values)):
            value = text.iloc[pos]
            message = ("coordinate is missing" if value in ("", "nan", "NaN") else
                       f"not a valid coordinate: {value!r}{decimal_hint(value, decimal, layer)}")
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
    # numpy's stubs take no None as where's fill value; an object array takes it (a missing geometry)
    coords, index = shapely.get_coordinates(np.where(present, geoms, None), return_index=True)  # type: ignore[call-overload]
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


def check_geometry(frame: gpd.GeoDataFrame, spec: LayerSpec, name: str, offset: int,
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
