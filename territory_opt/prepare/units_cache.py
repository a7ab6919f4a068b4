"""A per-user cache of built alignment units, so `explain` and `validate` after a run do not rebuild them.

Building automatic units (H3 cells, Voronoi shapes, their borders) is about half a second on the demo, the largest
single step `explain` repeats after the run that made them. The cache key is a hash of everything the build reads
(the customers' coordinates, the study area, the layer, the unit column, the zones, the settings) and of the code
that builds (this package's units, Voronoi and graph modules), so a hit returns exactly what the build would: the
shapes travel as WKB, which keeps every coordinate bit for bit. A build that raised warnings is not cached (a hit
must not lose them). The cache lives in `$TERRITORY_OPT_CACHE`, else `$XDG_CACHE_HOME/territory-opt`, else
`~/.cache/territory-opt`; `TERRITORY_OPT_CACHE=off` turns it off. Reading or writing it never fails a run.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely

from .. import __version__

if TYPE_CHECKING:
    from .units import Units

KEEP = 64  # newest entries kept; older ones are removed when a new one is written


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is off."""
    chosen = os.environ.get("TERRITORY_OPT_CACHE")
    if chosen is not None:
        return None if chosen.strip().lower() in ("off", "0", "false", "") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "territory-opt"


@functools.lru_cache(maxsize=1)
def _code_digest() -> bytes:
    """The source of the modules whose code decides the units (a changed build never reads an old entry)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode())
    for part in ("prepare/units.py", "prepare/units_cache.py", "results/territories.py", "model/unit_graph.py"):
        digest.update((package / part).read_bytes())
    return digest.digest()


def units_key(*parts: object) -> str:
    """A hash of the build's inputs: arrays by dtype, shape and bytes, geometries by WKB, the rest by repr."""
    digest = hashlib.sha256(_code_digest())
    for part in parts:
        if isinstance(part, np.ndarray):
            if part.dtype == object:
                values = part.tolist()
                if values and all(isinstance(v, shapely.Geometry) for v in values):
                    for v in values:
                        digest.update(shapely.to_wkb(v))
                else:
                    digest.update(repr(values).encode())
            else:
                digest.update(f"{part.dtype}{part.shape}".encode())
                digest.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, shapely.Geometry):
            digest.update(shapely.to_wkb(part))
        else:
            digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def cached_units(key: str, crs: object, build: Callable[[], Units], warned: Callable[[], bool]) -> Units:
    """The units for `key` from the cache, else `build()` (written to the cache unless `warned()` after it)."""
    from .units import Units  # at call time: units.py imports this module

    folder = cache_dir()
    path = None if folder is None else folder / f"units-{key}.npz"
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                resolution = int(data["resolution"])
                blob, ends = data["wkb"].tobytes(), data["wkb_ends"].tolist()
                wkb = [blob[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
                return Units(ids=data["ids"].astype(str), shapes=gpd.GeoSeries(
                                 shapely.from_wkb(np.array(wkb, dtype=object)), crs=crs),
                             customer_unit=data["customer_unit"], edges=data["edges"], source=str(data["source"]),
                             joins=data["joins"], resolution=None if resolution < 0 else resolution,
                             centre_xy=data["centre_xy"])
        except (OSError, ValueError, KeyError):
            pass  # an unreadable entry is rebuilt (and overwritten)
    units = build()
    if path is None or warned():
        return units
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        wkb = [bytes(b) for b in shapely.to_wkb(units.shapes.to_numpy())]  # kept whole: no padding, no pickle
        np.savez(buffer, ids=np.asarray(units.ids).astype(str),
                 wkb=np.frombuffer(b"".join(wkb), dtype=np.uint8),
                 wkb_ends=np.cumsum([len(b) for b in wkb], dtype=np.int64),
                 customer_unit=units.customer_unit, edges=units.edges, source=np.asarray(units.source),
                 joins=units.joins, resolution=np.asarray(-1 if units.resolution is None else units.resolution),
                 centre_xy=units.centres)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(buffer.getvalue())
        os.replace(partial, path)  # atomic: a concurrent reader sees the old entry or the whole new one
        entries = sorted(path.parent.glob("units-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or full disk only costs the next run the build
    return units
