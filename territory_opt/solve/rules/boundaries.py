"""Hard boundaries: per boundary kind (distributor, depot), each rep works in one zone, and a rep pinned to a zone
only there. A free rep's zone is a choice of the model (CP-SAT and the LP choose it; the ledger commits a rep to
the zone of its first bounded work and keeps it there)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import Finding
from ...model.problem import Problem
from .base import CpSatBuild, Rule, hours

if TYPE_CHECKING:
    from ortools.sat.python.cp_model import IntVar

    from ..candidates import Arcs
    from ..ledger import Ledger
    from ..lp_rows import SparseLp


class Boundaries(Rule):
    name = "zones"
    moves = True

    def active(self, problem: Problem) -> bool:
        return problem.n_zone_kinds > 0

    def group_rows(self, problem: Problem) -> list[np.ndarray]:
        return [problem.need_zone[k] for k in range(problem.n_zone_kinds)]

    def group_allows(self, problem: Problem, values: tuple[int, ...]) -> np.ndarray:
        ok = np.ones(problem.n_reps, dtype=bool)
        for k, zone in enumerate(values):
            if zone >= 0:
                pin = problem.rep_zone[k]
                ok &= (pin < 0) | (pin == zone)
        return ok

    def pair_allows(self, problem: Problem, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        ok = np.ones(len(need), dtype=bool)
        for k in range(problem.n_zone_kinds):  # a rep pinned to a zone takes only that zone's needs
            zone, pin = problem.need_zone[k, need], problem.rep_zone[k, rep]
            ok &= (zone < 0) | (pin < 0) | (zone == pin)
        return ok

    def add_cpsat(self, build: CpSatBuild) -> int:
        """Per kind, each free rep picks one zone and takes needs of that zone only (a pinned rep's other-zone arcs
        are not eligible, so they never exist)."""
        problem, arcs, x, model = build.problem, build.arcs, build.x, build.model
        count = 0
        for k in range(problem.n_zone_kinds):
            zone = problem.need_zone[k, arcs.need]
            free = (zone >= 0) & (problem.rep_zone[k, arcs.rep] < 0)
            chosen: dict[tuple[int, int], IntVar] = {}
            for i in np.flatnonzero(free).tolist():
                key = (int(arcs.rep[i]), int(zone[i]))
                if key not in chosen:
                    chosen[key] = model.new_bool_var(f"zone{k}_{key[0]}_{key[1]}")
                model.add_implication(x[i], chosen[key])
            per_rep: dict[int, list[IntVar]] = {}
            for (rep, _), var in chosen.items():
                per_rep.setdefault(rep, []).append(var)
            for variables in per_rep.values():
                if len(variables) > 1:
                    model.add_at_most_one(variables)
                    count += 1
        return count

    def add_lp(self, lp: SparseLp, problem: Problem, arcs: Arcs) -> None:
        """Per kind: y[rep, zone] >= x of its arcs in that zone; sum over zones of y <= 1, for free reps."""
        for k in range(problem.n_zone_kinds):
            zone = problem.need_zone[k, arcs.need]
            free = np.flatnonzero((zone >= 0) & (problem.rep_zone[k, arcs.rep] < 0))
            if len(free) == 0:
                continue
            n_zones = len(problem.zone_names[k])
            pairs, group = np.unique(arcs.rep[free] * n_zones + zone[free], return_inverse=True)
            first = lp.link(free, group.reshape(-1))
            reps, row = np.unique(pairs // n_zones, return_inverse=True)
            lp.add(row.reshape(-1), first + np.arange(len(pairs)), np.ones(len(pairs)), np.full(len(reps), -np.inf),
                   np.ones(len(reps)))

    def allows_moves(self, ledger: Ledger, need: np.ndarray, target: np.ndarray) -> np.ndarray:
        p = ledger.problem
        ok = np.ones(len(need), dtype=bool)
        for k in range(p.n_zone_kinds):
            zone, committed = p.need_zone[k, need], ledger.zone[k, target]
            ok &= (zone < 0) | (committed < 0) | (committed == zone)
        return ok

    def allows_move(self, ledger: Ledger, need: int, target: int) -> bool:
        p = ledger.problem
        for k in range(p.n_zone_kinds):
            zone, committed = int(p.need_zone[k, need]), int(ledger.zone[k, target])
            if zone >= 0 and committed >= 0 and committed != zone:
                return False
        return True

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        p = ledger.problem
        reasons = []
        for k in range(p.n_zone_kinds):
            zone, committed = int(p.need_zone[k, need]), int(ledger.zone[k, rep])
            if zone >= 0 and committed >= 0 and committed != zone:
                names = p.zone_names[k]
                how = "is pinned to" if p.rep_zone[k, rep] >= 0 else "works in"
                reasons.append(f"{how} {p.zone_kinds[k]} {names[committed]}, this customer is in {names[zone]}")
        return reasons

    def findings(self, problem: Problem) -> list[Finding]:
        """Per boundary kind, team and zone: the zone's workload against every rep who may work there."""
        findings: list[Finding] = []
        for k, kind in enumerate(problem.zone_kinds):
            zone = problem.need_zone[k]
            for t, team in enumerate(problem.team_names):
                needs = np.flatnonzero((problem.need_team == t) & (zone >= 0))
                if len(needs) == 0:
                    continue
                load = np.bincount(zone[needs], weights=problem.min_workload_s[needs].astype(float),
                                   minlength=len(problem.zone_names[k]))
                members = np.flatnonzero(problem.rep_in_team[:, t])
                pins = problem.rep_zone[k, members]
                free_top = problem.rep_max_s[members[pins < 0]].sum()
                for z in np.flatnonzero(load > 0):
                    top = problem.rep_max_s[members[pins == z]].sum() + free_top
                    if load[z] > top:
                        findings.append(Finding(
                            f"{kind} {problem.zone_names[k][z]!r} needs {hours(load[z])} from team {team!r} but the "
                            f"reps who may work there can take at most {hours(top)}: short by "
                            f"{hours(load[z] - top)} (pin more reps to it, leave reps unpinned, or widen "
                            "rules.balance_tolerance)"))
        return findings

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        return "boundaries" if (problem.need_zone[:, needs] >= 0).any() else None
