"""Where a territory's label goes, and which labels fit: shared by the report's map and `map.png`.

A label sits at the territory's pole of inaccessibility (the inside point farthest from its edge, on its largest
part): unlike a centroid it is always inside, and unlike shapely's representative point it is not pushed against
an edge. Labels are then placed greedily, most important first, each skipping positions where it would overlap
one already placed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel


def label_point(geometry: BaseGeometry) -> tuple[float, float] | None:
    """The point to label `geometry` at (its largest part's pole of inaccessibility); None for an empty shape."""
    if geometry is None or geometry.is_empty:
        return None
    parts = list(getattr(geometry, "geoms", [geometry]))
    polygons = [p for p in parts if p.geom_type == "Polygon" and not p.is_empty]
    if not polygons:
        point = geometry.representative_point()
        return float(point.x), float(point.y)
    largest = max(polygons, key=lambda p: p.area)
    tolerance = max(largest.area ** 0.5 / 100.0, 1e-9)
    point = polylabel(largest, tolerance=tolerance)
    return float(point.x), float(point.y)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in display units (pixels or points)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, pad: float = 0.0) -> bool:
        return (self.x0 < other.x1 + pad and other.x0 < self.x1 + pad
                and self.y0 < other.y1 + pad and other.y0 < self.y1 + pad)

    def shifted(self, dx: float, dy: float) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def inside(self, frame: Box) -> bool:
        return self.x0 >= frame.x0 and self.y0 >= frame.y0 and self.x1 <= frame.x1 and self.y1 <= frame.y1


def place(boxes: Sequence[Box], offsets: Sequence[tuple[float, float]], taken: Sequence[Box] = (),
          pad: float = 1.0, frame: Box | None = None, cell: float = 64.0) -> list[tuple[float, float] | None]:
    """Greedy placement in the order given (most important first): each box takes the first of `offsets` at which
    it overlaps neither a box already placed nor one of `taken` (markers that must stay visible) and stays within
    `frame`; None where no offset fits. Returns each box's chosen offset. Placed boxes are kept in a grid of
    `cell`-sized buckets, so that a check looks at the neighbours only (hundreds of labels stay fast)."""
    grid: dict[tuple[int, int], list[Box]] = {}

    def cells(b: Box) -> list[tuple[int, int]]:
        return [(i, j) for i in range(math.floor((b.x0 - pad) / cell), math.floor((b.x1 + pad) / cell) + 1)
                for j in range(math.floor((b.y0 - pad) / cell), math.floor((b.y1 + pad) / cell) + 1)]

    def add(b: Box) -> None:
        for key in cells(b):
            grid.setdefault(key, []).append(b)

    for b in taken:
        add(b)
    chosen: list[tuple[float, float] | None] = []
    for box in boxes:
        pick = None
        for dx, dy in offsets:
            moved = box.shifted(dx, dy)
            if frame is not None and not moved.inside(frame):
                continue
            if not any(moved.overlaps(other, pad) for key in cells(moved) for other in grid.get(key, ())):
                pick = (dx, dy)
                add(moved)
                break
        chosen.append(pick)
    return chosen
