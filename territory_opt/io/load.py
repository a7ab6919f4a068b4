"""Scenario inputs -> validated GeoDataFrames in one metric CRS.

Every problem found in every file is collected and raised together as one `InputError`, each naming the file,
the row (the CSV line number, or the feature number of a GIS layer) and the field, so an analyst fixes the data
in one pass instead of one error per run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..config import LayerSource, Scenario
from ..config.sources import Inputs as ScenarioInputs
from ..errors import Finding, InputError
from .findings import FindingLog
from .layers import (
    COMMA_NUMBER,
    CUSTOMERS,
    DEPOTS,
    DISTRIBUTORS,
    REPS,
    ROUTES,
    UNITS,
    WGS84,
    LayerSpec,
    as_text,
    check_geometry,
    check_ids,
    coerce_columns,
    decimal_comma_columns,
    points_from_lonlat,
    rename_columns,
)
from .projection import MAX_SCALE_ERROR, Projection, choose_projection, scenario_projection
from .references import check_references
from .region import LayerPoints, Region, swap_finding, swapped_layers
from .sources import SEPARATOR, file_sha256, read_table


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
    units: gpd.GeoDataFrame | None = None  # alignment unit polygons with unit_id (inputs.units), when given
    projection_note: str = ""  # which CRS, why, and its largest distance scale error over the data
    notes: tuple[str, ...] = ()  # how inputs were read (a decimal comma detected), for the log


def _load_layer(source: LayerSource | None, spec: LayerSpec, log: FindingLog, hashes: dict[str, str],
                from_lonlat: set[str] | None = None) -> tuple[gpd.GeoDataFrame | None, int]:
    """One layer read and checked on its own, in WGS84, with its row-number offset (None: nothing usable).
    `from_lonlat` collects the names of the layers whose points came from lon/lat columns."""
    if source is None:
        return None, 0
    name = source.label
    n_errors = len(log.errors)
    frame, offset = read_table(source, log, spec.name, spec.id_column)
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
    frame = rename_columns(frame, source, name, log)
    if frame is None:
        return None, 0
    decimal = source.decimal or _decimal_mark(frame, spec, source, log)
    geo = frame if isinstance(frame, gpd.GeoDataFrame) else None
    if geo is None or geo.geometry.name not in geo or (geo.geometry.isna().all() and spec.geometry == "point"):
        if spec.geometry != "point":
            log.add(Finding(f"{spec.name} needs {spec.geometry} geometries; use GeoJSON, GeoPackage or GeoParquet",
                            source=name))
            return None, 0
        base = pd.DataFrame(frame.drop(columns=[frame.geometry.name])) if geo is not None else frame
        geo = points_from_lonlat(base, source, name, offset, log, decimal=decimal, layer=spec.name)
        if geo is None:
            return None, 0
        if from_lonlat is not None:
            from_lonlat.add(spec.name)
    elif geo.crs is None:
        log.add(Finding("layer has no CRS; assumed WGS84 (EPSG:4326)", source=name), warning=True)
        geo = geo.set_crs(WGS84)
    geo = coerce_columns(geo, spec, name, offset, log, decimal=decimal)
    if spec.id_column and spec.id_column in geo:
        check_ids(geo, spec, name, offset, log)
    geo = check_geometry(geo, spec, name, offset, log)
    if len(log.errors) > n_errors:
        # the run stops, but the layer's good rows still go through the checks that span layers (a rep's team,
        # a customer's depot), so one pass lists every problem; a problem without a row spoils the whole layer
        # (all rows, so row numbers hold; `load_inputs` skips the geometric checks of a layer with errors)
        return (None if any(finding.row is None for finding in log.errors[n_errors:]) else geo), offset
    return geo.to_crs(WGS84) if not geo.crs.equals(WGS84) else geo, offset


def _decimal_mark(frame: pd.DataFrame, spec: LayerSpec, source: LayerSource, log: FindingLog) -> str:
    """`,` for a `;`-separated file whose numbers are all written with decimal commas (said in the log), else
    `.`: the CSV convention of much of Europe is read as it is, without an option."""
    if frame.attrs.get(SEPARATOR) != ";" or isinstance(frame, gpd.GeoDataFrame):
        return "."
    columns = decimal_comma_columns(frame, (source.lon, source.lat, *spec.required_numbers, *spec.optional_numbers))
    if not columns:
        return "."
    log.note(Finding(f"read with decimal commas: a ';'-separated file whose numbers are written like "
                     f"{as_text(frame[columns[0]]).str.extract(f'({COMMA_NUMBER})')[0].dropna().iloc[0]!r} (in "
                     f"{', '.join(columns)}); add  decimal: \",\"  under inputs.{spec.name} to make it explicit",
                     source=source.label))
    return ","


def _check_region(src: ScenarioInputs, loaded: dict[str, tuple[gpd.GeoDataFrame | None, int]],
                  sound: Callable[[gpd.GeoDataFrame | None, LayerSource | None], bool], from_lonlat: set[str],
                  log: FindingLog) -> None:
    """Every layer's points and extents against the customers' region. A whole layer with lat and lon the wrong
    way round is found first (`swapped_layers`) and named once; the region is then taken from the customers as
    they should read, so a swapped customers file does not make every other layer look misplaced."""
    # the national units layer is no evidence of where the data lies: it does not vote
    names = [name for name in ("customers", "reps", "depots", "routes", "distributors")
             if sound(loaded[name][0], getattr(src, name))]
    points = []
    for name in names:
        frame, offset = loaded[name]
        source = getattr(src, name)
        points.append(LayerPoints.of(frame, source.label, option_key=f"inputs.{name}", first_row=offset,
                                     columns=(source.lon, source.lat) if name in from_lonlat else None))
    swapped, ambiguous = swapped_layers(points)
    for index in swapped:
        log.add(swap_finding(points, index, swapped, ambiguous))
    flipped = {names[index] for index in swapped}
    customers = loaded["customers"][0]
    assert customers is not None
    lon, lat = shapely.get_x(customers.geometry.to_numpy()), shapely.get_y(customers.geometry.to_numpy())
    region = Region.of(*((lat, lon) if "customers" in flipped else (lon, lat)))
    if region is None:
        return
    for name in ("customers", "reps", "depots"):
        frame, offset = loaded[name]
        if name not in flipped and sound(frame, getattr(src, name)):
            region.check(frame, getattr(src, name).label, offset, log)
    for name in ("routes", "distributors"):
        frame, offset = loaded[name]
        if name not in flipped and sound(frame, getattr(src, name)):
            region.check_extent(frame, getattr(src, name).label, offset, log)
    # a units layer is often national (every postcode) around a regional customer base: only a layer with no unit
    # near the customers is taken for a CRS mistake
    units, u_off = loaded["units"]
    if src.units is not None and sound(units, src.units) and not (region.extent_km(units) <= region.radius_km).any():
        region.check_extent(units, src.units.label, u_off, log)


def choose_crs(scenario: Scenario, customers_wgs84: gpd.GeoDataFrame,
               reps_wgs84: gpd.GeoDataFrame | None = None) -> Projection:
    """The scenario's CRS checked against the customers' and reps' points, or one chosen from them."""
    frames = [f for f in (customers_wgs84, reps_wgs84) if f is not None]
    lon = np.concatenate([shapely.get_x(f.geometry.to_numpy()) for f in frames]).astype(float)
    lat = np.concatenate([shapely.get_y(f.geometry.to_numpy()) for f in frames]).astype(float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if scenario.crs:
        return scenario_projection(scenario.crs, lon[ok], lat[ok], scenario.source_name)
    return choose_projection(lon[ok], lat[ok])


def load_inputs(scenario: Scenario, parts: Callable[[str, int, int], None] | None = None) -> Inputs:
    """Read, check and project every layer; raises InputError listing every problem found. `parts(label, done,
    total)` hears of each layer read (the progress bar)."""
    log = FindingLog()
    hashes: dict[str, str] = {}
    src = scenario.inputs
    specs = (CUSTOMERS, REPS, DEPOTS, ROUTES, DISTRIBUTORS, UNITS)
    layers = [(getattr(src, spec.name), spec) for spec in specs]
    given, done = sum(source is not None for source, _ in layers), 0
    loaded: list[tuple[gpd.GeoDataFrame | None, int]] = []
    from_lonlat: set[str] = set()
    for source, spec in layers:
        loaded.append(_load_layer(source, spec, log, hashes, from_lonlat))
        if parts is not None and source is not None:
            done += 1
            parts("layers", done, given)
    customers, reps, depots, routes, distributors, units = (frame for frame, _ in loaded)

    def sound(frame: gpd.GeoDataFrame | None, source: LayerSource | None) -> bool:
        """Loaded without a row error: its geometry can be compared with the others'."""
        return frame is not None and source is not None and source.label not in log.sources_with_errors()

    if sound(customers, src.customers):
        _check_region(src, dict(zip((spec.name for spec in specs), loaded, strict=True)), sound, from_lonlat, log)
    if reps is not None:
        check_references(scenario, customers, reps, depots, distributors, log, units=units)
    log.summarise_overflow()
    if log.errors:
        raise InputError(log.in_file_order())
    assert customers is not None and reps is not None
    projection = choose_crs(scenario, customers, reps)
    crs = projection.crs
    if projection.scale_error > MAX_SCALE_ERROR:  # only a chosen one: the scenario's own would have been refused
        log.add(Finding(f"the data spans so much of the globe that no one metric CRS keeps distances true: "
                        f"{projection.note}", source=src.customers.label, field="lon/lat"), warning=True)

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
        units=project(units),
        projection_note=projection.note,
        notes=tuple(str(note) for note in log.notes),
    )
