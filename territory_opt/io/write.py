"""Results -> the output folder, atomically.

Everything is written to a temporary sibling folder and renamed into place only when complete, so a reader (or
tomorrow's run) never sees half an answer, and a failed run leaves the previous answer untouched. Files are
written deterministically: fixed row order, fixed float rounding, sorted JSON keys.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from ..config import DatabaseOutput, LayerSource, safe_url
from ..errors import Finding, OutputError
from ..results.changes import CHANGE_COLUMNS
from ..results.report import build_report
from ..results.run import RunResult
from ..results.units import units_layer
from ..routing.cycle import RoutingOutcome

OUTPUT_FILES = (
    "assignments.csv",
    "reps.csv",
    "territories.geojson",
    "customers.geojson",
    "segments.csv",
    "advice.csv",
    "contact_cap.csv",
    "warnings.csv",
    "changes.csv",
    "map.png",
    "report.html",
    "kpis.json",
    "manifest.json",
)
ROUTING_FILES = ("routes.geojson", "schedule.csv", "unplanned_visits.csv")  # only when routing is enabled
UNITS_FILES = ("units.geojson",)  # only when the run has alignment units
PROGRAMME_FILES = ("programmes.csv",)  # only when the scenario has `programmes:`
CUSTOMER_PASSTHROUGH_EXCLUDE = {"geometry", "customer_index"}


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def write_json(data: Any, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")


def write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    """RFC 7946 GeoJSON in WGS84 (counter-clockwise exteriors, 7 decimals) through GDAL."""
    pyogrio.write_dataframe(frame.to_crs(4326), path, driver="GeoJSON", layer_options={"RFC7946": "YES"})


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    import numpy
    import pyproj
    import shapely

    from .. import __version__

    return {
        "territory_opt": __version__,
        "python": platform.python_version(),
        "ortools": version("ortools"),  # ortools' package root is untyped (py.typed in its subpackages only)
        "geopandas": gpd.__version__,
        "shapely": shapely.__version__,
        "pyogrio": pyogrio.__version__,
        "gdal": pyogrio.__gdal_version_string__,
        "pyproj": pyproj.__version__,
        "pandas": pd.__version__,
        "numpy": numpy.__version__,
    }


def _customer_layer(run: RunResult) -> gpd.GeoDataFrame:
    customers = run.prepared.customers
    assignments = run.assignments
    wide = assignments.pivot(index="customer_index", columns="team", values="rep_id")
    layer = customers.drop(columns=[c for c in CUSTOMER_PASSTHROUGH_EXCLUDE if c in customers and c != "geometry"])
    reps_joined = [""] * len(customers)
    for team in run.prepared.problem.team_names:
        column = wide[team] if team in wide else pd.Series(dtype=object)
        values = column.reindex(range(len(customers))).fillna("").astype(str)
        layer[f"rep_{team}"] = values.to_numpy()
        for i, v in enumerate(values):
            if v:
                reps_joined[i] = f"{reps_joined[i]};{v}" if reps_joined[i] else v
    layer["reps"] = reps_joined
    return layer


def _assignment_layer(run: RunResult) -> pd.DataFrame:
    customers = run.prepared.customers
    table = run.assignments
    columns = ["tier", "segment_id", "distributor_id", "depot_id", "shoulder_km", "shoulder_band", "teams"]
    extra = customers[columns].iloc[table["customer_index"].to_numpy()]
    out = table.drop(columns=["customer_index"]).reset_index(drop=True)
    for column in extra:
        out[column] = extra[column].to_numpy()
    units = run.prepared.units
    if units is not None:  # the unit each customer lies in, the piece of geography its territory is made of
        ids = np.asarray(units.ids).astype(str)
        out["unit_id"] = ids[np.asarray(units.customer_unit, dtype=np.int64)[table["customer_index"].to_numpy()]]
    return out


def _units_layer(run: RunResult) -> gpd.GeoDataFrame:
    """units.geojson: each alignment unit with its customers, hours, value and holding rep per team."""
    units = run.prepared.units
    assert units is not None
    return units_layer(units, run.prepared.customers, run.assignments, run.prepared.problem.team_names)


def _contact_cap_table(run: RunResult) -> pd.DataFrame:
    """Every customer whose teams were cut to the contact cap: which team was dropped, which absorbed it."""
    coverage = run.prepared.coverage
    ids = run.prepared.customers["customer_id"].to_numpy(dtype=object)
    teams = np.array(coverage.teams, dtype=object)
    return pd.DataFrame({
        "customer_id": ids[coverage.absorbed_customer],
        "dropped_team": teams[coverage.absorbed_team],
        "absorbed_by": teams[coverage.absorbed_by],
        "max_reps": run.prepared.problem.customer_caps[coverage.absorbed_customer],
    })


def _clock(seconds: int, start: str) -> str:
    minutes = int(start[:2]) * 60 + int(start[3:]) + round(seconds / 60.0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _schedule_table(run: RunResult, routing: RoutingOutcome) -> pd.DataFrame:
    """One row per call: rep, week, day, order, customer, team, arrival and departure (clock times)."""
    problem, start = run.prepared.problem, run.prepared.scenario.routing.day_start
    rows = []
    for plan in routing.plans:
        for day in plan.days:
            for seq, (need, arrive, depart) in enumerate(zip(day.needs, day.arrive_s, day.depart_s, strict=True)):
                rows.append((problem.rep_ids[plan.rep], day.week + 1, day.day + 1, seq + 1,
                             problem.customer_ids[problem.need_customer[need]],
                             problem.team_names[problem.need_team[need]], _clock(arrive, start), _clock(depart, start)))
    return pd.DataFrame(rows, columns=["rep_id", "week", "day", "seq", "customer_id", "team", "arrive", "depart"])


def _routes_layer(run: RunResult, routing: RoutingOutcome) -> gpd.GeoDataFrame:
    """A LineString per rep and day: home, the calls in order, home."""
    import shapely

    problem = run.prepared.problem
    rows = [{"rep_id": problem.rep_ids[plan.rep], "week": day.week + 1, "day": day.day + 1, "n_calls": len(day.needs),
             "drive_min": round(day.drive_s / 60.0, 1), "work_min": round((day.back_s - day.leave_s) / 60.0, 1),
             "geometry": shapely.LineString(day.path_xy)}
            for plan in routing.plans for day in plan.days]
    columns = ["rep_id", "week", "day", "n_calls", "drive_min", "work_min", "geometry"]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=run.prepared.inputs.crs)


def _unplanned_table(run: RunResult, routing: RoutingOutcome) -> pd.DataFrame:
    """Visits no day of their week could hold: reported, never dropped silently."""
    problem = run.prepared.problem
    counts: dict[tuple[int, int], int] = {}
    for plan in routing.plans:
        for need in plan.unplanned:
            counts[(plan.rep, need)] = counts.get((plan.rep, need), 0) + 1
    rows = [(problem.rep_ids[rep], problem.customer_ids[problem.need_customer[need]],
             problem.team_names[problem.need_team[need]], n) for (rep, need), n in sorted(counts.items())]
    return pd.DataFrame(rows, columns=["rep_id", "customer_id", "team", "visits_unplanned"])


def _warnings_table(findings: tuple[Finding, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"source": Path(f.source).name if f.source else "", "row": f.row if f.row is not None else "",
          "field": f.field, "message": f.message} for f in findings],
        columns=["source", "row", "field", "message"],
    )


def _input_entry(source: LayerSource, sha256: str | None) -> dict[str, Any]:
    """A file by name, a database by URL (no credentials) and table or query; with the content's hash."""
    if source.path is not None:
        return {"file": source.path.name, "sha256": sha256}
    what = {"table": source.table} if source.table is not None else {"query": source.query, "params": source.params}
    return {"database": safe_url(str(source.url)), **what, "sha256": sha256}


def database_tables(run: RunResult, target: DatabaseOutput) -> dict[str, gpd.GeoDataFrame]:
    """What `output.database` receives: assignments.csv's rows with the customer's point, and the territories."""
    customers = run.prepared.customers
    rows = _assignment_layer(run)
    points = customers.geometry.iloc[run.assignments["customer_index"].to_numpy()].to_numpy()
    return {
        target.assignments: gpd.GeoDataFrame(rows, geometry=points, crs=customers.crs),
        target.territories: run.territories,
    }


def manifest(run: RunResult, scenario_path: Path | None, out_dir: Path | None = None) -> dict[str, Any]:
    scenario = run.prepared.scenario
    sources = {name: getattr(scenario.inputs, name) for name in ("customers", "reps", "depots", "routes",
                                                                 "distributors", "units")}
    return {
        "scenario": {
            "name": scenario.name,
            "file": scenario_path.name if scenario_path else None,
            "sha256": scenario.source_sha256 or None,
            "overrides": list(scenario.overrides),
            "path": (os.path.relpath(scenario_path.resolve(), out_dir.resolve())
                     if scenario_path is not None and out_dir is not None else None),  # for `explain`
        },
        "inputs": {
            name: _input_entry(src, run.prepared.file_hashes.get(name))
            for name, src in sources.items() if src is not None
        } | ({"travel_matrix": {"file": scenario.routing.travel_matrix.name,
                                "sha256": run.prepared.file_hashes["travel_matrix"]}}
             if scenario.routing.travel_matrix is not None and "travel_matrix" in run.prepared.file_hashes
             else {}),  # read only when routing uses it
        "crs": run.prepared.inputs.crs.to_string(),
        "crs_note": run.prepared.inputs.projection_note,
        "seed": run.seed,
        "solver": {
            "engine": run.result.engine,
            "status": run.result.status,
            "objective": round(run.result.objective, 3),
            "bound": round(run.result.bound, 3),
            "gap": round(run.result.gap, 6),
            "bound_scope": run.result.bound_scope,
            "candidate_reps": run.result.candidate_reps,
            "time_limit_s": run.kpis.get("time_limit_s"),
        },
        "versions": _versions(),
        "files": list(OUTPUT_FILES) + (list(UNITS_FILES) if run.prepared.units is not None else [])
        + (list(PROGRAMME_FILES) if run.programmes is not None else []),
        "timings": {**run.timings, "total": run.kpis.get("runtime_s")},
        **({"edited": run.kpis["edited"]} if "edited" in run.kpis else {}),  # `apply`: edits, no solver
        **({"edits": run.kpis["edits"]} if "edits" in run.kpis else {}),  # `run --edits`: edits made locks
    }


def _map_png(run: RunResult) -> bytes:
    from ..results.static_map import draw_map

    prepared, problem = run.prepared, run.prepared.problem
    teams = list(dict.fromkeys(run.territories["team"].tolist()))
    by_team = run.assignments.groupby("team")["customer_index"]
    served = [np.unique(by_team.get_group(t).to_numpy()) if t in by_team.groups else np.zeros(0, np.int64)
              for t in teams]
    homes = {str(r): (float(x), float(y)) for r, (x, y) in zip(problem.rep_ids, problem.rep_xy, strict=True)}
    title = (f"territory-opt {prepared.scenario.name}: {problem.n_customers:,} customers, {problem.n_reps} reps")
    return draw_map(run.territories, problem.customer_xy, served, homes, title, depots=prepared.inputs.depots,
                    routes=prepared.inputs.routes, footprints=prepared.inputs.distributors)


def write_outputs(run: RunResult, out_dir: Path, *, scenario_path: Path | None = None,
                  run_id: str | None = None) -> Path:
    """Write every output file into `out_dir`, replacing a previous run there only once all are written.

    With `output.database`, the tables are written (one transaction) after every file is complete and before the
    folder is renamed into place: a failed database write leaves both the tables and the folder as they were."""
    out_dir = Path(out_dir)
    parent = out_dir.parent
    tmp = parent / f".{out_dir.name}.tmp-{os.getpid()}"
    old = parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(Finding("is a file, where the output folder must go: move it or choose another output "
                                  "folder", source=str(out_dir)))
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        write_csv(_assignment_layer(run), tmp / "assignments.csv")
        write_csv(run.reps, tmp / "reps.csv")
        write_geojson(run.territories, tmp / "territories.geojson")
        write_geojson(_customer_layer(run), tmp / "customers.geojson")
        if run.prepared.units is not None:
            write_geojson(_units_layer(run), tmp / "units.geojson")
        write_csv(run.prepared.segments, tmp / "segments.csv")
        write_csv(run.prepared.advice, tmp / "advice.csv")
        if run.programmes is not None:
            write_csv(run.programmes, tmp / "programmes.csv")
        write_csv(_contact_cap_table(run), tmp / "contact_cap.csv")
        write_csv(_warnings_table(run.prepared.warnings), tmp / "warnings.csv")
        write_csv(run.changes if run.changes is not None else pd.DataFrame(columns=CHANGE_COLUMNS),
                  tmp / "changes.csv")
        for level, shapes in run.levels.items():
            write_geojson(shapes, tmp / f"{level}s.geojson")
        if run.routing is not None:
            write_geojson(_routes_layer(run, run.routing), tmp / "routes.geojson")
            write_csv(_schedule_table(run, run.routing), tmp / "schedule.csv")
            write_csv(_unplanned_table(run, run.routing), tmp / "unplanned_visits.csv")
        (tmp / "map.png").write_bytes(_map_png(run))
        (tmp / "report.html").write_text(build_report(run), encoding="utf-8")
        write_json(run.kpis, tmp / "kpis.json")
        write_json(manifest(run, scenario_path, out_dir), tmp / "manifest.json")
        target = run.prepared.scenario.output.database
        if target is not None:
            from .postgis import write_tables  # SQLAlchemy and psycopg load only when a scenario uses a database

            write_tables(target, database_tables(run, target), run_id or out_dir.name)
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old.exists():
            shutil.rmtree(old)
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:  # GDAL's own writes
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out_dir.exists():
            old.rename(out_dir)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
        raise OutputError(Finding(f"cannot write the output folder: {reason}", source=str(out_dir))) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
