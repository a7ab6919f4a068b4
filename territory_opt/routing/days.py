"""Which day of the call cycle each visit falls on, before any route is drawn.

A rep's customers are first cut into one sector per weekday by a sweep around the rep's home (angle order, cut where
the weekly call load reaches an equal share), so one day's customers lie in one direction and its route is short.
Each customer's visits are then spread evenly over the cycle: a customer with `v <= weeks` visits comes every
`weeks / v` weeks on its sector's weekday, the phase (which of those weeks) chosen greedily so that the weeks carry
equal load; a customer with more visits than weeks comes on several weekdays of every week, spaced evenly.

Deterministic: ties are broken by customer order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Visit:
    customer: int  # index into the rep's customer list
    week: int  # 0-based
    day: int  # 0-based weekday


def weekday_sectors(xy: np.ndarray, home: np.ndarray, weekly_load: np.ndarray, days: int) -> np.ndarray:
    """Weekday (0..days-1) of each customer: contiguous angular sectors around `home` with equal weekly load."""
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    angle = np.arctan2(xy[:, 1] - home[1], xy[:, 0] - home[0])
    order = np.lexsort((np.arange(n), angle))
    # start the sweep at the widest angular gap, so no sector straddles two far-apart directions
    sorted_angle = angle[order]
    gaps = np.diff(np.concatenate([sorted_angle, sorted_angle[:1] + 2 * np.pi]))
    start = (int(np.argmax(gaps)) + 1) % n
    order = np.roll(order, -start)
    load = weekly_load[order].astype(float)
    cumulative = np.cumsum(load) - load / 2.0  # each customer's load midpoint along the sweep
    total = max(float(load.sum()), 1e-9)
    sector = np.minimum((cumulative / total * days).astype(np.int64), days - 1)
    out = np.empty(n, dtype=np.int64)
    out[order] = sector
    return out


def spread_visits(visits: np.ndarray, call_s: np.ndarray, weekday: np.ndarray, weeks: int,
                  days: int) -> list[Visit]:
    """Every required visit on a (week, day): evenly spaced, weeks balanced by load."""
    load = np.zeros((weeks, days))
    out: list[Visit] = []
    order = np.lexsort((np.arange(len(visits)), -(call_s * visits)))  # big customers first (greedy balancing)
    for c in order.tolist():
        v, d = int(visits[c]), int(weekday[c])
        if v <= 0:
            continue
        if v <= weeks:
            step = weeks / v
            options = []
            for phase in range(max(int(np.ceil(step)), 1)):
                chosen = sorted({int(np.floor(phase + k * step)) % weeks for k in range(v)})
                if len(chosen) < v:
                    continue
                options.append((float(load[chosen, d].max()), float(load[chosen, d].sum()), phase, chosen))
            _, _, _, chosen = min(options)
            for w in chosen:
                load[w, d] += call_s[c]
                out.append(Visit(c, w, d))
        else:
            per_week = np.full(weeks, v // weeks) + (np.arange(weeks) < v % weeks)
            for w in range(weeks):
                k = int(per_week[w])
                for j in range(k):
                    day = (d + round(j * days / k)) % days
                    load[w, day] += call_s[c]
                    out.append(Visit(c, w, day))
    out.sort(key=lambda visit: (visit.week, visit.day, visit.customer))
    return out
