"""map.png: every territory labelled with its rep, no label over another label, a rep home or a depot (a crowded
city centre of tiny territories with a depot in its middle), and a legend of the symbols."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from shapely.geometry import Point, box

from territory_opt.results.static_map import DEPOT_STYLE, DPI, HOME_STYLE, draw_map, map_figure

KM = 1000.0


def crowded() -> tuple[gpd.GeoDataFrame, dict[str, tuple[float, float]], gpd.GeoDataFrame]:
    """A 3 x 3 grid of 20 km squares around a centre cut into six 1 km slivers: nine large and six tiny
    territories, each rep living at its territory's centre, a depot in the middle of the slivers."""
    x0, y0 = 600 * KM, 5_800 * KM
    shapes, reps = [], []
    for r in range(3):
        for c in range(3):
            cell = box(x0 + c * 20 * KM, y0 + r * 20 * KM, x0 + (c + 1) * 20 * KM, y0 + (r + 1) * 20 * KM)
            if (r, c) == (1, 1):
                centre = box(x0 + 27 * KM, y0 + 29 * KM, x0 + 33 * KM, y0 + 31 * KM)
                cell = cell.difference(centre)
                for k in range(6):
                    shapes.append(box(x0 + (27 + k) * KM, y0 + 29 * KM, x0 + (28 + k) * KM, y0 + 31 * KM))
                    reps.append(f"CITY{k + 1}")
            shapes.append(cell)
            reps.append(f"R{r}{c}")
    territories = gpd.GeoDataFrame(pd.DataFrame({"team": "field", "rep_id": reps}), geometry=shapes, crs=2180)
    homes = {rep: (shape.centroid.x, shape.centroid.y) for rep, shape in zip(reps, shapes, strict=True)}
    depots = gpd.GeoDataFrame({"depot_id": ["D1"]}, geometry=[Point(x0 + 30 * KM, y0 + 30 * KM)], crs=2180)
    return territories, homes, depots


def test_every_territory_is_labelled_and_no_label_covers_a_label_a_home_or_a_depot() -> None:
    territories, homes, depots = crowded()
    customers = np.array([[p.x, p.y] for p in territories.geometry.representative_point()])
    fig = map_figure(territories, customers, [np.arange(len(customers))], homes, "crowded", depots=depots)
    fig.draw_without_rendering()  # places the labels' boxes where savefig draws them
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    ax = fig.axes[0]
    labels = {}
    for note in ax.texts:
        patch = note.get_bbox_patch()
        assert patch is not None
        labels[note.get_text()] = patch.get_window_extent(renderer)
    assert sorted(labels) == sorted(territories["rep_id"])
    boxes = list(labels.items())
    for i, (a, first) in enumerate(boxes):
        for b, second in boxes[i + 1:]:
            assert not first.overlaps(second), (a, b)
    for style, points in ((DEPOT_STYLE, [(p.x, p.y) for p in depots.geometry]), (HOME_STYLE, list(homes.values()))):
        half = np.sqrt(style["s"]) * DPI / 72 / 2  # type: ignore[call-overload]
        for x, y in ax.transData.transform(np.array(points)):
            for rep, extent in boxes:
                assert not (extent.x0 < x + half and x - half < extent.x1 and extent.y0 < y + half
                            and y - half < extent.y1), (rep, "covers a marker")
    leaders = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert leaders and len(leaders[0].get_segments()) >= 2, "the city's labels move out with a line back home"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"rep home", "depot", "customer the team serves"} <= set(legend)
    assert any(text.startswith("territory") for text in legend)


def test_the_png_is_the_same_bytes_every_time() -> None:
    territories, homes, depots = crowded()
    customers = np.array([[p.x, p.y] for p in territories.geometry.representative_point()])
    pngs = {draw_map(territories, customers, [np.arange(len(customers))], homes, "crowded", depots=depots)
            for _ in range(2)}
    assert len(pngs) == 1 and next(iter(pngs))[:8] == b"\x89PNG\r\n\x1a\n"
