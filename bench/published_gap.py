"""The rebalance engine on the OR-Library generalised assignment instances, against their proven optima.

    python bench/published_gap.py [--only gapa,gapb] [--time-limit 60] [--data ../shared/bench] [--markdown]

Each problem is read by `territory_opt.io.orlib` into the same `Problem` the CLI builds (jobs = customers, agents =
reps of one team, agent capacity = the top of the workload band, per-arc costs and loads) and solved by the same
`solve()` the CLI calls, one problem at a time, in this process. gap1-12 maximise, gapa-c minimise. Prints one
markdown table per file and a summary; nothing is asserted. Every problem gets a verdict (`verdicts.py`): a value
beyond a proven optimum (a bug), an answer the judge rejects and a solve that raises are reported on their row and
left out of the means, with their count beside them; the run goes on. `--markdown` prints what docs/benchmarks.md
shows: a table with one row per file, the summary, and the two files with the longest single solve in full.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from md_tables import add_markdown_flag, context, markdown_table
from verdicts import Verdict, crashed, judge, summarise

from territory_opt.io.orlib import gap_problem, gap_value, read_gap
from territory_opt.metrics import check
from territory_opt.solve import Budget, SolveParams, solve

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
FILES = [f"gap{i}" for i in range(1, 13)] + ["gapa", "gapb", "gapc"]


def read_optima(folder: Path) -> dict[str, float]:
    """Instance name ("gapa#1") -> published optimum."""
    out = {}
    for line in (folder / "OPTIMA.tsv").read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0]:
            out[fields[0].split("(")[0]] = float(fields[1])
    return out


def run_file(path: Path, optima: dict[str, float], time_limit: float, seed: int) -> list[dict[str, Any]]:
    maximise = not path.stem[3:].isalpha()  # gap1-12 maximise, gapa-d minimise
    sense = "max" if maximise else "min"
    rows: list[dict[str, Any]] = []
    for instance in read_gap(path):
        m, n = instance.cost.shape
        optimum = optima.get(instance.name, float("nan"))
        row: dict[str, Any] = {"instance": instance.name, "size": f"{m}x{n}", "sense": sense, "optimum": optimum,
                                  "value": float("nan"), "bound": float("nan"), "bound_gap": float("nan"),
                                  "status": "-", "engine": "-"}
        problem = gap_problem(instance, maximise=maximise)
        started = time.perf_counter()
        try:
            result = solve(problem, Budget(work_s=time_limit), seed=seed,
                           params=SolveParams(candidate_reps=problem.n_reps))
        except Exception as exc:  # one instance's crash is reported on its row, the run goes on
            row.update(seconds=time.perf_counter() - started, verdict=crashed(instance.name, optimum, exc))
            rows.append(row)
            print(f"{instance.name}: CRASHED ({exc})", file=sys.stderr)
            continue
        seconds = time.perf_counter() - started
        problems = check(problem, result.assignment)
        value = gap_value(instance, result.objective, maximise=maximise)
        bound = gap_value(instance, result.bound, maximise=maximise)
        verdict = judge(instance.name, value, optimum, sense=sense, proven=True, valid=not problems,
                        error=str(problems[0]) if problems else "")
        # signed like the gap: negative means the bound is on the wrong side of the answer (a bug, shown as such)
        worse = value - bound if not maximise else bound - value
        row.update(value=value, bound=bound, bound_gap=worse / max(abs(value), 1e-9) * 100, seconds=seconds,
                   status=result.status, engine=result.engine, verdict=verdict)
        rows.append(row)
        print(f"{instance.name}: {value:g} vs {optimum:g} in {seconds:.1f} s ({verdict.kind})", file=sys.stderr)
    return rows


def verdict_of(row: dict[str, Any]) -> Verdict:
    verdict = row["verdict"]
    assert isinstance(verdict, Verdict)
    return verdict


def instance_table(rows: list[dict[str, Any]]) -> str:
    return markdown_table(
        ["instance", "agents x jobs", "sense", "value", "optimum", "gap %", "bound", "bound gap %", "s", "status"],
        [[r["instance"], r["size"], r["sense"], f"{r['value']:g}", f"{r['optimum']:g}", verdict_of(r).gap_cell(3),
          f"{r['bound']:.1f}", f"{r['bound_gap']:.3f}", f"{r['seconds']:.1f}", r["status"]] for r in rows])


def print_table(rows: list[dict[str, Any]]) -> None:
    print(instance_table(rows))


def files_table(by_file: dict[str, list[dict[str, Any]]]) -> str:
    """One row per file: its problems' sizes, mean gap to the optimum, how many proven optimal, times."""
    rows = []
    for stem, runs in by_file.items():
        secs = [float(r["seconds"]) for r in runs]
        rows.append([stem, len(runs), ", ".join(sorted({str(r["size"]) for r in runs})), runs[0]["sense"],
                     summarise(verdict_of(r) for r in runs).mean_cell(3),
                     f"{sum(r['status'] == 'optimal' for r in runs)}/{len(runs)}", f"{np.mean(secs):.1f}",
                     f"{max(secs):.1f}"])
    return markdown_table(["file", "problems", "agents x jobs", "sense", "mean gap %", "proven optimal", "mean s",
                           "max s"], rows)


def print_markdown(by_file: dict[str, list[dict[str, Any]]], time_limit: float) -> None:
    everything = [r for runs in by_file.values() for r in runs]
    summary = summarise(verdict_of(r) for r in everything)
    slowest = max(everything, key=lambda r: float(r["seconds"]))
    n_proven = sum(r["status"] == "optimal" for r in everything)
    print(files_table(by_file))
    print(f"\n**{len(everything)} problems: {summary.at_reference} at the published optimum, {n_proven} proven optimal "
          f"(bound = value); {summary.text()}; time mean "
          f"{np.mean([r['seconds'] for r in everything]):.1f} s, max {slowest['seconds']:.1f} s "
          f"({slowest['instance']}, {slowest['size']}), work budget {time_limit:g} s.**")
    hardest = sorted(by_file, key=lambda f: max(float(r["seconds"]) for r in by_file[f]), reverse=True)[:2]
    print(f"\nThe slowest files in full ({', '.join(hardest)}):")
    for stem in by_file:
        if stem in hardest:
            print(f"\n### {stem}\n")
            print(instance_table(by_file[stem]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", default=",".join(FILES), help="comma-separated files, e.g. gap1,gapa")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    add_markdown_flag(parser)
    args = parser.parse_args()
    folder = args.data / "gap_orlib"
    optima = read_optima(folder)
    context(f"machine: {platform.machine()}, {platform.python_version()}, time limit {args.time_limit:g} s "
            "(CP-SAT deterministic budget), 1 worker" + ("" if args.markdown else "\n"), args.markdown)
    by_file = {}
    for stem in args.only.split(","):
        rows = run_file(folder / f"{stem}.txt", optima, args.time_limit, args.seed)
        by_file[stem] = rows
        if args.markdown:
            continue
        print(f"### {stem}\n")
        print_table(rows)
        print()
    if args.markdown:
        print_markdown(by_file, args.time_limit)
        return
    everything = [r for rows in by_file.values() for r in rows]
    summary = summarise(verdict_of(r) for r in everything)
    secs = np.array([r["seconds"] for r in everything])
    print(f"**{len(everything)} instances: {summary.text(4)}, {summary.at_reference} at the optimum; time mean "
          f"{secs.mean():.1f} s, max {secs.max():.1f} s**")


if __name__ == "__main__":
    main()
