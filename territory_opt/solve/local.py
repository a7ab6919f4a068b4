"""Re-balancing an alignment in place: the nearest one-piece alignment that keeps changed bands.

The routing's re-assign rounds (routing/cycle.py) change the bands once days are routed: each rep's measured drive
replaces the estimate, and a rep whose days could not hold every visit loses those hours from its band's top.
Solving the whole alignment again for that moves every territory and fills other reps to their new tops (on the
demo: 80 unplanned visits became 99-103). Here the alignment is mended from where it is: border moves that keep
every territory in one piece hand units from reps over their new band to neighbours with room
(`contiguous.make_contiguous`), CP-SAT's band repair finishes what border moves leave (`contiguous_cpsat`), and
only the reps whose territories changed need routing again.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..metrics import check
from ..model.problem import Problem
from .aggregate import bundle
from .bound import solve_lp
from .budget import Budget
from .candidates import all_arcs, count_all_arcs
from .contiguous import make_contiguous
from .contiguous_cpsat import repair_bands
from .engine import FULL_LP_MAX_ARCS, Result, proven_bound
from .scaling import COST_SCALE, objective_units

REPAIR_WORK_S = 10.0  # CP-SAT's band repair, when border moves leave a band broken


def rebalance_in_place(problem: Problem, assignment: np.ndarray, budget: Budget, like: Result, *, seed: int,
                       workers: int = 1) -> Result | None:
    """The alignment nearest `assignment` (units whole, contiguous teams' territories one piece) that keeps every
    hard rule of `problem`, as `like` (the solve it came from) with this alignment, its objective, the LP
    relaxation's bound of `problem` and the moves' statistics; None when the problem has no alignment units or no
    such alignment is found (the caller then solves it whole)."""
    if problem.need_unit is None or problem.team_contiguous is None:
        return None
    bundling = bundle(problem)  # None: every unit's needs are single already
    bundled = problem if bundling is None else bundling.problem
    start = np.asarray(assignment) if bundling is None else bundling.contract(assignment)
    moved, moves = make_contiguous(bundled, start)
    stats: dict[str, float | int | str] = dict(moves)
    if check(bundled, moved):
        repaired, repair_stats = repair_bands(bundled, moved, budget.with_work(REPAIR_WORK_S), workers=workers,
                                              seed=seed)
        stats |= repair_stats
        if repaired is None or check(bundled, repaired):
            return None
        moved = repaired
    objective = objective_units(bundled, moved) / COST_SCALE
    bound, scope = 0.0, "none (re-balanced in place)"
    if count_all_arcs(bundled) <= FULL_LP_MAX_ARCS:
        lp = solve_lp(bundled.replace(team_contiguous=None), all_arcs(bundled), budget)
        if lp.feasible:
            bound, scope = proven_bound(lp.objective / COST_SCALE, objective), "all eligible reps, units whole, " \
                "contiguity relaxed"
    gap = 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)
    stats = {**{k: v for k, v in like.stats.items() if k != "contiguity_failed"},  # the solve it came from
             **{f"in_place_{k}": v for k, v in stats.items()}, "in_place_bundles_moved": int((moved != start).sum())}
    expanded = moved if bundling is None else bundling.expand(moved)
    return replace(like, assignment=expanded, status="optimal" if gap <= 1e-9 else "feasible", objective=objective,
                   bound=bound, gap=gap, engine="units+in place", bound_scope=scope, stats=stats, relaxed=None)
