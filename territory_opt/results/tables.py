"""Output tables of a solved run: one row per customer-team assignment, one per rep."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import metric_totals, rep_loads
from ..model.problem import Problem
from ..prepare.prepared import Prepared
from ..solve import Result


def assignment_table(prepared: Prepared, result: Result) -> pd.DataFrame:
    problem = prepared.problem
    need = np.arange(problem.n_needs)
    rep = result.assignment
    km = problem.road_km(need, rep)
    frame = pd.DataFrame({
        "customer_index": problem.need_customer,
        "customer_id": problem.customer_ids[problem.need_customer],
        "team": np.asarray(problem.team_names, dtype=object)[problem.need_team],
        "rep_id": problem.rep_ids[rep],
        "workload_hours": np.round(problem.workload(need, rep) / 3600.0, 4),
        "distance_km": np.round(km, 3),
    }, index=need)
    return frame


def rep_table(prepared: Prepared, result: Result) -> pd.DataFrame:

    problem = prepared.problem
    loads = rep_loads(problem, result.assignment)
    teams = [";".join(problem.team_names[t] for t in np.flatnonzero(row)) for row in problem.rep_in_team]
    target = problem.rep_target_s
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.where(target > 0, (loads.workload_s - target) / target, 0.0)
    return pd.DataFrame({
        "rep_id": problem.rep_ids,
        "team": teams,
        "workload_hours": np.round(loads.workload_s / 3600.0, 3),
        **_drive_columns(problem, result.assignment),
        "target_hours": np.round(target / 3600.0, 3),
        "min_hours": np.round(problem.rep_min_s / 3600.0, 3),
        "max_hours": np.round(problem.rep_max_s / 3600.0, 3),
        "deviation": np.round(deviation, 4),
        "n_customers": loads.n_customers,
        "total_distance_km": np.round(loads.total_distance_km, 3),
        **_metric_columns(problem, result.assignment),
    })


def _drive_columns(problem: Problem, assignment: np.ndarray) -> dict[str, np.ndarray]:
    """Each rep's call hours and estimated drive hours (model/drive.py), whether the estimate counts in
    workload_hours or not."""
    need = np.arange(problem.n_needs)
    calls = np.bincount(assignment, weights=problem.calls_only().workload(need, assignment),
                        minlength=problem.n_reps)
    drive = np.bincount(assignment, weights=problem.drive_s(need, assignment), minlength=problem.n_reps)
    return {"call_hours": np.round(calls / 3600.0, 3), "drive_hours_est": np.round(drive / 3600.0, 3)}


def _metric_columns(problem: Problem, assignment: np.ndarray) -> dict[str, np.ndarray]:
    """Per extra balanced metric: each rep's total and its band."""

    if not problem.metric_names:
        return {}
    totals = metric_totals(problem, assignment)[1:]
    out = {}
    for q, name in enumerate(problem.metric_names):
        out[name] = totals[q]
        out[f"{name}_min"] = problem.rep_metric_min[q]
        out[f"{name}_max"] = problem.rep_metric_max[q]
    return out

