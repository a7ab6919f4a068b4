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
