"""Issue 17's measurements on a real geography other than the sample market (and, with --configs, on the shipped
configs), through the real CLI in fresh processes.

    python bench/real_geography.py [--region US:OH] [--crs EPSG:32617] [--only layer,auto]
                                   [--configs [demo,geographic,sector]] [--stability] [--reps field=22,horeca=7]
                                   [--set KEY=VALUE ...] [--folder DIR] [--markdown]

The market is `territory_opt/sample.py`'s generator run on another region's GeoNames towns (default Ohio: 6,000
outlets around its 687 towns of 1,000+, the demo's four teams with 22 field and 7 HoReCa reps (--reps), depots,
routes and footprints); its metric CRS is the UTM zone of the towns (or --crs). Its postcode-like alignment layer is
the Voronoi areas of the towns, clipped to the study region (`units.geojson`, `unit_id` Z0001...). Two scenarios,
both the demo's policy without a `crs` (the tool picks one for the data): `layer.yaml` with `inputs.units` that
layer, `auto.yaml` with automatic (H3-seeded Voronoi) units. Each is run once, and the table shows per run: units,
customers, reps, territories in several pieces (travelling teams, i.e. travel_weight > 0, / all teams;
territories.geojson `n_parts`), the contiguity-relaxed and the contiguous travel (`solver_stats`) and the price of
contiguity, the largest and the 99th percentile rep-to-customer distance over the travelling teams' customer-team
rows (assignments.csv `distance_km`: straight line in the run's CRS x rules.detour_factor) against the same figures
if every customer had the nearest rep of its team (same distance, over the team's reps), wall time and peak RSS of
the CLI process.

`--stability`: on the layer scenario, the tolerance change (balance_tolerance -> 0.15) and the 1 % churn of
bench/stability.py, each with `--previous` the base run: moved customers (bench/stability.py `moved`) and moved
units (a unit in both runs moved when, for some team with a rep in both, its rep differs; units.geojson
`rep_<team>`); for the tolerance change also the base alignment's objective at the new settings (costed in this
process as the run costs its own: the goal is met when the run's objective is below it). `--set` overrides the
scenarios of every run (e.g. a sweep of `rules.continuity_weight`). Outputs go to --folder
(default a temporary folder, removed). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import yaml
from pyproj import Transformer
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench helpers, also when loaded by path (tests)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from child_usage import Measured, run_measured
from md_tables import add_markdown_flag, context, markdown_table
from stability import churned_scenario, moved

from territory_opt.config.scenario import load_scenario
from territory_opt.sample import (
    DEMO_CRS_LINE,
    Region,
    _geojson_text,
    _to_wgs84,
    demo_scenario_text,
    generate,
    market_files,
    region_towns,
)

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("demo", "geographic", "sector")


def utm_crs(lon: float, lat: float) -> str:
    """The WGS84 UTM zone's EPSG code for a point."""
    zone = math.floor((lon + 180.0) / 6.0) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def parse_team_sizes(text: str) -> dict[str, int]:
    """`field=20,horeca=7` -> {"field": 20, "horeca": 7} (teams not named keep the sample's head count)."""
    sizes = {}
    for item in filter(None, text.split(",")):
        team, _, count = item.partition("=")
        sizes[team.strip()] = int(count)
    return sizes


def parse_region(text: str, crs: str | None = None) -> Region:
    """`US:OH` -> the region, its metric CRS the UTM zone of its towns' mean position unless given."""
    country, _, admin1 = text.partition(":")
    if not country or not admin1:
        raise SystemExit(f"--region wants COUNTRY:ADMIN1 (GeoNames codes, e.g. US:OH), not {text!r}")
    if crs is None:
        towns = region_towns(region=Region(country, admin1, "EPSG:4326"))
        if not towns:
            raise SystemExit(f"no GeoNames towns of 1,000+ in {text}")
        crs = utm_crs(float(np.mean([t.lon for t in towns])), float(np.mean([t.lat for t in towns])))
    return Region(country, admin1, crs)


def voronoi_units(points: np.ndarray, area: Any) -> list[Any]:
    """Postcode-like areas: the Voronoi cell of each distinct point, clipped to `area` (metric coordinates).

    One polygon per distinct point, in the order the points first occur (a point whose cell misses `area`
    altogether has none); they cover `area` and do not overlap."""
    _, first = np.unique(points, axis=0, return_index=True)
    sites = points[np.sort(first)]
    cells = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=area)
    parts = np.asarray(shapely.get_parts(cells))
    # the cells come in no promised order: match each to the site it holds
    holder = shapely.STRtree(parts).query(shapely.points(sites), predicate="intersects")
    cell_of = np.full(len(sites), -1)
    cell_of[holder[0]] = holder[1]
    clipped = shapely.intersection(parts[cell_of], area)
    return [shapely.make_valid(g) for g in clipped if not g.is_empty]


def units_layer_text(cells: list[Any], crs: str) -> str:
    """The cells as an RFC 7946 GeoJSON layer with unit_id Z0001..."""
    return _geojson_text([(_to_wgs84(g, crs), {"unit_id": f"Z{i + 1:04d}"}) for i, g in enumerate(cells)], "units")


def scenario_text(name: str, region: Region, units_layer: bool) -> str:
    """The demo's policy on the generated data (in `data/` beside it), without a crs (the tool picks one)."""
    text = demo_scenario_text("data", f"out/{name}").replace(DEMO_CRS_LINE, "")
    text = text.replace("name: demo", f"name: {name}")
    text = text.replace("description: Greater Poland sample market",
                        f"description: {region.country}:{region.admin1} market")
    text = text.replace("# The demo: a distributor's market of 6,000 outlets in Greater Poland",
                        f"# A 6,000-outlet market around the GeoNames towns of {region.country}:{region.admin1}")
    if units_layer:
        text = text.replace("  distributors: data/distributors.geojson\n",
                            "  distributors: data/distributors.geojson\n  units: data/units.geojson\n")
    else:
        text += "units: {source: h3}\n"
    return text


# Ohio's study region is three times the sample's: with drive in the workload (the default) the sample's 18 field
# and 5 HoReCa reps cannot hold its work within their 170 h (exit 3, short by 62 h and 106 h even at the nearest
# reps' drive). 20 field reps cannot either once balance counts its drive (1,006 h against 748 h from the nearest
# reps: exit 3); 22 hold it at about 90 % of their capacity, 7 HoReCa reps at about 80 %.
DEFAULT_TEAM_SIZES = {"field": 22, "horeca": 7}


def build_market(folder: Path, region: Region, seed: int = 20261123,
                 team_sizes: dict[str, int] | None = None) -> dict[str, Path]:
    """Write the data, the units layer and the two scenarios into `folder`; returns {"layer": ..., "auto": ...}."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    market = generate(seed, region, DEFAULT_TEAM_SIZES if team_sizes is None else team_sizes)
    for name, text in market_files(market).items():
        (data / name).write_text(text, encoding="utf-8", newline="\n")
    cells = voronoi_units(market.town_xy, market.region)
    (data / "units.geojson").write_text(units_layer_text(cells, region.metric_crs), encoding="utf-8", newline="\n")
    out = {}
    for name, layer in (("layer", True), ("auto", False)):
        path = folder / f"{name}.yaml"
        path.write_text(scenario_text(name, region, layer), encoding="utf-8", newline="\n")
        out[name] = path
    return out


def nearest_rep_km(customer_xy: np.ndarray, row_team: np.ndarray, rep_xy: np.ndarray, rep_teams: list[set[str]],
                   detour: float) -> np.ndarray:
    """Per customer-team row, the distance to the nearest rep of that team: straight line (metres, metric CRS) x
    detour / 1000, as assignments.csv's distance_km. NaN where the team has no rep."""
    out = np.full(len(row_team), np.nan)
    for team in pd.unique(row_team):
        members = [i for i, teams in enumerate(rep_teams) if team in teams]
        rows = np.flatnonzero(row_team == team)
        if members:
            dist, _ = cKDTree(rep_xy[members]).query(customer_xy[rows])
            out[rows] = dist * detour / 1000.0
    return out


def moved_units(base: pd.DataFrame, other: pd.DataFrame) -> tuple[int, int]:
    """(units in both runs whose rep differs for some team that has a rep there in both runs, units in both runs).

    The frames are units.geojson's properties: unit_id and rep_<team> ("" or NaN: no rep)."""
    both = base.merge(other, on="unit_id", suffixes=("_a", "_b"))
    changed = np.zeros(len(both), dtype=bool)
    for column in (c for c in base.columns if c.startswith("rep_") and c in other.columns):
        a = both[f"{column}_a"].fillna("").astype(str)
        b = both[f"{column}_b"].fillna("").astype(str)
        changed |= ((a != "") & (b != "") & (a != b)).to_numpy()
    return int(changed.sum()), len(both)


def objectives(scenario: Path, overrides: tuple[str, ...], previous: Path | None, runs: list[Path],
               bands_from: Path) -> list[float]:
    """Each run folder's alignment (its assignments.csv) costed as `run scenario --set overrides --previous previous`
    costs its own answer (`solve/scaling.py` `objective_units`: travel, continuity against `previous`, soft balance
    against the bands that run settled on, read from `bands_from`'s kpis.json as `explain` does).

    For the tolerance goal: the base alignment is feasible under the looser band too, so the looser run moved
    nothing for nothing when its objective is below the base alignment's at the looser settings."""
    from territory_opt.io.run_files import read_previous_assignments, read_run_json
    from territory_opt.model.build import with_baseline
    from territory_opt.preparation import prepare
    from territory_opt.results.explain import with_run_bands
    from territory_opt.solve.scaling import COST_SCALE, objective_units

    spec = load_scenario(scenario, overrides)
    problem = with_run_bands(prepare(spec), read_run_json(bands_from, "kpis.json")).problem
    if previous is not None:
        problem = with_baseline(problem, read_previous_assignments(previous), spec)
    n_teams = len(problem.team_names)
    customers = pd.Index(np.asarray(problem.customer_ids).astype(str))
    reps = pd.Index(np.asarray(problem.rep_ids).astype(str))
    teams = pd.Index(list(problem.team_names))
    need_key = pd.Index(problem.need_customer.astype(np.int64) * n_teams + problem.need_team)
    out = []
    for folder in runs:
        frame = read_previous_assignments(folder)
        key = customers.get_indexer(frame["customer_id"]).astype(np.int64) * n_teams + teams.get_indexer(frame["team"])
        assignment = np.full(problem.n_needs, -1, dtype=np.int64)
        assignment[need_key.get_indexer(key)] = reps.get_indexer(frame["rep_id"])
        if (assignment < 0).any():
            raise ValueError(f"{folder}: {int((assignment < 0).sum())} needs without a rep of this problem")
        out.append(objective_units(problem, assignment) / COST_SCALE)
    return out


def properties(path: Path) -> pd.DataFrame:
    return pd.DataFrame([f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]])


def input_path(scenario: Path, key: str) -> Path:
    source = yaml.safe_load(scenario.read_text(encoding="utf-8"))["inputs"][key]
    path = Path(source if isinstance(source, str) else source["path"])
    return path if path.is_absolute() else (scenario.parent / path).resolve()


def run(scenario: Path, out: Path, overrides: tuple[str, ...] = (), previous: Path | None = None) -> Measured:
    command = [sys.executable, "-m", "territory_opt", "run", str(scenario), "--out", str(out), "--quiet"]
    if previous is not None:
        command += ["--previous", str(previous)]
    for item in overrides:
        command += ["--set", item]
    return run_measured(command)


def measure(scenario: Path, out: Path, done: Measured, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """The table's figures for one finished run (see the module's doc)."""
    row: dict[str, Any] = {"wall_s": done.wall_s, "peak_mb": done.peak_rss_mb}
    if done.returncode != 0:
        row["status"] = f"exit {done.returncode}: {(done.stdout + done.stderr).strip()[-160:]}"
        return row
    spec = load_scenario(scenario, overrides)
    travelling = {t.name for t in spec.teams if t.travel_weight > 0}
    kpis = json.loads((out / "kpis.json").read_text())
    stats = kpis.get("solver_stats", {})
    units = kpis.get("units") or {}
    crs = json.loads((out / "manifest.json").read_text())["crs"]
    territories = properties(out / "territories.geojson")
    several = territories[territories["n_parts"] > 1] if "n_parts" in territories else territories.iloc[:0]
    assignments = pd.read_csv(out / "assignments.csv", dtype={"customer_id": str, "rep_id": str})
    customers = pd.read_csv(input_path(scenario, "customers"), dtype={"customer_id": str}).set_index("customer_id")
    reps_in = pd.read_csv(input_path(scenario, "reps"), dtype={"rep_id": str}).set_index("rep_id")
    reps_out = pd.read_csv(out / "reps.csv", dtype={"rep_id": str, "team": str}, keep_default_na=False)
    to_metric = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    cxy = customers.loc[assignments["customer_id"], ["lon", "lat"]].to_numpy(float)
    cxy = np.column_stack(to_metric.transform(cxy[:, 0], cxy[:, 1]))
    rxy = reps_in.loc[reps_out["rep_id"], ["lon", "lat"]].to_numpy(float)
    rxy = np.column_stack(to_metric.transform(rxy[:, 0], rxy[:, 1]))
    detour = spec.rules.detour_factor
    rep_index = {r: i for i, r in enumerate(reps_out["rep_id"])}
    own = np.hypot(*(cxy - rxy[assignments["rep_id"].map(rep_index).to_numpy()]).T) * detour / 1000.0
    check = float(np.max(np.abs(own - assignments["distance_km"].to_numpy()))) if len(own) else 0.0
    nearest = nearest_rep_km(cxy, assignments["team"].to_numpy(object), rxy,
                             [set(t.split(";")) for t in reps_out["team"]], detour)
    moving = assignments["team"].isin(travelling).to_numpy()
    km, near = assignments["distance_km"].to_numpy()[moving], nearest[moving]
    relaxed, contiguous = stats.get("contiguity_relaxed_travel"), stats.get("contiguity_travel")
    row.update({
        "units": f"{units.get('n_units', 0):,} {units.get('source', 'off')}",
        "customers": kpis["n_customers"], "reps": kpis["n_reps"],
        "pieces_travelling": int(several["team"].isin(travelling).sum()) if len(several) else 0,
        "pieces_all": int(kpis.get("territories_with_several_parts") or 0),
        "relaxed": relaxed, "contiguous": contiguous,
        "price_pct": 100.0 * (contiguous / relaxed - 1.0) if relaxed and contiguous is not None else None,
        "max_km": float(km.max()), "p99_km": float(np.quantile(km, 0.99)),
        "near_max_km": float(np.nanmax(near)), "near_p99_km": float(np.nanquantile(near, 0.99)),
        "distance_check_km": check, "status": kpis["status"], "gap_pct": 100.0 * kpis["gap"],
        "objective": kpis["objective"], "contiguity_failed": stats.get("contiguity_failed", ""),
        "per_team": {team: [round(float(f(x)), 1) for x in (assignments["distance_km"].to_numpy()[rows], nearest[rows])
                            for f in (np.max, lambda v: np.quantile(v, 0.99))]
                     for team in sorted(travelling) if (rows := (assignments["team"] == team).to_numpy()).any()},
    })
    return row


HEADER = ["scenario", "units", "customers", "reps", "pieces (travelling / all)", "relaxed travel",
          "contiguous travel", "price %", "max km (nearest rep)", "p99 km (nearest rep)", "wall s", "peak MB",
          "status"]


def table_row(label: str, r: dict[str, Any]) -> list[object]:
    if "customers" not in r:
        return [label] + [""] * 9 + [f"{r['wall_s']:.1f}", f"{r['peak_mb']:.0f}", r["status"]]

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:,.0f}"

    price = "-" if r["price_pct"] is None else f"{r['price_pct']:+.2f}"
    if r["contiguity_failed"] and r["price_pct"] is not None:  # the run kept the relaxed alignment
        price += " (not kept)"
    status = r["status"] + (f" (contiguity: {r['contiguity_failed']})" if r["contiguity_failed"] else "")
    return [label, r["units"], f"{r['customers']:,}", r["reps"], f"{r['pieces_travelling']} / {r['pieces_all']}",
            num(r["relaxed"]), num(r["contiguous"]), price, f"{r['max_km']:.1f} ({r['near_max_km']:.1f})",
            f"{r['p99_km']:.1f} ({r['near_p99_km']:.1f})", f"{r['wall_s']:.1f}", f"{r['peak_mb']:.0f}", status]


def stability_rows(scenario: Path, base_out: Path, base: dict[str, Any], folder: Path, share: float,
                   tolerance: float, settings: tuple[str, ...] = ()) -> list[list[object]]:
    """The tolerance change and the churn against the base run (see the module's doc), every run with `settings`."""
    base_assign = pd.read_csv(base_out / "assignments.csv", dtype={"customer_id": str, "rep_id": str})
    base_units = properties(base_out / "units.geojson")
    churn_dir = folder / "churn"
    churn_dir.mkdir(parents=True, exist_ok=True)
    cases = [(f"balance_tolerance -> {tolerance:g}", scenario, (*settings, f"rules.balance_tolerance={tolerance}")),
             (f"{100 * share:g} % customers removed and as many added", churned_scenario(scenario, churn_dir, share),
              settings)]
    rows: list[list[object]] = []
    for i, (label, path, overrides) in enumerate(cases):
        out = folder / f"stability{i}"
        done = run(path, out, overrides, base_out)
        r = measure(path, out, done, overrides)
        if "customers" not in r:
            rows.append([label, "", "", "", "", "", "", f"{r['wall_s']:.1f}", f"{r['peak_mb']:.0f}", r["status"]])
            continue
        count, common = moved(base_assign, pd.read_csv(out / "assignments.csv",
                                                       dtype={"customer_id": str, "rep_id": str}))
        units, common_units = moved_units(base_units, properties(out / "units.geojson"))
        kept = ""
        if overrides != settings:  # the base alignment at the new settings (and the run's own: checks the costing)
            kept_cost, own_cost = objectives(path, overrides, base_out, [base_out, out], bands_from=out)
            kept = f"{kept_cost:,.1f}" + ("" if abs(own_cost - r["objective"]) < 1.0 else f" (own {own_cost:,.1f}?)")
        rows.append([label, f"{count:,} of {common:,} ({100 * count / common:.2f} %)",
                     f"{units:,} of {common_units:,} ({100 * units / max(common_units, 1):.2f} %)",
                     f"{base['objective']:,.1f}", kept, f"{r['objective']:,.1f}",
                     f"{r['pieces_travelling']} / {r['pieces_all']}", f"{r['wall_s']:.1f}", f"{r['peak_mb']:.0f}",
                     r["status"]])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="US:OH", help="GeoNames COUNTRY:ADMIN1 (default US:OH, Ohio)")
    parser.add_argument("--crs", default=None, help="metric CRS for generating (default: the towns' UTM zone)")
    parser.add_argument("--configs", nargs="?", const=",".join(CONFIGS), default="",
                        help="also these configs/NAME.yaml (default with the flag: demo,geographic,sector)")
    parser.add_argument("--stability", action="store_true", help="tolerance change and 1 %% churn on the layer run")
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--tolerance", type=float, default=0.15)
    parser.add_argument("--only", default="layer,auto", help="which real-geography scenarios to run")
    parser.add_argument("--reps", default=",".join(f"{k}={v}" for k, v in DEFAULT_TEAM_SIZES.items()),
                        help="head count per team, e.g. field=22,horeca=7 (others keep the sample's)")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="a scenario override for every run (repeatable), e.g. rules.continuity_weight=50")
    parser.add_argument("--folder", type=Path, default=None, help="keep data and runs here (default: temporary)")
    add_markdown_flag(parser)
    args = parser.parse_args()
    region = parse_region(args.region, args.crs)
    context(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, Python "
            f"{platform.python_version()}; region {region.country}:{region.admin1} generated in "
            f"{region.metric_crs}", args.markdown)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        scenarios = build_market(folder, region, team_sizes=parse_team_sizes(args.reps))
        rows, results = [], {}
        runs = [(f"{region.country}:{region.admin1} {name}", scenarios[name], folder / "out" / name)
                for name in args.only.split(",") if name]
        runs += [(f"configs/{name}.yaml", REPO / "configs" / f"{name}.yaml", folder / "out" / name)
                 for name in args.configs.split(",") if name]
        settings = tuple(args.settings)
        for label, scenario, out in runs:
            results[label] = r = measure(scenario, out, run(scenario, out, settings), settings)
            rows.append(table_row(label, r))
            context(f"{label}: {json.dumps(r, default=str)}", args.markdown)
        print(markdown_table(HEADER, rows))
        layer = f"{region.country}:{region.admin1} layer"
        if args.stability and "customers" in results.get(layer, {}):
            srows = stability_rows(scenarios["layer"], folder / "out" / "layer", results[layer], folder,
                                   args.share, args.tolerance, settings)
            print()
            print(markdown_table(["change", "moved customers", "moved units", "objective (base)",
                                  "base alignment at the new settings", "objective",
                                  "pieces (travelling / all)", "wall s", "peak MB", "status"], srows))


if __name__ == "__main__":
    main()
