"""The report's edit mode: move alignment units (or customers, in a run without units) between the reps of a team,
see the balance and the hard rules live, download the edits as edits.csv for `run --edits` or `apply`.

Everything runs in the page (no server): this module embeds one compact JSON of what the panel needs, and the
vanilla script and style in `assets/` (inlined, so the page stays one file that opens offline). The JSON is per
need (customer x team), column by column: its team, unit, customer, rep, location (centimetres from an origin),
visits, call seconds, value, zones, extra balance amounts; per rep its home, team, bands; per team its unit graph
(`model.unit_graph.team_edges`, the adjacency `metrics.py` uses), `max_km` and whether it must be one piece. The
script sums exactly what `metrics.py` sums (`rep_loads`, `check`), so the panel's numbers are the judge's numbers.

Rounding, in one place (`ROUNDING`, read by the script too): workload hours are the integer seconds / 3600 to
2 decimals, half up on the seconds ((s + 18) // 36 / 100); value to whole units and travel (visit-km) to 1 decimal.
"""

from __future__ import annotations

import html
import json
import math
from importlib import resources
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ..model.unit_graph import team_edges
from .run import RunResult

ROUNDING = {"hours": 2, "value": 0, "travel_km": 1}
MAX_CUSTOMER_ITEMS = 10_000  # without units, customers are the items: this many are drawn (an even sample)
COORD_DECIMALS = 5


def hours_text(seconds: int) -> str:
    """Workload hours as the panel shows them: integer seconds to 2 decimals, half up on the seconds."""
    hundredths = (int(seconds) + 18) // 36
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _ints(values: np.ndarray) -> list[int]:
    return [int(v) for v in np.asarray(values).tolist()]


def _shapes(shapes: gpd.GeoSeries) -> list[Any]:
    """Each shape as GeoJSON coordinates (WGS84, rounded), for the edit layer."""
    wgs = shapes.to_crs(4326).to_numpy()
    rounded = shapely.set_precision(wgs, 10 ** -COORD_DECIMALS)
    return [shapely.geometry.mapping(g) if g is not None and not g.is_empty else None for g in rounded]


def panel_data(run: RunResult, colours: dict[str, str], team: str = "") -> dict[str, Any]:
    """The JSON the edit panel reads (see the module's docstring); `team`: the one it opens on (the map's)."""
    prepared, problem = run.prepared, run.prepared.problem
    assignment = np.asarray(run.result.assignment, dtype=np.int64)
    units = prepared.units if prepared.units is not None and problem.need_unit is not None else None
    origin = np.floor(np.vstack([problem.customer_xy, problem.rep_xy]).min(axis=0))

    def cm(xy: np.ndarray) -> tuple[list[int], list[int]]:
        rel = np.rint((xy - origin) * 100.0).astype(np.int64)
        return _ints(rel[:, 0]), _ints(rel[:, 1])

    value = prepared.customers["current_value"].to_numpy(dtype=float)
    nx, ny = cm(problem.customer_xy[problem.need_customer])
    rx, ry = cm(problem.rep_xy)
    needs: dict[str, Any] = {
        "team": _ints(problem.need_team), "customer": _ints(problem.need_customer), "rep": _ints(assignment),
        "x": nx, "y": ny, "visits": [float(v) for v in problem.need_visits.tolist()],
        "calls_s": _ints(problem.need_workload_s),
        "value": [float(v) for v in value[problem.need_customer].tolist()],
        "zones": [_ints(row) for row in problem.need_zone],
        "metrics": [_ints(row) for row in problem.need_metric] if problem.metric_names else [],
    }
    if problem.per_rep_drive:
        assert problem.drive_s_per_km is not None and problem.drive_base_s is not None
        needs["drive_per_km"] = [float(v) for v in problem.drive_s_per_km.tolist()]
        needs["drive_base_s"] = [float(v) for v in problem.drive_base_s.tolist()]
    locked = np.flatnonzero(problem.need_locked_rep >= 0)
    needs["locks"] = [[int(n), int(problem.need_locked_rep[n])] for n in locked.tolist()]
    if units is not None:
        assert problem.need_unit is not None
        needs["item"] = _ints(problem.need_unit)
        shapes = _shapes(units.shapes)
        hollow = [i for i, shape in enumerate(shapes) if shape is None]  # no area: a dot at the unit's point
        centres = gpd.GeoSeries(gpd.points_from_xy(units.centres[hollow, 0], units.centres[hollow, 1]),
                                crs=prepared.inputs.crs).to_crs(4326)
        items = {"kind": "unit", "ids": [str(u) for u in units.ids], "shapes": shapes,
                 "points": {str(i): [round(float(p.y), COORD_DECIMALS), round(float(p.x), COORD_DECIMALS)]
                            for i, p in zip(hollow, centres, strict=True)}}
    else:
        needs["item"] = _ints(problem.need_customer)
        n = problem.n_customers
        keep = np.arange(n) if n <= MAX_CUSTOMER_ITEMS else np.linspace(0, n - 1, MAX_CUSTOMER_ITEMS, dtype=np.int64)
        points = gpd.GeoSeries(gpd.points_from_xy(problem.customer_xy[keep, 0], problem.customer_xy[keep, 1]),
                               crs=prepared.inputs.crs).to_crs(4326)
        items = {"kind": "customer", "ids": [str(c) for c in problem.customer_ids],
                 "drawn": _ints(keep), "points": [[round(float(p.y), COORD_DECIMALS), round(float(p.x), COORD_DECIMALS)]
                                                  for p in points]}
    caps = problem.customer_caps
    counts = np.bincount(problem.need_customer, minlength=problem.n_customers)
    shared = np.flatnonzero(counts > 1)
    teams = []
    for t, name in enumerate(problem.team_names):
        edges: list[int] = []
        if units is not None and problem.need_unit is not None:
            assert problem.territory_unit is not None
            pairs = team_edges(problem.unit_edges, problem.unit_xy,
                               problem.territory_unit[problem.need_team == t])
            edges = _ints(pairs.reshape(-1))
        limit = None if problem.team_max_km is None or not math.isfinite(float(problem.team_max_km[t])) \
            else float(problem.team_max_km[t])
        most = 0 if problem.team_max_customers is None else int(problem.team_max_customers[t])
        teams.append({"name": name, "reps": _ints(np.flatnonzero(problem.rep_in_team[:, t])), "max_customers": most,
                      "contiguous": bool(units is not None and problem.team_contiguous is not None
                                         and problem.team_contiguous[t]),
                      "max_km": limit, "edges": edges, "n_needs": int((problem.need_team == t).sum())})
    return {
        "rounding": ROUNDING,
        "team": list(problem.team_names).index(team) if team in problem.team_names else 0,
        "detour": float(problem.detour_factor),
        "teams": teams,
        "reps": {"ids": [str(r) for r in problem.rep_ids], "x": rx, "y": ry,
                 "min_s": _ints(problem.rep_min_s), "max_s": _ints(problem.rep_max_s),
                 "target_s": [round(float(v), 3) for v in problem.rep_target_s.tolist()],
                 "zone": [_ints(row) for row in problem.rep_zone],
                 "colour": [colours.get(str(r), "#999999") for r in problem.rep_ids],
                 "metric_min": [_ints(row) for row in problem.rep_metric_min],
                 "metric_max": [_ints(row) for row in problem.rep_metric_max]},
        "metric_names": list(problem.metric_names),
        "zone_kinds": list(problem.zone_kinds),
        "zone_names": [list(names) for names in problem.zone_names],
        "shared_customers": {"ids": _ints(shared), "cap": _ints(caps[shared])},
        "needs": needs,
        "items": items,
    }


def edit_section(run: RunResult, colours: dict[str, str]) -> list[str]:
    """The edit panel's HTML (its script and data follow the page: `edit_script`)."""
    kind = "unit" if run.prepared.units is not None and run.prepared.problem.need_unit is not None else "customer"
    teams = "".join(f"<option value='{t}'>{html.escape(name)}</option>"
                    for t, name in enumerate(run.prepared.problem.team_names))
    drawn = ("the team's units only, each in its rep's colour (a moved unit takes its new rep's colour); "
             "<span class='edit-swatch edit-hatch'></span> hatched grey: a unit without customers of the team "
             "(outside edit mode it is drawn in a neighbouring rep's pale colour)" if kind == "unit"
             else "the team's customers only, each in its rep's colour")
    legend = (f"While editing, the map shows {drawn}; the territories' own pale colours are hidden until you stop "
              f"editing. In the table: <span class='edit-swatch edit-involved'></span> the selected {kind}'s rep "
              "and the last edit's two reps; <span class='edit-swatch edit-broken'></span> a rep breaking a hard "
              "rule.")
    return [
        f"<p class='note'>Correct the plan by hand: choose a team and <b>Edit on the map</b>, click a {kind} to "
        "select it, choose its new rep. The reps' workload against their bands, customers, value, travel and the "
        "hard rules (band, contact cap, boundary, max_km, one-piece territories) update at once; undo and redo step "
        "through the edits. <b>Download edits.csv</b> and hand it to tonight's run (<code>territory-opt run "
        "SCENARIO --edits edits.csv</code> turns each edit into locks) or publish it now (<code>territory-opt apply "
        "RUN_DIR edits.csv</code>). Nothing leaves this page until you download.</p>",
        "<div class='edit-controls'>"
        f"<label>team <select id='edit-team'>{teams}</select></label>"
        "<button type='button' id='edit-toggle' aria-pressed='false'>Edit on the map</button>"
        "<label>author <input id='edit-author' size='10' autocomplete='off'></label>"
        "<button type='button' id='edit-undo' disabled>Undo</button>"
        "<button type='button' id='edit-redo' disabled>Redo</button>"
        "<button type='button' id='edit-export' disabled>Download edits.csv</button></div>",
        f"<p id='edit-legend' class='note edit-legend'>{legend}</p>",
        "<div id='edit-selected' class='edit-selected'>Nothing selected.</div>",
        "<div class='scroll'><table id='edit-reps' class='edit-reps'><thead><tr><th>rep</th><th>workload against "
        "its band</th><th>hours</th><th>customers</th><th>value</th><th>travel (visit-km)</th><th>hard rules</th>"
        "</tr></thead><tbody></tbody></table></div>",
        "<h3>Edits</h3><div class='scroll'><table id='edit-list'><thead><tr><th>#</th><th>team</th><th>item</th>"
        "<th>from</th><th>to</th><th>note (editable)</th><th>rules broken right after this edit</th></tr></thead>"
        "<tbody></tbody></table></div>"
        "<p id='edit-empty' class='note'>No edits yet.</p>",
        HATCH_PATTERN,
    ]


# the hatch of units without customers of the edited team (the script fills them with `url(#edit-hatch)`): in the
# page, not in Leaflet's SVG, which is made anew with the layer; sized 0 but not display:none, or it would not paint
HATCH_PATTERN = ("<svg width='0' height='0' style='position:absolute' aria-hidden='true' focusable='false'><defs>"
                 "<pattern id='edit-hatch' patternUnits='userSpaceOnUse' width='8' height='8' "
                 "patternTransform='rotate(45)'><rect width='8' height='8' fill='#f2f2f2'/>"
                 "<rect width='2.5' height='8' fill='#9e9e9e'/></pattern></defs></svg>")


def edit_script(run: RunResult, colours: dict[str, str], team: str = "") -> str:
    """The panel's data, style and script, for the end of the page (after folium's map is made)."""
    data = json.dumps(panel_data(run, colours, team), separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (f"<style>{asset('edit_panel.css')}</style>"
            f"<script type='application/json' id='edit-data'>{data}</script>"
            f"<script>{asset('edit_panel.js')}</script>")
