"""Where the customers are, and the points and extents of every layer far from it (stray or swapped coordinates,
or a layer in the wrong CRS); and which whole layer has its latitude and longitude the wrong way round."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ..errors import Finding
from .findings import FindingLog


def _haversine_km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    lon, lat, lon0r, lat0r = np.radians(lon), np.radians(lat), np.radians(lon0), np.radians(lat0)
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
            log.add(Finding(f"point lon {lon[pos]:.5f}, lat {lat[pos]:.5f} is {dist[pos]:.0f} km from the data's "
                            f"region ({self.where}){hint}", source=name, row=int(pos) + offset, field="lon/lat"),
                    kind="outside region")

    @property
    def where(self) -> str:
        """The region in words, each coordinate labelled."""
        return f"centre lon {self.lon:.3f}, lat {self.lat:.3f}; radius {self.radius_km:.0f} km"

    def extent_km(self, frame: gpd.GeoDataFrame) -> np.ndarray:
        """Per feature, km from the region's centre to the nearest point of its bounding box (NaN: no geometry)."""
        bounds = shapely.bounds(frame.geometry.to_numpy())
        ok = np.isfinite(bounds).all(axis=1)
        lon = np.clip(self.lon, bounds[:, 0], bounds[:, 2])
        lat = np.clip(self.lat, bounds[:, 1], bounds[:, 3])
        dist = np.full(len(frame), np.nan)
        dist[ok] = _haversine_km(lon[ok], lat[ok], self.lon, self.lat)
        return dist

    def check_extent(self, frame: gpd.GeoDataFrame, name: str, offset: int, log: FindingLog) -> None:
        """Lines and polygons: a feature whose nearest bounding-box point lies beyond the region's radius is most
        likely in the wrong CRS (degrees declared as metres, or the reverse), not a real road or footprint."""
        dist = self.extent_km(frame)
        for pos in np.flatnonzero(np.isfinite(dist) & (dist > self.radius_km)):
            log.add(Finding(f"feature lies {dist[pos]:.0f} km from the customers' region ({self.where}); is the "
                            "layer's CRS right?",
                            source=name, row=int(pos) + offset, field="geometry"), kind="outside region")


@dataclass(frozen=True)
class LayerPoints:
    """One layer's locations for the swap test: its points (a line's or polygon's bounding-box centre) and how the
    file holds them (`columns`: the lon and lat columns of a CSV or table; None: a geometry)."""

    label: str
    lon: np.ndarray
    lat: np.ndarray
    columns: tuple[str, str] | None = None
    option_key: str = ""  # the scenario key of the layer, e.g. inputs.customers
    first_row: int = 2

    @classmethod
    def of(cls, frame: gpd.GeoDataFrame, label: str, **kwargs: object) -> LayerPoints:
        bounds = shapely.bounds(frame.geometry.to_numpy())
        lon, lat = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
        return cls(label, lon, lat, **kwargs)  # type: ignore[arg-type]

    @property
    def finite(self) -> np.ndarray:
        return np.isfinite(self.lon) & np.isfinite(self.lat)

    def centre(self, flipped: bool) -> tuple[float, float, float]:
        """Median lon, lat and a radius (as `Region.of`, but for any number of points) read as is or swapped."""
        ok = self.finite
        lon, lat = (self.lat[ok], self.lon[ok]) if flipped else (self.lon[ok], self.lat[ok])
        lon0, lat0 = float(np.median(lon)), float(np.median(lat))
        dist = _haversine_km(lon, lat, lon0, lat0)
        spread = float(np.quantile(dist, min(0.95, 1.0 - 1.5 / len(dist)))) if len(dist) >= 3 else float(dist.max())
        return lon0, lat0, max(4.0 * spread, spread + 150.0)

    @property
    def can_flip(self) -> bool:
        """Swapped, every point would still be a valid longitude and latitude."""
        return bool(self.finite.any() and (np.abs(self.lon[self.finite]) <= 90).all())


def _agree(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """Two layers lie in one region: their centres are within the wider one's radius."""
    distance = float(_haversine_km(np.array([a[0]]), np.array([a[1]]), b[0], b[1])[0])
    return distance <= max(a[2], b[2])


def swapped_layers(layers: list[LayerPoints]) -> tuple[list[int], bool]:
    """The layers whose latitude and longitude are the wrong way round, by position in `layers`, and whether
    another choice would fit as well (two layers only: either could be the swapped one).

    Each layer is taken whole: the rule is the set of layers to swap that brings the most pairs of layers into one
    region; with equal pairs, the fewest layers, then the fewest points, are swapped. So among customers, reps and
    depots the one file whose columns are swapped is named, whichever it is; of two layers, the smaller one is
    named and the message says it may be the other. Nothing is swapped unless it brings more layers together.
    """
    usable = [i for i, layer in enumerate(layers) if layer.finite.any()]
    flippable = [i for i in usable if layers[i].can_flip]
    centres = {(i, flip): layers[i].centre(flip) for i in usable for flip in (False, True) if not flip or
               i in flippable}
    scores: dict[tuple[int, ...], tuple[int, int, int]] = {}
    for size in range(len(flippable) + 1):
        for subset in combinations(flippable, size):
            pairs = sum(_agree(centres[(a, a in subset)], centres[(b, b in subset)])
                        for a, b in combinations(usable, 2))
            scores[subset] = (pairs, -size, -sum(int(layers[i].finite.sum()) for i in subset))
    chosen = max(scores, key=lambda subset: scores[subset])  # the first of equals: the fewest layers swapped
    ambiguous = bool(chosen) and sum(score[:2] == scores[chosen][:2] for score in scores.values()) > 1
    return list(chosen), ambiguous


def swap_finding(layers: list[LayerPoints], index: int, swapped: list[int], ambiguous: bool = False) -> Finding:
    """One finding for a whole layer whose lat and lon are the wrong way round, naming the layers it was checked
    against and the fix; every coordinate printed after its label."""
    layer = layers[index]
    others = [other for i, other in enumerate(layers) if i not in swapped and other.finite.any()]
    anchor = max(others, key=lambda other: int(other.finite.sum()))
    lon0, lat0, _ = anchor.centre(False)
    ok = layer.finite
    distance = float(np.median(_haversine_km(layer.lon[ok], layer.lat[ok], lon0, lat0)))
    first = int(np.flatnonzero(ok)[0])
    what = "row" if layer.columns is not None else "feature"
    if layer.columns is not None:
        lon_col, lat_col = layer.columns
        head = f"lat and lon look swapped in {_short(layer.label)} (columns '{lon_col}' and '{lat_col}')"
        fix = (f"swap the two column names in the header, or add  lon: {lat_col}  and  lat: {lon_col}  under "
               f"{layer.option_key}")
    else:
        head = f"lat and lon look swapped in {_short(layer.label)} (its geometry holds latitude as x)"
        fix = "write the layer again with longitude as x and latitude as y"
    names = ", ".join(_short(other.label) for other in others)
    maybe = (f" (with only {len(others) + 1} layers to compare, it may instead be {names} whose lat and lon are "
             "swapped)" if ambiguous else "")
    return Finding(
        f"{head}: its {int(ok.sum())} {what}s lie about {distance:,.0f} km from {names} (centre lon {lon0:.3f}, "
        f"lat {lat0:.3f}) and would lie among them swapped; e.g. {what} {first + layer.first_row} reads lon "
        f"{layer.lon[first]:.5f}, lat {layer.lat[first]:.5f}. {fix[0].upper()}{fix[1:]}{maybe}",
        source=layer.label, field="lon/lat")


def _short(label: str) -> str:
    """A file's name without its folder (the finding's source gives the whole path); a database label as it is."""
    return label if "://" in label else Path(label).name
