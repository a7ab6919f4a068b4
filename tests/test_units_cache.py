"""The per-user units cache (prepare/units_cache.py): a hit gives exactly what the build gives, warnings are never
lost, it can be turned off, and a broken entry is rebuilt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from territory_opt.prepare.units import Units, build_units
from territory_opt.prepare.units_cache import cache_dir, cached_units, units_key
from territory_opt.results.territories import study_area

from .test_build_units import CRS, projected, scattered


def built() -> tuple[Units, str]:
    lon, lat = scattered(seed=3)
    xy = projected(lon, lat)
    area = study_area(xy)
    key = units_key(xy, np.column_stack([lon, lat]), CRS, area, 100.0, 0.2)
    return build_units(xy, np.column_stack([lon, lat]), CRS, area, customers_per_rep=100.0, max_share=0.2), key


def same(a: Units, b: Units) -> bool:
    return (a.ids.tolist() == b.ids.tolist() and np.array_equal(a.customer_unit, b.customer_unit)
            and np.array_equal(a.edges, b.edges) and np.array_equal(a.joins, b.joins)
            and np.array_equal(a.centres, b.centres) and a.source == b.source and a.resolution == b.resolution
            and [shapely.to_wkb(g) for g in a.shapes] == [shapely.to_wkb(g) for g in b.shapes])


def test_a_hit_returns_exactly_the_built_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORY_OPT_CACHE", str(tmp_path))
    units, key = built()
    calls: list[int] = []

    def build() -> Units:
        calls.append(1)
        return units

    first = cached_units(key, CRS, build, lambda: False)
    second = cached_units(key, CRS, build, lambda: False)
    assert calls == [1] and first is units
    assert isinstance(second, Units) and second is not units and same(second, units)
    assert len(list(tmp_path.glob("units-*.npz"))) == 1


def test_a_build_that_warned_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORY_OPT_CACHE", str(tmp_path))
    units, key = built()
    cached_units(key, CRS, lambda: units, lambda: True)
    assert list(tmp_path.glob("units-*.npz")) == []


def test_the_cache_can_be_turned_off_and_a_broken_entry_is_rebuilt(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORY_OPT_CACHE", "off")
    assert cache_dir() is None
    monkeypatch.setenv("TERRITORY_OPT_CACHE", str(tmp_path))
    units, key = built()
    (tmp_path / f"units-{key}.npz").write_bytes(b"not a cache entry")
    out = cached_units(key, CRS, lambda: units, lambda: False)
    assert out is units
    again = cached_units(key, CRS, lambda: pytest.fail("a good entry must be read"), lambda: False)
    assert isinstance(again, Units) and same(again, units)


def test_the_key_follows_every_input() -> None:
    xy = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert units_key(xy, 0.2) == units_key(xy.copy(), 0.2)
    assert units_key(xy, 0.2) != units_key(xy + 1e-9, 0.2)
    assert units_key(xy, 0.2) != units_key(xy, 0.3)
    zone = np.array(["a", "b"], dtype=object)
    assert units_key(xy, zone) != units_key(xy, np.array(["a", "a"], dtype=object))
