"""`map.png`: the territories as a static picture for e-mails and the README (matplotlib, no display needed).

One panel per team: its territories coloured per rep and labelled, the customers it serves, rep homes (triangles),
depots (squares), the route network and distributor footprints. Above `MAX_POINTS` customers a panel draws an evenly
spaced sample of them and says so in its title. The PNG carries no timestamp, so reruns give the same bytes.
"""

from __future__ import annotations

import io
import math

import geopandas as gpd
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MAX_POINTS = 20_000
SIMPLIFY_SHARE = 2_000  # territories are simplified to this share of the map's extent (under a pixel)
PANEL_INCHES = 6.5
DPI = 80


class _SaveDrawsOnly(FigureCanvasAgg):
    """Agg that ignores draw_idle: geopandas asks for a redraw after every category (measured: 300 full redraws,
    70 s, at 100,000 customers); the one draw needed is savefig's."""

    def draw_idle(self, *args: object, **kwargs: object) -> None:
        pass


def draw_map(territories: gpd.GeoDataFrame, customer_xy: np.ndarray, customer_team: list[np.ndarray],
             rep_xy: dict[str, tuple[float, float]], title: str, *, depots: gpd.GeoDataFrame | None = None,
             routes: gpd.GeoDataFrame | None = None, footprints: gpd.GeoDataFrame | None = None) -> bytes:
    """PNG bytes. `territories` and the layers in one metric CRS; `customer_team[i]` are the customer rows of team i
    in the order of `territories`' teams."""
    teams = list(dict.fromkeys(territories["team"].tolist()))
    minx, miny, maxx, maxy = territories.total_bounds
    tolerance = max(maxx - minx, maxy - miny) / SIMPLIFY_SHARE  # below a pixel: drawing every vertex is slow
    territories = territories.set_geometry(territories.geometry.simplify(tolerance, preserve_topology=True))
    cols = min(2, max(1, len(teams)))
    rows = max(1, math.ceil(len(teams) / cols))
    fig = Figure(figsize=(PANEL_INCHES * cols, PANEL_INCHES * rows * 0.9 + 0.6), layout="constrained")
    _SaveDrawsOnly(fig)  # becomes fig.canvas
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, team, served in zip(axes, teams, customer_team, strict=False):
        mine = territories[territories["team"] == team]
        mine.plot(ax=ax, column="rep_id", cmap="tab20", edgecolor="white", linewidth=0.6, alpha=0.85)
        if footprints is not None and len(footprints):
            footprints.boundary.plot(ax=ax, color="#333333", linewidth=0.8, linestyle="--")
        if routes is not None and len(routes):
            routes.plot(ax=ax, color="#555555", linewidth=0.4, alpha=0.6)
        shown = served if len(served) <= MAX_POINTS else served[np.linspace(0, len(served) - 1, MAX_POINTS,
                                                                            dtype=np.int64)]
        xy = customer_xy[shown]
        ax.scatter(xy[:, 0], xy[:, 1], s=0.6, c="black", alpha=0.5, linewidths=0)
        homes = np.array([rep_xy[r] for r in mine["rep_id"] if r in rep_xy]).reshape(-1, 2)
        ax.scatter(homes[:, 0], homes[:, 1], s=40, marker="^", c="white", edgecolors="black", zorder=5)
        if depots is not None and len(depots):
            ax.scatter(depots.geometry.x, depots.geometry.y, s=60, marker="s", c="#c00000", zorder=6)
        for row in mine.itertuples():
            if not row.geometry.is_empty:
                point = row.geometry.representative_point()
                ax.annotate(str(row.rep_id), (point.x, point.y), fontsize=7, ha="center", weight="bold")
        sampled = f", {len(shown):,} of them drawn" if len(shown) < len(served) else ""
        ax.set_title(f"{team}: {len(mine)} territories, {len(served):,} customers{sampled}", fontsize=10)
        ax.set_axis_off()
    for ax in axes[len(teams):]:
        ax.set_axis_off()
    fig.suptitle(f"{title} (triangles: rep homes, squares: depots)", fontsize=12)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
