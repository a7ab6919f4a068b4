"""The report map: overlapping teams are shown one at a time, side-by-side teams all at once."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from territory_opt.results.report import shown_team, teams_overlap


def _territories(shapes: dict[str, list[tuple[float, float, float, float]]]) -> gpd.GeoDataFrame:
    rows = [(team, f"{team}-{i}", box(*b)) for team, boxes in shapes.items() for i, b in enumerate(boxes)]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=["team", "rep_id", "geometry"]), crs=2180)


def test_a_specialist_overlay_on_the_field_team_overlaps() -> None:
    field = [(0, 0, 10, 10), (10, 0, 20, 10)]
    assert teams_overlap(_territories({"field": field, "horeca": [(5, 2, 15, 8)]}))


def test_teams_of_separate_depots_do_not_overlap_nor_do_touching_edges_or_slivers() -> None:
    assert not teams_overlap(_territories({"north": [(0, 10, 20, 20)], "south": [(0, 0, 20, 10)]}))
    sliver = _territories({"north": [(0, 9.999, 20, 20)], "south": [(0, 0, 20, 10)]})  # 0.01 % of the smaller one
    assert not teams_overlap(sliver)
    assert teams_overlap(sliver, share=0.00001)
    assert not teams_overlap(_territories({"only": [(0, 0, 1, 1), (1, 0, 2, 1)]}))


def test_the_map_opens_on_the_team_with_most_territories_first_on_ties() -> None:
    territories = pd.DataFrame({"team": ["inside", "field", "field", "field", "horeca", "horeca", "horeca"]})
    assert shown_team(territories, ["inside", "field", "horeca"]) == "field"  # first of the two with 3 reps
    assert shown_team(territories.iloc[:1], ["inside"]) == "inside"
    assert shown_team(territories.iloc[:0], ["z", "a"]) == "z"


# --- the page's pieces: tables, the workload chart, what changed, label placement --------------------------------


def test_tick_spacing_is_round() -> None:
    from territory_opt.results.report_html import nice_step

    assert [nice_step(t) for t in (150.0, 20.0, 7.0, 1300.0, 0.4)] == [25.0, 5.0, 2.0, 250.0, 0.1]


def test_the_workload_chart_has_an_hour_axis_each_reps_hours_and_marks_those_outside_the_band() -> None:
    import re

    from territory_opt.results.report_html import workload_chart

    reps = pd.DataFrame({"rep_id": ["B", "A", "K"], "team": ["field", "field", "ka"],
                         "workload_hours": [143.0, 101.25, 80.0], "target_hours": [130.0, 130.0, 80.0],
                         "min_hours": [117.0, 117.0, 72.0], "max_hours": [143.0, 143.0, 88.0]})
    page = workload_chart(reps, {"A": "#123456"})
    ticks = re.findall(r"<span class='tick' data-hours='([^']+)'", page)
    assert ticks == ["0", "25", "50", "75", "100", "125", "150"] * 2  # above and below the rows
    assert re.findall(r"<span class='who'>([^<]+)</span>", page) == ["A", "B", "K"]
    assert re.findall(r"<span class='hours[^']*'>([^<]+)</span>", page) == ["101.2 h", "143.0 h", "80.0 h"]
    assert page.count("class='hours off'") == 1  # A: 101.25 h is under its band of 117-143 h
    assert page.count("class='band'") == 3 and page.count("class='target'") == 3
    assert "background:#123456" in page and ">field</div>" in page and ">ka</div>" in page


def test_a_wide_table_shows_its_key_columns_and_folds_the_rest() -> None:
    from territory_opt.results.report_html import wide_table

    frame = pd.DataFrame({"product_line": ["core"], "extra_one": [1.5], "recommendation": ["keep"],
                          "reason": ["a long reason"], "extra_two": ["x"]})
    page = wide_table(frame, ("product_line", "recommendation", "reason", "not_there"), css="cards",
                      long=("reason",))
    key, folded = page.split("<details>")
    assert "extra_<wbr>one" not in key and "recommendation" in key and "class='long'" in key
    assert "all 5 columns (also extra_one, extra_two)" in folded and "extra_<wbr>one" in folded
    assert "<div class='scroll'><table class='cards'>" in key and "data-label='reason'" in key
    assert wide_table(frame, tuple(frame.columns)).count("<table") == 1  # nothing to fold


def test_what_changed_opens_on_reasons_by_team_and_the_largest_moves_with_the_rows_capped() -> None:
    from territory_opt.results.report_html import changes_section

    changes = pd.DataFrame({"customer_id": [f"C{i}" for i in range(250)],
                            "team": ["field"] * 200 + ["horeca"] * 50,
                            "old_rep_id": ["F1"] * 150 + ["F2"] * 50 + [""] * 50,
                            "new_rep_id": ["F2"] * 150 + ["F3"] * 50 + ["H1"] * 50,
                            "reason": ["balance"] * 200 + ["new customer"] * 50})
    value = {f"C{i}": 10.0 for i in range(250)}
    page = "".join(changes_section(changes, value, "current_rep_id"))
    assert page.index("By reason and team") < page.index("Largest moves") < page.index("<details id='changes-rows'>")
    assert "<td data-label='team'>all teams</td>" in page
    assert "F1 \u2192 F2" in page and "<td class='num' data-label='customers'>150</td>" in page
    assert "<td class='num' data-label='value'>1,500</td>" in page
    rows = page[page.index("<details id='changes-rows'>"):]
    assert rows.count("<tr>") == 201 and "50 more rows in changes.csv" in rows  # header + 200 rows
    assert changes_section(changes.iloc[:0], value, "x") == [
        "<p>0 customer-teams (0 customers) have another rep than in the baseline (x).</p>"]


def test_a_label_point_is_inside_the_largest_part_and_placement_skips_what_is_taken() -> None:
    from shapely.geometry import MultiPolygon, Point

    from territory_opt.results.labels import Box, label_point, place

    u_shape = box(0, 0, 30, 10).union(box(0, 0, 10, 30)).union(box(20, 0, 30, 30))  # its centroid is outside
    island = box(100, 100, 101, 101)
    point = label_point(MultiPolygon([u_shape, island]))
    assert point is not None and u_shape.contains(Point(point))
    assert label_point(box(0, 0, 1, 1).difference(box(0, 0, 1, 1))) is None
    boxes = [Box(0, 0, 10, 4), Box(2, 1, 12, 5), Box(50, 50, 60, 54)]
    offsets = [(0.0, 0.0), (0.0, 6.0), (0.0, -6.0)]
    assert place(boxes, offsets) == [(0.0, 0.0), (0.0, 6.0), (0.0, 0.0)]
    assert place(boxes[:1], offsets, taken=[Box(0, 0, 10, 4)]) == [(0.0, 6.0)]
    assert place(boxes[:1], offsets, taken=[Box(-5, -10, 15, 20)]) == [None]
    assert place(boxes[:1], offsets, frame=Box(-1, -1, 11, 5)) == [(0.0, 0.0)]
