"""The run's metric CRS: chosen from where the data is, or the scenario's own checked against it.

Distances, compactness and the travel objective are all measured in this CRS, so a projection made for another part
of the world (the sample's Polish EPSG:2180 kept for Ohio data, Web Mercator anywhere) inflates every distance and
changes the answer. The test is the projection's distance scale error at the data's points (from PROJ's scale
factors), not its nominal area of use: a UTM zone used a degree past its edge is harmless, a national grid used on
another continent is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyproj import CRS, Proj

from ..errors import Finding, InputError

# a scenario's CRS that stretches or shrinks distances by more than this anywhere in the data is refused
MAX_SCALE_ERROR = 0.01
# the UTM zone of the data's median point is chosen while its scale error at 99 % of the points stays within this
# (0.4 %: about 3.5 degrees of longitude either side of the zone's meridian at 50 N); wider data gets an azimuthal
# equidistant projection centred on that point (true distances from the centre). The 99th percentile, not the
# largest: one stray customer must not switch the projection of a whole run.
UTM_SCALE_ERROR = 0.004
UTM_FIT_QUANTILE = 0.99


@dataclass(frozen=True)
class Projection:
    """The run's CRS, why it was chosen, and how far it stretches distances over the data (a share: 0.001 = 0.1 %)."""

    crs: CRS
    label: str
    reason: str
    scale_error: float

    @property
    def note(self) -> str:
        """One line for the log and the manifest."""
        return f"{self.label} ({self.reason}; distances off by at most {self.scale_error:.2%} over the data)"


def point_scale_errors(crs: CRS, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Per point, the largest relative error of a short distance measured in `crs` there, in any direction
    (inf where PROJ cannot project the point)."""
    factors = Proj(crs).get_factors(lon, lat, errcheck=False)
    errors = np.maximum(np.abs(np.asarray(factors.meridional_scale, dtype=float) - 1.0),
                        np.abs(np.asarray(factors.parallel_scale, dtype=float) - 1.0))
    return np.where(np.isfinite(errors), errors, np.inf)


def scale_error(crs: CRS, lon: np.ndarray, lat: np.ndarray) -> float:
    """The largest relative distance error of `crs` at any of the points."""
    return float(point_scale_errors(crs, lon, lat).max()) if len(lon) else 0.0


def _median_point(lon: np.ndarray, lat: np.ndarray) -> tuple[float, float]:
    """The data's median point: one stray customer far away cannot move it (a centroid or bounding box would)."""
    return float(np.median(lon)), float(np.median(lat))


def utm_of(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM zone holding the point (the plain 6-degree zones)."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def equidistant_at(lon: float, lat: float) -> CRS:
    """An azimuthal equidistant projection centred on the point: distances from it are true, others off by about
    (d / R)^2 / 6 (0.4 % at 1,000 km)."""
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat:.4f} +lon_0={lon:.4f} +x_0=0 +y_0=0 +datum=WGS84 +units=m "
                          "+no_defs +type=crs")


def choose_projection(lon: np.ndarray, lat: np.ndarray) -> Projection:
    """A metric CRS suited to the points: the UTM zone of their median point when it fits them, else an azimuthal
    equidistant projection centred there. Depends only on the median and the spread, never on one stray point's zone."""
    lon0, lat0 = _median_point(lon, lat)
    utm = utm_of(lon0, lat0)
    errors = point_scale_errors(utm, lon, lat)
    bulk = float(np.quantile(errors, UTM_FIT_QUANTILE))
    if bulk <= UTM_SCALE_ERROR:
        return Projection(utm, f"{utm.name} (EPSG:{utm.to_epsg()})", "the UTM zone of the data's median point",
                          float(errors.max()))
    centred = equidistant_at(lon0, lat0)
    return Projection(centred, f"azimuthal equidistant centred on ({lon0:.4f}, {lat0:.4f})",
                      f"the data's median point; its UTM zone would be off by {bulk:.2%} at 99 % of the points",
                      scale_error(centred, lon, lat))


def _extent(lon: np.ndarray, lat: np.ndarray) -> str:
    return f"lon {lon.min():.2f} to {lon.max():.2f}, lat {lat.min():.2f} to {lat.max():.2f}"


def _area_of_use(crs: CRS) -> str:
    area = crs.area_of_use
    if area is None:
        return "no area of use recorded"
    return (f"made for {area.name.rstrip('.')}: lon {area.west:.2f} to {area.east:.2f}, "
            f"lat {area.south:.2f} to {area.north:.2f}")


def scenario_projection(value: str, lon: np.ndarray, lat: np.ndarray, source: str) -> Projection:
    """The scenario's `crs`, refused (InputError, exit 2) when it distorts distances over the data by more than
    MAX_SCALE_ERROR, with its area of use, the data's extent and the CRS territory-opt would choose."""
    crs = CRS.from_user_input(value)
    error = scale_error(crs, lon, lat)
    if error > MAX_SCALE_ERROR:
        suggestion = choose_projection(lon, lat)
        stretch = "cannot be measured" if not np.isfinite(error) else f"are off by up to {error:.0%}"
        raise InputError(Finding(
            f"{value} ({crs.name}) does not fit the data: distances in it {stretch} at the customers and reps "
            f"(it is {_area_of_use(crs)}; the data spans {_extent(lon, lat)}). Remove `crs` to let territory-opt "
            f"choose one (it would use {suggestion.label}), or give a CRS made for this area",
            source=source, field="crs"))
    return Projection(crs, f"{crs.name} ({value})", "the scenario's crs", error)
