"""Why a customer has the reps it has (`territory-opt explain RUN_DIR CUSTOMER_ID`).

The run folder holds the answer; the scenario (found through `manifest.json`) rebuilds the problem it was solved
on, so every statement is recomputed from the same rules the solver obeyed: which teams cover the customer and
why, every rep of those teams with distance and cost, what rules out the others (each rule's own reason, asked
through the solver's ledger: lock, exclusion, product lines, boundary, every balance band, contact cap, move
limits), whether the customer moved from today's rep, and what moving it back would cost.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Covers
from ..errors import Finding, InputError
from ..model.build import drive_scaled_bands, rep_capacity_s
from ..model.problem import NO_REP, Problem
from ..prepare.prepared import Prepared
from ..solve.ledger import Ledger
from .programmes import programme_facts


def _covers_text(blocks: list[Covers]) -> str:
    parts = []
    for block in blocks:
        conditions = [f"{name} in {value}" for name, value in block.model_dump(exclude_defaults=True).items()
                      if name != "columns"] + [f"{col} in {vals}" for col, vals in block.columns.items()]
        parts.append(" and ".join(conditions) or "everyone")
    return " or ".join(parts)


def _team_reasons(prepared: Prepared, customer: int) -> list[dict[str, Any]]:
    scenario, coverage = prepared.scenario, prepared.coverage
    covered = set(coverage.need_team[coverage.need_customer == customer].tolist())
    dropped = {int(t): int(b) for c, t, b in zip(coverage.absorbed_customer, coverage.absorbed_team,
                                                  coverage.absorbed_by, strict=True) if c == customer}
    out = []
    for t, team in enumerate(scenario.teams):
        rule = _covers_text(team.covers) + (" (exclusive: carved out before later teams)" if team.exclusive else "")
        if t in covered:
            out.append({"team": team.name, "status": "covers", "because": rule})
        elif t in dropped:
            out.append({"team": team.name, "status": "dropped by the contact cap",
                        "because": f"{rule}; its lines go to team {scenario.teams[dropped[t]].name!r}"})
    return out


def explain_customer(prepared: Prepared, assignments: pd.DataFrame, customer_id: str) -> dict[str, Any]:
    """The explanation as plain data (the CLI prints it, `--json` dumps it)."""
    problem = prepared.problem
    found = np.flatnonzero(problem.customer_ids == customer_id)
    if len(found) == 0:
        raise InputError([Finding(f"customer {customer_id!r} is not in this run's customers")])
    customer = int(found[0])
    assignment = _assignment(problem, assignments)
    rows = prepared.customers.iloc[customer]
    facts = {k: (None if pd.isna(rows[k]) else rows[k].item() if hasattr(rows[k], "item") else rows[k])
             for k in ("sector", "tier", "visits_per_cycle", "call_minutes", "call_plan", "channel",
                       "segment_id", "key_account_reason", "depot_id", "distributor_id",
                       "shoulder_km", "current_rep_id", "locked_rep_id") if k in rows.index}
    facts["contact_cap"] = int(problem.customer_caps[customer])
    ledger = Ledger(problem, assignment)
    needs = []
    for need in np.flatnonzero(problem.need_customer == customer).tolist():
        chosen = int(assignment[need])
        team = problem.need_team[need]
        members = np.flatnonzero(problem.rep_in_team[:, team])
        cost = problem.arc_cost(np.full(len(members), need), members)
        km = problem.road_km(np.full(len(members), need), members)
        candidates = []
        for rep, c, d in sorted(zip(members.tolist(), cost.tolist(), km.tolist(), strict=True), key=lambda x: x[1]):
            ruled_out = ledger.why_not(need, rep)
            candidate = {"rep_id": str(problem.rep_ids[rep]), "road_km": round(d, 2), "cost": round(c, 3),
                         "chosen": rep == chosen, "ruled_out_by": ruled_out}
            if rep != chosen and not ruled_out:
                candidate["move"] = move_effect(ledger, need, rep)
            candidates.append(candidate)
        current = int(problem.need_current_rep[need])
        entry: dict[str, Any] = {
            "team": problem.team_names[team], "rep_id": str(problem.rep_ids[chosen]),
            "workload_hours": round(float(problem.workload(np.array([need]), np.array([chosen]))[0]) / 3600, 3),
            "candidates": candidates, "moved": current not in (NO_REP, chosen),
        }
        if entry["moved"]:
            entry["current_rep_id"] = str(problem.rep_ids[current])
            blocked = ledger.why_not(need, current)
            entry["move_back"] = {**move_effect(ledger, need, current), "blocked_by": blocked,
                                  "note": "changes the objective by this much on its own" if not blocked else
                                  "not possible on its own: another customer would have to move too"}
        unit = _unit_facts(prepared, assignment, need)
        if unit is not None:
            entry["unit"] = unit
        needs.append(entry)
    out = {"customer_id": customer_id, "facts": facts, "teams": _team_reasons(prepared, customer), "needs": needs}
    programme = programme_facts(prepared, assignment, customer)
    if programme is not None:
        out["programme"] = programme
    return out


def _unit_facts(prepared: Prepared, assignment: np.ndarray, need: int) -> dict[str, Any] | None:
    """The customer's alignment unit for this need's team: its id, the team's customers in it and their reps (one,
    unless a lock or carve-out split it), the reps holding the units around it, and why its rep has it."""
    problem, units = prepared.problem, prepared.units
    if units is None or problem.need_unit is None or problem.need_unit[need] < 0:
        return None
    unit, team = int(problem.need_unit[need]), int(problem.need_team[need])
    together = np.flatnonzero((problem.need_unit == unit) & (problem.need_team == team))
    reps = sorted({str(problem.rep_ids[r]) for r in assignment[together].tolist()})
    around = {int(v) for a, b in units.edges.tolist() for u, v in ((a, b), (b, a)) if u == unit}
    near = np.flatnonzero(np.isin(problem.need_unit, list(around)) & (problem.need_team == team))
    neighbour_reps = sorted({str(problem.rep_ids[r]) for r in assignment[near].tolist()})
    contiguous = problem.team_contiguous is not None and bool(problem.team_contiguous[team])
    rep = str(problem.rep_ids[assignment[need]])
    why = (f"the unit's {len(together)} {problem.team_names[team]} customer(s) go to one rep (units stay whole)"
           if len(reps) == 1 else "a lock or carve-out splits this unit between reps")
    if contiguous:
        why += (f"; {rep}'s territory must stay one piece, so only a rep holding a neighbouring unit "
                f"({', '.join(neighbour_reps) or 'none'}) could take it without another unit moving too")
    return {"unit_id": str(units.ids[unit]), "source": units.source, "team_customers_in_unit": len(together),
            "reps_in_unit": reps, "neighbouring_reps": neighbour_reps, "contiguous_team": contiguous, "why": why}


def move_effect(ledger: Ledger, need: int, rep: int) -> dict[str, float]:
    """What moving this one need from its rep to `rep` does to the objective, in visit-km: its own cost (travel
    and continuity) and the soft workload-balance term of both reps (`extra_cost` is their sum; a move that raises
    no cost can still be worse, the balance term is often why a nearer rep did not get it)."""
    problem, chosen = ledger.problem, int(ledger.assign[need])
    to_rep, to_chosen = problem.arc_cost(np.array([need, need]), np.array([rep, chosen]))
    cost = float(to_rep - to_chosen)
    balance = ledger.balance_growth(need, rep)
    return {"cost_change": round(cost, 3), "balance_change": round(balance, 3), "extra_cost": round(cost + balance, 3)}


def _assignment(problem: Problem, assignments: pd.DataFrame) -> np.ndarray:
    """The run's rep per need, from its assignments.csv."""
    key = pd.Series(np.arange(problem.n_needs),
                    index=pd.MultiIndex.from_arrays([problem.customer_ids[problem.need_customer],
                                                     np.asarray(problem.team_names, dtype=object)[problem.need_team]]))
    reps = pd.Series(np.arange(problem.n_reps), index=problem.rep_ids.astype(str))
    position = key.reindex(pd.MultiIndex.from_arrays([assignments["customer_id"], assignments["team"]]))
    rep = reps.reindex(assignments["rep_id"].astype(str))
    if position.isna().any() or rep.isna().any() or len(assignments) != problem.n_needs:
        raise InputError([Finding("assignments.csv does not match the scenario's customers, teams and reps: the "
                                  "inputs changed since the run; rerun it")])
    out = np.empty(problem.n_needs, dtype=np.int64)
    out[position.to_numpy().astype(np.int64)] = rep.to_numpy().astype(np.int64)
    return out


def scenario_of_run(run_dir: Path, manifest: dict[str, Any]) -> tuple[Path, tuple[str, ...]]:
    """The scenario file and overrides a run folder was made from (recorded in its manifest.json)."""
    scenario = manifest.get("scenario") or {}
    relative = scenario.get("path")
    if not relative:
        raise InputError([Finding("the manifest does not record the scenario's path; pass --scenario",
                                  source=str(run_dir / "manifest.json"))])
    return (run_dir / relative).resolve(), tuple(scenario.get("overrides") or ())


def check_inputs_unchanged(prepared: Prepared, manifest: dict[str, Any]) -> list[str]:
    """Input files whose SHA-256 differs from the run's: the explanation may not match the answer."""
    changed = []
    for name, entry in (manifest.get("inputs") or {}).items():
        now = prepared.file_hashes.get(name)
        if now is not None and entry.get("sha256") not in (None, now):
            changed.append(name)
    return changed


def as_in_run(prepared: Prepared, run_dir: Path) -> Prepared:
    """The prepared scenario as the run in `run_dir` solved it: its rep homes (reps.csv) and bands (kpis.json)."""
    from ..io.run_files import read_run_json, read_run_table

    prepared = with_run_homes(prepared, read_run_table(run_dir, "reps.csv", ("rep_id",)))
    return with_run_bands(prepared, read_run_json(run_dir, "kpis.json"))


def with_run_bands(prepared: Prepared, kpis: dict[str, Any]) -> Prepared:
    """The bands the run settled on (kpis.json `workload.drive_bands`, solve/drive_bands.py), rebuilt exactly
    from each team's drive scale, after `with_run_homes`: a run's bands, not the nearest-rep ones."""
    settled = (kpis.get("workload") or {}).get("drive_bands")
    problem = prepared.problem
    if not settled or not problem.per_rep_drive:
        return prepared
    scale = np.array([float(settled.get(name, {}).get("scale", 1.0)) for name in problem.team_names])
    problem = drive_scaled_bands(problem, rep_capacity_s(prepared.inputs.reps),
                                 prepared.scenario.rules.balance_tolerance, scale)
    return dataclasses.replace(prepared, problem=problem, drive_bands=settled)


def with_run_homes(prepared: Prepared, reps: pd.DataFrame) -> Prepared:
    """In design mode the run moved rep homes (reps.csv `home_lon,home_lat`): distances are from those."""
    if not {"home_lon", "home_lat"} <= set(reps.columns):
        return prepared
    homes = reps.set_index("rep_id").reindex(prepared.problem.rep_ids.astype(str))
    if homes["home_lon"].isna().any():
        return prepared
    points = gpd.GeoSeries(gpd.points_from_xy(homes["home_lon"].astype(float), homes["home_lat"].astype(float)),
                           crs=4326).to_crs(prepared.inputs.crs)
    xy = np.column_stack([points.x.to_numpy(), points.y.to_numpy()])
    return dataclasses.replace(prepared, problem=prepared.problem.replace(rep_xy=xy))
