"""The builder: enriched customers, the roster and coverage handed over to the array-backed `Problem`.

Every scenario rule becomes arrays here (teams, workloads and their bands, locks, today's reps, skills,
exclusions, boundary zones, more balanced metrics), checked for what only the data can get wrong (an unknown
rep in `excluded_rep_ids`, a lock naming a rep of another team, a need of more hours than a year has).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Scenario
from ..errors import ConfigError, Finding, InputError
from ..lists import split_list
from ..prepare.segment import Coverage, contact_caps
from ..prepare.units import Units
from ..roster import team_matrix
from .bands import balance_targets
from .drive import PER_REP_MAX_ARCS, drive_terms, local_spacing_km
from .problem import NO_REP, Problem

ZERO_TRAVEL_TIE_BREAK = 1e-3


def _rep_index(rep_ids: np.ndarray) -> dict[str, int]:
    return {rid: i for i, rid in enumerate(rep_ids.tolist())}


METRIC_COLUMNS = {"value": "current_value", "potential": "potential_value"}


def build_metric_bands(customers: gpd.GeoDataFrame, coverage: Coverage, rep_in_team: np.ndarray,
                       capacity_s: np.ndarray, scenario: Scenario
                       ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """`rules.balance_metrics`: per metric, each need's amount (a customer's value counts for each team that covers
    it) and each rep's band around its capacity-weighted share."""
    empty = np.zeros((0, 0), np.int64)
    wanted = scenario.rules.balance_metrics
    if not wanted:
        return (), empty, empty, empty
    nc, nt = coverage.need_customer, coverage.need_team
    amounts, lows, highs = [], [], []
    for name, tolerance in wanted.items():
        if name == "accounts":
            amount = np.ones(len(nc), dtype=np.int64)
        else:
            amount = np.rint(customers[METRIC_COLUMNS[name]].to_numpy(float)[nc]).astype(np.int64)
        _, lo, hi = balance_targets(rep_in_team, nt, amount, capacity_s, tolerance, clip_to_capacity=False)
        amounts.append(amount)
        lows.append(lo)
        highs.append(hi)
    return tuple(wanted), np.vstack(amounts), np.vstack(lows), np.vstack(highs)


MAX_NEED_HOURS = 8784.0  # the hours in a year: no call cycle holds more for one customer and team


def _check_need_hours(hours: np.ndarray, customers: pd.DataFrame, coverage: Coverage, scenario: Scenario) -> None:
    """A need of more hours than a year has is a typo in the service policy (and would overflow whole seconds)."""
    bad = np.flatnonzero(~(hours <= MAX_NEED_HOURS))
    if len(bad):
        raise ConfigError([Finding(
            f"customer {customers['customer_id'].iloc[coverage.need_customer[i]]!r} would need {hours[i]:,.4g} h of "
            f"calls per cycle from team {scenario.teams[coverage.need_team[i]].name!r}, more than the "
            f"{MAX_NEED_HOURS:g} h of a year: check service.*.visits_per_cycle, call_minutes, service_raises and "
            "teams[].call_minutes_factor", source=scenario.source_name, field="service") for i in bad[:5]])


def build_problem(customers: gpd.GeoDataFrame, reps: gpd.GeoDataFrame, coverage: Coverage,
                  scenario: Scenario, units: Units | None = None) -> Problem:
    """Hand the enriched GeoDataFrames over to the array-backed problem (with `units`: each need's unit, the
    units' adjacency and which teams keep one-piece territories)."""
    teams = scenario.teams
    rep_ids = reps["rep_id"].to_numpy(dtype=object)
    rep_in_team = team_matrix(scenario, reps)
    nc, nt = coverage.need_customer, coverage.need_team
    factors = np.array([t.call_minutes_factor for t in teams])
    weight = np.array([t.travel_weight or ZERO_TRAVEL_TIE_BREAK for t in teams])[nt]
    customer_hours = customers["workload_hours"].to_numpy(float)
    hours = customer_hours[nc] * factors[nt]
    if len(coverage.absorbed_customer):  # absorbed lines add their calls to the absorbing team's need
        key = nc * len(teams) + nt
        target = np.searchsorted(key, coverage.absorbed_customer * len(teams) + coverage.absorbed_by)
        np.add.at(hours, target, customer_hours[coverage.absorbed_customer] * factors[coverage.absorbed_team])
    _check_need_hours(hours, customers, coverage, scenario)
    workload_s = np.rint(hours * 3600.0).astype(np.int64)
    index = _rep_index(rep_ids)
    locked = _rep_column(customers, "locked_rep_id", index, nc, nt, rep_in_team, scenario, strict=True)
    current = _rep_column(customers, "current_rep_id", index, nc, nt, rep_in_team, scenario, strict=False)
    capacity = rep_capacity_s(reps)
    target, lo, hi = balance_targets(rep_in_team, nt, workload_s, capacity, scenario.rules.balance_tolerance)
    metric_names, need_metric, metric_lo, metric_hi = build_metric_bands(customers, coverage, rep_in_team,
                                                                         capacity, scenario)
    kinds, zone_names, need_zone, rep_zone = build_zones(customers, reps, coverage, scenario)
    skill_names, need_skills, rep_skills = build_skills(customers, reps, coverage, scenario)
    problem = Problem(
        customer_ids=customers["customer_id"].to_numpy(dtype=object),
        customer_xy=np.column_stack([customers.geometry.x, customers.geometry.y]),
        rep_ids=rep_ids,
        rep_xy=np.column_stack([reps.geometry.x, reps.geometry.y]),
        team_names=tuple(t.name for t in teams),
        rep_in_team=rep_in_team,
        need_customer=nc,
        need_team=nt,
        need_visits=customers["visits_per_cycle"].to_numpy(float)[nc],
        need_workload_s=workload_s,
        need_travel_weight=weight,
        need_locked_rep=locked,
        need_current_rep=current,
        rep_target_s=target,
        rep_min_s=lo,
        rep_max_s=hi,
        max_reps_per_customer=scenario.rules.max_reps_per_customer,
        customer_max_reps=contact_caps(customers, scenario),
        detour_factor=scenario.rules.detour_factor,
        continuity_weight=continuity_weight(scenario, current),
        balance_weight=scenario.rules.balance_weight,
        need_skills=need_skills,
        rep_skills=rep_skills,
        skill_names=skill_names,
        excluded=build_exclusions(customers, rep_ids, coverage, scenario),
        max_moved=scenario.rules.max_moved_customers,
        max_moved_value=None if scenario.rules.max_moved_value is None else int(min(  # above the total: no limit
            scenario.rules.max_moved_value, np.rint(customers["current_value"].to_numpy(float)).sum())),
        need_value=np.rint(customers["current_value"].to_numpy(float)[nc]).astype(np.int64),
        metric_names=metric_names,
        need_metric=need_metric,
        rep_metric_min=metric_lo,
        rep_metric_max=metric_hi,
        zone_kinds=kinds,
        zone_names=zone_names,
        need_zone=need_zone,
        rep_zone=rep_zone,
        team_max_customers=np.array([t.max_customers or 0 for t in teams], dtype=np.int64)
        if any(t.max_customers for t in teams) else None,
        team_max_km=np.array([t.max_km or np.inf for t in teams], dtype=float)
        if any(t.max_km for t in teams) else None,
        **unit_fields(units, nc, scenario),
    )
    per_km, base = drive_fields(scenario, problem)
    problem = problem.replace(drive_s_per_km=per_km, drive_base_s=base, drive_counts=scenario.workload.drive)
    return with_drive_bands(problem, capacity, scenario)


def drive_fields(scenario: Scenario, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """The drive estimate's per-need terms (model/drive.py) from each need's visits, call seconds and neighbours:
    teams with travel drive, phone teams (travel_weight 0) do not."""
    options = scenario.workload
    speed = options.speed_kmh or scenario.routing.speed_kmh or scenario.logistics.default_speed_kmh
    travels = np.array([t.travel_weight > 0 for t in scenario.teams], dtype=bool)[problem.need_team]
    visits = problem.need_visits
    driving = travels & (visits > 0)
    per_call = problem.need_workload_s / np.maximum(visits, 1e-9)
    spacing = local_spacing_km(problem.customer_xy[problem.need_customer], problem.need_team, driving,
                               options.neighbours, problem.detour_factor)
    return drive_terms(np.where(driving, visits, 0.0), per_call, spacing, speed_kmh=speed,
                       trip_call_hours=options.trip_call_hours, hop_factor=options.hop_factor)


def rep_capacity_s(reps: pd.DataFrame) -> np.ndarray:
    """Each rep's working month in seconds (`capacity_hours`; infinite where none is given)."""
    capacity = reps["capacity_hours"].to_numpy(float) * 3600.0 if "capacity_hours" in reps else np.full(
        len(reps), np.nan)
    return np.where(np.isfinite(capacity), capacity, np.inf)


def with_drive_bands(problem: Problem, capacity_s: np.ndarray, scenario: Scenario) -> Problem:
    """With drive in the workload, the balance bands hold calls + drive: each team's work is its calls plus every
    need's drive from the nearest rep of its team (what the objective pulls towards), shared as before. Above
    `PER_REP_MAX_ARCS` candidate arcs (the large engine's problems, whose flow needs one workload per need) that
    nearest-rep drive is the need's drive for every rep, inside `need_workload_s` (`need_drive_s` says how much)."""
    if not problem.per_rep_drive:
        return problem
    max_team = int(problem.rep_in_team.sum(axis=0).max(initial=0))
    fallback = problem.n_needs * min(scenario.rules.candidate_reps, max_team) > PER_REP_MAX_ARCS
    banded = drive_scaled_bands(problem, capacity_s, scenario.rules.balance_tolerance)
    if fallback:
        nearest = problem.nearest_drive_s
        return banded.replace(need_workload_s=problem.need_workload_s + nearest, need_drive_s=nearest,
                              drive_s_per_km=None, drive_base_s=None, drive_counts=False)
    return banded


def drive_scaled_bands(problem: Problem, capacity_s: np.ndarray, tolerance: float | None,
                       team_scale: np.ndarray | None = None) -> Problem:
    """The problem with bands over calls + drive: each team's drive is its needs' drive from their nearest rep x
    the team's `team_scale` (None: 1, the nearest rep's drive; `solve/drive_bands.py` finds the scale a balanced
    alignment drives). Needs per-rep drive (`Problem.per_rep_drive`)."""
    nearest = problem.nearest_drive_s.astype(float)
    if team_scale is not None:
        nearest = nearest * np.asarray(team_scale, dtype=float)[problem.need_team]
    target, lo, hi = balance_targets(problem.rep_in_team, problem.need_team, problem.need_workload_s + nearest,
                                     capacity_s, tolerance)
    return problem.replace(rep_target_s=target, rep_min_s=lo, rep_max_s=hi)


def unit_fields(units: Units | None, need_customer: np.ndarray, scenario: Scenario) -> dict[str, Any]:
    """The problem's unit arrays (none without units)."""
    if units is None:
        return {}
    return {"need_unit": units.customer_unit[need_customer].astype(np.int64), "unit_edges": units.edges,
            "team_contiguous": np.array([t.contiguous for t in scenario.teams], dtype=bool),
            "unit_xy": units.centres}


DEFAULT_CONTINUITY_WEIGHT = 20.0  # visit-km per moved (customer, team) pair away from customers.csv's current_rep_id
# ... and away from the previous run's rep (`run --previous`): last night's plan was made by this tool at these
# prices, so what moves from it should be what the night's data changed. Measured on the Ohio market
# (bench/real_geography.py --stability, docs/benchmarks.md, units moved of 687, the 1 % churn drawn with four seeds):
# at 60 a balance tolerance change moved 18 and the churns 18, 8, 16, 13 (two of four above the 2 % goal); at 120,
# 5 and 11, 5, 9, 11 (every one within it) for 0.1-0.2 % more travel; at 200, 0 and 7, 6, 10, 9 (no better).
DEFAULT_PREVIOUS_CONTINUITY_WEIGHT = 120.0


def with_baseline(problem: Problem, baseline: pd.DataFrame, scenario: Scenario) -> Problem:
    """The previous run's plan (`run --previous`: its customer_id, team, rep_id) as each need's current rep, so
    moving away from last night's plan costs continuity and counts against `max_moved_*`, as moving away from
    customers.csv's `current_rep_id` does without it. Needs the previous run did not have (new customers, a rep
    gone or now in another team) keep `current_rep_id`."""
    n_teams = len(problem.team_names)
    customers = pd.Index(np.asarray(problem.customer_ids).astype(str))
    reps = pd.Index(np.asarray(problem.rep_ids).astype(str))
    teams = pd.Index(list(problem.team_names))
    c = customers.get_indexer(baseline["customer_id"].astype(str))
    t = teams.get_indexer(baseline["team"].astype(str))
    r = reps.get_indexer(baseline["rep_id"].astype(str))
    ok = (c >= 0) & (t >= 0) & (r >= 0)
    ok[ok] = problem.rep_in_team[r[ok], t[ok]]
    previous_key = c[ok].astype(np.int64) * n_teams + t[ok]
    order = np.argsort(previous_key, kind="stable")
    previous_key, previous_rep = previous_key[order], r[ok][order]
    need_key = problem.need_customer.astype(np.int64) * n_teams + problem.need_team
    at = np.searchsorted(previous_key, need_key)
    found = at < len(previous_key)
    found[found] = previous_key[at[found]] == need_key[found]
    current = problem.need_current_rep.copy()
    current[found] = previous_rep[at[found]]
    return problem.replace(need_current_rep=current,
                           continuity_weight=continuity_weight(scenario, current, previous_run=bool(found.any())))


def continuity_weight(scenario: Scenario, current: np.ndarray, *, previous_run: bool = False) -> float:
    """`rules.continuity_weight`, or by default 20 visit-km when some need has a current rep, 120 when the baseline
    is a previous run's plan (else 0)."""
    if scenario.rules.continuity_weight is not None:
        return scenario.rules.continuity_weight
    if previous_run:
        return DEFAULT_PREVIOUS_CONTINUITY_WEIGHT
    return DEFAULT_CONTINUITY_WEIGHT if bool((current != NO_REP).any()) else 0.0


def build_skills(customers: pd.DataFrame, reps: pd.DataFrame, coverage: Coverage, scenario: Scenario,
                 ) -> tuple[tuple[str, ...], np.ndarray | None, np.ndarray | None]:
    """Bit masks of product lines: per need, the lines of its team's `products` the customer buys; per rep, the
    lines in its roster `products` (blank: every line). None when no team declares products."""
    names = tuple(sorted({line for t in scenario.teams for line in (t.products or [])}))
    if not names:
        return (), None, None
    if len(names) > 62:
        raise ConfigError(Finding(f"{len(names)} product lines in teams[].products; at most 62 are supported",
                                  source=scenario.source_name, field="teams.products"))
    bit = {name: 1 << i for i, name in enumerate(names)}
    team_mask = np.array([sum(bit[line] for line in (t.products or [])) for t in scenario.teams], dtype=np.int64)
    bought = customers["products"] if "products" in customers else pd.Series("", index=customers.index)
    masks = {text: sum(bit[line] for line in split_list(text) if line in bit) for text in pd.unique(bought)}
    customer_mask = bought.map(masks).to_numpy(dtype=np.int64)
    need_skills = customer_mask[coverage.need_customer] & team_mask[coverage.need_team]
    everything = sum(bit.values())
    carried = reps["products"] if "products" in reps else pd.Series("", index=reps.index)
    rep_skills = np.array([sum(bit[line] for line in lines if line in bit) if lines else everything
                           for lines in map(split_list, carried)], dtype=np.int64)
    return names, need_skills, rep_skills


def build_exclusions(customers: pd.DataFrame, rep_ids: np.ndarray, coverage: Coverage,
                     scenario: Scenario) -> np.ndarray:
    """Sorted keys need * R + rep for every need whose customer lists the rep in `excluded_rep_ids`."""
    if "excluded_rep_ids" not in customers:
        return np.zeros(0, np.int64)
    index = _rep_index(rep_ids)
    listed = customers["excluded_rep_ids"].to_numpy(dtype=object)
    keys = []
    source = scenario.inputs.customers
    unknown = []
    with_exclusions = np.flatnonzero(customers["excluded_rep_ids"].astype(str).str.strip().to_numpy() != "")
    for need in np.flatnonzero(np.isin(coverage.need_customer, with_exclusions)).tolist():
        customer = int(coverage.need_customer[need])
        for rep in split_list(listed[customer]):
            if rep not in index:
                unknown.append(Finding(f"rep {rep!r} is not in the roster", source=source.label,
                                       row=customer + source.first_row, field="excluded_rep_ids"))
                continue
            keys.append(need * len(rep_ids) + index[rep])
    if unknown:
        raise InputError(unknown[:20])
    return np.unique(np.array(keys, dtype=np.int64))


ZONE_COLUMNS = {"distributor": "distributor_id", "depot": "depot_id"}


def boundary_columns(scenario: Scenario) -> tuple[str, ...]:
    """The customer columns of the hard boundaries some team keeps (`distributor_id`, `depot_id`)."""
    per_team = [t.boundaries if t.boundaries is not None else scenario.rules.boundaries for t in scenario.teams]
    return tuple(column for kind, column in ZONE_COLUMNS.items() if any(kind in b for b in per_team))


def build_zones(customers: pd.DataFrame, reps: pd.DataFrame, coverage: Coverage, scenario: Scenario,
                ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], np.ndarray, np.ndarray]:
    """Hard-boundary zones per kind: each need's zone (-1 when its team ignores the kind or the customer lies in
    no zone) and each rep's pinned zone from the roster (-1: the model chooses)."""
    per_team = [t.boundaries if t.boundaries is not None else scenario.rules.boundaries for t in scenario.teams]
    kinds = tuple(k for k in ZONE_COLUMNS if any(k in b for b in per_team))
    nc, nt = coverage.need_customer, coverage.need_team
    names_out, need_rows, rep_rows = [], [], []
    for kind in kinds:
        column = ZONE_COLUMNS[kind]
        values = customers[column].astype(str).to_numpy(dtype=object) if column in customers else np.full(
            len(customers), "", dtype=object)
        pins = reps[column].fillna("").astype(str).to_numpy(dtype=object) if column in reps else np.full(
            len(reps), "", dtype=object)
        names = tuple(sorted({v for v in values if v} | {p for p in pins if p}))
        index = {name: i for i, name in enumerate(names)}
        respects = np.array([kind in b for b in per_team])[nt]
        zone = np.array([index.get(v, -1) for v in values[nc]], dtype=np.int64)
        need_rows.append(np.where(respects, zone, -1))
        rep_rows.append(np.array([index.get(p, -1) for p in pins], dtype=np.int64))
        names_out.append(names)
    n_kinds = len(kinds)
    need_zone = np.vstack(need_rows) if n_kinds else np.zeros((0, 0), np.int64)
    rep_zone = np.vstack(rep_rows) if n_kinds else np.zeros((0, 0), np.int64)
    return kinds, tuple(names_out), need_zone, rep_zone


def _rep_column(customers: pd.DataFrame, column: str, index: dict[str, int], nc: np.ndarray, nt: np.ndarray,
                rep_in_team: np.ndarray, scenario: Scenario, *, strict: bool) -> np.ndarray:
    """Per need, the rep named in `column` when that rep is in the need's team; else NO_REP.

    With `strict` (locks), a named rep that is in none of the customer's teams is an input error.
    """
    out = np.full(len(nc), NO_REP, dtype=np.int64)
    if column not in customers:
        return out
    named = customers[column].to_numpy(dtype=object)
    rep = np.array([index.get(v, NO_REP) if v else NO_REP for v in named[nc]], dtype=np.int64)
    ok = (rep != NO_REP) & rep_in_team[np.maximum(rep, 0), nt]
    out[ok] = rep[ok]
    if strict:
        has = np.array([bool(v) for v in named])
        satisfied = np.zeros(len(customers), dtype=bool)
        satisfied[nc[ok]] = True
        bad = np.flatnonzero(has & ~satisfied)
        if len(bad):
            source = scenario.inputs.customers
            raise InputError([
                Finding(f"locked rep {named[c]!r} is in none of the teams covering customer "
                        f"{customers['customer_id'].iloc[c]!r}", source=source.label, row=int(c) + source.first_row,
                        field=column)
                for c in bad[:20]
            ])
    return out



def visited_needs(scenario: Scenario, problem: Problem) -> np.ndarray:
    """Needs reps drive to: those of teams with travel (a team with travel_weight 0 sells by phone)."""
    remote = np.array([t.travel_weight == 0 for t in scenario.teams])
    return ~remote[problem.need_team]
