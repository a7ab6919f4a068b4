"""Map colours (results/colours.py): touching territories never share a colour, whatever the team's size."""

from __future__ import annotations

import geopandas as gpd
import shapely

from territory_opt.results.colours import PALETTE, rep_colours


def squares(rows: int, cols: int, team: str = "field", prefix: str = "R") -> gpd.GeoDataFrame:
    cells = [(f"{prefix}{r * cols + c:03d}", shapely.box(c, r, c + 1, r + 1)) for r in range(rows) for c in range(cols)]
    return gpd.GeoDataFrame({"team": [team] * len(cells), "rep_id": [rep for rep, _ in cells]},
                            geometry=[shape for _, shape in cells], crs=3857)


def test_touching_territories_differ_even_with_more_reps_than_colours() -> None:
    grid = squares(8, 8)  # 64 territories, 20 colours; corners touch too
    colours = rep_colours(grid, grid["rep_id"].tolist())
    shapes = grid.geometry.to_numpy()
    reps = grid["rep_id"].tolist()
    for i in range(len(shapes)):
        for j in range(i + 1, len(shapes)):
            if shapes[i].intersects(shapes[j]):
                assert colours[reps[i]] != colours[reps[j]], (reps[i], reps[j])
    assert len(set(colours.values())) > 4  # the palette is spread, not four colours over and over
    assert set(colours.values()) <= set(PALETTE)


def test_colours_repeat_run_to_run_and_cover_reps_without_a_territory() -> None:
    grid = squares(3, 3)
    first = rep_colours(grid, [*grid["rep_id"].tolist(), "NOHOME"])
    assert first == rep_colours(grid, [*grid["rep_id"].tolist(), "NOHOME"])
    assert first["NOHOME"] in PALETTE


def test_a_rep_in_two_teams_keeps_one_colour() -> None:
    both = gpd.GeoDataFrame(
        {"team": ["a", "a", "b", "b"], "rep_id": ["R1", "R2", "R1", "R3"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs=3857)
    colours = rep_colours(both, ["R1", "R2", "R3"])
    assert colours["R1"] != colours["R2"] and colours["R1"] != colours["R3"]
