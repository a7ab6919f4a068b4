"""`report.html`: what sales ops open every morning, one self-contained file (no network needed to view it).

A line of links to the sections, then an interactive Leaflet map (folium, in its offline build: Leaflet and its
assets are inlined) with a layer per team of territories coloured per rep and labelled with the rep's id (one team
at a time, chosen with round buttons, when teams overlap; labels that would overlap shift or hide until zooming in
makes room; click a territory for its rep, workload, customers and value), customers coloured by tier, depots,
routes, distributor footprints and rep homes; the workload per rep on an hour axis against its band and target; the
KPIs; what changed, summarised before its rows; the real-hours rounds when routing ran; segment scores;
product-line advice; warnings. The HTML pieces other than the map and their CSS are in report_html.py: the page fits
a laptop's and a phone's width. No tiles by default (a tile URL can be set in `output.report_tiles`); above
`MAX_CUSTOMER_POINTS` customers the customer layer is an even sample, and the page says so.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template
from shapely import union_all

from ..prepare.prepared import Prepared
from .changes import CHANGE_COLUMNS
from .colours import rep_colours
from .edit_panel import edit_script, edit_section
from .labels import label_point
from .programmes import programmes_section
from .report_html import STYLE, cell, changes_section, table, wide_table, workload_chart
from .run import RunResult
from .units import team_shape_table

MAX_CUSTOMER_POINTS = 10_000
TIER_COLOURS = ("#d4a017", "#8a8d91", "#a0522d", "#555555")  # gold, silver, bronze, any further tier
COORD_DECIMALS = 5  # about a metre: keeps the file small


def _geojson(frame: gpd.GeoDataFrame, columns: list[str]) -> dict[str, Any]:
    """WGS84 GeoJSON of `columns`, coordinates rounded (what the map embeds)."""
    import shapely

    wgs = frame.to_crs(4326)
    geometry = shapely.set_precision(wgs.geometry.to_numpy(), 10 ** -COORD_DECIMALS)
    clean = pd.DataFrame({c: wgs[c].to_numpy() for c in columns})
    out = gpd.GeoDataFrame(clean, geometry=geometry, crs=4326)
    return json.loads(out.to_json(drop_id=True))


def build_map(run: RunResult, colours: dict[str, str], one_at_a_time: bool = False) -> tuple[str, str]:
    """(the map's HTML document, a note on thinning) from a run; `one_at_a_time`: teams are radio buttons."""
    import offlinefolium as folium

    prepared = run.prepared
    territories = run.territories.copy()
    value = _territory_value(run)
    territories["value"] = [round(value.get((t, r), 0.0)) for t, r in zip(territories["team"], territories["rep_id"],
                                                                            strict=True)]
    bounds = territories.to_crs(4326).total_bounds
    tiles = prepared.scenario.output.report_tiles
    fmap = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, height="640px", zoom_snap=0.25)  # fits tight
    if tiles:  # an overlay, so that the radio buttons, when there are any, pick among teams only
        folium.TileLayer(tiles=tiles, attr=prepared.scenario.output.report_attribution or tiles,
                         name="background", overlay=True).add_to(fmap)
    folium.map.CustomPane("territories", z_index=410).add_to(fmap)
    fields = ["team", "rep_id", "workload_hours", "n_customers", "value", "n_parts"]
    aliases = ["team", "rep", "workload h", "customers", "value", "parts"]
    if "compactness" in territories:  # territories made of alignment units
        territories["compactness"] = territories["compactness"].astype(float).fillna(0.0)
        fields, aliases = [*fields, "compactness"], [*aliases, "compactness"]
    teams = list(dict.fromkeys(territories["team"].tolist()))
    shown = shown_team(territories, teams)
    for team in teams:
        # overlapping teams (a specialist overlay on the field team) would hide each other: radio buttons then
        # show one team at a time, the one with most reps first; side-by-side teams (depots, regions) are all shown
        layer = folium.FeatureGroup(name=f"territories: {team}", overlay=not one_at_a_time,
                                    show=team == shown or not one_at_a_time)
        data = _geojson(territories[territories["team"] == team], fields)
        folium.GeoJson(
            data, pane="territories",
            style_function=lambda f: {"fillColor": colours.get(f["properties"]["rep_id"], "#999999"),
                                      "color": "#ffffff", "weight": 1, "fillOpacity": 0.35},
            popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
            tooltip=folium.GeoJsonTooltip(fields=["rep_id", "team"]),
        ).add_to(layer)
        _rep_labels(territories[territories["team"] == team], colours, layer)
        layer.add_to(fmap)
    note = _customer_layer(fmap, run)
    _context_layers(fmap, prepared, colours)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _Declutter().add_to(fmap)
    fmap.fit_bounds([[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]])
    return fmap.get_root().render(), note


def _rep_labels(territories: gpd.GeoDataFrame, colours: dict[str, str], layer: Any) -> None:
    """A label with the rep's id on each territory of one team, in that team's layer (it shows and hides with the
    team). Each label carries its territory's area as its priority: where labels would overlap at the current zoom,
    the page keeps the larger territory's (`_Declutter`)."""
    import offlinefolium as folium

    rows = []
    for row in territories.itertuples(index=False):
        point = label_point(row.geometry)
        if point is not None:
            rows.append((str(row.rep_id), float(row.geometry.area), *point))
    if not rows:
        return
    points = gpd.GeoSeries(gpd.points_from_xy([r[2] for r in rows], [r[3] for r in rows]),
                           crs=territories.crs).to_crs(4326)
    for (rep, area, _, _), point in zip(rows, points, strict=True):
        text = html.escape(rep)
        label = (f"<span class='rep-label' data-rep='{text}' data-priority='{area / 1e6:.3f}' "
                 f"style='border-color:{colours.get(rep, '#333333')}'>{text}</span>")
        folium.Marker([round(float(point.y), COORD_DECIMALS), round(float(point.x), COORD_DECIMALS)],
                      icon=folium.DivIcon(html=label, icon_size=(0, 0), icon_anchor=(0, 0),
                                          class_name="rep-label-icon"),
                      interactive=False, keyboard=False).add_to(layer)


class _Declutter(MacroElement):
    """The page's label placement: after every zoom, pan or layer switch, the visible rep labels are placed in order
    of priority (territory area): on their point, else shifted by one label's height or half its width, else hidden
    (class `rep-label-hidden`, back when zooming in makes room)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            function declutter() {
                var labels = Array.prototype.slice.call(map.getContainer().querySelectorAll('.rep-label'));
                labels.sort(function (a, b) {
                    return (+b.dataset.priority - +a.dataset.priority) || (a.dataset.rep < b.dataset.rep ? -1 : 1);
                });
                var kept = [];
                function free(r) {
                    return !kept.some(function (k) {
                        return r.left < k.right + 2 && k.left < r.right + 2
                            && r.top < k.bottom + 1 && k.top < r.bottom + 1;
                    });
                }
                labels.forEach(function (label) {
                    label.classList.remove('rep-label-hidden');
                    label.style.transform = '';
                    var r = label.getBoundingClientRect(), w = r.width * 0.6 + 2, h = r.height + 2;
                    // on its point, else one label's height above or below, else beside it; else hidden
                    var shifts = [[0, 0], [0, -h], [0, h], [-w, 0], [w, 0]];
                    for (var i = 0; i < shifts.length; i++) {
                        var dx = shifts[i][0], dy = shifts[i][1];
                        var moved = {left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy};
                        if (free(moved)) {
                            if (i) { label.style.transform = 'translate(calc(-50% + ' + dx + 'px), calc(-50% + '
                                                              + dy + 'px))'; }
                            kept.push(moved);
                            return;
                        }
                    }
                    label.classList.add('rep-label-hidden');
                });
            }
            map.on('zoomend moveend resize overlayadd overlayremove baselayerchange', declutter);
            map.whenReady(function () { setTimeout(declutter, 0); });
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "Declutter"


def teams_overlap(territories: gpd.GeoDataFrame, share: float = 0.01) -> bool:
    """Whether any two teams' ground overlaps by more than `share` of the smaller one's area."""
    ground = [union_all(group.geometry.to_numpy()) for _, group in territories.groupby("team", sort=False)]
    for i, a in enumerate(ground):
        for b in ground[i + 1:]:
            smaller = min(a.area, b.area)
            if smaller > 0 and a.intersection(b).area > share * smaller:
                return True
    return False


def shown_team(territories: pd.DataFrame, teams: list[str]) -> str:
    """The team the map opens on when it shows one at a time: the one with the most territories (reps), the main
    field team in a usual set-up (inside sales may hold more customers, but few shapes); first on ties."""
    sizes = territories["team"].value_counts()
    return max(teams, key=lambda team: (int(sizes.get(team, 0)), -teams.index(team)))


def _territory_value(run: RunResult) -> dict[tuple[str, str], float]:
    customers = run.prepared.customers
    value = customers["current_value"].to_numpy(float)
    frame = run.assignments.assign(value=value[run.assignments["customer_index"].to_numpy()])
    return {(t, r): float(v) for (t, r), v in frame.groupby(["team", "rep_id"])["value"].sum().items()}


def _customer_layer(fmap: Any, run: RunResult) -> str:
    import offlinefolium as folium

    customers = run.prepared.customers
    n = len(customers)
    keep = np.arange(n) if n <= MAX_CUSTOMER_POINTS else np.linspace(0, n - 1, MAX_CUSTOMER_POINTS, dtype=np.int64)
    tiers = list(run.prepared.scenario.tiers.names)
    shown = gpd.GeoDataFrame({"customer_id": customers["customer_id"].to_numpy()[keep],
                              "tier": customers["tier"].astype(str).to_numpy()[keep],
                              "teams": customers["teams"].astype(str).to_numpy()[keep]},
                             geometry=customers.geometry.to_numpy()[keep], crs=customers.crs)
    colour = {t: TIER_COLOURS[min(i, len(TIER_COLOURS) - 1)] for i, t in enumerate(tiers)}
    layer = folium.FeatureGroup(name="customers by tier", show=True)
    folium.GeoJson(
        _geojson(shown, ["customer_id", "tier", "teams"]),
        marker=folium.CircleMarker(radius=2, weight=0, fill=True, fill_opacity=0.8),
        style_function=lambda f: {"fillColor": colour.get(f["properties"]["tier"], "#555555")},
        tooltip=folium.GeoJsonTooltip(fields=["customer_id", "tier", "teams"]),
    ).add_to(layer)
    layer.add_to(fmap)
    if len(keep) < n:
        return (f"The customer layer shows an even sample of {len(keep):,} of the {n:,} customers "
                "(every customer is in customers.geojson).")
    return ""


def _context_layers(fmap: Any, prepared: Prepared, colours: dict[str, str]) -> None:
    import offlinefolium as folium

    inputs = prepared.inputs
    if inputs.distributors is not None and len(inputs.distributors):
        layer = folium.FeatureGroup(name="distributor footprints", show=True)
        folium.GeoJson(_geojson(inputs.distributors, ["distributor_id"]),
                       style_function=lambda f: {"color": "#333333", "weight": 2, "dashArray": "6 4",
                                                 "fillOpacity": 0},
                       tooltip=folium.GeoJsonTooltip(fields=["distributor_id"])).add_to(layer)
        layer.add_to(fmap)
    if inputs.routes is not None and len(inputs.routes):
        layer = folium.FeatureGroup(name="routes", show=True)
        folium.GeoJson(_geojson(inputs.routes, []),
                       style_function=lambda f: {"color": "#555555", "weight": 1.5, "opacity": 0.7}).add_to(layer)
        layer.add_to(fmap)
    if inputs.depots is not None and len(inputs.depots):
        layer = folium.FeatureGroup(name="depots", show=True)
        folium.GeoJson(_geojson(inputs.depots, ["depot_id"]),
                       marker=folium.CircleMarker(radius=7, color="#c00000", weight=2, fill=True,
                                                  fill_color="#c00000", fill_opacity=1),
                       tooltip=folium.GeoJsonTooltip(fields=["depot_id"])).add_to(layer)
        layer.add_to(fmap)
    problem = prepared.problem
    homes = gpd.GeoDataFrame({"rep_id": problem.rep_ids.astype(str)},
                             geometry=gpd.points_from_xy(problem.rep_xy[:, 0], problem.rep_xy[:, 1]),
                             crs=prepared.inputs.crs)
    layer = folium.FeatureGroup(name="rep homes", show=True)
    folium.GeoJson(_geojson(homes, ["rep_id"]),
                   marker=folium.CircleMarker(radius=5, color="#000000", weight=1.5, fill=True, fill_opacity=1),
                   style_function=lambda f: {"fillColor": colours.get(f["properties"]["rep_id"], "#ffffff")},
                   tooltip=folium.GeoJsonTooltip(fields=["rep_id"])).add_to(layer)
    layer.add_to(fmap)


ELEMENT_ID = re.compile(r"_[0-9a-f]{32}(?![0-9a-f])")


SECTIONS = (("map", "Map"), ("edit", "Edit the plan"), ("workload", "Workload per rep"), ("kpis", "KPIs"),
            ("territories", "Territories"),
            ("changes", "What changed"), ("routing", "Real hours"), ("segments", "Segments"),
            ("advice", "Product-line advice"), ("programmes", "Programmes"), ("warnings", "Warnings"))
ADVICE_KEY = ("product_line", "n_customers", "share_of_customers", "fte_needed", "recommendation", "reason")
SEGMENT_KEY = ("segment_id", "sector", "product_version", "payment_format", "sales_approach", "n_customers", "value",
               "potential", "attractiveness", "competitiveness")


def _section(key: str, title: str, *body: str) -> str:
    return f"<section id='{key}-section'><h2>{html.escape(title)}</h2>" + "\n".join(b for b in body if b) + "</section>"


def build_report(run: RunResult) -> str:
    """The whole page as one HTML string: folium's map document with the report's sections around the map."""
    kpis, scenario = run.kpis, run.prepared.scenario
    colours = rep_colours(run.territories, [str(r) for r in run.prepared.problem.rep_ids])
    one_at_a_time = teams_overlap(run.territories)
    map_html, thinning = build_map(run, colours, one_at_a_time)
    teams_in_map = list(dict.fromkeys(run.territories["team"].tolist()))
    headline = pd.DataFrame([
        ("status", kpis["status"]), ("engine", kpis["engine"]), ("objective", kpis["objective"]),
        ("bound", kpis["bound"]), ("gap", f"{100 * float(kpis['gap']):.3f} %"),
        ("travel (visit-km)", kpis["travel_visit_km"]),
        ("largest workload deviation", f"{100 * float(kpis['max_workload_deviation']):.1f} %"),
        ("mean workload deviation", f"{100 * float(kpis['mean_workload_deviation']):.1f} %"),
        ("customers moved from today's rep", kpis["moved_customers"]),
        ("most reps on one customer (contact cap use)", kpis["max_reps_on_a_customer"]),
        ("territories in several parts", kpis["territories_with_several_parts"]),
        ("customers", kpis["n_customers"]), ("reps", kpis["n_reps"]), ("warnings", kpis["n_warnings"]),
    ], columns=["KPI", "value"])
    headline["value"] = [cell(v) for v in headline["value"]]
    changes = run.changes if run.changes is not None else pd.DataFrame(columns=CHANGE_COLUMNS)
    customers = run.prepared.customers
    value = dict(zip(customers["customer_id"].astype(str), customers["current_value"].astype(float), strict=True))
    sections = {
        "edit": edit_section(run, colours),
        "workload": [workload_chart(run.reps, colours)],
        "kpis": [table(headline)],
        "territories": _territories_section(run),
        "changes": changes_section(changes, value, _baseline(kpis))}
    routing = kpis.get("routing")
    if routing:
        sections["routing"] = [
            f"<p>Drive share {100 * float(routing['drive_share']):.1f} %, {routing['days_routed']:,} day "
            f"routes, {routing['unplanned_visits']:,} visits no day could hold. Each round re-assigns with "
            "the measured drive time; the kept round is marked.</p>", table(pd.DataFrame(routing["rounds"]))]
    segments, advice = run.prepared.segments, run.prepared.advice
    sections["segments"] = [wide_table(segments, SEGMENT_KEY, max_rows=60) if len(segments) else "<p>None.</p>"]
    sections["advice"] = [wide_table(advice, ADVICE_KEY, css="cards", long=("reason", "buyer_roles"))
                          if len(advice) else "<p>None (no product lines in the customers file).</p>"]
    sections["programmes"] = programmes_section(run.programmes, list(scenario.tiers.names),
                                                scenario.programmes.margin_pct if scenario.programmes else 0.0)
    sections["warnings"] = [table(pd.DataFrame({"warning": [str(w) for w in run.prepared.warnings]}), long=("warning",))
                            if run.prepared.warnings else "<p>None.</p>"]
    titles = dict(SECTIONS)
    if routing:
        titles["routing"] = "Real hours (routing)"
    present = [k for k, _ in SECTIONS if k == "map" or sections.get(k)]
    nav = "<nav class='sections'>" + "".join(f"<a href='#{k}-section'>{html.escape(dict(SECTIONS)[k])}</a>"
                                              for k in present) + "</nav>"
    before = "\n".join(s for s in [
        f"<h1>territory-opt: {html.escape(scenario.name)}</h1>",
        f"<p>{html.escape(scenario.description)}</p>" if scenario.description else "", nav,
        "<section id='map-section'><h2>Map</h2>"] if s)
    map_note = (f"<p class='note'>{html.escape(thinning)} Each territory carries its rep's id (a label that would "
                "overlap another moves aside or hides until you zoom in); click a territory for its rep, workload, "
                "customers and value; the layer box switches layers on and off"
                + ("; teams overlap, so it shows one team at a time, chosen with its round buttons"
                   if one_at_a_time else "") + ".</p></section>")
    after = map_note + "\n".join(_section(k, titles[k], *sections[k]) for k in present if k != "map")
    page = map_html.replace("</head>", f"<title>territory-opt: {html.escape(scenario.name)}</title>"
                                       f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
                                       f"<style>{STYLE}</style></head>", 1)
    start = page.index('<div class="folium-map"')
    end = page.index("</div>", start) + len("</div>")
    page = page[:start] + before + page[start:end] + after + page[end:]
    page = page.replace("</body>", edit_script(run, colours, shown_team(run.territories, teams_in_map)) + "</body>", 1)
    return _stable_ids(page)


def _baseline(kpis: dict[str, object]) -> str:
    counted = kpis.get("changes")
    return str(counted.get("baseline", "")) if isinstance(counted, dict) else ""


def _territories_section(run: RunResult) -> list[str]:
    """Territories made of alignment units: where the units came from, and per team the pieces and compactness
    (nothing when the run has no units)."""
    units = run.prepared.units
    if units is None or "compactness" not in run.territories:
        return []
    source = {"layer": "the units layer (inputs.units)", "column": "the customers' unit_id column",
              "h3": f"H3 cells made from the customers (resolution {units.resolution})"}.get(units.source, units.source)
    return [f"<p>Territories are made of {units.n_units:,} alignment units from {html.escape(source)}; each unit goes "
            "whole to one rep per team. Compactness is Polsby-Popper (4&pi;A/P&sup2;: 1 for a disc, lower for a "
            "sprawling shape); a territory in several parts has islands.</p>",
            table(team_shape_table(run.territories))]


def _stable_ids(page: str) -> str:
    """folium names its elements with random hex ids: number them in order of appearance (byte-identical reruns)."""
    numbering: dict[str, str] = {}
    return ELEMENT_ID.sub(lambda m: numbering.setdefault(m.group(0), f"_{len(numbering) + 1:06d}"), page)
