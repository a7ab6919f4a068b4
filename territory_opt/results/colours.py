"""One colour per rep on the maps, neighbours always apart: a greedy colouring of the territories that touch.

Colouring reps by their place in a sorted list (the report) or by geopandas' categorical colour map (map.png) gave
neighbours the same colour as soon as a team had more reps than the palette: at 100,000 customers (240 field
territories) map.png showed most of the field team in one light blue. Here each team's territories are coloured
in rep-id order with the least-used palette colour no touching territory already has (a planar map never needs
more than the 20 colours). A rep in several teams keeps its first team's colour.
"""

from __future__ import annotations

import geopandas as gpd
import shapely

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
           "#dbdb8d", "#9edae5")


def rep_colours(territories: gpd.GeoDataFrame, rep_ids: list[str]) -> dict[str, str]:
    """rep id -> colour for every rep in `rep_ids` (reps without a territory cycle through the palette)."""
    out: dict[str, str] = {}
    for team in sorted(set(territories["team"].astype(str))):
        mine = territories[territories["team"].astype(str) == team].sort_values("rep_id", kind="stable")
        reps = mine["rep_id"].astype(str).tolist()
        shapes = mine.geometry.to_numpy()
        solid = ~shapely.is_empty(shapes)
        tree = shapely.STRtree(shapes)
        used = [0] * len(PALETTE)
        given: dict[int, int] = {}
        for i, rep in enumerate(reps):
            if rep in out:  # coloured in an earlier team: its neighbours here must avoid that colour too
                given[i] = PALETTE.index(out[rep])
                used[given[i]] += 1
                continue
            taken = set()
            if solid[i]:
                taken = {given[j] for j in tree.query(shapes[i], predicate="intersects").tolist() if j in given}
            choice = min((c for c in range(len(PALETTE)) if c not in taken), key=lambda c: (used[c], c),
                         default=i % len(PALETTE))
            given[i] = choice
            used[choice] += 1
            out[rep] = PALETTE[choice]
    for i, rep in enumerate(sorted(set(rep_ids) - set(out))):
        out[rep] = PALETTE[i % len(PALETTE)]
    return out
