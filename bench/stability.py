"""How much a plan moves when little changes: the demo against itself with only the balance tolerance changed, and
with 1 % of its customers removed and 1 % new ones added. Prints a table (markdown with --markdown).

    python bench/stability.py [--scenario configs/demo.yaml] [--share 0.01] [--tolerance 0.15] [--markdown]

Every run is a fresh `territory-opt run` through the real CLI, the changed ones with `--previous` the base run (the
nightly routine: last night's plan is the baseline of continuity). A customer "moved" when, for some team, its rep
differs from the base run's (customers in both runs only). The tolerance run must not move customers for nothing:
its objective is compared with the base alignment's (which its looser band also admits), and with it the
customers that moved. The churned run's new customers are copies of random existing ones shifted by up to 2 km,
under new ids, with no current rep. Nothing here is asserted: record the table in docs/benchmarks.md with the
machine and the date.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from child_usage import run_measured
from md_tables import add_markdown_flag, context, markdown_table

REPO = Path(__file__).resolve().parents[1]


def run(scenario: Path, out: Path, overrides: list[str], previous: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, "-m", "territory_opt", "run", str(scenario), "--out", str(out), "--quiet"]
    if previous is not None:
        command += ["--previous", str(previous)]
    for item in overrides:
        command += ["--set", item]
    done = run_measured(command)
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    kpis = json.loads((out / "kpis.json").read_text())
    return {"kpis": kpis, "wall_s": done.wall_s, "peak_rss_mb": done.peak_rss_mb,
            "assignments": pd.read_csv(out / "assignments.csv", dtype={"customer_id": str, "rep_id": str})}


def moved(base: pd.DataFrame, other: pd.DataFrame) -> tuple[int, int]:
    """(customers in both runs whose rep changed in some team, customers in both runs)."""
    keys = ["customer_id", "team"]
    both = base[[*keys, "rep_id"]].merge(other[[*keys, "rep_id"]], on=keys, suffixes=("_a", "_b"))
    changed = both.loc[both["rep_id_a"] != both["rep_id_b"], "customer_id"].nunique()
    return int(changed), int(both["customer_id"].nunique())


def churned_scenario(scenario: Path, folder: Path, share: float, seed: int = 7) -> Path:
    """A copy of the scenario whose customers file lost `share` of its rows and gained as many new ones."""
    spec = yaml.safe_load(scenario.read_text())
    source = spec["inputs"]["customers"]
    path = Path(source if isinstance(source, str) else source["path"])
    path = path if path.is_absolute() else (scenario.parent / path).resolve()
    customers = pd.read_csv(path, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    n = max(1, round(share * len(customers)))
    kept = customers.drop(index=rng.choice(len(customers), n, replace=False))
    new = customers.iloc[rng.choice(len(customers), n, replace=False)].copy()
    new["customer_id"] = [f"NEW{i:05d}" for i in range(n)]
    new["lon"] = (new["lon"].astype(float) + rng.uniform(-0.02, 0.02, n)).round(6).astype(str)
    new["lat"] = (new["lat"].astype(float) + rng.uniform(-0.012, 0.012, n)).round(6).astype(str)
    if "current_rep_id" in new:
        new["current_rep_id"] = ""
    out = folder / "customers.csv"
    pd.concat([kept, new]).to_csv(out, index=False)
    for key, value in list(spec["inputs"].items()):  # other layers stay where they are
        if key != "customers" and isinstance(value, str):
            spec["inputs"][key] = str((scenario.parent / value).resolve())
        elif key != "customers" and isinstance(value, dict) and "path" in value:
            value["path"] = str((scenario.parent / value["path"]).resolve())
    spec["inputs"]["customers"] = str(out)
    copy = folder / "scenario.yaml"
    copy.write_text(yaml.safe_dump(spec, sort_keys=False))
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=REPO / "configs" / "demo.yaml")
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--tolerance", type=float, default=0.15)
    add_markdown_flag(parser)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = run(args.scenario, folder / "base", [])
        looser = run(args.scenario, folder / "looser", [f"rules.balance_tolerance={args.tolerance}"], folder / "base")
        churned = run(churned_scenario(args.scenario, folder, args.share), folder / "churned", [], folder / "base")
        for label, other in ((f"balance_tolerance -> {args.tolerance}", looser),
                             (f"{100 * args.share:g} % customers removed and as many added", churned)):
            count, common = moved(base["assignments"], other["assignments"])
            kpis, base_kpis = other["kpis"], base["kpis"]
            rows.append({
                "change": label,
                "moved customers": f"{count:,} of {common:,} ({100 * count / common:.2f} %)",
                "objective (base)": f"{base_kpis['objective']:,.1f}",
                "objective": f"{kpis['objective']:,.1f}",
                "pieces": kpis.get("territories_with_several_parts", ""),
                "wall s": f"{other['wall_s']:.1f}",
            })
    columns = list(rows[0])
    context(f"bench/stability.py --scenario {args.scenario.name}: base {base['wall_s']:.1f} s", args.markdown)
    print(markdown_table(columns, [[row[c] for c in columns] for row in rows]))


if __name__ == "__main__":
    main()
