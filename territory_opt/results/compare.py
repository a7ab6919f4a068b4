"""Two run folders side by side (`territory-opt compare RUN_A RUN_B`): headline KPIs, moved customers, and each
rep's workload. Reads only the files a run writes, so any two runs compare, whichever machine made them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..io.run_files import read_run_json, read_run_table

KPI_KEYS = ("objective", "bound", "gap", "travel_visit_km", "total_distance_km", "max_workload_deviation",
            "mean_workload_deviation", "moved_customers", "max_reps_on_a_customer", "territories_with_several_parts",
            "n_customers", "n_needs", "n_reps", "n_uncovered_customers", "n_warnings", "runtime_s")
MOVED_EXAMPLES = 20
# kpis.json's moved_customers counts moves against each run's own baseline (customers.csv's current_rep_id), not
# between the two runs: labelled so, beside the line that counts what moved from A to B
KPI_LABELS = {"moved_customers": "moved_customers (each run vs its current_rep_id)"}


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def compare_runs(run_a: Path, run_b: Path) -> dict[str, Any]:
    """KPI deltas (b - a), the customer-teams whose rep differs, and per-rep workload and customer deltas."""
    run_a, run_b = Path(run_a), Path(run_b)
    kpi_a, kpi_b = read_run_json(run_a, "kpis.json"), read_run_json(run_b, "kpis.json")
    kpis = []
    for key in KPI_KEYS:
        a, b = _number(kpi_a.get(key)), _number(kpi_b.get(key))
        if a is None and b is None:
            continue
        kpis.append({"name": key, "label": KPI_LABELS.get(key, key), "a": a, "b": b,
                     "delta": None if a is None or b is None else round(b - a, 6)})
    columns = ("customer_id", "team", "rep_id")
    assign_a = read_run_table(run_a, "assignments.csv", columns)[list(columns)]
    assign_b = read_run_table(run_b, "assignments.csv", columns)[list(columns)]
    both = assign_a.merge(assign_b, on=["customer_id", "team"], how="outer", suffixes=("_a", "_b")).fillna("")
    moved = both[both["rep_id_a"] != both["rep_id_b"]].sort_values(["customer_id", "team"], kind="stable")
    rep_cols = ("rep_id", "team", "workload_hours", "n_customers")
    reps_a = read_run_table(run_a, "reps.csv", rep_cols)[list(rep_cols)]
    reps_b = read_run_table(run_b, "reps.csv", rep_cols)[list(rep_cols)]
    reps = reps_a.merge(reps_b, on=["rep_id", "team"], how="outer", suffixes=("_a", "_b"))
    rows = []
    for row in reps.sort_values(["team", "rep_id"], kind="stable").itertuples(index=False):
        hours_a = float(row.workload_hours_a) if isinstance(row.workload_hours_a, str) else None
        hours_b = float(row.workload_hours_b) if isinstance(row.workload_hours_b, str) else None
        rows.append({
            "rep_id": row.rep_id, "team": row.team, "workload_hours_a": hours_a, "workload_hours_b": hours_b,
            "delta_hours": None if hours_a is None or hours_b is None else round(hours_b - hours_a, 4),
            "n_customers_a": int(row.n_customers_a) if isinstance(row.n_customers_a, str) else None,
            "n_customers_b": int(row.n_customers_b) if isinstance(row.n_customers_b, str) else None,
        })
    return {
        "a": str(run_a), "b": str(run_b),
        "kpis": kpis,
        "moved": {
            "customer_teams": len(moved),
            "customers": int(moved["customer_id"].nunique()),
            "examples": [{"customer_id": r.customer_id, "team": r.team, "rep_a": r.rep_id_a, "rep_b": r.rep_id_b}
                         for r in moved.head(MOVED_EXAMPLES).itertuples(index=False)],
        },
        "reps": rows,
    }
