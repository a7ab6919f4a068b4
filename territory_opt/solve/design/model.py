"""The CP-SAT model of the p-median family, one function per constraint family (DESIGN.md section 10):
x[arc] = the arc's customer is served by its site, y[s] = site s is a centre, an exact deviation variable per
site for the balance penalty. Costs come in integer units (`scaling.py`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from .problem import DesignProblem
from .rules import site_room
from .scaling import Scaling


@dataclass(frozen=True)
class Arcs:
    """Candidate (customer, site) pairs of the model, grouped by customer."""

    customer: np.ndarray
    site: np.ndarray
    full: bool  # every eligible pair is in: CP-SAT's bound is then a bound for the problem itself


def make_arcs(cost: np.ndarray, eligible: np.ndarray, k: int | None, extra: np.ndarray | None) -> Arcs:
    """All eligible arcs (k None), or each customer's k cheapest eligible sites plus the hint's arc."""
    if k is None or k >= cost.shape[1]:
        customer, site = np.nonzero(eligible)
        return Arcs(customer, site, True)
    ranked = np.where(eligible, cost, np.inf)
    nearest = np.argsort(ranked, axis=1, kind="stable")[:, :k]
    keep = np.zeros_like(eligible)
    np.put_along_axis(keep, nearest, True, axis=1)
    if extra is not None:
        keep[np.arange(cost.shape[0]), extra] = True
    keep &= eligible
    customer, site = np.nonzero(keep)
    return Arcs(customer, site, False)


@dataclass
class Model:
    model: cp_model.CpModel
    y: list[cp_model.IntVar]
    x: list[cp_model.IntVar]
    dev: list[cp_model.IntVar]  # per site, empty without balance
    lines: tuple[int, int, int, int]  # the balance lines' (slope_lo, cut_hi, cut_lo, slope_hi), see add_balance
    added: dict[str, int]


def by_site(arcs: Arcs, n_sites: int) -> list[np.ndarray]:
    order = np.argsort(arcs.site, kind="stable")
    cuts = np.searchsorted(arcs.site[order], np.arange(n_sites + 1))
    return [order[cuts[s]:cuts[s + 1]] for s in range(n_sites)]


def add_sites(model: cp_model.CpModel, problem: DesignProblem, openable: np.ndarray) -> list[cp_model.IntVar]:
    """y[s] = site s is a centre; exactly p of them, none where no rule lets the site be opened."""
    y = [model.new_bool_var(f"y{s}") for s in range(problem.n_sites)]
    for s in np.flatnonzero(~openable).tolist():
        model.add(y[s] == 0)
    model.add(sum(y) == problem.p)
    return y


def add_assignment(model: cp_model.CpModel, arcs: Arcs, y: list[cp_model.IntVar],
                   n_customers: int) -> list[cp_model.IntVar]:
    """x[a] = the arc's customer is served by its site; exactly one per customer, only from an open site.

    x <= y is written per arc (the strong p-median linking): its LP relaxation is what makes the bound tight.
    """
    x = [model.new_bool_var(f"x{a}") for a in range(len(arcs.customer))]
    cuts = np.searchsorted(arcs.customer, np.arange(n_customers + 1))
    for c in range(n_customers):
        model.add_exactly_one(x[cuts[c]:cuts[c + 1]])
    for a, s in enumerate(arcs.site.tolist()):
        model.add(x[a] <= y[s])
    return x


def add_size_rules(model: cp_model.CpModel, problem: DesignProblem, arcs: Arcs, x: list[cp_model.IntVar],
                   y: list[cp_model.IntVar], groups: list[np.ndarray]) -> int:
    """Served demand of an open site within [lo, min(capacity, hi)]; a closed site serves nothing."""
    if problem.site_capacity is None and problem.size_bounds is None:
        return 0
    loads = problem.loads[arcs.customer]
    room = site_room(problem)
    lo = problem.size_bounds[0] if problem.size_bounds is not None else 0
    count = 0
    for s, members in enumerate(groups):
        if len(members) == 0:
            if lo > 0:  # no customer fits this site: open, it would serve nothing, below the size floor
                model.add(y[s] == 0)
                count += 1
            continue
        size = cp_model.LinearExpr.weighted_sum([x[a] for a in members], loads[members].tolist())
        total = int(loads[members].sum())
        if total > room[s]:
            model.add(size <= int(room[s]) * y[s])
            count += 1
        if lo > 0:
            model.add(size >= lo * y[s])
            count += 1
    return count


def balance_lines(problem: DesignProblem, scaling: Scaling) -> tuple[int, int, int, int]:
    assert problem.size_target is not None
    a = problem.balance_penalty * scaling.scale
    at = a * problem.size_target
    return (math.floor(a + 1e-9 * a), math.ceil(at - 1e-9 * at), math.floor(at + 1e-9 * at),
            math.ceil(a - 1e-9 * a))


def add_balance(model: cp_model.CpModel, problem: DesignProblem, arcs: Arcs, x: list[cp_model.IntVar],
                y: list[cp_model.IntVar], groups: list[np.ndarray], scaling: Scaling) -> list[cp_model.IntVar]:
    """dev[s] >= penalty * |size[s] - target| for an open site, in objective units, drawn from below.

    Two lines, with slopes and intercepts rounded the way that keeps each under the true penalty:
    dev >= floor(a) * size - ceil(a * target) * y and dev >= floor(a * target) * y - ceil(a) * size (a = scaled
    penalty). With integral a and a * target both are exact and their maximum is the penalty itself.
    """
    if not problem.has_balance:
        return []
    slope_lo, cut_hi, cut_lo, slope_hi = balance_lines(problem, scaling)
    loads = problem.loads[arcs.customer]
    dev = []
    for s, members in enumerate(groups):
        total = int(loads[members].sum()) if len(members) else 0
        top = max(slope_lo * total, cut_lo, 0)
        d = model.new_int_var(0, top, f"dev{s}")
        size = (cp_model.LinearExpr.weighted_sum([x[a_] for a_ in members], loads[members].tolist())
                if len(members) else 0)
        model.add(d >= slope_lo * size - cut_hi * y[s])
        model.add(d >= cut_lo * y[s] - slope_hi * size)
        dev.append(d)
    return dev


def build(problem: DesignProblem, arcs: Arcs, units: np.ndarray, scaling: Scaling, openable: np.ndarray) -> Model:
    model = cp_model.CpModel()
    y = add_sites(model, problem, openable)
    x = add_assignment(model, arcs, y, problem.n_customers)
    groups = by_site(arcs, problem.n_sites)
    added = {"size_rules": add_size_rules(model, problem, arcs, x, y, groups)}
    dev = add_balance(model, problem, arcs, x, y, groups, scaling)
    added["balance"] = len(dev)
    costs = units[arcs.customer, arcs.site]
    model.minimize(cp_model.LinearExpr.weighted_sum(x, costs.tolist()) + sum(dev))
    lines = balance_lines(problem, scaling) if dev else (0, 0, 0, 0)
    return Model(model, y, x, dev, lines, added)


def add_hint(problem: DesignProblem, arcs: Arcs, built: Model, centres: np.ndarray, assignment: np.ndarray) -> None:
    """Hint every variable, the deviations included: a complete hint is a solution CP-SAT starts from at once."""
    is_open = np.zeros(problem.n_sites, dtype=bool)
    is_open[centres] = True
    for s, var in enumerate(built.y):
        built.model.add_hint(var, bool(is_open[s]))
    chosen = assignment[arcs.customer] == arcs.site
    for var, value in zip(built.x, chosen.tolist(), strict=True):
        built.model.add_hint(var, value)
    if built.dev:
        slope_lo, cut_hi, cut_lo, slope_hi = built.lines
        size = np.bincount(assignment, weights=problem.loads, minlength=problem.n_sites).astype(np.int64)
        y = is_open.astype(np.int64)
        dev = np.maximum(np.maximum(slope_lo * size - cut_hi * y, cut_lo * y - slope_hi * size), 0)
        for var, value in zip(built.dev, dev.tolist(), strict=True):
            built.model.add_hint(var, int(value))
