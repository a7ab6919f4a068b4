"""When border moves cannot restore every band: CP-SAT on the whole units problem, contiguity kept by ordering.

`contiguous.py`'s rebalance moves one unit at a time and can stall a few tenths of an hour outside a band (two
overloaded reps whose only way out runs through a third). Here CP-SAT sees every move at once. Contiguity is kept
by a sufficient linear rule around the current one-piece territories: each rep's units are ordered by their
distance from a root unit (the unit of its territory nearest its home) inside the territory, and the units outside
follow, ordered by their distance from the territory; a rep may hold a unit only if it holds a neighbour earlier
in its order. Every territory that rule allows is connected (each unit leads back to the root), the current
alignment satisfies it (so it is a valid hint), and a territory can still grow, shrink and trade units along all
its borders. Every other hard rule comes from the rules' own CP-SAT pieces (`cpsat.build_model`).
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ..metrics import check
from ..model.problem import Problem
from ..model.unit_graph import length_graph
from .border import Border, rep_touching
from .budget import Budget
from .candidates import Arcs, make_arcs, nearest_arcs
from .cpsat import CpSatModel, build_model
from .cpsat_call import solve_model
from .ledger import Ledger
from .rules.contiguity import unit_neighbours
from .scaling import COST_SCALE, arc_costs, objective_units

REPAIR_HOPS = 2  # the first attempt frees the reps within this many territory borders of a broken band
# above this many (bundled) needs the second attempt, every rep free, is not made: at 100,000 customers (24,265
# bundles, 300 reps) it made no progress in 58 work-s, and at 1,000,000 its model took minutes to build
REPAIR_ALL_MAX_NEEDS = 8_000


def _order(edges: np.ndarray, graph: csr_matrix, unit_xy: np.ndarray, territory: list[int], root: int) -> np.ndarray:
    """(U,) each unit's place in one rep's order: its distance from `root` inside the territory, and for units
    outside it, beyond every inside one by their distance from the territory (inf: unreachable). `edges` and
    `graph` (`length_graph` of them) are the team's."""
    if len(edges) == 0:
        order = np.full(len(unit_xy), np.inf)
        order[root] = 0.0
        return order
    inside = np.zeros(len(unit_xy), dtype=bool)
    inside[territory] = True
    both = inside[edges[:, 0]] & inside[edges[:, 1]]
    from_root = dijkstra(length_graph(edges[both], unit_xy), directed=False, indices=root)
    from_territory = dijkstra(graph, directed=False, indices=territory, min_only=True)
    top = float(from_root[inside].max()) if inside.any() else 0.0
    return np.where(inside, from_root, top + 1.0 + from_territory)


def _reps_around(problem: Problem, assignment: np.ndarray, hops: int) -> np.ndarray:
    """(R,) the reps outside a band and those within `hops` territory borders of one (the contiguous teams'
    borders, as the border search sees them)."""
    ledger = Ledger(problem, assignment)
    near = np.asarray(((ledger.load > problem.band_max) | (ledger.load < problem.band_min)).any(axis=0), dtype=bool)
    touching = rep_touching(Border(problem, ledger))
    for _ in range(hops):
        grown = near.copy()
        for rep in np.flatnonzero(near).tolist():
            grown[sorted(touching.get(rep, ()))] = True
        near = grown
    return near


def band_breach(problem: Problem, assignment: np.ndarray) -> int:
    """How far (seconds, and metric units) the reps lie outside their bands in all, under `assignment`."""
    load = Ledger(problem, assignment).load
    return int((np.maximum(load - problem.band_max, 0) + np.maximum(problem.band_min - load, 0)).sum())


def repair_bands(problem: Problem, assignment: np.ndarray, budget: Budget, *, workers: int,
                 seed: int) -> tuple[np.ndarray | None, dict[str, float | int | str]]:
    """A one-piece alignment keeping every hard rule, searched by CP-SAT from `assignment` (one piece per
    territory already, some band broken), or None when none is found within `budget`; and the search's
    statistics (`contiguity_repair_*`). The broken bands are soft in the search (`_repair_among`'s
    `soft_bands`): the starting alignment is then a solution, and CP-SAT shrinks the breach from there instead of
    searching for a first feasible alignment from nothing (which on a team at 94 % of its capacity found none in
    10 work-s). The search first frees only the reps around the broken bands (the rest keep their territories, so
    the model stays small), then every rep, from the smaller breach the first search left, with what is left of
    the budget."""
    work, used, capped = float(budget.work_s or 0.0), 0.0, 0
    stats: dict[str, float | int | str] = {}
    current, breach = np.asarray(assignment), band_breach(problem, assignment)
    for hops in (REPAIR_HOPS, None) if problem.n_needs <= REPAIR_ALL_MAX_NEEDS else (REPAIR_HOPS,):
        free = np.ones(problem.n_reps, dtype=bool) if hops is None else _reps_around(problem, current, hops)
        share = work / 2 if hops is not None else work - used
        found, status, spent, wall_capped = _repair_among(problem, current, free, budget.with_work(
            max(share, 1e-3)), workers=workers, seed=seed, soft_bands=True)
        used, capped = used + spent, capped + wall_capped
        found_breach = breach if found is None else band_breach(problem, found)
        stats = {"contiguity_repair_status": status, "contiguity_repair_reps": int(free.sum()),
                 "contiguity_repair_work": round(used, 3), "contiguity_repair_wall_capped": capped,
                 "contiguity_repair_breach": found_breach}
        if found is not None and found_breach < breach:
            current, breach = found, found_breach
        if breach == 0:
            return current, stats
        if free.all():
            break
    return None, stats


BREACH_WEIGHT = 1000  # objective units per second (or metric unit) outside a band: any breach outweighs travel


def _soften_bands(problem: Problem, load: np.ndarray, arcs: Arcs, built: CpSatModel) -> None:
    """Make the bands the totals `load` ((Q, R), of the starting alignment) break soft in `built` (built on
    `_widened`): every unit of total outside the original band costs `BREACH_WEIGHT` on top of the arcs' travel and
    continuity (the soft-balance term is left out: a breach is the first thing to remove)."""
    low, high = problem.band_min, problem.band_max
    broken = np.argwhere((load > high) | (load < low))
    if len(broken) == 0:
        return
    model, x = built.model, built.x
    amounts = problem.amounts(arcs.need, arcs.rep)
    excess = []
    for q, rep in broken.tolist():
        mine = np.flatnonzero(arcs.rep == rep)
        total = cp_model.LinearExpr.weighted_sum([x[i] for i in mine.tolist()], amounts[q, mine].tolist())
        over = model.new_int_var(0, int(abs(load[q, rep] - high[q, rep]) + abs(low[q, rep] - load[q, rep])),
                                 f"breach{q}_{rep}")
        model.add(over >= total - int(high[q, rep]))
        model.add(over >= int(low[q, rep]) - total)
        excess.append(over)
    costs = arc_costs(problem, arcs)
    model.minimize(BREACH_WEIGHT * sum(excess) + cp_model.LinearExpr.weighted_sum(x, costs.tolist()))


def _widened(problem: Problem, load: np.ndarray) -> Problem:
    """The problem with each band the totals `load` ((Q, R)) break widened to hold that rep's total."""
    low, high = np.minimum(problem.band_min, load), np.maximum(problem.band_max, load)
    changes: dict[str, np.ndarray] = {"rep_min_s": low[0].astype(np.int64), "rep_max_s": high[0].astype(np.int64)}
    if problem.metric_names:
        changes |= {"rep_metric_min": low[1:].astype(np.int64), "rep_metric_max": high[1:].astype(np.int64)}
    return problem.replace(**changes)


def _repair_among(problem: Problem, assignment: np.ndarray, free: np.ndarray, budget: Budget, *, workers: int,
                  seed: int, soft_bands: bool = False) -> tuple[np.ndarray | None, str, float, int]:
    """CP-SAT over the moves among the `free` reps (everyone else keeps their needs): the alignment found (or
    None), CP-SAT's status, its work seconds and whether the wall-clock stop ended it. With `soft_bands` the
    bands `assignment` breaks are soft (`_soften_bands`), so the alignment found may still break them, less."""
    assert problem.need_unit is not None and problem.team_contiguous is not None
    # a need held outside the free reps keeps its own arc only, so only the free reps' needs look for others
    # (the nearest arcs of every need took 1.6 s a window at 1,000,000 customers; the arcs kept are the same)
    every = nearest_arcs(problem, 8, extra=(np.arange(problem.n_needs), assignment),
                         only=np.flatnonzero(free[assignment]))
    own = every.rep == assignment[every.need]
    keep = own | (free[every.rep] & free[assignment[every.need]])
    arcs = make_arcs(problem, every.need[keep], every.rep[keep])
    load = Ledger(problem, assignment).load if soft_bands else None
    built = build_model(problem if load is None else _widened(problem, load), arcs)
    if load is not None:
        _soften_bands(problem, load, arcs, built)
    model, x = built.model, built.x
    arc_of = {(int(n), int(r)): i for i, (n, r) in enumerate(zip(arcs.need.tolist(), arcs.rep.tolist(), strict=True))}
    by_unit: dict[tuple[int, int], list[int]] = {}
    unit = problem.territory_unit
    assert unit is not None
    counted = (unit >= 0) & problem.team_contiguous[problem.need_team]
    for need in np.flatnonzero(counted).tolist():
        by_unit.setdefault((int(problem.need_team[need]), int(unit[need])), []).append(need)
    xy = problem.unit_xy
    # per (rep, team): the units where the rep holds a need, and those where it has an arc. A rep's ordering rows
    # only concern units where it has an arc (elsewhere its variables do not exist); walking every unit for every
    # freed rep took minutes at 1,000,000 customers
    held: dict[tuple[int, int], set[int]] = {}
    reachable: dict[tuple[int, int], set[int]] = {}
    for (team, u), needs in by_unit.items():
        for n in needs:
            held.setdefault((int(assignment[n]), team), set()).add(u)
    need_unit_team = {n: (team, u) for (team, u), needs in by_unit.items() for n in needs}
    for n, r in zip(arcs.need.tolist(), arcs.rep.tolist(), strict=True):
        key = need_unit_team.get(n)
        if key is not None and free[r]:
            reachable.setdefault((r, key[0]), set()).add(key[1])
    for team in sorted({t for _, t in reachable}):
        neighbours = unit_neighbours(problem, team)
        edges = np.array([(u, v) for u, vs in neighbours.items() for v in vs if u < v],
                         dtype=np.int64).reshape(-1, 2)
        graph = length_graph(edges, xy)
        for rep in np.flatnonzero(problem.rep_in_team[:, team] & free).tolist():
            options = sorted(reachable.get((rep, team), ()))
            if not options:
                continue
            territory = sorted(held.get((rep, team), ()))
            home = problem.rep_xy[rep]
            root = min(territory or options, key=lambda u: (float(np.hypot(*(xy[u] - home))), u))
            order = _order(edges, graph, xy, territory or [root], root)
            for u in options:
                if u == root:
                    continue
                earlier = [arc_of[(m, rep)] for v in neighbours.get(u, ()) if order[v] < order[u]
                           for m in by_unit.get((team, v), ()) if (m, rep) in arc_of]
                for need in by_unit[(team, u)]:
                    i = arc_of.get((need, rep))
                    if i is None:
                        continue
                    if earlier:
                        model.add(sum(x[j] for j in earlier) >= x[i])
                    else:
                        model.add(x[i] == 0)
    chosen = np.zeros(len(arcs), dtype=bool)
    chosen[[arc_of[(n, int(r))] for n, r in enumerate(assignment.tolist())]] = True
    for var, value in zip(x, chosen.tolist(), strict=True):
        model.add_hint(var, value)
    call = solve_model(model, budget, workers=workers, seed=seed)
    if not call.found:
        return None, call.status_name, call.work, int(call.wall_capped)
    values = np.fromiter((call.solver.boolean_value(v) for v in x), dtype=bool, count=len(x))
    picked = np.flatnonzero(values)
    out = np.asarray(assignment).copy()
    out[arcs.need[picked]] = arcs.rep[picked]
    return out, call.status_name, call.work, int(call.wall_capped)


WINDOW_WORK_S = 1.0  # work seconds CP-SAT may spend on one window (a rep and the reps its territory touches)


def improve_windows(problem: Problem, assignment: np.ndarray, relaxed: np.ndarray, budget: Budget, *, workers: int,
                    seed: int) -> tuple[np.ndarray, dict[str, float | int]]:
    """Large-neighbourhood search over one-piece alignments: each window frees one rep and the reps whose
    territories touch it, and CP-SAT re-draws their borders (contiguity kept by the ordering rule of
    `_repair_among`, every other hard rule by the rules' own pieces), starting from the current alignment. A window
    is kept when it lowers the objective and the judge accepts it. Windows go round after round, until a round
    changes nothing or `budget`'s work is spent, first around the reps whose needs moved most between the
    contiguity-`relaxed` alignment and this one (where contiguity cost most); returns the alignment and
    `contiguity_lns_*` statistics."""
    total, used = float(budget.work_s or 0.0), 0.0
    current = np.asarray(assignment).copy()
    value = objective_units(problem, current)
    start, windows, kept, capped = value, 0, 0, 0
    improved = True
    touching = rep_touching(Border(problem, Ledger(problem, current)))  # refreshed only when a window is kept
    while improved and used < total:
        improved = False
        moved = np.asarray(relaxed) != current
        churn = np.bincount(current[moved], minlength=problem.n_reps) + np.bincount(
            np.asarray(relaxed)[moved], minlength=problem.n_reps)
        for rep in np.lexsort((np.arange(problem.n_reps), -churn)).tolist():
            if used >= total:
                break
            if not touching.get(rep):
                continue
            free = np.zeros(problem.n_reps, dtype=bool)
            free[[rep, *sorted(touching[rep])]] = True
            share = min(WINDOW_WORK_S, total - used)
            found, _, spent, wall_capped = _repair_among(problem, current, free, budget.with_work(share),
                                                          workers=workers, seed=seed)
            used, windows, capped = used + spent, windows + 1, capped + wall_capped
            if found is None:
                continue
            found_value = objective_units(problem, found)
            if found_value < value - 1e-9 and not check(problem, found):
                current, value, kept, improved = found, found_value, kept + 1, True
                touching = rep_touching(Border(problem, Ledger(problem, current)))
    return current, {"contiguity_lns_windows": windows, "contiguity_lns_kept": kept,
                     "contiguity_lns_work": round(used, 3), "contiguity_lns_wall_capped": capped,
                     "contiguity_lns_gain": round(float(start - value) / COST_SCALE, 3)}
