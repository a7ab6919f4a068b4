"""The p-median family's instance: validated once when built, read-only afterwards (DESIGN.md section 10)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class DesignProblem:
    """A territory-design instance: pick `p` of the S candidate sites and serve every customer from one of them.

    Objective: sum over customers of weight * distance to its centre, plus, per open centre,
    balance_penalty * |served demand - size_target|. Hard rules: site capacity and size bounds on served demand.
    `demand` defaults to one per customer, so sizes then count customers.
    """

    distance: np.ndarray
    weight: np.ndarray
    p: int
    demand: np.ndarray | None = None
    site_capacity: np.ndarray | None = None
    size_bounds: tuple[int, int] | None = None
    size_target: float | None = None
    balance_penalty: float = 0.0
    _loads: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        distance = _frozen(self.distance, np.float64, "distance")
        if distance.ndim != 2 or distance.shape[0] == 0 or distance.shape[1] == 0:
            raise ValueError(f"distance must be a non-empty (customers, sites) matrix, got shape {distance.shape}")
        n_customers, n_sites = distance.shape
        if not np.isfinite(distance).all() or (distance < 0).any():
            raise ValueError("distance must be finite and >= 0")
        weight = _frozen(self.weight, np.float64, "weight")
        if weight.shape != (n_customers,):
            raise ValueError(f"weight must have shape ({n_customers},), got {weight.shape}")
        if not np.isfinite(weight).all() or (weight < 0).any():
            raise ValueError("weight must be finite and >= 0")
        if isinstance(self.p, bool) or not isinstance(self.p, int | np.integer) or not 1 <= self.p <= n_sites:
            raise ValueError(f"p must be an integer in [1, {n_sites}], got {self.p!r}")
        object.__setattr__(self, "distance", distance)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "p", int(self.p))
        if self.demand is not None:
            demand = _integers(self.demand, "demand")
            if demand.shape != (n_customers,) or (demand < 0).any():
                raise ValueError(f"demand must be ({n_customers},) integers >= 0")
            object.__setattr__(self, "demand", demand)
        if self.site_capacity is not None:
            capacity = _integers(self.site_capacity, "site_capacity")
            if capacity.shape != (n_sites,) or (capacity < 0).any():
                raise ValueError(f"site_capacity must be ({n_sites},) integers >= 0")
            object.__setattr__(self, "site_capacity", capacity)
        if self.size_bounds is not None:
            bounds = tuple(self.size_bounds) if isinstance(self.size_bounds, tuple | list) else ()
            if len(bounds) != 2 or not all(isinstance(b, int | np.integer) and not isinstance(b, bool)
                                           for b in bounds):
                raise ValueError(f"size_bounds must be two integers (lo, hi), got {self.size_bounds!r}")
            lo, hi = int(bounds[0]), int(bounds[1])
            if not 0 <= lo <= hi:
                raise ValueError(f"size_bounds must satisfy 0 <= lo <= hi, got {(lo, hi)}")
            object.__setattr__(self, "size_bounds", (lo, hi))
        if self.size_target is not None:
            target = _number(self.size_target, "size_target")
            if not math.isfinite(target) or target < 0:
                raise ValueError(f"size_target must be finite and >= 0, got {self.size_target!r}")
            object.__setattr__(self, "size_target", target)
        penalty = _number(self.balance_penalty, "balance_penalty")
        if not math.isfinite(penalty) or penalty < 0:
            raise ValueError(f"balance_penalty must be finite and >= 0, got {self.balance_penalty!r}")
        if penalty > 0 and self.size_target is None:
            raise ValueError("balance_penalty > 0 needs a size_target")
        object.__setattr__(self, "balance_penalty", penalty)
        loads = self.demand if self.demand is not None else np.ones(n_customers, dtype=np.int64)
        loads.flags.writeable = False
        object.__setattr__(self, "_loads", loads)

    @property
    def n_customers(self) -> int:
        return int(self.distance.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.distance.shape[1])

    @property
    def loads(self) -> np.ndarray:
        """Demand counted against capacity and size rules (one per customer when none is given)."""
        return self._loads

    @property
    def has_balance(self) -> bool:
        return self.balance_penalty > 0 and self.size_target is not None

    @property
    def is_uncapacitated(self) -> bool:
        return self.site_capacity is None and self.size_bounds is None and not self.has_balance


def _frozen(values: object, dtype: type, name: str) -> np.ndarray:
    try:
        array: np.ndarray = np.array(values, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    array.flags.writeable = False
    return array


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def _integers(values: object, name: str) -> np.ndarray:
    raw = np.asarray(values)
    if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and not (np.isfinite(raw).all()
                                                                      and (raw == np.round(raw)).all())):
        raise ValueError(f"{name} must hold integers")
    return _frozen(raw, np.int64, name)
