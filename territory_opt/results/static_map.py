"""`map.png`: the territories as a static picture for e-mails and the README (matplotlib, no display needed).

One panel per team: its territories coloured per rep, each labelled with its rep id, the customers it serves, rep
homes (triangles), depots (red outlined squares), the route network and distributor footprints, and a legend of
those symbols under the panels. Labels are placed so that none covers another label, a rep home or a depot: in a
crowded city a label moves out, with a thin line back to its territory, and where no room is left near it the label
is left out (the panel's title counts those). Above `MAX_POINTS` customers a panel draws
an evenly spaced sample of them and says so in its title. The PNG carries no timestamp, so reruns give the same
bytes.
"""

from __future__ import annotations

import io
import math

import geopandas as gpd
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .colours import rep_colours
from .labels import Box, label_point, place

MAX_POINTS = 20_000
SIMPLIFY_SHARE = 2_000  # territories are simplified to this share of the map's extent (under a pixel)
PANEL_INCHES = 6.5
DPI = 80
LABEL_POINTS = 7  # rep label font size
RINGS = (0.0, 10.0, 18.0, 28.0, 40.0, 55.0, 75.0, 100.0)  # pixels a label may move from its territory's label point
LEADER_FROM = 8.0  # a label moved further than this gets a thin line back to its territory
HOME_STYLE = {"s": 40, "marker": "^", "c": "white", "edgecolors": "black", "linewidths": 0.8, "zorder": 5}
DEPOT_STYLE = {"s": 45, "marker": "s", "facecolors": "none", "edgecolors": "#c00000", "linewidths": 1.8,
               "zorder": 6}  # an outline: the map under it stays visible, and labels are placed off it


class _SaveDrawsOnly(FigureCanvasAgg):
    """Agg that ignores draw_idle: geopandas asks for a redraw after every category (measured: 300 full redraws,
    70 s, at 100,000 customers); the draws needed are the layout's (for label placement) and savefig's."""

    def draw_idle(self, *args: object, **kwargs: object) -> None:
        pass


def draw_map(territories: gpd.GeoDataFrame, customer_xy: np.ndarray, customer_team: list[np.ndarray],
             rep_xy: dict[str, tuple[float, float]], title: str, *, depots: gpd.GeoDataFrame | None = None,
             routes: gpd.GeoDataFrame | None = None, footprints: gpd.GeoDataFrame | None = None) -> bytes:
    """PNG bytes. `territories` and the layers in one metric CRS; `customer_team[i]` are the customer rows of team i
    in the order of `territories`' teams."""
    fig = map_figure(territories, customer_xy, customer_team, rep_xy, title, depots=depots, routes=routes,
                     footprints=footprints)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def map_figure(territories: gpd.GeoDataFrame, customer_xy: np.ndarray, customer_team: list[np.ndarray],
               rep_xy: dict[str, tuple[float, float]], title: str, *, depots: gpd.GeoDataFrame | None = None,
               routes: gpd.GeoDataFrame | None = None, footprints: gpd.GeoDataFrame | None = None) -> Figure:
    """The figure `draw_map` renders, laid out and labelled (the tests look at its labels and legend)."""
    teams = list(dict.fromkeys(territories["team"].tolist()))
    colours = rep_colours(territories, territories["rep_id"].astype(str).tolist())  # before simplifying: borders meet
    minx, miny, maxx, maxy = territories.total_bounds
    tolerance = max(maxx - minx, maxy - miny) / SIMPLIFY_SHARE  # below a pixel: drawing every vertex is slow
    territories = territories.set_geometry(territories.geometry.simplify(tolerance, preserve_topology=True))
    cols = min(2, max(1, len(teams)))
    rows = max(1, math.ceil(len(teams) / cols))
    fig = Figure(figsize=(PANEL_INCHES * cols, PANEL_INCHES * rows * 0.9 + 1.0), layout="constrained")
    _SaveDrawsOnly(fig)  # becomes fig.canvas
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    has_depots = depots is not None and len(depots) > 0
    labels: list[tuple[Axes, list[tuple[str, float, float, float]], np.ndarray]] = []
    for ax, team, served in zip(axes, teams, customer_team, strict=False):
        mine = territories[territories["team"] == team]
        mine.plot(ax=ax, color=[colours[str(r)] for r in mine["rep_id"]], edgecolor="white", linewidth=0.6,
                  alpha=0.85)
        if footprints is not None and len(footprints):
            footprints.boundary.plot(ax=ax, color="#333333", linewidth=0.8, linestyle="--")
        if routes is not None and len(routes):
            routes.plot(ax=ax, color="#555555", linewidth=0.4, alpha=0.6)
        shown = served if len(served) <= MAX_POINTS else served[np.linspace(0, len(served) - 1, MAX_POINTS,
                                                                            dtype=np.int64)]
        xy = customer_xy[shown]
        ax.scatter(xy[:, 0], xy[:, 1], s=0.6, c="black", alpha=0.5, linewidths=0)
        homes = np.array([rep_xy[r] for r in mine["rep_id"] if r in rep_xy]).reshape(-1, 2)
        ax.scatter(homes[:, 0], homes[:, 1], **HOME_STYLE)
        marker_sets = [homes]
        if depots is not None and has_depots:
            ax.scatter(depots.geometry.x, depots.geometry.y, **DEPOT_STYLE)
            marker_sets.append(np.column_stack([depots.geometry.x, depots.geometry.y]))
        anchors = []
        for row in mine.itertuples():
            point = label_point(row.geometry)
            if point is not None:
                anchors.append((str(row.rep_id), float(row.geometry.area), *point))
        labels.append((ax, anchors, np.vstack(marker_sets)))
        sampled = f", {len(shown):,} of them drawn" if len(shown) < len(served) else ""
        ax.set_title(f"{team}: {len(mine)} territories, {len(served):,} customers{sampled}", fontsize=10)
        ax.set_axis_off()
    for ax in axes[len(teams):]:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=12)
    fig.legend(handles=_legend_handles(has_depots, routes is not None and len(routes) > 0,
                                       footprints is not None and len(footprints) > 0),
               loc="outside lower center", ncols=3 if cols > 1 else 2, frameon=False, fontsize=9)
    fig.draw_without_rendering()  # lays the panels out: label placement needs their final size in pixels
    for ax, anchors, markers in labels:
        left_out = _label_territories(fig, ax, anchors, markers)
        if left_out:
            ax.set_title(f"{ax.get_title()}\n{left_out:,} rep labels left out for room (report.html shows them when "
                         "zoomed in)", fontsize=10)
    return fig


def _legend_handles(depots: bool, routes: bool, footprints: bool) -> list[Artist]:
    handles: list[Artist] = [
        Patch(facecolor="#aec7e8", edgecolor="white", label="territory: one colour per rep, labelled with its id"),
        Line2D([], [], linestyle="none", marker="o", markersize=2.5, color="black", alpha=0.6,
               label="customer the team serves"),
        Line2D([], [], linestyle="none", marker="^", markersize=7, markerfacecolor="white",
               markeredgecolor="black", label="rep home"),
    ]
    if depots:
        handles.append(Line2D([], [], linestyle="none", marker="s", markersize=7, markerfacecolor="none",
                              markeredgecolor="#c00000", markeredgewidth=1.8, label="depot"))
    if routes:
        handles.append(Line2D([], [], color="#555555", linewidth=0.8, label="route network"))
    if footprints:
        handles.append(Line2D([], [], color="#333333", linewidth=0.8, linestyle="--",
                              label="distributor footprint"))
    return handles


def _label_territories(fig: Figure, ax: Axes, anchors: list[tuple[str, float, float, float]],
                       markers: np.ndarray) -> int:
    """Each territory's rep id near its label point, larger territories first: a label that would cover another
    label, a rep home or a depot moves out along rings of growing radius (with a thin line back to its territory
    when it moved); one with no free place left is left out, and the count of those returned. Plain texts and one
    collection of lines: annotations with arrows cost 25 ms each to draw, which at 300 territories doubled the
    picture's time."""
    if not anchors:
        return 0
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    font = FontProperties(size=LABEL_POINTS, weight="bold")
    order = sorted(anchors, key=lambda a: (-a[1], a[0]))
    points = ax.transData.transform(np.array([[a[2], a[3]] for a in order]))
    boxes = []
    for (rep, _, _, _), (px, py) in zip(order, points, strict=True):
        width, height, _ = renderer.get_text_width_height_descent(rep, font, ismath=False)
        w, h = width + 5, height + 4  # the label's white box
        boxes.append(Box(px - w / 2, py - h / 2, px + w / 2, py + h / 2))
    side = math.sqrt(max(float(HOME_STYLE["s"]), float(DEPOT_STYLE["s"]))) * DPI / 72 / 2 + 1  # type: ignore[arg-type]
    marker_px = ax.transData.transform(markers) if len(markers) else np.zeros((0, 2))
    taken = [Box(x - side, y - side, x + side, y + side) for x, y in marker_px]
    frame = ax.get_window_extent(renderer)
    chosen = place(boxes, _offsets(), taken=taken, pad=1.0, frame=Box(frame.x0, frame.y0, frame.x1, frame.y1))
    shifts = np.array([offset if offset is not None else (0.0, 0.0) for offset in chosen])
    where = ax.transData.inverted().transform(points + shifts)
    leaders = []
    for (rep, _, x, y), (lx, ly), shift, offset in zip(order, where, shifts, chosen, strict=True):
        if offset is None:
            continue  # no room left near its territory: an unreadable pile helps no one (the title counts these)
        text = ax.text(lx, ly, rep, ha="center", va="center", fontproperties=font, zorder=8,
                       bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        text.set_in_layout(False)
        if math.hypot(*shift) > LEADER_FROM:
            leaders.append([(x, y), (lx, ly)])
    if leaders:
        lines = LineCollection(leaders, colors="#222222", linewidths=0.7, zorder=7)
        lines.set_in_layout(False)
        ax.add_collection(lines, autolim=False)
    return sum(offset is None for offset in chosen)


def _offsets() -> list[tuple[float, float]]:
    """Candidate offsets in pixels: the point itself, then eight directions per ring (sixteen on the outer rings)."""
    out = [(0.0, 0.0)]
    for radius in RINGS[1:]:
        steps = 8 if radius < 40 else 16
        for k in range(steps):
            angle = 2 * math.pi * k / steps
            out.append((round(radius * math.cos(angle), 2), round(radius * math.sin(angle), 2)))
    return out
