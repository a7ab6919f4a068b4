"""Retake the README's picture of the report's edit mode: `python docs/edit_mode_screenshot.py RUN_DIR [OUT.png]`.

The edits: two border units of one field rep given to a neighbouring rep, so that the neighbour ends over its band
and the rep in two pieces, chosen from the page's own data (its `edit-data` JSON: units, holders, workloads and unit
graph, summed as the panel sums them; see `plan`). Headless Chromium (`apt-get install chromium`) opens
RUN_DIR/report.html in an iframe of a wrapper page whose script makes them as a sales manager would: the team's map
button (the panel's team select follows it), *Edit on the map*, a click on each unit on the map, the new rep in the
select, then a note typed in the box (it goes with the edit just made).
It then zooms the map onto the units, scrolls so that the map's foot, the reps' workload bars and the list of edits
are in view, and the 1,200 x 1,000 px screen is saved (the page laid out at 1,500 px wide, shown at 80 %; default
docs/img/edit-mode.png). The script prints the edits and the rules each broke right after it, for the README's
caption. The README's picture is of the demo: `territory-opt run configs/demo.yaml --out out/demo`, then this script
on out/demo.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1200, 1000  # the picture: the page at 1,500 x 1,250 CSS px, shown at 80 % (map, bars and edits fit)
SCALE = 0.8
TEAM, AUTHOR = "field", "anna"

# Runs in the wrapper once the report has loaded: only the page's own controls (the map's team button, Edit on the
# map, a click on each unit, the rep select and the note); then the view is scrolled (instantly: the page's Bootstrap
# asks for smooth scrolling) and the map zoomed into the part left in view.
DRIVE = """
var frame = document.getElementById('report');
frame.addEventListener('load', function () { setTimeout(function () {
  var win = frame.contentWindow, doc = win.document, out = {edits: []};
  function change(node, value) { node.value = value; node.dispatchEvent(new win.Event('change', {bubbles: true})); }
  try {
    Array.prototype.forEach.call(doc.querySelectorAll('.leaflet-control-layers-base input'), function (r) {
      if (r.parentNode.textContent.trim() === 'territories: ' + PLAN.team && !r.checked) r.click(); });
    var team = doc.getElementById('edit-team');
    if (team.selectedOptions[0].text !== PLAN.team) throw new Error('the panel did not follow the map team button');
    doc.getElementById('edit-author').value = PLAN.author;
    doc.getElementById('edit-toggle').click();
    PLAN.moves.forEach(function (m) {
      var unit = doc.querySelector('path.edit-item[data-item="' + m.unit + '"]');
      unit.dispatchEvent(new win.MouseEvent('click', {bubbles: true, cancelable: true, view: win}));
      change(doc.getElementById('edit-rep'), m.rep);
      var note = doc.getElementById('edit-note');
      note.value = m.note; note.dispatchEvent(new win.Event('input', {bubbles: true}));
    });
    var list = doc.getElementById('edit-list'), box = doc.querySelector('.folium-map');
    win.scrollTo({top: win.scrollY + list.getBoundingClientRect().bottom + 12 - win.innerHeight, behavior: 'instant'});
    var hidden = Math.max(0, -box.getBoundingClientRect().top), map = null;
    for (var k in win) { if (/^map_/.test(k) && win[k] instanceof win.L.Map) map = win[k]; }
    map.fitBounds(win.L.latLngBounds(PLAN.bounds).pad(0.3),
                  {paddingTopLeft: [20, hidden + 20], paddingBottomRight: [20, 20], animate: false});
    PLAN.moves.forEach(function (m) {  // each moved unit's own tooltip, as when the mouse passes over it
      doc.querySelector('path.edit-item[data-item="' + m.unit + '"]').dispatchEvent(
        new win.MouseEvent('mouseover', {bubbles: true, view: win}));
    });
    out.edits = Array.prototype.map.call(list.querySelectorAll('tbody tr'), function (tr) {
      return Array.prototype.map.call(tr.cells, function (td) {
        var rules = Array.prototype.map.call(td.querySelectorAll('.rule-broken'), function (r) { return r.innerText; });
        var input = td.querySelector('input');
        return input ? input.value : rules.length ? rules.join('; ') : td.innerText; }); });
  } catch (e) { out.error = String(e); }
  var pre = document.createElement('pre'); pre.id = 'driven'; pre.style.display = 'none';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
}, 1000); });
"""


def panel_data(report: Path) -> dict[str, Any]:
    """The JSON the report's edit panel reads (territory_opt/results/edit_panel.py)."""
    page = report.read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(page.split("id='edit-data'>", 1)[1].split("</script>", 1)[0])
    return data


def plan(d: dict[str, Any], team_name: str) -> dict[str, Any]:
    """Two border units of a rep A given to a neighbour B, so that B ends over its band and A in two pieces (else
    one of the two) while A stays within its band. Of those, the pairs whose units and cut-off piece fill at least
    half of their box (the map zooms onto them), and of these the one that cuts off the largest piece; the map's
    bounds are that box."""
    if d["items"]["kind"] != "unit":
        raise SystemExit("the run has no alignment units: the picture is of units moved on the map")
    n, reps, t = d["needs"], d["reps"], [x["name"] for x in d["teams"]].index(team_name)
    team, shapes = d["teams"][t], d["items"]["shapes"]

    def work(i: int, r: int) -> int:  # the panel's `workload`: call seconds plus the drive from the rep's home
        km = math.hypot(n["x"][i] - reps["x"][r], n["y"][i] - reps["y"][r]) / 100_000 * d["detour"]
        drive = round(n["drive_per_km"][i] * km + n["drive_base_s"][i]) if "drive_per_km" in n else 0
        return int(n["calls_s"][i]) + drive

    load: dict[int, int] = defaultdict(int)
    for i, r in enumerate(n["rep"]):
        load[r] += work(i, r)
    needs: dict[int, list[int]] = defaultdict(list)  # unit -> the team's needs in it
    for i, (tm, u) in enumerate(zip(n["team"], n["item"], strict=True)):
        if tm == t and u >= 0:
            needs[u].append(i)
    holder = {u: min(set(n["rep"][i] for i in ns), key=lambda r: (-sum(n["rep"][i] == r for i in ns), r))
              for u, ns in needs.items()}  # the panel's `holders`: most of the unit's needs, the lowest rep on a tie
    adj: dict[int, set[int]] = defaultdict(set)
    for u, v in zip(team["edges"][::2], team["edges"][1::2], strict=True):
        adj[u].add(v)
        adj[v].add(u)

    def pieces(units: set[int]) -> list[set[int]]:  # connected in the team's unit graph, the largest last
        left, found = set(units), []
        while left:
            stack = [left.pop()]
            found.append(set(stack))
            while stack:
                for v in adj[stack.pop()] & left:
                    left.discard(v)
                    stack.append(v)
                    found[-1].add(v)
        return sorted(found, key=len)

    def area(units: Iterable[int]) -> float:  # square degrees (shoelace): enough to compare nearby shapes
        return sum(abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))) / 2
                   for u in units for ring in rings_of(shapes[u]))

    best: tuple[tuple[int, bool, bool, float], int, int, tuple[int, int], set[int]] | None = None
    for a in team["reps"]:
        own = {u for u, r in holder.items() if r == a}
        for b in sorted({holder[v] for u in own for v in adj[u] if v in holder} - {a}):
            border = sorted(u for u in own if any(holder.get(v) == b for v in adj[u]))
            for pair in itertools.combinations(border, 2):
                moved = [i for u in pair for i in needs[u]]
                over = load[b] + sum(work(i, b) for i in moved) > reps["max_s"][b]
                parts = pieces(own - set(pair))
                cut = set().union(*parts[:-1])
                if load[a] - sum(work(i, a) for i in moved) < reps["min_s"][a] or not (over or cut):
                    continue
                (south, west), (north, east) = box([*pair, *cut], d["items"])
                fill = area([*pair, *cut]) / max((north - south) * (east - west), 1e-12)
                key = (over + bool(cut), len(parts) == 2, fill >= 0.5, area(cut))
                if best is None or key > best[0]:
                    best = (key, a, b, pair, cut)
    if best is None:
        raise SystemExit(f"no two border units of one {team_name} rep break a rule when given to a neighbour")
    _, a, b, pair, cut = best
    ids = reps["ids"]
    notes = [f"{ids[b]} asked for these outlets", f"trial: does {ids[b]} have room?"]
    moves = [{"unit": d["items"]["ids"][u], "rep": ids[b], "note": note} for u, note in zip(pair, notes, strict=True)]
    return {"team": team_name, "author": AUTHOR, "moves": moves, "bounds": box([*pair, *cut], d["items"])}


def rings_of(shape: dict[str, Any] | None) -> list[list[list[float]]]:
    """A unit's polygon or multipolygon as its outer rings of (lon, lat) points (none for a unit without an area)."""
    if shape is None:
        return []
    polygons = [shape["coordinates"]] if shape["type"] == "Polygon" else shape["coordinates"]
    return [polygon[0] for polygon in polygons]


def box(units: list[int], items: dict[str, Any]) -> list[list[float]]:
    """The units' bounds as Leaflet takes them: [[south, west], [north, east]] (a unit without an area: its point)."""
    points = [p[::-1] for u in units for ring in rings_of(items["shapes"][u]) for p in ring]
    points += [items["points"][str(u)] for u in units if str(u) in items["points"]]
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    report = Path(sys.argv[1]).resolve() / "report.html"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).parent / "img" / "edit-mode.png").resolve()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None or not report.exists():
        raise SystemExit(f"needs headless Chromium and {report}")
    chosen = json.dumps(plan(panel_data(report), TEAM)).replace("</", "<\\/")  # safe inside <script>
    with tempfile.TemporaryDirectory() as work:
        wrapper = Path(work) / "edit-mode.html"
        wrapper.write_text("<!doctype html><html><body style='margin:0;overflow:hidden'>"
                           f"<iframe id='report' src='{report.as_uri()}' style='width:{WIDTH / SCALE}px;"
                           f"height:{HEIGHT / SCALE}px;border:0;transform:scale({SCALE});transform-origin:0 0'>"
                           f"</iframe><script>var PLAN = {chosen};{DRIVE}</script>"
                           "</body></html>", encoding="utf-8")
        done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                               "--allow-file-access-from-files", f"--user-data-dir={work}/profile",
                               f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=20000", "--dump-dom",
                               f"--screenshot={work}/shot.png", wrapper.as_uri()],
                              capture_output=True, text=True, timeout=180, check=True)
        shot = Path(work) / "shot.png"
        found = re.search(r"<pre id=\"driven\"[^>]*>(.*?)</pre>", done.stdout, re.S)
        driven: dict[str, Any] = json.loads(html.unescape(found.group(1))) if found else {
            "error": f"the wrapper's script did not finish; Chromium's log ends: {done.stderr[-600:]}"}
        if "error" in driven or not shot.exists():
            raise SystemExit(f"the page could not be driven: {driven.get('error', 'no screenshot')}")
        shutil.copyfile(shot, out)
    edits: list[list[str]] = driven["edits"]
    for number, _, item, old, new, note, rules in edits:
        print(f"{number}. {item}: {old} -> {new} ({note}); rules broken right after it: {rules}")
    print(f"{out} written from {report}")


if __name__ == "__main__":
    main()
