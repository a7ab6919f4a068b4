"""The assignment engine: `solve(problem, budget, *, seed) -> Result`.

Strategy for the exact engine (DESIGN.md section 4):
1. counting checks prove obvious infeasibility and name what is short;
2. the LP relaxation over every eligible arc (when it fits) gives the lower bound, proves infeasibility when it
   has no solution, and its support joins CP-SAT's candidate arcs (a rounded-LP hint was measured: it slowed
   CP-SAT down on the demo, so there is none);
3. CP-SAT solves the sparse model over the k nearest reps per need plus the LP's support; k doubles while the
   sparse model is infeasible. The budget's work seconds are CP-SAT's deterministic time across those calls.
Above `LARGE_MIN_ARCS` candidate arcs the large engine (`large.py`) takes over, one independent part at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import Finding, InfeasibleError, SolverLimitError
from ..executor import PartExecutor, ProcessExecutor
from ..metrics import check
from ..model.bands import team_groups
from ..model.problem import NO_REP, Problem
from .aggregate import Bundling, bundle
from .bound import LpResult, solve_lp
from .budget import Budget
from .candidates import Arcs, all_arcs, count_all_arcs, nearest_arcs, reach_arcs
from .contiguity import reduce_enclaves
from .contiguous import make_contiguous, polish
from .contiguous_cpsat import improve_windows, repair_bands
from .cpsat import solve_cpsat
from .diagnose import InfeasibleGroup, capacity_findings, explain_lp_infeasible
from .grow import BAND_MARGIN, grown_alignment
from .large import flow_relaxation, improve
from .ledger import Ledger
from .parts import independent_parts
from .repair import repair
from .scaling import COST_SCALE, balance_units, objective_units
from .zones import PlacementFailed, has_free_reps, place_reps

# GLOP on every eligible arc up to this many: the 50k bench's bundled units problem (1.1M arcs, 150 reps' balance rows)
# did not finish in 3 minutes on 2 cores; above it the sparse CP-SAT model gives the bound over candidate reps
FULL_LP_MAX_ARCS = 400_000
# the large engine's flow keeps reps this share of the narrowest band inside it (100,000 customers in unit bundles:
# at 5 % the repair needs no swap and the answer is 0.45-1.4 % above the flow's bound; at 10 %, 1.05-2.05 %)
ROUNDING_MARGIN_SHARE = 0.05
SWAP_MAX_NEEDS = 20_000  # above this the repair's swap search is too slow; shifts only
# the border search (contiguous.py) starts from territories grown around the homes (grow.py) and, up to this many
# unit bundles, also from the contiguity-relaxed alignment, and keeps the better end. At 100,000 customers (24,265
# bundles) the relaxed start took 878 s and left 83 of 300 bands broken; the grown one 37 s, every band held. On
# the demo (3,489 bundles) each takes about 3 s, and either may end cheaper.
RELAXED_START_MAX_BUNDLES = 8_000
# band margins of the grown start tried again, in turn, where the border search from the last one left a rule
# broken (1,000,000 customers: at 5 % 24 reps stayed outside after one pass, at 15 % 8; no shipped scenario and not
# 100,000 customers needs a retry, so their answers are the first start's)
GROW_RETRY_MARGINS = (0.15, 0.25)
# work seconds CP-SAT may spend restoring the bands the border search left broken (contiguous_cpsat.py), beside the
# run's time limit: on the demo at --time-limit 8 the reps around the broken bands needed 5
CONTIGUITY_REPAIR_WORK_S = 10.0
# CP-SAT re-drawing the borders of a rep and its neighbours, window by window, once the territories are one piece
# and every band holds (contiguous_cpsat.improve_windows): this share of the run's work limit, at most this many work
# seconds, beside the limit. On the demo at --time-limit 8, 10 work-s lowered the objective by 0.47 %.
CONTIGUITY_LNS_SHARE = 0.34
CONTIGUITY_LNS_MAX_WORK_S = 10.0
LARGE_MIN_ARCS = 400_000  # candidate arcs above which CP-SAT's model building is too heavy (measured at 100k)
# the large engine stops growing k (candidate reps per need) before a part's arcs pass this: at 1,000,000 customers
# k doubled towards the field team's 1,600 reps and the run was killed at 23 GB
LARGE_MAX_ARCS = 20_000_000
PLACEMENT_WORK_S = 10.0  # work seconds of the small model placing free reps in zones (zones.py)
LEFTOVER_SHARE = 0.05  # with several CP-SAT workers, another hinted call spends what is left while more than this is


@dataclass(frozen=True)
class SolveParams:
    """How the assignment engine works (its budget is the `Budget` passed beside it)."""

    workers: int = 1
    candidate_reps: int = 8
    log: bool = False
    contiguity_weight: float = 0.0  # visit-km a move may cost to remove an enclave (contiguity.py); 0: off
    engine: str = "auto"  # "auto": by size; "large": the flow heuristic whenever it applies (fast, looser bound)
    # the caller needs the bound and an alignment to compare with, not one within the bands: where the large
    # engine's repair fails, it keeps the flow's rounding instead of trying more reps (the contiguity-relaxed solve
    # of a units problem whose one-piece territories are grown from the homes, `_solve_units`)
    relax_only: bool = False


@dataclass(frozen=True)
class Result:
    """A solved alignment: `assignment[i]` is the rep index of need i."""

    assignment: np.ndarray
    status: str  # "optimal" or "feasible"
    objective: float  # visit-km (+ continuity penalties)
    bound: float  # proven lower bound, same units
    gap: float  # (objective - bound) / objective
    engine: str
    bound_scope: str  # "all eligible reps" or "candidate reps"
    candidate_reps: int  # the k finally used
    stats: dict[str, float | int | str] = field(default_factory=dict)
    # with alignment units and contiguous teams: the contiguity-relaxed alignment the one-piece one came from (per
    # need, like `assignment`), so what changed can tell a move made for one-piece territories from the others
    relaxed: np.ndarray | None = None


def _lp_support(arcs: Arcs, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = x > 1e-6
    return arcs.need[keep], arcs.rep[keep]


def _infeasible_components(problem: Problem, budget: Budget) -> list[InfeasibleGroup]:
    """The groups of teams sharing reps whose LP alone has no solution, each with whether the reps' highest
    workloads alone could hold its work (the LP without the bands' lower limits): if not, the reps are short of
    hours, not of band."""
    bad = []
    for teams, reps in team_groups(problem.rep_in_team):
        keep = np.isin(problem.need_team, teams)
        sub = problem.subset_needs(keep)
        reps_outside = np.ones(problem.n_reps, dtype=bool)
        reps_outside[reps] = False
        sub = sub.replace(rep_min_s=np.where(reps_outside, 0, sub.rep_min_s))
        if sub.metric_names:
            sub = sub.replace(rep_metric_min=np.where(reps_outside[None, :], 0, sub.rep_metric_min))
        if not solve_lp(sub, all_arcs(sub), budget).feasible:
            tops = sub.replace(rep_min_s=np.zeros_like(sub.rep_min_s))
            bad.append(InfeasibleGroup(teams, reps, solve_lp(tops, all_arcs(tops), budget).feasible))
    return bad


def _without_zones(problem: Problem) -> Problem:
    empty = np.zeros((0, 0), np.int64)
    return problem.replace(zone_kinds=(), zone_names=(), need_zone=empty, rep_zone=empty)


def proven_bound(bound: float, objective: float) -> float:
    """`bound` as the answer's lower bound. Only float noise is clamped: a bound above the objective by more than
    that is a bug in a bound or in an objective, and hiding it behind `min` would print a false gap of 0."""
    if bound > objective + 1e-7 * max(1.0, abs(objective)):
        raise RuntimeError(f"the lower bound {bound!r} is above the answer's objective {objective!r}")
    return min(bound, objective)


# what an infeasible solve says when the diagnosis names no cause (a Finding, as every error's findings are)
_NOTHING_FITS = Finding("no assignment satisfies coverage, balance, locks, boundaries and the contact cap together")


def _lp_or_raise(problem: Problem, arcs: Arcs, budget: Budget) -> LpResult:
    lp = solve_lp(problem, arcs, budget)
    if lp.status == "infeasible":
        comps = _infeasible_components(problem, budget)
        raise InfeasibleError(explain_lp_infeasible(problem, comps) or [_NOTHING_FITS])
    return lp


def solve(problem: Problem, budget: Budget, *, seed: int, params: SolveParams | None = None,
          executor: PartExecutor | None = None) -> Result:
    """Assign every need to one rep of its team under all hard rules, minimising travel (+ continuity), within
    `budget` (CP-SAT's deterministic seconds). The large engine's independent parts run on `executor` (default: a
    pool of `params.workers` processes)."""
    params = params or SolveParams()
    if problem.need_unit is not None and problem.member_ptr is None:
        bundling = bundle(problem)
        if bundling is None and problem.team_contiguous is not None and problem.team_contiguous.any():
            # not bundled (no unit holds two needs of a group, or a hard move limit counts customers one by one):
            # contiguity still needs the units path
            n = problem.n_needs
            bundling = Bundling(problem, np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64), 0)
        if bundling is not None:
            return _solve_units(problem, bundling, budget, seed, params, executor)
    findings = capacity_findings(problem)
    if findings:
        raise InfeasibleError(findings)
    if problem.n_needs == 0:
        return Result(np.zeros(0, np.int64), "optimal", 0.0, 0.0, 0.0, "cpsat", "all eligible reps",
                      params.candidate_reps)
    stats: dict[str, float | int | str] = {}
    fits_lp = count_all_arcs(problem) <= FULL_LP_MAX_ARCS
    lp_bound, bound_scope = -np.inf, "candidate reps"
    working = problem
    if has_free_reps(problem):
        if fits_lp:  # boundaries relaxed: a valid bound whatever zones the reps end up in
            relaxed = _without_zones(problem)
            lp = _lp_or_raise(relaxed, all_arcs(relaxed), budget)
            lp_bound, bound_scope = lp.objective, "all eligible reps, zone placement relaxed"
        try:
            working = place_reps(problem, Budget(work_s=PLACEMENT_WORK_S, stop=budget.stop), seed=seed)
            stats["zones_placed"] = int((working.rep_zone != problem.rep_zone).any(axis=0).sum())
            return _solve_working(working, problem, budget, params, seed, lp_bound, bound_scope, stats, executor)
        except (PlacementFailed, InfeasibleError, SolverLimitError) as exc:
            if isinstance(exc, InfeasibleError) and working is problem:
                raise  # the placement itself proved it: no zone choice can work
            # the placement's counting argument can pass while the pinned problem fails on lumpy workloads:
            # the full model, with the zone choice inside, decides
            stats["zone_placement_fallback"] = 1
    return _solve_working(problem, problem, budget, params, seed, lp_bound, bound_scope, stats, executor)


def _solve_units(problem: Problem, bundling: Bundling, budget: Budget, seed: int, params: SolveParams,
                 executor: PartExecutor | None) -> Result:
    """Units whole: solve the bundled problem with contiguity relaxed (its bound is the run's bound), then make
    the contiguous teams' territories one piece by border moves (`contiguous.py`), and expand to the needs."""
    bundled = bundling.problem
    relaxed_problem = bundled.replace(team_contiguous=None)
    grown_only = bool(bundled.team_contiguous is not None and bundled.team_contiguous[bundled.need_team].all()
                      and bundled.n_needs > RELAXED_START_MAX_BUNDLES and _may_grow(bundled))
    relaxed = solve(relaxed_problem, budget, seed=seed, executor=executor,
                    params=replace(params, contiguity_weight=0.0, relax_only=grown_only))
    assignment, stats = relaxed.assignment, dict(relaxed.stats)
    stats.update(units_bundles=bundled.n_needs, units_exceptions=bundling.exceptions)
    scope = f"{relaxed.bound_scope}, units whole"
    if bundled.team_contiguous is not None and bundled.team_contiguous.any():
        assignment, moves = _one_piece_by_part(bundled, relaxed.assignment, params, executor)
        stats.update({f"contiguity_{key}": value for key, value in moves.items()})
        # the price of contiguity against the relaxed alignment it came from: in travel (visit-km, as weighted in the
        # objective) and in the whole objective (travel, continuity and soft balance)
        stats["contiguity_relaxed_objective"] = round(objective_units(bundled, relaxed.assignment) / COST_SCALE, 3)
        stats["contiguity_relaxed_travel"] = _travel(problem, bundling, relaxed.assignment)
        stats["contiguity_travel"] = _travel(problem, bundling, assignment)
        scope += ", contiguity relaxed"
        broken = check(bundled, assignment)
        if broken and not any(v.rule == "contiguity" for v in broken):  # one piece each, a band broken
            repaired, repair_stats = repair_bands(bundled, assignment, budget.with_work(CONTIGUITY_REPAIR_WORK_S),
                                                  workers=params.workers, seed=seed)
            stats.update(repair_stats)
            if repaired is not None and not check(bundled, repaired):
                assignment, polish_moves = polish(bundled, repaired)
                stats["contiguity_polish_moves"] = polish_moves
                broken = check(bundled, assignment)
                stats["contiguity_travel"] = _travel(problem, bundling, assignment)
        lns_work = min(CONTIGUITY_LNS_SHARE * float(budget.work_s or 0.0), CONTIGUITY_LNS_MAX_WORK_S)
        if not broken and lns_work > 0:
            assignment, lns_stats = improve_windows(bundled, assignment, relaxed.assignment,
                                                    budget.with_work(lns_work), workers=params.workers, seed=seed)
            stats.update(lns_stats)
            stats["contiguity_travel"] = _travel(problem, bundling, assignment)
        if broken:  # border moves did not reach a one-piece alignment within the bands: keep the relaxed one, say so
            stats["contiguity_failed"] = "; ".join(v.message for v in broken[:3])
            if relaxed.stats.get("rounded_only"):  # nothing within the bands to fall back on
                raise SolverLimitError("no alignment keeping every band was found: the large engine's rounding was "
                                       "not repaired, and one-piece territories grown from the reps' homes left "
                                       f"{stats['contiguity_failed']}; check capacity and balance_tolerance")
            assignment = relaxed.assignment
            scope = scope.replace(", contiguity relaxed", ", contiguity NOT met (see solver_stats)")
    objective = objective_units(bundled, assignment) / COST_SCALE
    bound = relaxed.bound
    gap = 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)
    return Result(assignment=bundling.expand(assignment), status="optimal" if gap <= 1e-9 else "feasible",
                  objective=objective, bound=bound, gap=gap, engine=f"units+{relaxed.engine}", bound_scope=scope,
                  candidate_reps=relaxed.candidate_reps, stats=stats,
                  relaxed=bundling.expand(relaxed.assignment) if "contiguity_travel" in stats else None)


def _may_grow(bundled: Problem) -> bool:
    """Whether the border search may start from territories grown from the homes: not under a hard limit on moves
    (`rules.max_moved`), which the grown start, blind to today's alignment, would break."""
    return bundled.max_moved is None and bundled.max_moved_value is None


def _one_piece_by_part(bundled: Problem, relaxed: np.ndarray, params: SolveParams,
                       executor: PartExecutor | None) -> tuple[np.ndarray, dict[str, int | str]]:
    """`_one_piece` on each independent part (`parts.py`) of a problem whose territories are grown
    (`RELAXED_START_MAX_BUNDLES`), on `executor` (default: `params.workers` processes): a part's border search,
    and a part's retry with wider margins, leave the other parts alone (at 1,000,000 customers the HoReCa team's
    one-piece territories were searched twice because the field team's first start failed). Only where each
    contiguous team lies whole in one part: a team split by hard boundaries sees its units' graph only whole."""
    if bundled.n_needs <= RELAXED_START_MAX_BUNDLES:
        return _one_piece(bundled, relaxed, bundled.n_needs)
    need_part, rep_part, n_parts = independent_parts(bundled)
    assert bundled.team_contiguous is not None
    contiguous = np.flatnonzero(bundled.team_contiguous).tolist()
    if n_parts == 1 or any(len(np.unique(need_part[bundled.need_team == t])) > 1 for t in contiguous):
        return _one_piece(bundled, relaxed, bundled.n_needs)
    parts = [i for i in range(n_parts) if bundled.team_contiguous[bundled.need_team[need_part == i]].any()]
    reps_of = [np.flatnonzero(rep_part == i) for i in parts]
    starts = []
    for i, reps in zip(parts, reps_of, strict=True):
        held = relaxed[need_part == i]
        start = np.minimum(np.searchsorted(reps, held), len(reps) - 1)
        if not np.array_equal(reps[start], held):
            raise RuntimeError(f"part {i}: the relaxed alignment gives a need a rep outside its part")
        starts.append(start)
    runner = executor if executor is not None else ProcessExecutor(workers=params.workers)
    outcomes = runner.map(_one_piece_of_part, [(bundled.part(need_part == i, rep_part == i), start)
                                               for i, start in zip(parts, starts, strict=True)],
                          bundled.n_needs, stage="solve")
    out = np.asarray(relaxed, dtype=np.int64).copy()
    stats: dict[str, int | str] = {"parts": len(parts)}
    for i, reps, (assignment, moves) in zip(parts, reps_of, outcomes, strict=True):
        out[need_part == i] = reps[assignment]
        for key, value in moves.items():
            if isinstance(value, str):
                stats[key] = value if key not in stats else f"{stats[key]}; {value}"
            else:
                stats[key] = int(stats.get(key, 0)) + value
    return out, stats


def _one_piece_of_part(item: tuple[Problem, np.ndarray], size: int) -> tuple[np.ndarray, dict[str, int | str]]:
    """`_one_piece` of one part of a problem of `size` bundles (module level: parts run in processes)."""
    return _one_piece(*item, size)


def _one_piece(bundled: Problem, relaxed: np.ndarray, size: int) -> tuple[np.ndarray, dict[str, int | str]]:
    """The border search's one-piece alignment from each start it is given (`RELAXED_START_MAX_BUNDLES`), the
    best kept: fewest broken rules, then the least band breach, then the lowest objective. A grown start whose
    search leaves a rule broken is grown again with wider band margins (`GROW_RETRY_MARGINS`: chunky units round
    further from the flow). A hard limit on moves (`rules.max_moved`) keeps the relaxed start only: the grown one
    ignores today's alignment. `size`: the bundles of the whole problem `bundled` is a part of (or its own), which
    the size limits read, so that a part is searched as its problem's size asks."""
    best: tuple[tuple[int, float, float], np.ndarray, dict[str, int | str]] | None = None

    def consider(name: str, start: np.ndarray) -> bool:
        nonlocal best
        assignment, moves = make_contiguous(bundled, start, size)
        rank = (len(check(bundled, assignment)), Ledger(bundled, assignment).breach(),
                objective_units(bundled, assignment))
        if best is None or rank < best[0]:
            best = (rank, assignment, {**moves, "start": name})
        return rank[0] == 0

    grown = _may_grow(bundled)
    if grown:
        for margin in (BAND_MARGIN, *GROW_RETRY_MARGINS):
            if consider("grown" if margin == BAND_MARGIN else f"grown, margin {margin:g}",
                        grown_alignment(bundled, relaxed, margin)):
                break
    if not grown or size <= RELAXED_START_MAX_BUNDLES:
        consider("relaxed", relaxed)
    assert best is not None
    return best[1], best[2]


def _travel(problem: Problem, bundling: Bundling, bundled_assignment: np.ndarray) -> float:
    """The objective's travel term (visit-km, travel weights applied) of a bundled alignment, on the original needs:
    a bundle's own cost row also holds its members' continuity, which is not travel."""
    every = np.arange(problem.n_needs)
    return round(float(problem.travel_cost(every, bundling.expand(bundled_assignment)).sum()), 3)


def _solve_working(working: Problem, problem: Problem, budget: Budget, params: SolveParams, seed: int, lp_bound: float,
                   bound_scope: str, stats: dict[str, float | int | str],
                   executor: PartExecutor | None = None) -> Result:
    """Solve `working` (the problem itself, or it with reps pinned to zones) and report against `problem`."""
    stats = dict(stats)
    max_team = int(working.rep_in_team.sum(axis=0).max())
    large = working.n_needs * min(params.candidate_reps, max_team) > LARGE_MIN_ARCS or params.engine == "large"
    # bundled units too many for the full LP: their chunky needs defeat a repair without the LP's fractions, while
    # the large engine's flow relaxation gives it a near-feasible start (the 50k bench: exit 4 otherwise)
    large = large or (working.member_ptr is not None and count_all_arcs(working) > FULL_LP_MAX_ARCS)
    if large and not has_free_reps(working) and working.rep_independent_workload:
        return _solve_large(working, params, stats, executor)
    extra, start = None, None
    if count_all_arcs(working) <= FULL_LP_MAX_ARCS:
        full = all_arcs(working)
        lp = _lp_or_raise(working, full, budget)
        stats.update(lp_seconds=round(lp.seconds, 3), lp_arcs=len(full), lp_status=lp.status)
        if lp.feasible:
            if working is problem:
                lp_bound, bound_scope = lp.objective, "all eligible reps"
            else:
                stats["bound_given_zones"] = round(lp.objective / COST_SCALE, 3)
            extra = _lp_support(full, lp.x)
            stats["lp_split_needs"] = int(working.n_needs - np.sum(lp.x > 1 - 1e-6))
        start = repair(working, full, lp.x if lp.feasible else None)
        stats["repair_found"] = int(start is not None)
        if start is not None:
            hint_arcs = (np.arange(working.n_needs), start)
            extra = hint_arcs if extra is None else (np.concatenate([extra[0], hint_arcs[0]]),
                                                     np.concatenate([extra[1], hint_arcs[1]]))

    k = params.candidate_reps
    max_team = int(working.rep_in_team.sum(axis=0).max())
    assert budget.work_s is not None
    work_left = budget.work_s
    work_used = 0.0
    while True:
        arcs = nearest_arcs(working, k, extra)
        hint = None if start is None else _arc_positions(arcs, start)
        # what is left of the budget, never a floor above it: a grown k shares the one budget
        outcome = solve_cpsat(working, arcs, budget.with_work(work_left), workers=params.workers,
                              seed=seed, hint=hint, log=params.log)
        work_used += outcome.work
        work_left = budget.work_s - work_used
        if outcome.choice is not None:
            break
        if start is not None:  # CP-SAT ran out of budget but the repaired start is feasible
            break
        if outcome.status == "infeasible" and k < max_team:
            if work_left > 0:
                k = min(2 * k, max_team)
                continue
            raise SolverLimitError(  # only the k nearest reps were ruled out: no proof, and no work left to grow k
                f"CP-SAT found no feasible assignment over the {k} nearest reps within a work budget of "
                f"{budget.work_s:g} s; raise solver.time_limit_s or solver.candidate_reps")
        if outcome.status == "infeasible":
            raise InfeasibleError(explain_lp_infeasible(working, _infeasible_components(working, budget))
                                  or [_NOTHING_FITS])
        raise SolverLimitError(
            f"CP-SAT found no feasible assignment within a work budget of {budget.work_s:g} s "
            f"({len(arcs)} candidate arcs); raise solver.time_limit_s")

    cpsat_calls = 1
    # several workers may stop short of their summed limit (`cpsat_call.deterministic_limit`): what they leave goes to
    # another call, hinted with the answer, while more than LEFTOVER_SHARE of the budget is left
    while (outcome.choice is not None and outcome.status != "optimal" and params.workers > 1
           and work_left > LEFTOVER_SHARE * budget.work_s):
        again = solve_cpsat(working, arcs, budget.with_work(work_left), workers=params.workers, seed=seed,
                            hint=outcome.choice, log=params.log)
        work_used += again.work
        work_left = budget.work_s - work_used
        cpsat_calls += 1
        if again.choice is None:
            break
        kept = again if again.objective <= outcome.objective else outcome
        outcome = replace(kept, bound=max(outcome.bound, again.bound), seconds=outcome.seconds + again.seconds,
                          work=outcome.work + again.work, wall_capped=outcome.wall_capped or again.wall_capped,
                          status="optimal" if again.status == "optimal" else kept.status)
    stats["cpsat_calls"] = cpsat_calls

    if outcome.choice is not None:
        assignment = arcs.rep[outcome.choice].astype(np.int64)
        objective_scaled, engine = outcome.objective, "cpsat"
    else:
        assignment = np.asarray(start, dtype=np.int64)
        objective_scaled, engine = objective_units(working, assignment), "repair"
    assignment, objective_scaled = _contiguous(problem, assignment, objective_scaled, params, stats)
    complete = working is problem and len(arcs) == count_all_arcs(problem)  # the sparse model is the whole model
    if complete and outcome.choice is not None:
        cpsat_bound = outcome.objective if outcome.status == "optimal" else outcome.bound
        lp_bound, bound_scope = max(lp_bound, cpsat_bound), "all eligible reps"
    elif bound_scope == "candidate reps" and outcome.choice is not None:
        lp_bound = outcome.objective if outcome.status == "optimal" else outcome.bound
    objective = objective_scaled / COST_SCALE
    bound = proven_bound(lp_bound / COST_SCALE, objective) if np.isfinite(lp_bound) else 0.0
    gap = 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)
    stats.update(cpsat_status=outcome.status, cpsat_seconds=round(outcome.seconds, 3),
                 cpsat_work=round(work_used, 3), wall_capped=int(outcome.wall_capped), arcs=len(arcs),
                 cpsat_bound=round(outcome.bound / COST_SCALE, 3) if np.isfinite(outcome.bound) else "none")
    return Result(
        assignment=assignment,
        status="optimal" if gap <= 1e-9 else "feasible",
        objective=objective,
        bound=bound,
        gap=gap,
        engine=engine,
        bound_scope=bound_scope,
        candidate_reps=k,
        stats=stats,
    )


def rounding_margin_s(problem: Problem) -> int:
    """How far inside its band the flow keeps each rep so that rounding its few split needs lands inside the true
    band: twice the largest need's workload, but at most `ROUNDING_MARGIN_SHARE` of the narrowest band (unit
    bundles can weigh half a band; a margin that large leaves the flow no room at all)."""
    largest = 2 * int(problem.need_workload_s.max(initial=0))
    if problem.n_reps == 0:
        return 0
    width = int((problem.rep_max_s.astype(np.int64) - problem.rep_min_s.astype(np.int64)).min())
    return min(largest, max(int(ROUNDING_MARGIN_SHARE * width), 0))


@dataclass(frozen=True)
class _LargeOutcome:
    assignment: np.ndarray
    bound: float  # the flow relaxation over the candidate arcs, visit-km
    candidate_reps: int
    stats: dict[str, int]


def _large_part(problem: Problem, params: SolveParams) -> _LargeOutcome:
    """Min-cost-flow relaxation over the k nearest eligible reps, rounded and repaired, then improved by local search
    (`large.py`); k doubles while the relaxation with bands shrunk by the rounding margin has no answer (a rounding
    of a flow that fills reps to their band edges lands just outside them, and the repair then grinds through swaps
    of whole unit bundles: over 200 s and no answer for 60 HoReCa reps at 100,000 customers, 1.4 s at k = 16), or
    while the repair fails. Module level: parts run in processes."""
    k = params.candidate_reps
    max_team = int(problem.rep_in_team.sum(axis=0).max())
    margin = rounding_margin_s(problem)
    reach: tuple[np.ndarray, np.ndarray] | None = None
    while True:
        arcs = nearest_arcs(problem, k, extra=reach)
        relaxed = flow_relaxation(problem, arcs)  # the bound (margin 0)
        start, repaired = None, False
        if relaxed.feasible:
            shrunk = flow_relaxation(problem, arcs, margin)  # rounding lands inside the bands
            last = k >= max_team or problem.n_needs * 2 * k > LARGE_MAX_ARCS
            if shrunk.feasible or last:
                x = shrunk.x if shrunk.feasible else relaxed.x
                start = repair(problem, arcs, x, allow_swaps=problem.n_needs <= SWAP_MAX_NEEDS)
                repaired = True
        if start is not None or k >= max_team or (repaired and params.relax_only):
            break
        if reach is None:  # first give every rep its own reach (reach_arcs), then more reps to every need
            reach = reach_arcs(problem)
            continue
        if problem.n_needs * 2 * k > LARGE_MAX_ARCS:
            break
        k = min(2 * k, max_team)
    stats = {"arcs": len(arcs), "flow_feasible": int(relaxed.feasible), "repair_found": int(start is not None),
             "reach_arcs": int(reach is not None)}
    if start is None and relaxed.feasible and params.relax_only:
        stats["rounded_only"] = 1  # bands not repaired: the caller builds its alignment elsewhere
        return _LargeOutcome(_rounded(arcs, relaxed.x, problem.n_needs), float(relaxed.bound), k, stats)
    if start is None:
        raise SolverLimitError(f"the large engine found no feasible assignment over the {k} nearest reps and each "
                               f"rep's own reach ({len(arcs):,} arcs); check capacity and balance_tolerance")
    improved = improve(problem, arcs, start)
    assignment = improved if not check(problem, improved) else start
    return _LargeOutcome(assignment, float(relaxed.bound), k, stats)


def _rounded(arcs: Arcs, x: np.ndarray, n_needs: int) -> np.ndarray:
    """Each need to the arc carrying most of it in the flow (ties: the first arc)."""
    order = np.lexsort((np.arange(len(x)), -x, arcs.need))
    first = np.ones(len(order), dtype=bool)
    first[1:] = arcs.need[order][1:] != arcs.need[order][:-1]
    out = np.zeros(n_needs, dtype=np.int64)
    out[arcs.need[order][first]] = arcs.rep[order][first]
    return out


def _solve_large(problem: Problem, params: SolveParams, stats: dict[str, float | int | str],
                 executor: PartExecutor | None = None) -> Result:
    """The large engine, on each independent part of the problem (`parts.py`: hard boundaries and separate teams
    split it) on `executor` (default: `params.workers` processes); parts are array-only `Problem` slices. The bound
    adds up the parts' flow relaxations over their candidate arcs (proven for that candidate set)."""
    need_part, rep_part, n_parts = independent_parts(problem)
    if n_parts == 1:
        outcomes = [_large_part(problem, params)]
        assignment = outcomes[0].assignment
    else:
        pieces = [problem.part(need_part == i, rep_part == i) for i in range(n_parts)]
        runner = executor if executor is not None else ProcessExecutor(workers=params.workers)
        outcomes = runner.map(_large_part, pieces, params, stage="solve")
        assignment = np.empty(problem.n_needs, np.int64)
        for i, outcome in enumerate(outcomes):
            assignment[need_part == i] = np.flatnonzero(rep_part == i)[outcome.assignment]
    current = problem.need_current_rep
    outside = (current != NO_REP) & (rep_part[np.maximum(current, 0)] != need_part)  # same penalty for every choice
    keys = sorted({key for o in outcomes for key in o.stats})
    stats.update(parts=n_parts, **{key: sum(o.stats.get(key, 0) for o in outcomes) for key in keys})
    assignment, _ = _contiguous(problem, assignment, 0.0, params, stats)
    objective = float(problem.arc_cost(np.arange(problem.n_needs), assignment).sum()) \
        + balance_units(problem, assignment) / COST_SCALE
    flow_bound = sum(o.bound for o in outcomes) + problem.continuity_weight * int(outside.sum())
    # a rounding left unrepaired (`relax_only`) breaks bands, so it may cost less than the bound: only the bound
    # counts then, and the caller's alignment is checked against it
    rounded = any(o.stats.get("rounded_only") for o in outcomes)
    bound = flow_bound if rounded else proven_bound(flow_bound, objective)
    gap = 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)
    k = max(o.candidate_reps for o in outcomes)
    return Result(assignment=assignment, status="optimal" if gap <= 1e-9 else "feasible", objective=objective,
                  bound=bound, gap=gap, engine="large", bound_scope="candidate reps", candidate_reps=k, stats=stats)


def _contiguous(problem: Problem, assignment: np.ndarray, objective_scaled: float, params: SolveParams,
                stats: dict[str, float | int | str]) -> tuple[np.ndarray, float]:
    """Apply the soft contiguity post-pass; the objective (scaled units) is recomputed when anything moved."""
    if params.contiguity_weight <= 0:
        return assignment, objective_scaled
    moved, n_moves = reduce_enclaves(problem, assignment, params.contiguity_weight)
    if n_moves == 0 or check(problem, moved):
        stats["contiguity_moves"] = 0
        return assignment, objective_scaled
    before, after = objective_units(problem, assignment), objective_units(problem, moved)
    stats["contiguity_moves"] = n_moves
    stats["contiguity_cost"] = round((after - before) / COST_SCALE, 3)
    return moved, after


def _arc_positions(arcs: Arcs, assignment: np.ndarray) -> np.ndarray | None:
    """Per need, the index of its arc to `assignment`'s rep (None if some arc is missing)."""
    n_reps = int(max(arcs.rep.max(initial=0), assignment.max(initial=0))) + 1
    key = arcs.need.astype(np.int64) * n_reps + arcs.rep
    wanted = np.arange(len(assignment), dtype=np.int64) * n_reps + assignment
    pos = np.searchsorted(key, wanted)
    found = (pos < len(key)) & (key[np.minimum(pos, len(key) - 1)] == wanted)
    return pos if found.all() else None


