"""One-piece territories from a balanced alignment of units: join the pieces, rebalance along borders, improve.

The engine first solves the units-whole problem with contiguity relaxed (CP-SAT: balanced and cheap, usually a
few stray pieces per team). Then, on the ledger of that alignment:
1. join: every piece of a territory but its biggest goes, unit by unit from the outside in, to a neighbouring rep
   whose territory touches it (the cheapest eligible one with room in its band, else the cheapest eligible one);
2. rebalance: while a band is broken, border moves that keep every territory in one piece shrink the total
   breach, or push load one rep nearer to a rep with room; then chains of such moves through full territories
   to one with room (`chains.py`);
3. improve: border moves that lower the cost and keep every rule (the contiguity piece included).
Every move is checked by the rules' own pieces through the ledger. Deterministic: candidates in fixed orders.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..model.problem import Problem
from .border import Border, Move, rep_touching
from .chains import eject_chains
from .ledger import Ledger
from .rules import active_rules, eligible
from .rules.contiguity import pieces, unit_neighbours
from .scaling import COST_SCALE, minute_units, minutes_off, off_target_growth, rep_targets

MAX_ROUNDS = 200  # passes of the rebalance and improve loops (each pass is one sweep over the border)
REBALANCE_PATIENCE = 100  # rebalance sweeps without a new lowest total breach before it gives up
# rebalance -> improve -> swap passes while a band is broken: a rebalance that finds no useful border move left
# often finds more once improve and swap have redrawn the borders (the demo's inside sales: 163 moves, then 95 more
# bringing a 120 h breach down to 71 s)
REBALANCE_PASSES = 4
# above this many (bundled) needs a rebalance sweep makes every useful move between reps the sweep has not touched
# yet, not only the best one: at 100,000 customers in 24,265 unit bundles and 300 reps one move per sweep ran for
# tens of minutes; below it (every shipped scenario) one move per sweep, as before
DISJOINT_MOVES_MIN_NEEDS = 8_000


def _move_cost(problem: Problem, needs: list[int], source: int, target: int) -> float:
    idx = np.array(needs, dtype=np.int64)
    return float(problem.arc_cost(idx, np.full(len(idx), target)).sum()
                 - problem.arc_cost(idx, np.full(len(idx), source)).sum())


def _objective_change(problem: Problem, ledger: Ledger, moves: list[tuple[list[int], int, int]]) -> float:
    """What moving each (needs, source, target) together changes in the objective, visit-km: travel and
    continuity (`_move_cost`) plus the soft balance term (`rules.balance_weight`) the engines minimise too."""
    change = sum(_move_cost(problem, needs, source, target) for needs, source, target in moves)
    units = minute_units(problem)
    if units == 0:
        return change
    load: dict[int, int] = {}
    for needs, source, target in moves:
        idx = np.array(needs, dtype=np.int64)
        load[source] = load.get(source, 0) - int(problem.workload(idx, np.full(len(idx), source)).sum())
        load[target] = load.get(target, 0) + int(problem.workload(idx, np.full(len(idx), target)).sum())
    return change + off_target_growth(ledger.load[0], load, rep_targets(problem), units)


def territory_pieces(problem: Problem, assignment: np.ndarray) -> int:
    """How many (rep, team) territories of contiguous teams are in several pieces."""
    from .rules.contiguity import held_units

    return sum(len(pieces(units, unit_neighbours(problem, team))) > 1
               for (_, team), units in held_units(problem, assignment).items() if units)


def join_pieces(problem: Problem, ledger: Ledger) -> int:
    """Hand every stray piece of a territory to touching neighbours (bands may break; `rebalance` mends them).
    Returns the number of units moved."""
    border = Border(problem, ledger)
    moved = 0
    for _ in range(MAX_ROUNDS):
        stray: list[tuple[int, int, int]] = []  # (team, unit, rep)
        for (rep, team), units in sorted(border.held.items()):
            parts = pieces(units, unit_neighbours(problem, team))
            for part in parts[1:]:
                stray += [(team, u, rep) for u in sorted(part)]
        if not stray:
            break
        progress = False
        for team, unit, rep in stray:
            needs = [n for n in border.by_unit[(team, unit)] if int(ledger.assign[n]) == rep]
            if not needs:
                continue
            targets = sorted({r for v in border.neighbours(team, unit) for r in border.holders(team, v)} - {rep})
            options = []
            for target in targets:
                idx = np.array(needs, dtype=np.int64)
                if not eligible(problem, idx, np.full(len(idx), target)).all():
                    continue
                room = all(ledger.keeps_rules(n, target, only=("balance",)) for n in needs)
                options.append((not room, _move_cost(problem, needs, rep, target), target))
            for _, _, target in sorted(options):
                if border.try_move(needs, target, skip=("balance", "contiguity")):
                    moved += 1
                    progress = True
                    break
        if not progress:
            break
    return moved


def _distance_to(sources: np.ndarray, touching: dict[int, set[int]], n_reps: int) -> np.ndarray:
    """Per rep, how many territory borders lie between it and the nearest rep in `sources`."""
    dist = np.full(n_reps, n_reps + 1, dtype=np.int64)
    queue = deque(int(r) for r in np.flatnonzero(sources))
    dist[sources] = 0
    while queue:
        r = queue.popleft()
        for s in sorted(touching.get(r, ())):
            if dist[s] > dist[r] + 1:
                dist[s] = dist[r] + 1
                queue.append(s)
    return dist


def _potentials(problem: Problem, load: np.ndarray, reps: np.ndarray, room: np.ndarray,
                spare: np.ndarray) -> np.ndarray:
    """Per column, the breach of rep `reps[i]` at loads `load[:, i]` (in band widths), an excess weighted by how
    many borders lie between the rep and a rep with room, a shortfall by how many lie between it and a rep with load
    to spare: a move that passes an excess one border nearer to room lowers it even when the next rep goes over."""
    low, high = problem.band_min[:, reps], problem.band_max[:, reps]
    width = np.maximum(high - low, 1).astype(float)
    over = (np.maximum(load - high, 0) / width).sum(axis=0)
    under = (np.maximum(low - load, 0) / width).sum(axis=0)
    return over * (1 + room[reps]) + under * (1 + spare[reps])


@dataclass(frozen=True)
class _Laid:
    """Border moves (at least one) laid end to end for numpy: each move's needs from `starts`, each move's source
    and target rep, and both repeated per need."""

    needs: np.ndarray
    starts: np.ndarray
    source: np.ndarray
    target: np.ndarray
    from_rep: np.ndarray
    to_rep: np.ndarray


def _lay_out(ledger: Ledger, moves: list[Move]) -> _Laid:
    sizes = np.array([len(m[3]) for m in moves], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    needs = np.fromiter((n for m in moves for n in m[3]), dtype=np.int64, count=int(sizes.sum()))
    source = ledger.assign[needs[starts]].astype(np.int64)
    target = np.array([m[2] for m in moves], dtype=np.int64)
    return _Laid(needs, starts, source, target, np.repeat(source, sizes), np.repeat(target, sizes))


def _per_move(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums over each move's needs (the last axis), the moves' needs laid end to end from `starts`."""
    return np.add.reduceat(values, starts, axis=-1)


def rebalance(problem: Problem, ledger: Ledger, size: int | None = None) -> int:
    """Border moves (contiguity kept) until every band holds or no move lowers the breach potential
    (`_potentials`); returns the moves made. Each sweep scores every border move at once (numpy) and makes the
    best that every other rule allows; above `DISJOINT_MOVES_MIN_NEEDS` bundles (`size`: of the whole problem
    `problem` is a part of; default its own) also every next best whose two reps no move of the sweep has touched
    (their gains are still exact), since a sweep then costs about a second and thousands of reps' bands wait for
    one move each."""
    border = Border(problem, ledger)
    made, best, best_potential, stale = 0, float("inf"), float("inf"), 0
    everyone = np.arange(problem.n_reps)
    per_sweep = 1 if (problem.n_needs if size is None else size) <= DISJOINT_MOVES_MIN_NEEDS else problem.n_reps
    for _ in range(MAX_ROUNDS * 10):
        total = ledger.breach()
        if total == 0:
            break
        touching = rep_touching(border)
        room = _distance_to(np.all(ledger.load < problem.band_max, axis=0), touching, problem.n_reps)
        spare = _distance_to(np.all(ledger.load > problem.band_min, axis=0), touching, problem.n_reps)
        # progress is a new lowest breach, or a new lowest potential: load passed along a chain of reps towards
        # room leaves the breach as it was until it arrives (on the demo's inside sales, 60 h through two
        # territories), and patience on the breach alone gave up half way
        potential = float(_potentials(problem, ledger.load.astype(float), everyone, room, spare).sum())
        progress = total < best - 1e-12 or potential < best_potential - 1e-12
        best, best_potential = min(best, total), min(best_potential, potential)
        stale = 0 if progress else stale + 1
        if stale > REBALANCE_PATIENCE:  # passing load round in circles: CP-SAT takes over (contiguous_cpsat.py)
            break
        breached = set(np.flatnonzero(((ledger.load > problem.band_max) | (ledger.load < problem.band_min))
                                      .any(axis=0)).tolist())
        moves = [m for m in border.moves(breached) if m[3]]
        if not moves:
            break
        laid = _lay_out(ledger, moves)
        source, target = laid.source, laid.target
        out_of, into = _move_amounts(problem, laid)
        cost = _per_move(problem.arc_cost(laid.needs, laid.to_rep) - problem.arc_cost(laid.needs, laid.from_rep),
                         laid.starts)
        load = ledger.load.astype(float)
        before = (_potentials(problem, load[:, source], source, room, spare)
                  + _potentials(problem, load[:, target], target, room, spare))
        after = (_potentials(problem, load[:, source] - out_of, source, room, spare)
                 + _potentials(problem, load[:, target] + into, target, room, spare))
        gain = before - after
        useful = np.flatnonzero((before > 0) & (gain > 1e-12))
        rounded = np.round(gain, 9)
        ranked = sorted(useful.tolist(), key=lambda i: (-rounded[i], cost[i], moves[i][0], moves[i][1], target[i],
                                                        source[i]))
        moved = 0
        busy: set[int] = set()
        for i in ranked:  # best first; the next sweep scores the moves again from the new loads
            if int(source[i]) in busy or int(target[i]) in busy:
                continue  # its gain was scored on loads a move of this sweep has changed
            team, unit, to, _ = moves[i]
            mine = [n for n in border.by_unit[(team, unit)] if int(ledger.assign[n]) == int(source[i])]
            if mine and border.try_move(mine, to, skip=("balance",)):
                made += 1
                moved += 1
                if moved >= per_sweep:
                    break
                busy.update((int(source[i]), int(target[i])))
        if not moved:
            break
    return made


def move_changes(problem: Problem, ledger: Ledger, moves: list[Move]) -> np.ndarray:
    """`_objective_change` of each single border move, all at once: the sweeps of `improve` and `swap` score
    every border move (tens of thousands at 100,000 customers), one numpy pass instead of one call per move."""
    if not moves:
        return np.zeros(0)
    laid = _lay_out(ledger, moves)
    needs, starts, source, target = laid.needs, laid.starts, laid.source, laid.target
    from_rep, to_rep = laid.from_rep, laid.to_rep
    change = _per_move(problem.arc_cost(needs, to_rep), starts) - _per_move(problem.arc_cost(needs, from_rep), starts)
    units = minute_units(problem)
    if units == 0:
        return np.asarray(change, dtype=float)
    out_of = _per_move(np.asarray(problem.workload(needs, from_rep), dtype=np.int64), starts)
    into = _per_move(np.asarray(problem.workload(needs, to_rep), dtype=np.int64), starts)
    load, centre = ledger.load[0].astype(np.int64), rep_targets(problem)
    grow = (minutes_off(load[source] - out_of, centre[source]) - minutes_off(load[source], centre[source])
            + minutes_off(load[target] + into, centre[target]) - minutes_off(load[target], centre[target]))
    return np.asarray(change + grow * units / COST_SCALE, dtype=float)


def _moves_stay_settled(problem: Problem) -> bool:
    """Whether a border move between two territories no sweep has changed since it was scored still costs what it
    cost and breaks what it broke: not under a rule that reads beyond its two reps, a limit on moves over the whole
    alignment (`continuity`) or a customer's reps in its other teams (`contact_cap`)."""
    return not any(rule.name in ("continuity", "contact_cap") for rule in active_rules(problem))


def improve(problem: Problem, ledger: Ledger) -> int:
    """Border moves that lower the cost and keep every rule, best first, sweep after sweep; returns the moves.
    After the first sweep only moves from or to a rep the last sweep changed are scored (`_moves_stay_settled`): a
    move between two unchanged territories costs what it cost and breaks what it broke. With `swap`'s like rule,
    the border search at 1,000,000 customers took 135 s instead of 247 s (docs/benchmarks.md), the demo's answer
    unchanged."""
    border = Border(problem, ledger)
    made, settled = 0, _moves_stay_settled(problem)
    changed_reps: set[int] | None = None  # None: every rep (the first sweep)
    for _ in range(MAX_ROUNDS):
        moves = border.moves(changed_reps)
        delta = move_changes(problem, ledger, moves)
        candidates = []
        for i in np.flatnonzero(delta < -1e-9).tolist():
            team, unit, target, needs = moves[i]
            candidates.append((float(delta[i]), team, unit, target, int(ledger.assign[needs[0]]), i))
        changed = 0
        dirty: set[int] = set()  # reps a move of this sweep changed: their moves' changes are scored again
        for scored, team, unit, target, source, i in sorted(candidates):
            needs = [n for n in border.by_unit[(team, unit)] if int(ledger.assign[n]) == source]
            if not needs:
                continue
            # the sweep's score stands where neither rep has changed since and it is clearly negative (the
            # exact check per move took half the search at 1,000,000 customers, in member travel lookups)
            fresh = source not in dirty and target not in dirty and needs == moves[i][3] and scored < -1e-6
            if (fresh or _objective_change(problem, ledger, [(needs, source, target)]) < -1e-9) \
                    and border.try_move(needs, target):
                changed += 1
                dirty.update((source, target))
        made += changed
        if changed == 0:
            break
        changed_reps = dirty if settled else None
    return made


def _fit(problem: Problem, load: np.ndarray, reps: np.ndarray | list[int]) -> np.ndarray:
    """Per column of `load` (Q, k), whether rep `reps[i]` at those totals is within every band."""
    return np.asarray(((load >= problem.band_min[:, reps]) & (load <= problem.band_max[:, reps])).all(axis=0))


def _in_bands(problem: Problem, ledger: Ledger, reps: list[int]) -> bool:
    return bool(_fit(problem, ledger.load[:, reps], reps).all())


def _exchange_keeps_bands(problem: Problem, ledger: Ledger, give: list[int], take: list[int], a_rep: int,
                          b_rep: int) -> bool:
    """Whether `give` going from A to B and `take` from B to A leaves both reps within their bands: checked on the
    loads before any move is tried (at 100,000 customers the exchanges tried and undone for their bands took 85 %
    of the border search)."""
    give_idx, take_idx = np.array(give, dtype=np.int64), np.array(take, dtype=np.int64)
    a_load = (ledger.load[:, a_rep] - problem.amounts(give_idx, np.full(len(give), a_rep)).sum(axis=1)
              + problem.amounts(take_idx, np.full(len(take), a_rep)).sum(axis=1))
    b_load = (ledger.load[:, b_rep] + problem.amounts(give_idx, np.full(len(give), b_rep)).sum(axis=1)
              - problem.amounts(take_idx, np.full(len(take), b_rep)).sum(axis=1))
    return bool(_fit(problem, a_load[:, None], [a_rep]).all() and _fit(problem, b_load[:, None], [b_rep]).all())


def _move_amounts(problem: Problem, laid: _Laid) -> tuple[np.ndarray, np.ndarray]:
    """(Q, moves) what each move takes off its source rep's balanced metrics and adds to its target's."""
    out_of = _per_move(np.asarray(problem.amounts(laid.needs, laid.from_rep), dtype=float), laid.starts)
    into = _per_move(np.asarray(problem.amounts(laid.needs, laid.to_rep), dtype=float), laid.starts)
    return out_of, into


def swap(problem: Problem, ledger: Ledger, tries_per_pair: int = 40) -> int:
    """Exchanges of border units between two touching reps that lower the cost where neither single move keeps
    the bands: `a` goes from A to B and `b` from B to A, both territories one piece at each step, the bands
    holding at the end. Best pairs first, sweep after sweep; returns the exchanges made. Each sweep checks the
    bands of every exchange at once on the sweep's loads (at 100,000 customers the exchanges tried and undone
    for their bands took 85 % of the border search); only exchanges between reps an earlier exchange of the sweep
    changed are checked again one by one. After the first sweep only pairs with a rep the last sweep changed are
    offered: an exchange between two unchanged territories fails as it failed (as in `improve`)."""
    border = Border(problem, ledger)
    made, settled = 0, _moves_stay_settled(problem)
    changed_reps: set[int] | None = None  # None: every rep (the first sweep)
    for _ in range(MAX_ROUNDS):
        offers: dict[tuple[int, int, int], list[tuple[float, int, int]]] = {}  # (team, A, B) -> (delta, unit, move)
        moves = border.moves(changed_reps)
        for i, ((team, unit, target, needs), delta) in enumerate(zip(moves, move_changes(problem, ledger, moves)
                                                                     .tolist(), strict=True)):
            source = int(ledger.assign[needs[0]])
            offers.setdefault((team, source, target), []).append((delta, unit, i))
        candidates = []
        for (team, a_rep, b_rep), out in offers.items():
            if a_rep > b_rep:
                continue
            back = offers.get((team, b_rep, a_rep), [])
            for d1, u1, i1 in sorted(out)[:tries_per_pair]:
                for d2, u2, i2 in sorted(back)[:tries_per_pair]:
                    if d1 + d2 < -1e-9 and u1 != u2:
                        candidates.append((d1 + d2, team, a_rep, b_rep, u1, u2, i1, i2))
        candidates.sort()
        fits = _exchanges_fit(problem, ledger, moves, candidates)
        changed = 0
        dirty: set[int] = set()
        for (_delta, team, a_rep, b_rep, u1, u2, _i1, _i2), fit in zip(candidates, fits.tolist(), strict=True):
            if not fit and a_rep not in dirty and b_rep not in dirty:
                continue
            give = [n for n in border.by_unit[(team, u1)] if int(ledger.assign[n]) == a_rep]
            take = [n for n in border.by_unit[(team, u2)] if int(ledger.assign[n]) == b_rep]
            if not give or not take:
                continue
            if (a_rep in dirty or b_rep in dirty) and not _exchange_keeps_bands(problem, ledger, give, take, a_rep,
                                                                                 b_rep):
                continue
            delta = _objective_change(problem, ledger, [(give, a_rep, b_rep), (take, b_rep, a_rep)])
            if delta >= -1e-9 or not border.try_move(give, b_rep, skip=("balance",)):
                continue
            if border.try_move(take, a_rep, skip=("balance",)) and _in_bands(problem, ledger, [a_rep, b_rep]):
                changed += 1
                dirty.update((a_rep, b_rep))
                continue
            for need in take:
                if int(ledger.assign[need]) == a_rep:
                    ledger.move(need, b_rep)
            for need in give:
                ledger.move(need, a_rep)
        made += changed
        if changed == 0:
            break
        changed_reps = dirty if settled else None
    return made


def _exchanges_fit(problem: Problem, ledger: Ledger, moves: list[Move], candidates: list[tuple[float, int, int,
                   int, int, int, int, int]]) -> np.ndarray:
    """Per candidate exchange (.., A, B, .., move A->B, move B->A), whether both reps stay in their bands at the
    ledger's current loads (`_exchange_keeps_bands`, all at once)."""
    if not candidates:
        return np.zeros(0, dtype=bool)
    out_of, into = _move_amounts(problem, _lay_out(ledger, moves))
    a = np.array([c[2] for c in candidates], dtype=np.int64)
    b = np.array([c[3] for c in candidates], dtype=np.int64)
    i1 = np.array([c[6] for c in candidates], dtype=np.int64)
    i2 = np.array([c[7] for c in candidates], dtype=np.int64)
    load = ledger.load.astype(float)
    a_load = load[:, a] - out_of[:, i1] + into[:, i2]
    b_load = load[:, b] + into[:, i1] - out_of[:, i2]
    return _fit(problem, a_load, a) & _fit(problem, b_load, b)


def make_contiguous(problem: Problem, assignment: np.ndarray, size: int | None = None,
                    ) -> tuple[np.ndarray, dict[str, int]]:
    """A contiguous alignment near `assignment` under every hard rule (as far as border moves reach); returns it
    and counts of what was done. `size`: the bundles of the whole problem `problem` is a part of (`rebalance`)."""
    ledger = Ledger(problem, assignment)
    stats = {"pieces_before": territory_pieces(problem, ledger.assign)}
    stats["join_moves"] = join_pieces(problem, ledger)
    stats.update(rebalance_moves=0, chain_moves=0, improve_moves=0, swaps=0)
    for pass_no in range(REBALANCE_PASSES):
        moved = rebalance(problem, ledger, size)
        stats["rebalance_moves"] += moved
        if ledger.breach():
            chained = eject_chains(problem, ledger)
            stats["chain_moves"] += chained
            moved += chained
        if pass_no > 0 and moved == 0:  # improve and swap opened no new border move for the rebalance
            break
        stats["improve_moves"] += improve(problem, ledger)
        stats["swaps"] += swap(problem, ledger)
        stats["improve_moves"] += improve(problem, ledger)
        if not ledger.breach():
            break
    stats["pieces_after"] = territory_pieces(problem, ledger.assign)
    return ledger.assign, stats


def polish(problem: Problem, assignment: np.ndarray) -> tuple[np.ndarray, int]:
    """Cost-lowering border moves and exchanges from a one-piece alignment that keeps every rule (after the
    CP-SAT band repair, which stops at its first good answer); returns it and the moves made."""
    ledger = Ledger(problem, assignment)
    made = improve(problem, ledger)
    made += swap(problem, ledger)
    made += improve(problem, ledger)
    return ledger.assign, made
