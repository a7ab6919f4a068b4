"""Checks that span files: what the roster, the customers and the scenario name must exist in the others."""

from __future__ import annotations

from difflib import get_close_matches

import geopandas as gpd
import numpy as np

from ..config import Scenario
from ..errors import Finding
from ..lists import split_list
from ..roster import team_members
from .findings import FindingLog


def _rows(rows: list[int], shown: int = 8) -> str:
    return ", ".join(map(str, rows[:shown])) + (", ..." if len(rows) > shown else "")


def _did_you_mean(name: str, known: list[str]) -> str:
    """A close known name (case and small typos forgiven), as "did you mean 'x'? ", or ""."""
    folded = {k.casefold(): k for k in known}
    match = folded.get(name.casefold()) or next(iter(get_close_matches(name, known, n=1, cutoff=0.75)), None)
    return f"did you mean {match!r}? " if match else ""


def check_references(scenario: Scenario, customers: gpd.GeoDataFrame | None, reps: gpd.GeoDataFrame,
                     depots: gpd.GeoDataFrame | None, distributors: gpd.GeoDataFrame | None,
                     log: FindingLog, *, units: gpd.GeoDataFrame | None = None) -> None:
    """Cross-file references: rep teams exist, referenced reps, depots, distributors and units exist, no team is
    empty.

    The roster's checks run even when the customers had errors (`customers` None), so both are reported at once.
    """
    reps_name = scenario.inputs.reps.label
    reps_first = scenario.inputs.reps.first_row
    team_names = [t.name for t in scenario.teams]
    rep_ids = set(reps["rep_id"])
    explicit = {rid for t in scenario.teams for rid in (t.reps or [])}
    unknown: dict[str, list[int]] = {}  # each unknown team name once, with every row naming it
    for pos, (rid, team_text) in enumerate(zip(reps["rep_id"], reps["team"], strict=True)):
        for listed in split_list(team_text):
            if listed not in team_names and rid not in explicit:
                unknown.setdefault(listed, []).append(pos + reps_first)
    for named, where in unknown.items():
        more = f" (and {len(where) - 1} more row(s): {_rows(where[1:])})" if len(where) > 1 else ""
        log.add(Finding(f"unknown team {named!r}{more}; {_did_you_mean(named, team_names)}the scenario's teams are "
                        f"{', '.join(team_names)}", source=reps_name, row=where[0], field="team"), kind="unknown team")
    for i, team in enumerate(scenario.teams):
        for rid in team.reps or []:
            if rid not in rep_ids:
                log.add(Finding(f"team {team.name!r} lists rep {rid!r}, which is not in {reps_name}",
                                source=scenario.source_name, field=f"teams[{i}].reps"))
        members = team_members(team.name, team.reps, reps)
        if len(members) == 0:
            log.add(Finding(f"team {team.name!r} has no reps (no row of {reps_name} has team={team.name})",
                            source=scenario.source_name, field=f"teams[{i}]"))
    for district, district_reps in scenario.hierarchy.districts.items():
        for rid in district_reps:
            if rid not in rep_ids:
                log.add(Finding(f"district {district!r} lists rep {rid!r}, which is not in {reps_name}",
                                source=scenario.source_name, field=f"hierarchy.districts.{district}"))
    if "depot_id" in reps and depots is not None:
        known = set(depots["depot_id"])
        for pos in np.flatnonzero(((reps["depot_id"] != "") & ~reps["depot_id"].isin(known)).to_numpy()).tolist():
            log.add(Finding(f"depot {reps['depot_id'].iloc[pos]!r} is not in the depots layer", source=reps_name,
                            row=int(pos) + reps_first, field="depot_id"))
    if "distributor_id" in reps and distributors is not None and scenario.inputs.distributors is not None:
        # a rep pinned to a footprint the layer lacks: named here, not an infeasible zone later
        known = set(distributors["distributor_id"].astype(str))
        pins = reps["distributor_id"].fillna("").astype(str)
        for pos in np.flatnonzero(((pins != "") & ~pins.isin(known)).to_numpy()).tolist():
            log.add(Finding(f"distributor {pins.iloc[pos]!r} is not in {scenario.inputs.distributors.label}",
                            source=reps_name, row=int(pos) + reps_first, field="distributor_id"),
                    kind="distributor unknown")
    if customers is None:
        return
    cust_name = scenario.inputs.customers.label
    cust_first = scenario.inputs.customers.first_row
    if "locked_rep_id" in customers:
        values = customers["locked_rep_id"]
        for pos in np.flatnonzero(((values != "") & ~values.isin(rep_ids)).to_numpy()).tolist():
            log.add(Finding(f"rep {values.iloc[pos]!r} is not in {reps_name}", source=cust_name,
                            row=int(pos) + cust_first, field="locked_rep_id"), kind="locked_rep_id unknown")
    if "unit_id" in customers and units is not None and scenario.inputs.units is not None:
        # a customer placed in a unit the layer lacks: named here, not a unit without a shape later
        known_units = set(units["unit_id"].astype(str))
        values = customers["unit_id"].fillna("").astype(str)
        for pos in np.flatnonzero(((values != "") & ~values.isin(known_units)).to_numpy()).tolist():
            log.add(Finding(f"unit {values.iloc[pos]!r} is not in {scenario.inputs.units.label}", source=cust_name,
                            row=int(pos) + cust_first, field="unit_id"), kind="unit_id unknown")
    if "current_rep_id" in customers:  # a rep who left is normal: their customers are moved ("lost rep")
        values = customers["current_rep_id"]
        gone = np.flatnonzero(((values != "") & ~values.isin(rep_ids)).to_numpy())
        if len(gone):
            names = sorted(set(values.iloc[gone]))
            log.add(Finding(f"{len(gone)} customers' current rep is not in {reps_name} "
                            f"({', '.join(map(repr, names[:5]))}{', ...' if len(names) > 5 else ''}): they get a new "
                            "rep, listed in changes.csv as 'lost rep'", source=cust_name,
                            row=int(gone[0]) + cust_first, field="current_rep_id"), warning=True)
