"""territory-opt side by side with the tools a user would otherwise pick, on seeded synthetic instances.

    python bench/peers.py [--sizes 2000:20,5000:30] [--time-limit 60] [--seed 0] [--kmc-timeout 300] [--markdown]

Needs the `bench` extra (k-means-constrained, spopt, pulp). For each size N:P the script builds one instance:
N customers in a ~200 km square (metres), clustered as a mixture of Gaussian towns of very different sizes plus a
rural background; 1-3 visits per cycle and 15-60 call minutes per visit, so workload (visits x call minutes)
differs by customer; P reps. Every method then runs on the same points in a fresh subprocess of this script, so
each one's peak RSS (`os.wait4`, the worker and its children such as CBC) is its own:

1. k-means-constrained: customer counts within +/-5 % (size_min/size_max), n_init=1, n_jobs=1; its territories
   are its labels, its rep homes are its cluster centres. Killed after --kmc-timeout seconds.
2. territory-opt on k-means-constrained's centres as rep homes, one team, one rep per customer, detour 1.0:
   once balancing customer counts within +/-5 % (unit workload), once balancing workload hours within +/-5 %.
3. territory-opt in design mode (customer counts +/-5 %): it places its own P centres (a p-median start, then
   rounds of balanced assignment and moving each rep to the best home among its customers), the comparison with
   k-means-constrained that is like for like, since both choose centres and territories together.
4. nearest rep to k-means-constrained's homes: no balance; the lowest travel those homes allow.
5. spopt p-median (PuLP + CBC with --time-limit) for N <= --pmedian-max only: it opens its own P centres among a
   seeded sample of --pmedian-candidates customer locations (a dense model over all customers as candidates is
   N^2 binaries) and serves every customer from the nearest open one; no balance.

If k-means-constrained does not finish, territory-opt and nearest-rep use plain k-means centres instead
(scipy `kmeans2` on a sample, seeded), and the table says so.

Every assignment is judged here, by the same code: travel = sum over customers of visits x straight-line km to
their rep's home; max deviation = max over reps of |load - mean load| / mean load, for customer counts and for
workload hours. Runtime is the method's own compute time inside its worker (process start and imports
excluded); wall is the whole worker process; peak RSS includes the interpreter and the method's imports. territory-opt's
--time-limit is CP-SAT's deterministic work budget (wall time can reach 3x that + 30 s on a busy machine); CBC's is
wall time. One markdown table per instance on stdout; with `--markdown`, only what docs/benchmarks.md shows per
instance (a title line and a table without the wall time and notes columns, which go to stderr).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from md_tables import add_markdown_flag, context, markdown_table

REPO = Path(__file__).resolve().parents[1]
SIDE_M = 200_000.0
TOLERANCE = 0.05
CALL_MINUTES = np.array([15, 20, 30, 45, 60])


# ---------------------------------------------------------------------------------------------------------------
# Instances


def make_instance(n: int, p: int, seed: int) -> dict[str, np.ndarray]:
    """Clustered customers (metres), visits per cycle and workload seconds per cycle, seeded by (seed, n, p)."""
    rng = np.random.default_rng([seed, n, p])
    n_towns = max(8, p // 2)
    size = rng.pareto(1.2, n_towns) + 1.0  # a few cities, many small towns
    share = size / size.sum()
    town_xy = rng.uniform(0.05 * SIDE_M, 0.95 * SIDE_M, size=(n_towns, 2))
    town_sigma = np.clip(2_500.0 * np.sqrt(size), 1_500.0, 15_000.0)
    n_rural = n // 10
    town = rng.choice(n_towns, size=n - n_rural, p=share)
    urban = town_xy[town] + rng.normal(size=(len(town), 2)) * town_sigma[town, None]
    rural = rng.uniform(0.0, SIDE_M, size=(n_rural, 2))
    xy = np.clip(np.concatenate([urban, rural]), 0.0, SIDE_M)
    xy = xy[rng.permutation(n)]
    visits = rng.choice([1, 2, 3], size=n, p=[0.5, 0.3, 0.2]).astype(np.int64)
    minutes = rng.choice(CALL_MINUTES, size=n)
    return {"xy": xy, "visits": visits, "workload_s": visits * minutes * 60, "n_towns": np.array(n_towns)}


def kmeans_homes(xy: np.ndarray, p: int, seed: int) -> np.ndarray:
    """Plain k-means centres on a sample (the fallback when k-means-constrained does not finish)."""
    from scipy.cluster.vq import kmeans2

    rng = np.random.default_rng(seed)
    sample = rng.choice(len(xy), size=min(len(xy), 50 * p), replace=False)
    centres, _ = kmeans2(xy[sample], p, minit="++", rng=rng)
    return centres


# ---------------------------------------------------------------------------------------------------------------
# Workers: each runs in its own process, reads case/instance.npz (+ case/homes.npy), writes case/<method>.npz/json


def _km(xy: np.ndarray, homes: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    delta = xy - homes[assignment]
    return np.hypot(delta[:, 0], delta[:, 1]) / 1000.0


def work_kmc(inst: dict[str, np.ndarray], case: Path, args: argparse.Namespace) -> dict[str, object]:
    from k_means_constrained import KMeansConstrained

    xy, p = inst["xy"], args.reps
    n = len(xy)
    started = time.perf_counter()
    model = KMeansConstrained(n_clusters=p, size_min=math.floor(n / p * (1 - TOLERANCE)),
                              size_max=math.ceil(n / p * (1 + TOLERANCE)), random_state=args.seed, n_init=1,
                              n_jobs=1)
    labels = model.fit_predict(xy)
    runtime = time.perf_counter() - started
    return {"runtime_s": runtime, "assignment": np.asarray(labels, np.int64),
            "homes": np.asarray(model.cluster_centers_, float), "note": f"{model.n_iter_} iterations"}


def work_territory_opt(inst: dict[str, np.ndarray], case: Path, args: argparse.Namespace,
                       on_hours: bool, design: bool = False) -> dict[str, object]:
    from territory_opt.metrics import check
    from territory_opt.model.bands import balance_targets
    from territory_opt.model.problem import NO_REP, Problem
    from territory_opt.solve import Budget, SolveParams, solve

    xy, homes = inst["xy"], np.load(case / "homes.npy")
    n, p = len(xy), len(homes)
    started = time.perf_counter()
    workload = inst["workload_s"].astype(np.int64) if on_hours else np.ones(n, np.int64)
    rep_in_team = np.ones((p, 1), dtype=bool)
    need_team = np.zeros(n, np.int64)
    target, lo, hi = balance_targets(rep_in_team, need_team, workload, np.full(p, np.inf), TOLERANCE)
    problem = Problem(
        customer_ids=np.array([f"C{i}" for i in range(n)], dtype=object), customer_xy=xy,
        rep_ids=np.array([f"R{r}" for r in range(p)], dtype=object), rep_xy=homes, team_names=("all",),
        rep_in_team=rep_in_team, need_customer=np.arange(n, dtype=np.int64), need_team=need_team,
        need_visits=inst["visits"].astype(float), need_workload_s=workload, need_travel_weight=np.ones(n),
        need_locked_rep=np.full(n, NO_REP, np.int64), need_current_rep=np.full(n, NO_REP, np.int64),
        rep_target_s=target, rep_min_s=lo, rep_max_s=hi, max_reps_per_customer=1, detour_factor=1.0)
    design_note = ""
    if design:  # design mode: territory-opt places the centres too (solve/centres.py), then assigns
        from territory_opt.solve.centres import design_homes

        designed = design_homes(problem, time_limit_s=args.time_limit, seed=args.seed)
        problem, homes = problem.replace(rep_xy=designed.rep_xy), designed.rep_xy
        design_note = f"design rounds {[r['objective'] for r in designed.rounds]}; "
    result = solve(problem, Budget(work_s=args.time_limit), seed=args.seed,
                   params=SolveParams(workers=1, candidate_reps=8))
    runtime = time.perf_counter() - started
    violations = check(problem, result.assignment)
    note = design_note + f"{result.engine}, gap {100 * result.gap:.2f} % ({result.bound_scope})"
    parts = [f"{label} {result.stats[key]} s" for key, label in (("lp_seconds", "LP"), ("cpsat_seconds", "CP-SAT"))
             if key in result.stats]
    if parts:
        note += "; " + ", ".join(parts)
    if violations:
        note += f"; {len(violations)} VIOLATIONS: {violations[0].message}"
    return {"runtime_s": runtime, "assignment": result.assignment.astype(np.int64), "homes": homes, "note": note}


def work_nearest(inst: dict[str, np.ndarray], case: Path, args: argparse.Namespace) -> dict[str, object]:
    from scipy.spatial import cKDTree

    homes = np.load(case / "homes.npy")
    started = time.perf_counter()
    _, assignment = cKDTree(homes).query(inst["xy"])
    return {"runtime_s": time.perf_counter() - started, "assignment": np.asarray(assignment, np.int64),
            "homes": homes, "note": ""}


def work_pmedian(inst: dict[str, np.ndarray], case: Path, args: argparse.Namespace) -> dict[str, object]:
    import warnings

    warnings.filterwarnings("ignore")  # PULP_CBC_CMD deprecation, one spopt warning per variable
    import pulp
    from scipy.spatial import cKDTree
    from scipy.spatial.distance import cdist
    from spopt.locate import PMedian

    xy, p = inst["xy"], args.reps
    n = len(xy)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    candidates = np.sort(rng.choice(n, size=min(n, args.pmedian_candidates), replace=False))
    cost_km = cdist(xy, xy[candidates]) / 1000.0
    model = PMedian.from_cost_matrix(cost_km, inst["visits"].astype(float), p_facilities=p)
    built = time.perf_counter() - started
    model.problem.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=args.time_limit))
    status = f"{pulp.LpStatus[model.problem.status]} / {pulp.LpSolution[model.problem.sol_status]}"
    opened = np.array([j for j in range(len(candidates)) if (model.fac_vars[j].value() or 0.0) > 0.5], np.int64)
    if len(opened) == 0:
        raise RuntimeError(f"CBC returned no solution (status {status})")
    if model.problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        status += (f": no integer solution within {args.time_limit:g} s, centres = the {len(opened)} sites with "
                   "y > 0.5 in the values CBC returned")
    homes = xy[candidates[opened]]
    _, assignment = cKDTree(homes).query(xy)  # every customer to its nearest open centre (the model's optimum)
    runtime = time.perf_counter() - started
    return {"runtime_s": runtime, "assignment": np.asarray(assignment, np.int64), "homes": homes,
            "note": f"{len(candidates)} candidate sites, {len(opened)} opened; model built in {built:.0f} s, "
                    f"CBC {status}"}


WORKERS = {
    "kmc": work_kmc,
    "to_count": lambda inst, case, args: work_territory_opt(inst, case, args, on_hours=False),
    "to_hours": lambda inst, case, args: work_territory_opt(inst, case, args, on_hours=True),
    "to_design": lambda inst, case, args: work_territory_opt(inst, case, args, on_hours=False, design=True),
    "nearest": work_nearest,
    "pmedian": work_pmedian,
}


def run_worker(args: argparse.Namespace) -> None:
    case = Path(args.case)
    with np.load(case / "instance.npz") as data:
        inst = {key: data[key] for key in data.files}
    out = WORKERS[args.worker](inst, case, args)
    np.savez(case / f"{args.worker}.npz", assignment=np.asarray(out["assignment"]), homes=np.asarray(out["homes"]))
    (case / f"{args.worker}.json").write_text(json.dumps({"runtime_s": out["runtime_s"], "note": out["note"]}))


# ---------------------------------------------------------------------------------------------------------------
# Parent: launch one worker, measure it, judge its assignment


@dataclass
class Row:
    method: str
    homes: str
    travel_km: float | None = None
    dev_count: float | None = None
    dev_hours: float | None = None
    runtime_s: float | None = None
    wall_s: float | None = None
    peak_mb: float | None = None
    note: str = ""


def launch(method: str, case: Path, args: argparse.Namespace, timeout_s: float) -> tuple[bool, float, float, str]:
    """Run one worker in a fresh process; (finished, wall s, peak RSS MB of it and its children, error text)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method, "--case", str(case),
           "--reps", str(args.reps), "--time-limit", str(args.time_limit), "--seed", str(args.seed),
           "--pmedian-candidates", str(args.pmedian_candidates)]
    log = case / f"{method}.log"
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - started > timeout_s and not killed:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker's own session: it and its children (CBC), nothing else
            killed = True
        time.sleep(0.1)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024.0
    if killed:
        return False, wall, peak_mb, f"did not finish in {timeout_s:.0f} s (killed)"
    if proc.returncode != 0:
        tail = log.read_text().strip().splitlines()[-1:] or [""]
        return False, wall, peak_mb, f"failed (exit {proc.returncode}): {tail[0][:160]}"
    return True, wall, peak_mb, ""


def judge(inst: dict[str, np.ndarray], assignment: np.ndarray, homes: np.ndarray) -> tuple[float, float, float]:
    """Visit-weighted km, and max |load - mean| / mean (%) for customer counts and for workload hours."""
    p = len(homes)
    travel = float((inst["visits"] * _km(inst["xy"], homes, assignment)).sum())
    devs = []
    for weights in (np.ones(len(assignment)), inst["workload_s"].astype(float)):
        load = np.bincount(assignment, weights=weights, minlength=p)
        devs.append(100.0 * float(np.abs(load - load.mean()).max() / load.mean()))
    return travel, devs[0], devs[1]


def measure(method: str, label: str, homes_label: str, inst: dict[str, np.ndarray], case: Path,
            args: argparse.Namespace, timeout_s: float) -> tuple[Row, np.ndarray | None]:
    finished, wall, peak_mb, error = launch(method, case, args, timeout_s)
    row = Row(label, homes_label, wall_s=wall, peak_mb=peak_mb)
    if not finished:
        row.note = error
        return row, None
    meta = json.loads((case / f"{method}.json").read_text())
    with np.load(case / f"{method}.npz") as data:
        assignment, homes = data["assignment"], data["homes"]
    row.travel_km, row.dev_count, row.dev_hours = judge(inst, assignment, homes)
    row.runtime_s, row.note = meta["runtime_s"], meta["note"]
    return row, homes


def fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def print_table(n: int, p: int, inst: dict[str, np.ndarray], rows: list[Row], kmc_travel: float | None) -> None:
    hours = inst["workload_s"].sum() / 3600.0
    print(f"\n### {n:,} customers, {p} reps ({int(inst['n_towns'])} towns + 10 % rural; "
          f"{int(inst['visits'].sum()):,} visits, {hours:,.0f} h per cycle)\n")
    print("| method | rep homes | travel visit-km | travel vs k-means-constrained % | max dev customers % "
          "| max dev hours % | runtime s | wall s | peak RSS MB | notes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        vs = None if kmc_travel is None or row.travel_km is None else 100.0 * (row.travel_km / kmc_travel - 1.0)
        print(f"| {row.method} | {row.homes} | {fmt(row.travel_km, ',.0f')} | {fmt(vs, '+.1f')} | "
              f"{fmt(row.dev_count, '.1f')} | {fmt(row.dev_hours, '.1f')} | {fmt(row.runtime_s, '.1f')} | "
              f"{fmt(row.wall_s, '.1f')} | {fmt(row.peak_mb, ',.0f')} | {row.note} |", flush=True)


def print_markdown(n: int, p: int, inst: dict[str, np.ndarray], rows: list[Row], kmc_travel: float | None) -> None:
    """The table as docs/benchmarks.md shows it; a row without an answer carries its note in the homes column."""
    hours = inst["workload_s"].sum() / 3600.0
    print(f"\n{n:,} customers, {p} reps:\n")
    cells = []
    for row in rows:
        vs = None if kmc_travel is None or row.travel_km is None else 100.0 * (row.travel_km / kmc_travel - 1.0)
        homes = row.homes if row.travel_km is not None else row.note
        cells.append([row.method, homes, fmt(row.travel_km, ",.0f"), "" if vs is None else f"{vs:+.1f} %",
                      fmt(row.dev_count, ".1f"), fmt(row.dev_hours, ".1f"), fmt(row.runtime_s, ",.1f"),
                      fmt(row.peak_mb, ",.0f")])
        print(f"{n:,}/{p} {row.method}: wall {fmt(row.wall_s, '.1f')} s; {row.note}", file=sys.stderr)
    print(markdown_table(["method", "rep homes", "travel visit-km", "vs k-means-constrained", "max dev customers %",
                          "max dev hours %", "runtime s", "peak RSS MB"], cells, right=range(2, 8)))
    print(f"instance: {int(inst['n_towns'])} towns + 10 % rural; {int(inst['visits'].sum()):,} visits, "
          f"{hours:,.0f} h per cycle", file=sys.stderr)


def run_size(n: int, p: int, args: argparse.Namespace) -> list[Row]:
    args.reps = p
    inst = make_instance(n, p, args.seed)
    slack = max(300.0, 5 * args.time_limit)  # for methods without a cap of their own: a hang guard only
    md = args.markdown
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        case = Path(tmp)
        np.savez(case / "instance.npz", **inst)  # type: ignore[arg-type]  # numpy's stub reads ** as allow_pickle
        kmc_row, homes = measure("kmc", "k-means-constrained (customers ±5 %)", "its centres", inst, case, args,
                                 args.kmc_timeout)
        rows.append(kmc_row)
        if homes is not None:
            homes_label = "k-means-constrained's" if md else "k-means-constrained centres"
        else:
            homes = kmeans_homes(inst["xy"], p, args.seed)
            homes_label = "k-means centres (kmeans2 on a sample; k-means-constrained did not finish)"
        np.save(case / "homes.npy", homes)
        timeout_to = args.time_limit * 3 + 600.0
        rebalance = "territory-opt rebalance" if md else "territory-opt"
        for method, label in (("to_count", f"{rebalance} (customers ±5 %)"),
                              ("to_hours", f"{rebalance} (hours ±5 %)")):
            rows.append(measure(method, label, homes_label, inst, case, args, timeout_to)[0])
        rows.append(measure("to_design", "territory-opt design mode (customers ±5 %)",
                            "its own" if md else "its own (chosen centres)", inst, case, args, 2 * timeout_to)[0])
        rows.append(measure("nearest", "nearest rep (no balance)", homes_label, inst, case, args, slack)[0])
        pmedian = f"spopt p-median, CBC {args.time_limit:g} s" if md else "spopt p-median, CBC"
        pmedian += " (no balance)"
        if n <= args.pmedian_max:
            rows.append(measure("pmedian", pmedian,
                                f"its own ({args.pmedian_candidates} sampled sites)" if md
                                else "its own (customer sites)", inst, case, args, args.time_limit * 3 + 600.0)[0])
        else:
            rows.append(Row(pmedian, "", note=f"skipped: n > {args.pmedian_max} "
                            "(dense PuLP model, one binary per customer x candidate site)"))
    kmc_travel = rows[0].travel_km
    (print_markdown if md else print_table)(n, p, inst, rows, kmc_travel)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000:20,5000:30", help="comma-separated customers:reps")
    parser.add_argument("--time-limit", type=float, default=60.0, help="territory-opt's and CBC's time limit, s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kmc-timeout", type=float, default=300.0, help="wall-time cap for k-means-constrained, s")
    parser.add_argument("--pmedian-max", type=int, default=2000, help="largest n for the p-median")
    parser.add_argument("--pmedian-candidates", type=int, default=200, help="candidate sites for the p-median")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--reps", type=int, default=0, help=argparse.SUPPRESS)
    add_markdown_flag(parser)
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return
    context(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"{datetime.date.today().isoformat()}; seed {args.seed}, time limit {args.time_limit:g} s, "
            f"k-means-constrained cap {args.kmc_timeout:g} s", args.markdown)
    for size in args.sizes.split(","):
        n, p = (int(v) for v in size.split(":"))
        run_size(n, p, args)


if __name__ == "__main__":
    main()
