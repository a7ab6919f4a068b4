"""The routing core (OR-Tools via `solve_vrp`) and PyVRP side by side on Solomon VRPTW and Uchoa X CVRP instances.

    python bench/published_routing.py [--set solomon|x|all] [--only C101,R201] [--time-limit 30 | --time-limits 5,30]
                                      [--solvers ortools,pyvrp] [--ortools-metaheuristic GUIDED_LOCAL_SEARCH]
                                      [--data ../shared/bench] [--seed 0] [--markdown]

Distances follow each set's published rule so values compare with the best-known solutions (BKS): Solomon arcs are
Euclidean truncated to one decimal (scaled by 10 to integers; travel time = distance, service and windows scaled
alike, the file's fleet size, distance objective as in OPTIMA.tsv, not vehicles first); X arcs are nearest-integer
Euclidean, with a fleet of k + max(2, k // 10) vehicles (the BKS uses at most k + 2). Each solver gets the same
integer matrices and the same wall-clock limit, one instance at a time in this process, and every answer goes
through `check_solution`. OR-Tools runs with `solve_vrp`'s defaults (local cheapest insertion, then ruin-and-recreate
iterated local search) unless `--ortools-first` / `--ortools-metaheuristic` say otherwise; several metaheuristics,
comma-separated (ITERATED_LOCAL_SEARCH,GUIDED_LOCAL_SEARCH), run side by side as columns of one table. PyVRP is an
optional peer (`pip install 'pyvrp>=0.14,<0.15'`). Prints markdown tables and a summary; nothing is asserted.
Every answer gets a verdict (`verdicts.py`): a solver that raises on one instance is reported as CRASHED on that row
and the run goes on; an answer the checker rejects is INVALID; both are left out of the mean gaps, with their count
beside them. When OR-Tools' first strategy found no plan, the row names the fallback that did (`solve_vrp`).
`--markdown` prints what docs/benchmarks.md shows: the summary first, then one table per set and time limit.
"""

from __future__ import annotations

import argparse
import functools
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from md_tables import add_markdown_flag, context, markdown_table
from verdicts import Verdict, judge, summarise

from territory_opt.routing.vrp import VrpInstance, VrpSolution, check_solution, route_schedule, solve_vrp
from territory_opt.solve.budget import Budget

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
SETS = {"solomon": "vrptw_solomon", "x": "cvrp_x"}


@dataclass(frozen=True)
class Case:
    """One benchmark instance: the solver-neutral model, its coordinates and how to print its values."""

    name: str
    instance: VrpInstance
    xy: np.ndarray
    bks: float
    scale: int  # integer objective / scale = published value


@dataclass(frozen=True)
class Outcome:
    """One solver's answer on one instance."""

    value: float
    vehicles: int
    seconds: float
    valid: bool
    error: str = ""  # the exception when the solver raised (value is then nan)
    first_solution: str = ""  # OR-Tools: the fallback strategy that made the first plan, when the first one failed

    def verdict(self, case: Case) -> Verdict:
        """Best-known values are not proven optima: a better answer is a new best, counted and flagged."""
        return judge(case.name, None if self.error else self.value, case.bks, proven=False, valid=self.valid,
                     error=self.error)


def read_optima(folder: Path) -> dict[str, float]:
    """Instance name -> best-known value from OPTIMA.tsv."""
    out = {}
    for line in (folder / "OPTIMA.tsv").read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0]:
            out[fields[0]] = float(fields[1])
    return out


def read_solomon(path: Path, bks: float) -> Case:
    """A Solomon file as a VRPTW with times and distances in tenths (truncated Euclidean per arc)."""
    lines = path.read_text().splitlines()
    fleet, capacity = (int(v) for v in lines[4].split())
    rows = np.array([[int(v) for v in line.split()] for line in lines[9:] if line.strip()], dtype=np.int64)
    xy = rows[:, 1:3]
    diff = xy[:, None, :] - xy[None, :, :]
    squared = (diff**2).sum(axis=2)
    # floor(10 * sqrt(s)) computed exactly as isqrt(100 * s): float rounding cannot flip a truncation
    dist = np.vectorize(math.isqrt, otypes=[np.int64])(100 * squared)
    instance = VrpInstance(
        duration=dist, distance=dist, service=10 * rows[:, 6], window_open=10 * rows[:, 4],
        window_close=10 * rows[:, 5], demand=rows[:, 3], vehicle_capacity=capacity, n_vehicles=fleet,
        max_route_duration=None, horizon=10 * int(rows[0, 5]))
    return Case(path.stem, instance, xy, bks, 10)


def read_x(path: Path, bks: float) -> Case:
    """A VRPLIB CVRP file (depot = node 1) with nearest-integer Euclidean distances and a fleet of k plus slack."""
    header: dict[str, str] = {}
    coords: list[list[int]] = []
    demand: list[int] = []
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if line.endswith("SECTION"):
            section = line
            continue
        if ":" in line and not line[0].isdigit():
            key, value = line.split(":", 1)
            header[key.strip()] = value.strip()
            continue
        values = [int(float(v)) for v in line.split()]
        if section == "NODE_COORD_SECTION":
            coords.append(values[1:3])
        elif section == "DEMAND_SECTION":
            demand.append(values[1])
    xy = np.array(coords, dtype=np.int64)
    diff = (xy[:, None, :] - xy[None, :, :]).astype(float)
    dist = np.floor(np.sqrt((diff**2).sum(axis=2)) + 0.5).astype(np.int64)
    k = int(path.stem.rsplit("-k", 1)[1])
    instance = VrpInstance(
        duration=dist, distance=dist, service=np.zeros(len(xy), dtype=np.int64), window_open=None, window_close=None,
        demand=np.array(demand, dtype=np.int64), vehicle_capacity=int(header["CAPACITY"]),
        n_vehicles=k + max(2, k // 10), max_route_duration=None, horizon=int(dist.sum()))
    return Case(path.stem, instance, xy, bks, 1)


def load_cases(folder: Path, kind: str, only: set[str] | None) -> list[Case]:
    """Every instance of a set with a BKS, in OPTIMA.tsv order, optionally filtered by name."""
    optima = read_optima(folder)
    cases = []
    for name, bks in optima.items():
        if only and name not in only:
            continue
        if kind == "solomon":
            cases.append(read_solomon(folder / f"{name}.txt", bks))
        else:
            cases.append(read_x(folder / f"{name}.vrp", bks))
    return cases


ORTOOLS_SHORT = {"ITERATED_LOCAL_SEARCH": "ILS", "GUIDED_LOCAL_SEARCH": "GLS"}


@dataclass(frozen=True)
class Solver:
    """One column group of the tables: a solver and, for OR-Tools, its search set-up."""

    key: str
    label: str
    run: Callable[[Case, float, int], Outcome]


def run_ortools(case: Case, time_limit: float, seed: int, setup: dict[str, Any] | None = None) -> Outcome:
    """The routing core as the product calls it (its default search set-up unless `setup` overrides it)."""
    solution = solve_vrp(case.instance, Budget(work_s=None, wall_s=time_limit), seed=seed, **(setup or {}))
    valid = not check_solution(case.instance, solution)
    return Outcome(solution.objective / case.scale, solution.n_vehicles_used, solution.seconds, valid,
                   first_solution=solution.first_solution if solution.attempts else "")


def run_pyvrp(case: Case, time_limit: float, seed: int) -> Outcome:
    """PyVRP's hybrid genetic search on the same integer matrices, windows, demand and fleet."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    inst = case.instance
    opens, closes = inst.opens(), inst.closes()
    model = Model()
    locations = [model.add_location(int(x), int(y)) for x, y in case.xy]
    depot = model.add_depot(locations[0], tw_early=int(opens[0]), tw_late=int(closes[0]))
    demand = inst.demand if inst.demand is not None else np.zeros(inst.n_locations, dtype=np.int64)
    for node in range(1, inst.n_locations):
        model.add_client(locations[node], delivery=[int(demand[node])], service_duration=int(inst.service[node]),
                         tw_early=int(opens[node]), tw_late=int(closes[node]))
    capacity = [int(inst.vehicle_capacity)] if inst.vehicle_capacity is not None else [int(demand.sum())]
    shift = {} if inst.max_route_duration is None else {"shift_duration": int(inst.max_route_duration)}
    model.add_vehicle_type(num_available=int(inst.n_vehicles), capacity=capacity, start_depot=depot,
                           end_depot=depot, tw_early=int(opens[0]), tw_late=int(inst.horizon), **shift)
    for a in range(inst.n_locations):
        for b in range(inst.n_locations):
            if a != b:
                model.add_edge(locations[a], locations[b], distance=int(inst.cost[a, b]),
                               duration=int(inst.duration[a, b]))
    started = time.perf_counter()
    result = model.solve(stop=MaxRuntime(time_limit), seed=seed, display=False, collect_stats=False)
    seconds = time.perf_counter() - started
    # client activities are numbered among clients; the single depot is location 0, so location = index + 1
    routes = tuple(tuple(int(a.idx) + 1 for a in route if a.is_client()) for route in result.best.routes())
    arrival = []
    for route in routes:
        schedule = route_schedule(inst, route)
        arrival.append(tuple(schedule[1]) if schedule else ())
    objective = sum(int(r.distance()) for r in result.best.routes())
    solution = VrpSolution(routes, tuple(arrival), (), objective, len(routes), "pyvrp", seconds)
    valid = result.is_feasible() and not check_solution(inst, solution)
    return Outcome(objective / case.scale, len(routes), seconds, valid)


def print_table(title: str, cases: list[Case], solvers: list[Solver], results: dict[str, dict[str, Outcome]],
                markdown: bool) -> None:
    """One table: an instance per row, the solvers side by side (plain output always shows a PyVRP group)."""
    header, rows = ["instance", "BKS"], []
    groups = solvers if markdown or any(s.key == "pyvrp" for s in solvers) else \
        [*solvers, Solver("pyvrp", "PyVRP", run_pyvrp)]
    for solver in groups:
        header += [solver.label, "gap %", "veh", "s"]
    for case in cases:
        cells = [case.name, f"{case.bks:g}"]
        for solver in groups:
            out = results.get(solver.key, {}).get(case.name)
            if out is None:
                cells += ["-", "-", "-", "-"]
                continue
            if out.error:
                cells += [f"CRASHED: {out.error[:60]}", out.verdict(case).gap_cell(), "-", f"{out.seconds:.1f}"]
                continue
            mark = "" if out.valid else " (invalid)"
            if out.first_solution:
                mark += f" (first plan: {out.first_solution})"
            cells += [f"{out.value:.{1 if case.scale == 10 else 0}f}{mark}", out.verdict(case).gap_cell(),
                      str(out.vehicles), f"{out.seconds:.1f}"]
        rows.append(cells)
    if markdown:
        print(f"\n{title}:\n")
        print(markdown_table(header, rows, right=range(1, len(header))))
        return
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


def mean_gap(cases: list[Case], outcomes: dict[str, Outcome]) -> str:
    """Mean gap % over the valid answers, with the count and the kinds left out (invalid, crashed) beside it."""
    return summarise(outcomes[c.name].verdict(c) for c in cases if c.name in outcomes).mean_cell()


def run_one(solver: Solver, case: Case, limit: float, seed: int) -> Outcome:
    """One solver on one instance; an exception is the instance's answer (CRASHED), not the end of the run."""
    started = time.perf_counter()
    try:
        return solver.run(case, limit, seed)
    except Exception as exc:  # one instance's crash is reported on its row, the run goes on
        return Outcome(math.nan, 0, time.perf_counter() - started, False, error=f"{type(exc).__name__}: {exc}")


def make_solvers(names: list[str], first: str, metaheuristics: list[str]) -> list[Solver]:
    """The solver columns: one OR-Tools group per metaheuristic asked for (solve_vrp's default when none), PyVRP."""
    solvers = []
    for name in names:
        if name == "pyvrp":
            solvers.append(Solver("pyvrp", "PyVRP", run_pyvrp))
            continue
        for meta in metaheuristics or [""]:
            setup = {k: v for k, v in (("first_solution", first), ("metaheuristic", meta)) if v}
            label = "OR-Tools"
            if len(metaheuristics) > 1:
                label += " " + ORTOOLS_SHORT.get(meta, meta)
            solvers.append(Solver(f"ortools:{meta}" if meta else "ortools", label,
                                  functools.partial(run_ortools, setup=setup)))
    return solvers


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--set", choices=["solomon", "x", "all"], default="all")
    parser.add_argument("--only", default="", help="comma-separated instance names, e.g. C101,R201,X-n101-k25")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--time-limits", default="", help="comma-separated limits, e.g. 5,30 (overrides --time-limit)")
    parser.add_argument("--solvers", default="ortools,pyvrp", help="comma-separated: ortools, pyvrp")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ortools-first", default="", help="first-solution strategy (default: solve_vrp's)")
    parser.add_argument("--ortools-metaheuristic", default="",
                        help="e.g. GUIDED_LOCAL_SEARCH (default: solve_vrp's); several, comma-separated, e.g. "
                             "ITERATED_LOCAL_SEARCH,GUIDED_LOCAL_SEARCH, run side by side")
    add_markdown_flag(parser)
    args = parser.parse_args()
    metaheuristics = [v.strip() for v in args.ortools_metaheuristic.split(",") if v.strip()]
    limits = [float(v) for v in args.time_limits.split(",") if v] or [args.time_limit]
    only = {v.strip() for v in args.only.split(",") if v.strip()} or None
    solvers = make_solvers([s.strip() for s in args.solvers.split(",") if s.strip()], args.ortools_first,
                           metaheuristics)
    kinds = list(SETS) if args.set == "all" else [args.set]

    setups = [", ".join(f"{k}={v}" for k, v in (("first_solution", args.ortools_first), ("metaheuristic", m)) if v)
              for m in metaheuristics or [""]]
    versions = f"OR-Tools {version('ortools')} ({'; '.join(s or 'solve_vrp defaults' for s in setups)})"
    if any(s.key == "pyvrp" for s in solvers):
        versions += f", PyVRP {version('pyvrp')}"
    context(f"machine: {platform.machine()}, Python {platform.python_version()}, {versions}; "
            f"time limits {', '.join(f'{t:g}' for t in limits)} s per instance and solver; seed {args.seed}",
            args.markdown)
    summary: list[tuple[str, int, float, list[str]]] = []
    tables = []
    for kind in kinds:
        cases = load_cases(args.data / SETS[kind], kind, only)
        if not cases:
            continue
        for limit in limits:
            results: dict[str, dict[str, Outcome]] = {s.key: {} for s in solvers}
            for case in cases:
                for solver in solvers:
                    out = run_one(solver, case, limit, args.seed)
                    results[solver.key][case.name] = out
                    verdict = out.verdict(case)
                    print(f"{kind} {limit:g}s {case.name} {solver.label}: {out.value:g} "
                          f"({verdict.gap:+.2f}%, {out.vehicles} veh, {out.seconds:.1f} s, {verdict.kind}"
                          f"{', first plan by ' + out.first_solution if out.first_solution else ''}"
                          f"{', ' + out.error if out.error else ''})", file=sys.stderr, flush=True)
            if args.markdown:
                tables.append((f"{kind}, {limit:g} s per instance", cases, results))
            else:
                print_table(f"{kind}, {limit:g} s per instance", cases, solvers, results, markdown=False)
            summary.append((kind, len(cases), limit, [mean_gap(cases, results[s.key]) for s in solvers]))
    if args.markdown:
        header = ["set", "time limit s", *(f"{s.label} mean gap %" for s in solvers)]
        print(markdown_table(header, [[f"{kind} ({n})", f"{limit:g}", *gaps] for kind, n, limit, gaps in summary],
                             right=range(1, len(header))))
        for title, cases, results in tables:
            print_table(title, cases, solvers, results, markdown=True)
        return
    print("\n### Summary: mean gap % to BKS\n")
    plain = [s for s in solvers if s.key != "pyvrp"]
    pyvrp = [s for s in solvers if s.key == "pyvrp"]
    header = ["set", "time limit s", *(s.label for s in plain), "PyVRP"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for kind, _, limit, gaps in summary:
        by_key = dict(zip((s.key for s in solvers), gaps, strict=True))
        cells = [kind, f"{limit:g}", *(by_key[s.key] for s in plain), by_key[pyvrp[0].key] if pyvrp else "-"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
