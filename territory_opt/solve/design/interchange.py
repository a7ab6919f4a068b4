"""The uncapacitated p-median search: a greedy start, Whitaker's fast interchange (vectorised over all swaps at
once) and a variable-neighbourhood search around it. Also the first centres of the capacitated engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..budget import WorkMeter
from .meter import pay_cells
from .result import EPS

BLOCK_CELLS = 1 << 22  # customers are processed in blocks of about this many cells, so memory stays bounded


def blocks(n_rows: int, n_cols: int) -> list[slice]:
    step = max(1, BLOCK_CELLS // max(1, n_cols))
    return [slice(a, min(a + step, n_rows)) for a in range(0, n_rows, step)]


@dataclass
class OpenSet:
    """An open set with each customer's nearest and second-nearest open cost (what a swap evaluation needs)."""

    sites: np.ndarray  # sorted open site indices
    nearest: np.ndarray  # (C,) site index
    d1: np.ndarray  # (C,) cost to the nearest open site
    d2: np.ndarray  # (C,) cost to the second nearest (inf when p == 1)
    objective: float


def open_state(cost: np.ndarray, sites: np.ndarray) -> OpenSet:
    sites = np.sort(np.asarray(sites, dtype=np.int64))
    sub = cost[:, sites]
    rows = np.arange(cost.shape[0])
    if len(sites) == 1:
        first = np.zeros(cost.shape[0], dtype=np.int64)
        d2 = np.full(cost.shape[0], np.inf)
    else:
        two = np.argpartition(sub, 1, axis=1)[:, :2]
        first = two[:, 0]
        d2 = sub[rows, two[:, 1]]
    d1 = sub[rows, first]
    return OpenSet(sites, sites[first], d1, d2, float(d1.sum()))


def best_swap(cost: np.ndarray, state: OpenSet, meter: WorkMeter) -> tuple[float, int, int]:
    """Best (delta, site out, site in) over all swaps, in O(C * S) array work (Whitaker's fast interchange).

    delta(out r, in i) = gain(i) + loss(r, i), where gain(i) = sum_c min(0, cost[c, i] - d1[c]) and loss(r, i) sums
    max(0, min(cost[c, i], d2[c]) - d1[c]) over the customers whose nearest open site is r.
    """
    n_sites = cost.shape[1]
    slot = np.searchsorted(state.sites, state.nearest)
    gain = np.zeros(n_sites)
    loss = np.zeros((len(state.sites), n_sites))
    for block in blocks(cost.shape[0], n_sites):
        part = cost[block]
        d1 = state.d1[block, None]
        gain += np.minimum(part - d1, 0.0).sum(axis=0)
        extra = np.minimum(part, state.d2[block, None])
        extra -= d1
        np.maximum(extra, 0.0, out=extra)
        order = np.argsort(slot[block], kind="stable")
        ordered = slot[block][order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        loss[ordered[starts]] += np.add.reduceat(extra[order], starts, axis=0)
    pay_cells(meter, 4.0 * cost.size)
    delta = loss + gain[None, :]
    delta[:, state.sites] = np.inf
    flat = int(np.argmin(delta))
    out_slot, site_in = divmod(flat, n_sites)
    return float(delta.flat[flat]), int(state.sites[out_slot]), int(site_in)


def local_search(cost: np.ndarray, state: OpenSet, meter: WorkMeter) -> OpenSet:
    """Best-improvement swaps until none improves (or the budget ends)."""
    if len(state.sites) == cost.shape[1]:
        return state
    while not meter.exhausted():
        delta, out, into = best_swap(cost, state, meter)
        if delta >= -EPS * max(1.0, abs(state.objective)):
            break
        sites = state.sites.copy()
        sites[np.searchsorted(sites, out)] = into
        state = open_state(cost, sites)
        pay_cells(meter, cost.shape[0] * len(sites))
    return state


def greedy(cost: np.ndarray, p: int, meter: WorkMeter) -> np.ndarray:
    """Add sites one by one, each the one that lowers the total cost most (the classic greedy start). Each pick is a
    pass over the whole matrix: once the budget is spent, the remaining picks are the best of the last pass's
    totals (no further pass), so a large p on a small budget cannot overrun it."""
    n_customers, n_sites = cost.shape
    current = np.full(n_customers, np.inf)  # min(cost, inf) = cost: the first pick is the best single site
    is_open = np.zeros(n_sites, dtype=bool)
    totals = np.zeros(n_sites)
    for pick in range(p):
        if pick > 0 and meter.exhausted():
            totals[is_open] = np.inf
            rest = np.argsort(totals, kind="stable")[:p - pick]
            is_open[rest] = True
            break
        totals = np.zeros(n_sites)
        for block in blocks(n_customers, n_sites):
            totals += np.minimum(cost[block], current[block, None]).sum(axis=0)
        pay_cells(meter, 2.0 * cost.size)
        totals[is_open] = np.inf
        site = int(np.argmin(totals))
        is_open[site] = True
        current = np.minimum(current, cost[:, site])
    return np.flatnonzero(is_open)


def shake(state: OpenSet, n_sites: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Swap k random open sites for k random closed ones (the VNS neighbourhood of size k)."""
    closed = np.setdiff1d(np.arange(n_sites), state.sites)
    k = min(k, len(state.sites), len(closed))
    leave = rng.choice(len(state.sites), size=k, replace=False)
    enter = rng.choice(closed, size=k, replace=False)
    sites = state.sites.copy()
    sites[leave] = enter
    return sites


def vns(cost: np.ndarray, p: int, state: OpenSet, meter: WorkMeter, rng: np.random.Generator,
        lower: float) -> tuple[OpenSet, dict[str, int]]:
    """Variable-neighbourhood search: shake k random swaps, local search, keep if better (k back to 1), else k+1."""
    n_sites = cost.shape[1]
    kmax = max(1, min(p, n_sites - p))
    k, shakes, improvements = 1, 0, 0
    while n_sites > p and not meter.exhausted():
        if state.objective <= lower + EPS * max(1.0, abs(lower)):
            break
        candidate = local_search(cost, open_state(cost, shake(state, n_sites, k, rng)), meter)
        shakes += 1
        if candidate.objective < state.objective - EPS * max(1.0, abs(state.objective)):
            state, k = candidate, 1
            improvements += 1
        else:
            k = k % kmax + 1
    return state, {"vns_shakes": shakes, "vns_improvements": improvements}


def pmedian_search(cost: np.ndarray, p: int, meter: WorkMeter, rng: np.random.Generator,
                   lower: float = -np.inf) -> tuple[OpenSet, dict[str, int]]:
    """Greedy start and fast interchange, then VNS until the budget ends or the answer meets `lower`."""
    state = local_search(cost, open_state(cost, greedy(cost, p, meter)), meter)
    return vns(cost, p, state, meter, rng, lower)
