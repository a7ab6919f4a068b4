"""Design mode against published p-median optima: prints markdown tables, asserts nothing.

Sets (read from the shared benchmark folder, never copied into the repo; see each folder's FORMAT.txt):
- pmed: OR-Library pmed1-40, uncapacitated p-median on graph shortest paths (the last of a repeated edge wins);
- cpmp: Osman and Christofides capacitated p-median (pmedcap1.txt, 20 problems), floor(Euclidean) distances;
- balanced: pmed1-10 with the soft balance penalty alpha * sum_j |size_j - n/p|, alpha = 0.2 * mean off-diagonal
  shortest-path distance; the published optima are truncated to integers, the exact value is used where known.

    .venv/bin/python bench/published_pmedian.py --set all --time-limit 60 --workers 2 [--markdown]

`--markdown` prints only what docs/benchmarks.md shows: per set a title line, the table and a summary line.
Every instance gets a verdict (`verdicts.py`): a value below a proven optimum (a bug), an answer the judge rejects
(INVALID) and a solve that raises (CRASHED) are reported on their row and left out of the means, with their count
beside them; the run goes on.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from md_tables import add_markdown_flag, context, markdown_table  # noqa: E402
from verdicts import crashed, judge, summarise  # noqa: E402

from territory_opt.solve.budget import Budget  # noqa: E402
from territory_opt.solve.design import DesignProblem, design_objective, design_violations, solve_design  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
EXACT_BALANCED = {"pmed4": 3561.19, "pmed5": 2124.61}  # FORMAT.txt: HiGHS re-computation of the truncated values


@dataclass(frozen=True)
class Instance:
    name: str
    problem: DesignProblem
    optimum: float
    optimum_note: str  # "optimal", "bks", or how the published value was turned into a comparable one


def read_optima(folder: Path) -> dict[str, tuple[float, str]]:
    optima = {}
    for line in (folder / "OPTIMA.tsv").read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0].strip():
            optima[parts[0].strip()] = (float(parts[1]), parts[2].strip())
    return optima


def graph_distances(path: Path) -> tuple[np.ndarray, int]:
    """All-pairs shortest paths of an OR-Library pmed graph; a repeated edge keeps its last cost."""
    tokens = path.read_text().split()
    n, m, p = (int(t) for t in tokens[:3])
    edges = np.array(tokens[3:3 + 3 * m], dtype=np.int64).reshape(m, 3)
    last: dict[tuple[int, int], int] = {}
    for i, j, c in edges.tolist():
        last[(min(i, j) - 1, max(i, j) - 1)] = c  # later lines overwrite earlier ones
    rows = np.array([k[0] for k in last], dtype=np.int64)
    cols = np.array([k[1] for k in last], dtype=np.int64)
    costs = np.array(list(last.values()), dtype=np.float64)
    graph = coo_matrix((costs, (rows, cols)), shape=(n, n)).tocsr()
    return shortest_path(graph, method="D", directed=False), p


def pmed_instances(data: Path) -> list[Instance]:
    folder = data / "pmed_orlib"
    optima = read_optima(folder)
    out = []
    for k in range(1, 41):
        name = f"pmed{k}"
        dist, p = graph_distances(folder / f"{name}.txt")
        problem = DesignProblem(distance=dist, weight=np.ones(len(dist)), p=p)
        value, kind = optima[name]
        out.append(Instance(name, problem, value, kind))
    return out


def cpmp_instances(data: Path) -> list[Instance]:
    folder = data / "cpmp_osman_christofides"
    optima = read_optima(folder)
    tokens = (folder / "pmedcap1.txt").read_text().split()
    count, pos = int(tokens[0]), 1
    out = []
    for _ in range(count):
        number, _best = int(tokens[pos]), tokens[pos + 1]
        n, p, capacity = (int(t) for t in tokens[pos + 2:pos + 5])
        pos += 5
        rows = np.array(tokens[pos:pos + 4 * n], dtype=np.float64).reshape(n, 4)
        pos += 4 * n
        xy, demand = rows[:, 1:3], rows[:, 3].astype(np.int64)
        dist = np.floor(np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)))
        problem = DesignProblem(distance=dist, weight=np.ones(n), p=p, demand=demand,
                                site_capacity=np.full(n, capacity, dtype=np.int64))
        name = f"pmedcap1#{number}"
        value, kind = optima[name]
        out.append(Instance(name, problem, value, kind))
    return out


def balanced_instances(data: Path) -> list[Instance]:
    optima = read_optima(data / "pmed_balanced_orlib")
    out = []
    for k in range(1, 11):
        name = f"pmed{k}"
        dist, p = graph_distances(data / "pmed_orlib" / f"{name}.txt")
        n = len(dist)
        alpha = 0.2 * dist[~np.eye(n, dtype=bool)].mean()
        problem = DesignProblem(distance=dist, weight=np.ones(n), p=p, size_target=n / p, balance_penalty=alpha)
        value, kind = optima[name]
        if name in EXACT_BALANCED:
            value, kind = EXACT_BALANCED[name], f"{kind}, exact (FORMAT.txt)"
        else:
            kind = f"{kind}, published value truncated"
        out.append(Instance(name, problem, value, kind))
    return out


LOADERS = {"pmed": pmed_instances, "cpmp": cpmp_instances, "balanced": balanced_instances}
TITLES = {"pmed": "Uncapacitated p-median, OR-Library pmed1-40",
          "cpmp": "Capacitated p-median, Osman and Christofides pmedcap1 (n = 50, 100)",
          "balanced": "Soft-balanced p-median, pmed1-10 (alpha = 0.2 x mean distance)"}


def pct(a: float, b: float) -> float:
    return 100.0 * (a - b) / b if b else 0.0


HEADER = ["instance", "n", "p", "ours", "optimum", "gap to optimum %", "our bound", "bound gap %", "seconds", "cpu s",
          "engine"]


def run_set(name: str, data: Path, time_limit: float, workers: int, seed: int, only: set[str],
            markdown: bool = False) -> None:
    instances = [i for i in LOADERS[name](data) if not only or i.name in only]
    if not instances:
        return
    if not markdown:
        print(f"\n### {TITLES[name]}\n")
        print("| instance | n | p | ours | optimum | gap to optimum % | our bound | bound gap % | seconds | cpu s "
              "| engine |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    verdicts, times, cpus, bound_gaps, rows = [], [], [], [], []
    for inst in instances:
        print(f"[{name}] {inst.name} ...", file=sys.stderr, flush=True)
        started, cpu_started = time.perf_counter(), time.process_time()
        proven = inst.optimum_note.startswith("optimal")
        try:
            result = solve_design(inst.problem, Budget(work_s=time_limit), seed=seed, workers=workers)
        except Exception as exc:  # one instance's crash is reported on its row, the run goes on
            verdict = crashed(inst.name, inst.optimum, exc)
            verdicts.append(verdict)
            rows.append([inst.name, inst.problem.n_customers, inst.problem.p, "-", f"{inst.optimum:g}",
                         verdict.gap_cell(), "-", "-", f"{time.perf_counter() - started:.1f}",
                         f"{time.process_time() - cpu_started:.1f}", verdict.error[:60]])
            if not markdown:
                print("| " + " | ".join(str(c) for c in rows[-1]) + " |", flush=True)
            print(f"[{name}] {inst.name}: CRASHED ({verdict.error})", file=sys.stderr, flush=True)
            continue
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        problems = design_violations(inst.problem, result.centres, result.assignment)
        judged = design_objective(inst.problem, result.centres, result.assignment)
        valid = not problems and abs(judged - result.objective) <= 1e-6 * max(1.0, judged)
        verdict = judge(inst.name, result.objective, inst.optimum, proven=proven, valid=valid,
                        error="; ".join(problems[:2]) if problems else "" if valid else
                        f"objective {result.objective} but the judge says {judged}")
        verdicts.append(verdict)
        flag = "" if valid else " (INVALID)"
        if verdict.counted:  # times and bound gaps of the counted answers only, like the gaps
            times.append(seconds)
            cpus.append(cpu)
            bound_gaps.append(100.0 * result.gap)
        row = [inst.name, inst.problem.n_customers, inst.problem.p, f"{result.objective:.2f}{flag}",
               f"{inst.optimum:g}", verdict.gap_cell(), f"{result.bound:.2f}", f"{100.0 * result.gap:.2f}",
               f"{seconds:.1f}", f"{cpu:.1f}", result.engine]
        rows.append(row)
        if not markdown:
            print("| " + " | ".join(str(c) for c in row) + " |", flush=True)
        print(f"[{name}] {inst.name}: {result.objective:.2f} vs {inst.optimum:g} ({verdict.gap:+.2f} %, "
              f"{verdict.kind}), bound {result.bound:.2f}, {seconds:.1f} s, stats {result.stats}", file=sys.stderr,
              flush=True)
    summary = summarise(verdicts)
    counted = summary.counted
    at_reference = sum(v.counted and v.gap <= 1e-6 for v in verdicts)
    tail = (f"bound gap mean {np.mean(bound_gaps):.2f} %, max {np.max(bound_gaps):.2f} %; mean {np.mean(times):.1f} s "
            f"wall (max {np.max(times):.1f} s), mean {np.mean(cpus):.1f} s cpu" if counted else "no comparable answer")
    if markdown:
        print(f"\n{TITLES[name]}:\n")
        print(markdown_table(HEADER, rows, right=range(1, len(HEADER) - 1)))
        print(f"\n**{counted} of {len(verdicts)}{summary.excluded_text()}: mean gap to optimum "
              f"{summary.mean_gap:.3f} %, max {summary.max_gap:.2f} %; {at_reference} at the optimum; {tail}.**",
              flush=True)
        return
    print(f"\n**{name}**: {len(verdicts)} instances, {summary.text()}, optimum matched {at_reference}/{counted}; "
          f"{tail}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=["pmed", "cpmp", "balanced", "all"], default="all")
    parser.add_argument("--time-limit", type=float, default=60.0, help="work seconds per instance")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated instance names, e.g. pmed1,pmedcap1#3")
    parser.add_argument("--data", type=Path, default=DATA)
    add_markdown_flag(parser)
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    context(f"Design-mode benchmark: time limit {args.time_limit:g} work-s per instance, {args.workers} workers, "
            f"seed {args.seed}, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}", args.markdown)
    for name in (["pmed", "cpmp", "balanced"] if args.set == "all" else [args.set]):
        run_set(name, args.data, args.time_limit, args.workers, args.seed, only, args.markdown)


if __name__ == "__main__":
    main()
