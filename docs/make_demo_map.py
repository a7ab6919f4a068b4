"""Draw the README's picture of the demo's territories from a run folder (needs the `docs` extra: matplotlib).

    territory-opt run configs/demo.yaml && python docs/make_demo_map.py out/demo docs/img/demo-map.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

REPO = Path(__file__).resolve().parents[1]


def draw(run_dir: Path, target: Path) -> None:
    territories = gpd.read_file(run_dir / "territories.geojson").to_crs(2180)
    customers = gpd.read_file(run_dir / "customers.geojson").to_crs(2180)
    reps = gpd.read_file(REPO / "data" / "reps.csv")
    reps = gpd.GeoDataFrame(reps, geometry=gpd.points_from_xy(reps.lon.astype(float), reps.lat.astype(float)),
                            crs=4326).to_crs(2180)
    depots = gpd.read_file(REPO / "data" / "depots.geojson").to_crs(2180)
    routes = gpd.read_file(REPO / "data" / "routes.geojson").to_crs(2180)
    fig, axes = plt.subplots(1, 2, figsize=(14, 7.5), constrained_layout=True)
    for ax, team in zip(axes, ("field", "horeca"), strict=True):
        mine = territories[territories.team == team]
        mine.plot(ax=ax, column="rep_id", cmap="tab20", edgecolor="white", linewidth=0.8, alpha=0.85)
        routes.plot(ax=ax, color="#555555", linewidth=0.4, alpha=0.6)
        served = customers[customers[f"rep_{team}"].notna() & (customers[f"rep_{team}"] != "")]
        served.plot(ax=ax, color="black", markersize=0.6, alpha=0.5)
        homes = reps[reps.team == team]
        homes.plot(ax=ax, color="white", edgecolor="black", markersize=40, marker="^", zorder=5)
        depots.plot(ax=ax, color="#c00000", markersize=70, marker="s", zorder=6)
        for _, row in mine.iterrows():
            point = row.geometry.representative_point()
            ax.annotate(row.rep_id, (point.x, point.y), fontsize=7, ha="center", weight="bold")
        ax.set_title(f"{team}: {len(mine)} territories, {len(served)} outlets "
                     "(triangles: rep homes, squares: depots)", fontsize=10)
        ax.set_axis_off()
    fig.suptitle("territory-opt demo: Greater Poland, 6,000 outlets, 30 reps", fontsize=13)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=80)


if __name__ == "__main__":
    draw(Path(sys.argv[1]), Path(sys.argv[2]))
