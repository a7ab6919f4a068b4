"""Headless Chromium for the report's tests: the page loaded from disk at a chosen width, measured in the page.

Chromium's headless window does not go below 500 px, so the report is opened in an iframe of the wanted width (a
phone's 390 px, a laptop's 1,400 px) inside a small wrapper page; a script in the wrapper waits for the map, measures
the report's layout and writes the numbers into the wrapper's DOM as JSON, which `--dump-dom` prints.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .conftest import skip_unless_ci

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        skip_unless_ci("headless Chromium not installed (apt-get install chromium)")
    assert found is not None
    return found


MEASURE = """
function box(e) { var r = e.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width,
                                                              top: r.top, bottom: r.bottom}; }
function measure(win) {
  var doc = win.document, root = doc.documentElement, out = {};
  out.viewport = root.clientWidth; out.inner = win.innerWidth; out.scrollWidth = root.scrollWidth;
  out.bodyScrollWidth = doc.body.scrollWidth;
  out.sections = Array.prototype.map.call(doc.querySelectorAll('body > section[id]'), function (s) {
    var b = box(s); b.id = s.id; b.scrollWidth = s.scrollWidth; b.clientWidth = s.clientWidth; return b; });
  out.scrollers = Array.prototype.filter.call(doc.querySelectorAll('.scroll'), function (s) {
    return s.getClientRects().length > 0; }).map(function (s) {
    var b = box(s); b.section = s.closest('section') ? s.closest('section').id : ''; return b; });
  var advice = doc.querySelector('#advice-section table');
  out.advice = advice ? Array.prototype.map.call(advice.querySelectorAll('tbody tr:first-child td'), function (td) {
    var b = box(td); b.label = td.dataset.label; return b; }) : [];
  var chart = doc.getElementById('workload-chart');
  out.chart = chart ? {
    box: box(chart),
    ticks: Array.prototype.map.call(chart.querySelectorAll('.axis .tick'), function (t) { return t.textContent; }),
    tickBoxes: chart.querySelector('.axis') ?
      Array.prototype.map.call(chart.querySelector('.axis').querySelectorAll('.tick'), box) : [],
    reps: Array.prototype.map.call(chart.querySelectorAll('.who'), function (t) { return t.textContent; }),
    hours: Array.prototype.map.call(chart.querySelectorAll('.hours'), function (t) { return t.textContent; }),
    bars: Array.prototype.map.call(chart.querySelectorAll('.bar'), function (t) {
      return [t.dataset.rep, box(t).width]; }),
    bands: Array.prototype.map.call(chart.querySelectorAll('.band'), function (t) { return box(t).width; })
  } : null;
  function labels() {
    return Array.prototype.map.call(doc.querySelectorAll('.folium-map .rep-label'), function (l) {
      var b = box(l); b.rep = l.dataset.rep; b.hidden = l.classList.contains('rep-label-hidden'); return b; });
  }
  out.labels = labels();
  out.teams = {};  // the labels after choosing each team with its round button (the first one last, as opened)
  var radios = Array.prototype.slice.call(doc.querySelectorAll('.leaflet-control-layers-base input[type=radio]'));
  radios.slice(1).concat(radios.slice(0, 1)).forEach(function (radio) {
    radio.click();
    out.teams[radio.parentNode.textContent.trim()] = labels();
  });
  var map = doc.querySelector('.folium-map');
  out.map = map ? box(map) : null;
  out.changes = Array.prototype.map.call(doc.querySelectorAll('#changes-section h3'), function (h) {
    return h.textContent; });
  var rows = doc.querySelector('#changes-rows');
  out.changeRows = rows ? {open: rows.open, rows: rows.querySelectorAll('tbody tr').length} : null;
  return out;
}
var frame = document.getElementById('report');
frame.addEventListener('load', function () { setTimeout(function () {
  var pre = document.createElement('pre'); pre.id = 'measured';
  try { pre.textContent = JSON.stringify(measure(frame.contentWindow)); }
  catch (e) { pre.textContent = JSON.stringify({error: String(e)}); }
  document.body.appendChild(pre);
}, 1500); });
"""


def measure_report(report: Path, width: int, work: Path, height: int = 900) -> dict[str, Any]:
    """The report's layout at `width` CSS pixels (see MEASURE for what is measured)."""
    work.mkdir(parents=True, exist_ok=True)
    wrapper = work / f"at-{width}.html"
    wrapper.write_text("<!doctype html><html><body style='margin:0'>"
                       f"<iframe id='report' src='{report.resolve().as_uri()}' "
                       f"style='width:{width}px;height:{height}px;border:0'></iframe>"
                       f"<script>{MEASURE}</script></body></html>", encoding="utf-8")
    done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={work / f'profile-{width}'}",
                           "--allow-file-access-from-files", f"--window-size={max(width, 500) + 20},{height + 20}",
                           "--virtual-time-budget=20000", "--dump-dom", wrapper.as_uri()],
                          capture_output=True, text=True, timeout=180, check=False)
    found = re.search(r"<pre id=\"measured\">(.*?)</pre>", done.stdout, re.S)
    assert found is not None, done.stderr[-2000:]
    import html

    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    assert "error" not in result, result
    return result


def overlapping(boxes: list[dict[str, Any]], pad: float = 0.0) -> list[tuple[str, str]]:
    """Pairs of boxes (by their `rep`) that overlap."""
    pairs = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if (a["left"] < b["right"] - pad and b["left"] < a["right"] - pad
                    and a["top"] < b["bottom"] - pad and b["top"] < a["bottom"] - pad):
                pairs.append((a["rep"], b["rep"]))
    return pairs


def layout_problems(m: dict[str, Any]) -> list[str]:
    """What does not fit the viewport: the page wider than the window, a section or a table's box past its edge."""
    edge = m["viewport"] + 0.5
    problems = []
    if m["scrollWidth"] > m["viewport"]:
        problems.append(f"the page is {m['scrollWidth']} px wide in a {m['viewport']} px window")
    problems += [f"section {s['id']} ends at {s['right']:.0f} px" for s in m["sections"] if s["right"] > edge]
    problems += [f"section {s['id']}: content {s['scrollWidth']} px wide in {s['clientWidth']} px"
                 for s in m["sections"] if s["scrollWidth"] > s["clientWidth"] + 1]
    problems += [f"a table container in {s['section']} ends at {s['right']:.0f} px" for s in m["scrollers"]
                 if s["right"] > edge]
    return problems
