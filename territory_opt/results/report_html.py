"""The HTML pieces of `report.html` that are not the map: tables that fit a laptop or a phone, the workload chart,
the "what changed" summary, and the page's CSS.

Layout rule: the page is never wider than the window. Every table sits in a container that scrolls sideways on its
own when it must; wide tables show their key columns (text wraps) and keep every column one click away under "all
columns"; on a narrow screen (a phone) the short tables turn each row into a card of `column: value` lines.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

STYLE = """
html, body { width: auto; height: auto; }  /* folium's full-window 100 % plus a margin overflowed sideways */
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1600px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
nav.sections { font-size: 0.9em; display: flex; flex-wrap: wrap; gap: 0.3em 1em; }
nav.sections a { white-space: nowrap; }
section { min-width: 0; max-width: 100%; }
.scroll { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.long { min-width: 16em; max-width: 60em; }
h3 { font-size: 1em; margin: 1em 0 0.3em; }
details { margin: 0.4em 0 0.8em; } summary { cursor: pointer; color: #1a4f8b; }
.note { color: #555; font-size: 0.9em; }
.folium-map { border: 1px solid #ccc; box-sizing: border-box; }
.rep-label { background: rgba(255, 255, 255, 0.9); border: 1.5px solid #333; border-radius: 3px;
             font: bold 11px/1.2 system-ui, sans-serif; padding: 1px 3px; white-space: nowrap;
             display: inline-block; transform: translate(-50%, -50%); pointer-events: none; }
.rep-label.rep-label-hidden { visibility: hidden; }
.leaflet-marker-icon.rep-label-icon { background: none; border: none; overflow: visible; }
.leaflet-control-layers { max-height: 420px; overflow-y: auto; }
.chart { display: grid; grid-template-columns: max-content minmax(120px, 1fr) max-content; column-gap: 8px;
         row-gap: 3px; align-items: center; font-size: 0.85em; max-width: 1000px; }
.chart .team { grid-column: 1 / -1; font-weight: 600; margin-top: 0.5em; }
.chart .who { white-space: nowrap; }
.chart .track { position: relative; height: 16px; }
.chart .band { position: absolute; top: 0; bottom: 0; background: #e3e3e3; }
.chart .bar { position: absolute; left: 0; top: 4px; bottom: 4px; }
.chart .edge { position: absolute; top: -2px; bottom: -2px; width: 0; border-left: 1.5px dashed #666; }
.chart .target { position: absolute; top: -1px; bottom: -1px; width: 2px; margin-left: -1px; background: #000; }
.chart .grid { position: absolute; top: 0; bottom: 0; width: 1px; background: rgba(0, 0, 0, 0.12); }
.chart .hours { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.chart .hours.off { color: #b00000; font-weight: 600; }
.chart .axis { position: relative; height: 1.4em; border-top: 1px solid #555; }
.chart .axis .tick { position: absolute; top: 0; transform: translateX(-50%); font-size: 0.9em; color: #333;
                     white-space: nowrap; }
.chart .axis .tick::before { content: ""; position: absolute; left: 50%; top: 0; height: 4px; border-left: 1px solid
                             #555; }
.chart .axis .tick { padding-top: 4px; }
.chart .axis-title { grid-column: 2; text-align: center; color: #555; }
.legend-chip { display: inline-block; width: 1.6em; height: 0.8em; vertical-align: middle; margin: 0 0.2em; }
@media (max-width: 700px) {
  body { margin: 0.7em; }
  .folium-map { height: 480px !important; }
  .leaflet-control-layers { font-size: 11px; max-height: 220px; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: auto; }
  table.cards thead { display: none; }
  table.cards tr { border: 1px solid #ccc; margin: 0 0 0.6em; padding: 0.2em 0.4em; }
  table.cards td { border: none; padding: 1px 0; min-width: 0; max-width: none; text-align: left;
                   white-space: normal; }
  table.cards td::before { content: attr(data-label) ": "; font-weight: 600; }
  .chart { font-size: 0.8em; column-gap: 5px; }
}
"""


def cell(value: object) -> str:
    """A value as the tables print it: floats to 3 decimals without trailing zeros, thousands separated."""
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value)


def _header(name: object) -> str:
    """A column name that may break after its underscores (`share_of_wallet` wraps instead of widening the table);
    the text itself is unchanged."""
    return html.escape(str(name)).replace("_", "_<wbr>")


def table(frame: pd.DataFrame, *, max_rows: int | None = None, css: str = "", long: Sequence[str] = (),
          more: str = "in the CSV file") -> str:
    """`frame` as an HTML table in a sideways-scrolling container; `long` columns wrap (free text), numbers align
    right; above `max_rows` the rest is counted in a note."""
    shown = frame if max_rows is None else frame.head(max_rows)
    numeric = {c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c]) and
               not pd.api.types.is_bool_dtype(shown[c])}
    classes = ["num" if c in numeric else "long" if c in long else "" for c in shown.columns]
    labels = [html.escape(str(c)) for c in shown.columns]
    head = "".join(f"<th>{_header(c)}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(f"<td{f' class={k!r}' if k else ''} data-label='{label}'>{html.escape(cell(v))}</td>"
                         for v, k, label in zip(row, classes, labels, strict=True)) + "</tr>"
        for row in shown.itertuples(index=False))
    note = f"<p class='note'>{len(frame) - len(shown):,} more rows {html.escape(more)}.</p>" \
        if max_rows is not None and len(frame) > max_rows else ""
    css_attr = f" class='{css}'" if css else ""
    return f"<div class='scroll'><table{css_attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>" \
        + note


def wide_table(frame: pd.DataFrame, key: Sequence[str], *, max_rows: int | None = None, css: str = "",
               long: Sequence[str] = (), what: str = "columns") -> str:
    """A table with many columns: its `key` columns (those present, in that order) in full view, and every column
    under an "all columns" fold that scrolls sideways inside the page."""
    columns = [c for c in key if c in frame.columns]
    if not columns or len(columns) == len(frame.columns):
        return table(frame, max_rows=max_rows, css=css, long=long)
    rest = [c for c in frame.columns if c not in columns]
    return (table(frame[columns], max_rows=max_rows, css=css, long=long)
            + f"<details><summary>all {len(frame.columns)} {html.escape(what)} (also "
            + html.escape(", ".join(str(c) for c in rest)) + ")</summary>"
            + table(frame, max_rows=max_rows, long=long) + "</details>")


def nice_step(top: float, ticks: int = 6) -> float:
    """A round tick spacing (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` ticks up to `top`."""
    raw = max(top, 1e-9) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def workload_chart(reps: pd.DataFrame, colours: dict[str, str]) -> str:
    """One row per rep, grouped by team: its rep id, a bar of its workload hours over its allowed band (grey) with
    its target (black tick) on a common hour axis, and the hours as a number (red when outside the band). Plain
    HTML and CSS, so that it reflows to any width and its text stays readable on a phone."""
    rows = reps.sort_values(["team", "rep_id"], kind="stable")
    if rows.empty:
        return "<p>No reps.</p>"
    peak = float(max(rows["workload_hours"].max(), rows["max_hours"].max(), 1.0))
    step = nice_step(peak)
    top = step * math.ceil(peak * 1.02 / step)
    ticks = [step * k for k in range(round(top / step) + 1)]

    def pct(hours: float) -> str:
        return f"{100 * max(0.0, min(hours, top)) / top:.2f}%"

    grid = "".join(f"<span class='grid' style='left:{pct(t)}'></span>" for t in ticks[1:-1])
    axis = ("<span></span><div class='axis' aria-hidden='true'>"
            + "".join(f"<span class='tick' data-hours='{t:g}' style='left:{pct(t)}'>{t:g}</span>" for t in ticks)
            + "</div><span></span>")
    parts = ["<div id='workload-chart' class='chart' role='figure' aria-label='workload hours per rep against the "
             "allowed band and target'>", axis]
    for team, group in rows.groupby("team", sort=False):
        parts.append(f"<div class='team'>{html.escape(str(team))}</div>")
        for row in group.itertuples(index=False):
            rep, hours = str(row.rep_id), float(row.workload_hours)
            lo, hi, target = float(row.min_hours), float(row.max_hours), float(row.target_hours)
            off = hours < lo - 1e-6 or hours > hi + 1e-6
            title = (f"{rep} ({team}): {hours:.1f} h, band {lo:.1f}-{hi:.1f} h, target {target:.1f} h"
                     + (" - outside the band" if off else ""))
            parts.append(
                f"<span class='who'>{html.escape(rep)}</span>"
                f"<div class='track' title='{html.escape(title)}'>{grid}"
                f"<span class='band' style='left:{pct(lo)};width:{100 * max(min(hi, top) - lo, 0.0) / top:.2f}%'>"
                "</span>"
                f"<span class='bar' data-rep='{html.escape(rep)}' data-hours='{hours:.1f}' "
                f"style='width:{pct(hours)};background:{colours.get(rep, '#1f77b4')}'></span>"
                f"<span class='edge' style='left:{pct(lo)}'></span><span class='edge' style='left:{pct(hi)}'></span>"
                f"<span class='target' style='left:{pct(target)}'></span></div>"
                f"<span class='hours{' off' if off else ''}'>{hours:,.1f} h</span>")
    parts.append(axis.replace("class='axis'", "class='axis bottom'"))
    parts.append("<span></span><div class='axis-title'>hours per cycle</div><span></span></div>")
    parts.append("<p class='note'>Bar: the rep's workload hours per cycle; grey between dashed lines: the allowed "
                 "band (the target &plusmn; the balance tolerance); black tick: the target; a number in red is outside "
                 "the band. Hover a row for its band and target in hours.</p>")
    return "".join(parts)


def changes_section(changes: pd.DataFrame, value: dict[str, float], baseline: str, *, top: int = 10,
                    raw_rows: int = 200) -> list[str]:
    """What changed, for a manager: the count, reasons by team, the largest flows between reps (customers and
    their current value), then the rows themselves folded away and capped at `raw_rows` (all of them are in
    changes.csv)."""
    n_rows, n_customers = len(changes), int(changes["customer_id"].nunique()) if len(changes) else 0
    out = [f"<p>{n_rows:,} customer-teams ({n_customers:,} customers) have another rep than in the baseline "
           f"({html.escape(baseline)}).</p>"]
    if not n_rows:
        return out
    frame = changes.assign(value=changes["customer_id"].map(value).fillna(0.0).astype(float))
    by = frame.pivot_table(index="team", columns="reason", values="customer_id", aggfunc="count", fill_value=0,
                           sort=False)
    reasons = frame["reason"].value_counts().index.tolist()  # most frequent reason first
    by = by[reasons]
    by["total"] = by.sum(axis=1)
    by = by.sort_values("total", ascending=False, kind="stable")
    total = by.sum(axis=0).to_frame().T.rename(index={0: "all teams"})
    summary = pd.concat([by, total]).rename_axis("team").reset_index()
    summary = summary.astype({c: "int64" for c in summary.columns if c != "team"})
    out += ["<h3>By reason and team</h3>", table(summary)]
    moved = frame[(frame["old_rep_id"] != "") & (frame["new_rep_id"] != "")]
    if len(moved):
        flows = (moved.groupby(["team", "old_rep_id", "new_rep_id"], sort=False)
                 .agg(customers=("customer_id", "count"), value=("value", "sum"),
                      reason=("reason", lambda r: ", ".join(f"{k} {v}" for k, v in r.value_counts().items())))
                 .reset_index().sort_values(["customers", "value"], ascending=False, kind="stable"))
        flows.insert(1, "move", flows["old_rep_id"] + " \u2192 " + flows["new_rep_id"])
        flows = flows.drop(columns=["old_rep_id", "new_rep_id"]).rename(columns={"reason": "reasons"})
        flows["value"] = flows["value"].round(0)
        out += [f"<h3>Largest moves between reps (top {min(top, len(flows))} of {len(flows):,})</h3>",
                table(flows.head(top))]
    one_sided = int(((frame["old_rep_id"] == "") | (frame["new_rep_id"] == "")).sum())
    if one_sided:
        out.append(f"<p class='note'>Moves count the customer-teams with a rep on both sides; {one_sided:,} rows have "
                   "a rep on one side only (a new customer, a customer that changed team, or one that is gone).</p>")
    shown = min(raw_rows, n_rows)
    out.append(f"<details id='changes-rows'><summary>the rows ({shown:,} of {n_rows:,}; every row is in "
               "changes.csv)</summary>" + table(changes, max_rows=raw_rows, more="in changes.csv") + "</details>")
    return out
