"""Where the customers are, and the points and extents of every layer far from it (stray or swapped coordinates,
or a layer in the wrong CRS)."""

from __future__ import annotations

from dataclasses import dataclass

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
            log.add(Finding(f"point ({lon[pos]:.5f}, {lat[pos]:.5f}) is {dist[pos]:.0f} km from the data's region "
                            f"(centre {self.lon:.3f}, {self.lat:.3f}; radius {self.radius_km:.0f} km){hint}",
                            source=name, row=int(pos) + offset, field="lon/lat"), kind="outside region")

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
            log.add(Finding(f"feature lies {dist[pos]:.0f} km from the customers' region (centre {self.lon:.3f}, "
                            f"{self.lat:.3f}; radius {self.radius_km:.0f} km); is the layer's CRS right?",
                            source=name, row=int(pos) + offset, field="geometry"), kind="outside region")
