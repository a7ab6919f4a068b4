"""The uncapacitated p-median's Lagrangian bound (subgradient ascent), so every answer states its gap; it is also
valid, if weaker, under capacity, size and balance rules, which only add cost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..budget import WorkMeter
from .interchange import blocks
from .meter import pay_cells
from .result import EPS
from .scaling import integral, rounded_bound


@dataclass
class Lagrangian:
    bound: float  # best L(lambda) found: a valid lower bound
    sites: np.ndarray  # the p sites the relaxation opened at its best multipliers
    iterations: int
    multipliers: np.ndarray


def lagrangian(cost: np.ndarray, p: int, upper: float, start: np.ndarray, meter: WorkMeter, max_iter: int,
               theta: float = 2.0) -> Lagrangian:
    """Relax "each customer served once" with multipliers lambda and run subgradient ascent on them.

    L(lambda) = sum_c lambda_c + (sum of the p smallest rho_s), rho_s = sum_c min(0, cost[c, s] - lambda_c), is a lower
    bound for every lambda; the step is Polyak's towards `upper`, theta halves after 20 steps without progress.
    """
    lam = start.astype(np.float64).copy()
    best = Lagrangian(-np.inf, np.zeros(p, dtype=np.int64), 0, lam.copy())
    stall = 0
    for it in range(max_iter):
        if meter.exhausted():
            break
        rho = np.zeros(cost.shape[1])
        for block in blocks(cost.shape[0], cost.shape[1]):
            rho += np.minimum(cost[block] - lam[block, None], 0.0).sum(axis=0)
        sites = np.argpartition(rho, p - 1)[:p] if p < cost.shape[1] else np.arange(p)
        value = float(lam.sum() + rho[sites].sum())
        served = (cost[:, sites] < lam[:, None]).sum(axis=1)
        pay_cells(meter, 3.0 * cost.size + cost.shape[0] * p)
        if value > best.bound + EPS * max(1.0, abs(value)):
            best = Lagrangian(value, np.sort(sites), it + 1, lam.copy())
            stall = 0
        else:
            stall += 1
            if stall >= 20:
                theta /= 2.0
                stall = 0
        best.iterations = it + 1
        sub = 1.0 - served
        norm = float(sub @ sub)
        if norm == 0.0 or upper - value <= EPS * max(1.0, abs(upper)) or theta < 1e-4:
            break
        lam += theta * (upper - value) / norm * sub
    return best


def distance_bound(cost: np.ndarray, p: int, upper: float, meter: WorkMeter) -> float:
    """The uncapacitated Lagrangian bound: valid under any capacity, size or balance rule (they only add cost)."""
    start = np.sort(cost, axis=1)[:, min(p, cost.shape[1] - 1)]
    lag = lagrangian(cost, p, upper, start, meter, max_iter=500)
    return rounded_bound(max(lag.bound, 0.0), integral(cost))
