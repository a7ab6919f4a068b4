"""The frozen, array-backed assignment problem every solver and the metrics see.

It is checked once when built and read-only afterwards (`replace()` gives a changed copy). Nothing in it knows
about files, YAML or GeoDataFrames: `model.build.build_problem` hands arrays over, so solvers and tests can build
problems directly.

Units: coordinates in metres of one metric CRS; workload in integer seconds (so balance is checked exactly, with
no rounding argument between the solver and the judge); travel cost in visit-kilometres.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from .drive import drive_seconds
from .member_travel import NO_REP as NO_REP  # "no rep", defined where the member table needs it first
from .member_travel import MemberTravel

MIN_BLOCK = 2_000_000  # (need, rep) pairs per block when a need's least workload is searched


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Problem:
    customer_ids: np.ndarray  # (C,) str
    customer_xy: np.ndarray  # (C, 2) metres
    rep_ids: np.ndarray  # (R,) str
    rep_xy: np.ndarray  # (R, 2) metres
    team_names: tuple[str, ...]
    rep_in_team: np.ndarray  # (R, T) bool
    need_customer: np.ndarray  # (N,) customer index of each (customer, team) need
    need_team: np.ndarray  # (N,) team index
    need_visits: np.ndarray  # (N,) visits per cycle
    need_workload_s: np.ndarray  # (N,) int64 seconds per cycle
    need_travel_weight: np.ndarray  # (N,) weight of travel for this need's team
    need_locked_rep: np.ndarray  # (N,) rep index or NO_REP
    need_current_rep: np.ndarray  # (N,) rep index or NO_REP
    rep_target_s: np.ndarray  # (R,) float seconds
    rep_min_s: np.ndarray  # (R,) int64: lowest allowed workload
    rep_max_s: np.ndarray  # (R,) int64: highest allowed workload
    max_reps_per_customer: int  # the scenario-wide contact cap
    detour_factor: float = 1.0
    continuity_weight: float = 0.0
    # Soft balance: visit-km per hour a rep's workload lies off its target, counted in whole minutes (scaling.py).
    balance_weight: float = 0.0
    # Hard boundaries: per kind (e.g. "distributor"), every rep's needs of that kind lie in one zone.
    zone_kinds: tuple[str, ...] = ()
    zone_names: tuple[tuple[str, ...], ...] = ()  # per kind, the zone names (index = zone id)
    need_zone: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.int64))  # (K, N); -1: free
    rep_zone: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.int64))  # (K, R); -1: free
    # Skills: bit b set = product line b. A rep takes a need only if it carries every line the need requires.
    need_skills: np.ndarray | None = None  # (N,) int64 bit masks; None: no skill rule
    rep_skills: np.ndarray | None = None  # (R,) int64 bit masks
    skill_names: tuple[str, ...] = ()
    # "Never this rep": sorted keys need * R + rep of excluded pairs.
    excluded: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    # Continuity as a hard rule: at most this many (customer, team) needs leave their current rep; None: no limit.
    max_moved: int | None = None
    # ... and by value: the moved needs' `need_value` sums to at most this; None: no limit.
    max_moved_value: int | None = None
    need_value: np.ndarray | None = None  # (N,) int64, e.g. the customer's current value
    # More balance metrics (e.g. value, accounts), each with its own band: per metric a need's amount and every
    # rep's lowest and highest total. Workload (above) is always metric 0.
    metric_names: tuple[str, ...] = ()
    need_metric: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.int64))  # (M, N)
    rep_metric_min: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.int64))  # (M, R)
    rep_metric_max: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.int64))  # (M, R)
    # Per-arc data, dense (needs x reps), for models where a need's workload or cost depends on the rep (the
    # generalised assignment benchmarks; drive time from each rep's home). None: derived from the arrays above.
    arc_workload_s: np.ndarray | None = None  # (N, R) int64, replaces need_workload_s
    # (N, R) float, replaces visits x travel weight x road km; a bundled problem too big to store it reads each
    # cell from its members (model/member_travel.py)
    arc_travel: np.ndarray | MemberTravel | None = None
    # Contact cap per customer where it differs from the scenario-wide one (overrides by segment or column).
    customer_max_reps: np.ndarray | None = None  # (C,) int64 >= 1
    # Bundled needs (solve/aggregate.py): the customers each need stands for, CSR-style over `member_customer`.
    # None: every need is one customer. Rules that count customers or measure a need's farthest customer read
    # `need_sizes` and `farthest_km`, which follow the members.
    member_ptr: np.ndarray | None = None  # (N + 1,) int64
    member_customer: np.ndarray | None = None  # (M,) int64 indices into an original customer table
    member_xy: np.ndarray | None = None  # (M, 2) metres: the members' locations
    # Alignment units (prepare/units.py): each need's unit (-1: none), the units' adjacency (pairs u < v), and
    # per team whether its territories must be one piece in that graph. None: no units.
    need_unit: np.ndarray | None = None  # (N,) int64
    unit_edges: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 2), np.int64))
    team_contiguous: np.ndarray | None = None  # (T,) bool
    unit_xy: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 2)))  # (U, 2) unit centres
    # `teams[].max_customers`: per team, at most this many of its customers per rep (counted with `need_sizes`);
    # 0: no limit. None: no team has one.
    team_max_customers: np.ndarray | None = None  # (T,) int64 >= 0
    # `teams[].max_km`: per team, a rep takes a need only if its farthest customer lies within this many road km
    # of the rep's home (`farthest_km`); inf: no limit. None: no team has one.
    team_max_km: np.ndarray | None = None  # (T,) float > 0
    # Drive in the workload (model/drive.py): need n given to rep r also costs
    # rint(drive_s_per_km[n] x road_km(n, r) + drive_base_s[n]) seconds per cycle, added by `workload()` when
    # `drive_counts`; otherwise only reported (reps.csv drive_hours_est). None: no per-rep estimate.
    drive_s_per_km: np.ndarray | None = None  # (N,) float >= 0 (0: phone work)
    drive_base_s: np.ndarray | None = None  # (N,) float >= 0
    drive_counts: bool = False
    # The large-problem fallback: drive seconds already inside need_workload_s (the estimate at the nearest
    # eligible rep), so calls = need_workload_s - need_drive_s. None: need_workload_s is calls only.
    need_drive_s: np.ndarray | None = None  # (N,) int64

    def __post_init__(self) -> None:
        c, r, t, n = len(self.customer_ids), len(self.rep_ids), len(self.team_names), len(self.need_customer)
        checks = {
            "customer_xy": (self.customer_xy.shape == (c, 2)),
            "rep_xy": (self.rep_xy.shape == (r, 2)),
            "rep_in_team": (self.rep_in_team.shape == (r, t)),
            "need arrays": all(len(a) == n for a in (
                self.need_team, self.need_visits, self.need_workload_s, self.need_travel_weight,
                self.need_locked_rep, self.need_current_rep)),
            "rep arrays": all(len(a) == r for a in (self.rep_target_s, self.rep_min_s, self.rep_max_s)),
            "need_customer range": bool(n == 0 or (self.need_customer.min() >= 0 and self.need_customer.max() < c)),
            "need_team range": bool(n == 0 or (self.need_team.min() >= 0 and self.need_team.max() < t)),
            "workload >= 0": bool((self.need_workload_s >= 0).all()),
            "min <= max": bool((self.rep_min_s <= self.rep_max_s).all()),
            "weights >= 0": self.continuity_weight >= 0 and self.balance_weight >= 0,
            "max_reps_per_customer >= 1": self.max_reps_per_customer >= 1 and (
                self.customer_max_reps is None or (self.customer_max_reps.shape == (c,)
                                                   and bool((self.customer_max_reps >= 1).all()))),
            "finite coordinates": bool(np.isfinite(self.customer_xy).all() and np.isfinite(self.rep_xy).all()),
            "skills": (self.need_skills is None and self.rep_skills is None) or (
                self.need_skills is not None and self.rep_skills is not None
                and len(self.need_skills) == n and len(self.rep_skills) == r),
            "excluded sorted": bool(len(self.excluded) == 0 or (np.diff(self.excluded) > 0).all()),
            "max_moved >= 0": self.max_moved is None or self.max_moved >= 0,
            "max_moved_value": self.max_moved_value is None or (
                self.max_moved_value >= 0 and self.need_value is not None and len(self.need_value) == n),
            "zones": (len(self.zone_names) == len(self.zone_kinds)
                      and self._zone_shape_ok(len(self.zone_kinds), n, r)),
            "metrics": self._metric_shape_ok(n, r),
            "arc tables": all(a is None or a.shape == (n, r) for a in (self.arc_workload_s, self.arc_travel)),
            "arc workload >= 0": self.arc_workload_s is None or bool((self.arc_workload_s >= 0).all()),
            "units": (self.need_unit is None or (len(self.need_unit) == n
                                                  and bool((self.need_unit < len(self.unit_xy)).all()))) and (
                self.team_contiguous is None or len(self.team_contiguous) == t),
            "team_max_customers": self.team_max_customers is None or (
                self.team_max_customers.shape == (t,) and bool((self.team_max_customers >= 0).all())),
            "team_max_km": self.team_max_km is None or (
                self.team_max_km.shape == (t,) and bool((self.team_max_km > 0).all())),
            "drive": (self.drive_s_per_km is None) == (self.drive_base_s is None) and all(
                a is None or (a.shape == (n,) and bool((a >= 0).all()) and bool(np.isfinite(a).all()))
                for a in (self.drive_s_per_km, self.drive_base_s))
            and (self.need_drive_s is None or (self.need_drive_s.shape == (n,) and bool((self.need_drive_s >= 0).all())
                                               and bool((self.need_drive_s <= self.need_workload_s).all()))),
            "members": self.member_ptr is None or (
                len(self.member_ptr) == n + 1 and self.member_customer is not None and self.member_xy is not None
                and len(self.member_customer) == self.member_ptr[-1] == len(self.member_xy)),
        }
        broken = [name for name, ok in checks.items() if not ok]
        if broken:
            raise ValueError(f"inconsistent problem: {', '.join(broken)}")
        pairs = np.stack([self.need_customer, self.need_team], axis=1)
        if len(np.unique(pairs, axis=0)) != n:
            raise ValueError("inconsistent problem: a (customer, team) need appears twice")
        for name in dataclasses.fields(self):
            value = getattr(self, name.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    def _zone_shape_ok(self, k: int, n: int, r: int) -> bool:
        if k == 0:
            return self.need_zone.size == 0 and self.rep_zone.size == 0
        if self.need_zone.shape != (k, n) or self.rep_zone.shape != (k, r):
            return False
        sizes = np.array([len(names) for names in self.zone_names])[:, None]
        return bool((self.need_zone < sizes).all() and (self.rep_zone < sizes).all())

    def _metric_shape_ok(self, n: int, r: int) -> bool:
        m = len(self.metric_names)
        if m == 0:
            return self.need_metric.size == 0 and self.rep_metric_min.size == 0 and self.rep_metric_max.size == 0
        return (self.need_metric.shape == (m, n) and self.rep_metric_min.shape == (m, r)
                and self.rep_metric_max.shape == (m, r) and bool((self.rep_metric_min <= self.rep_metric_max).all()))

    def moving(self, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """Whether giving `need` to `rep` moves it away from its current rep."""
        current = self.need_current_rep[need]
        return (current != NO_REP) & (current != rep)

    @functools.cached_property
    def customer_caps(self) -> np.ndarray:
        """(C,) the contact cap of every customer."""
        if self.customer_max_reps is not None:
            return self.customer_max_reps
        return np.full(self.n_customers, self.max_reps_per_customer, dtype=np.int64)

    @functools.cached_property
    def territory_unit(self) -> np.ndarray | None:
        """(N,) the unit through which each need counts in its rep's territory: `need_unit`, but -1 for a locked
        need. A lock is a reported exception to units staying whole and to one-piece territories: the solver's
        bundles leave locked needs out, and the judge, the map's graph and the border search must do the same."""
        if self.need_unit is None:
            return None
        return np.where(self.need_locked_rep == NO_REP, self.need_unit, -1).astype(np.int64)

    @property
    def balance_names(self) -> tuple[str, ...]:
        """The balanced metrics: workload first, then the extra ones."""
        return ("workload", *self.metric_names)

    @functools.cached_property
    def band_min(self) -> np.ndarray:
        """(Q, R) lowest allowed total per balanced metric and rep (computed once, read-only)."""
        return _frozen(np.vstack([self.rep_min_s[None, :], self.rep_metric_min.reshape(-1, self.n_reps)]))

    @functools.cached_property
    def band_max(self) -> np.ndarray:
        """(Q, R) highest allowed total per balanced metric and rep (computed once, read-only)."""
        return _frozen(np.vstack([self.rep_max_s[None, :], self.rep_metric_max.reshape(-1, self.n_reps)]))

    def workload(self, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """Seconds per cycle `rep` spends on `need`: its calls (per arc when arc workloads are given) and, when drive
        counts, the drive estimate (`drive_s`)."""
        calls = self.arc_workload_s[need, rep] if self.arc_workload_s is not None else self.need_workload_s[need]
        if self.per_rep_drive:
            return calls + self.drive_s(need, rep)
        return calls

    @property
    def per_rep_drive(self) -> bool:
        """Whether `workload()` adds a rep-dependent drive estimate."""
        return self.drive_counts and self.drive_s_per_km is not None

    @property
    def rep_independent_workload(self) -> bool:
        """Whether a need costs every rep the same workload (`need_workload_s`): what the large engine needs."""
        return self.arc_workload_s is None and not self.per_rep_drive

    def drive_s(self, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """(len(need),) int64 estimated drive seconds per cycle of `rep` for `need` (model/drive.py), counted in
        the workload or not; the nearest-rep fallback's figure (`need_drive_s`) when there is no per-rep one."""
        need = np.asarray(need, dtype=np.int64)
        if self.drive_s_per_km is not None and self.drive_base_s is not None:
            return drive_seconds(self.drive_s_per_km[need], self.drive_base_s[need],
                                 self.road_km(need, np.asarray(rep, dtype=np.int64)))
        if self.need_drive_s is not None:
            return self.need_drive_s[need]
        return np.zeros(len(need), dtype=np.int64)

    def calls_only(self) -> Problem:
        """The same problem whose workload is call time only (bands unchanged): what routing balances once it
        measures real drive (routing/feedback.py)."""
        if self.need_drive_s is not None:
            return self.replace(need_workload_s=self.need_workload_s - self.need_drive_s, need_drive_s=None)
        if self.per_rep_drive:
            return self.replace(drive_counts=False)
        return self

    def amounts(self, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """(Q, len(need)) int64: what giving each need to its rep adds to every balanced metric."""
        rows = [np.asarray(self.workload(need, rep), dtype=np.int64)[None, :]]
        if self.metric_names:
            rows.append(self.need_metric[:, need].astype(np.int64))
        return np.vstack(rows)

    def rep_totals(self, assignment: np.ndarray) -> np.ndarray:
        """(Q, R) int64: each rep's total of every balanced metric under `assignment` (workload seconds first)."""
        amounts = self.amounts(np.arange(self.n_needs), assignment)
        return np.vstack([np.bincount(assignment, weights=row, minlength=self.n_reps)
                          for row in amounts]).astype(np.int64)

    @functools.cached_property
    def min_workload_s(self) -> np.ndarray:
        """(N,) the least workload each need can cost (for counting arguments that must stay valid)."""
        if self.per_rep_drive:
            return self._min_workload_by_team()
        if self.arc_workload_s is not None:  # over the need's team only (other reps' cells may hold 0)
            eligible = self.rep_in_team[:, self.need_team].T
            least = np.where(eligible, self.arc_workload_s, np.iinfo(np.int64).max).min(axis=1, initial=np.iinfo(
                np.int64).max)
            return np.where(eligible.any(axis=1), least, 0).astype(np.int64)
        return self.need_workload_s

    @property
    def nearest_drive_s(self) -> np.ndarray:
        """(N,) with per-rep drive: each need's drive from the nearest rep of its team (its least workload less its
        calls), what the bands start from (model/build.py, solve/drive_bands.py)."""
        return self.min_workload_s - self.need_workload_s

    def _min_workload_by_team(self) -> np.ndarray:
        """Per need, its least workload over the reps of its team. With the same calls for every rep, the drive
        estimate only grows with the distance, so the nearest rep's is the least (a k-d tree: 1,000,000 customers
        x 1,600 reps took minutes in blocks); with calls per arc, every rep is tried in blocks (no dense table)."""
        out = np.zeros(self.n_needs, dtype=np.int64)
        for team in range(len(self.team_names)):
            reps = np.flatnonzero(self.rep_in_team[:, team])
            needs = np.flatnonzero(self.need_team == team)
            if len(reps) == 0 or len(needs) == 0:
                continue
            if self.arc_workload_s is None:
                _, nearest = cKDTree(self.rep_xy[reps]).query(self.customer_xy[self.need_customer[needs]])
                out[needs] = np.asarray(self.workload(needs, reps[np.asarray(nearest, dtype=np.int64)]),
                                        dtype=np.int64)
                continue
            step = max(1, MIN_BLOCK // len(reps))
            for start in range(0, len(needs), step):
                block = needs[start:start + step]
                grid = self.workload(np.repeat(block, len(reps)), np.tile(reps, len(block)))
                out[block] = np.asarray(grid, dtype=np.int64).reshape(len(block), len(reps)).min(axis=1)
        return out

    @property
    def n_zone_kinds(self) -> int:
        return len(self.zone_kinds)

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_reps(self) -> int:
        return len(self.rep_ids)

    @property
    def n_needs(self) -> int:
        return len(self.need_customer)

    def replace(self, **changes: Any) -> Problem:
        """A changed copy, checked again."""
        return dataclasses.replace(self, **changes)

    def subset_needs(self, keep: np.ndarray) -> Problem:
        """The same problem with only the needs where `keep` is true (every per-need array filtered together)."""
        keep = np.asarray(keep, dtype=bool)
        new_index = np.cumsum(keep) - 1
        ex_need, ex_rep = self.excluded // max(self.n_reps, 1), self.excluded % max(self.n_reps, 1)
        kept = keep[ex_need] if len(self.excluded) else np.zeros(0, dtype=bool)
        return self.replace(
            need_customer=self.need_customer[keep], need_team=self.need_team[keep],
            need_visits=self.need_visits[keep], need_workload_s=self.need_workload_s[keep],
            need_travel_weight=self.need_travel_weight[keep], need_locked_rep=self.need_locked_rep[keep],
            need_current_rep=self.need_current_rep[keep],
            need_zone=self.need_zone[:, keep] if self.n_zone_kinds else self.need_zone,
            need_skills=None if self.need_skills is None else self.need_skills[keep],
            excluded=np.sort(new_index[ex_need[kept]] * self.n_reps + ex_rep[kept]).astype(np.int64),
            need_metric=self.need_metric[:, keep] if self.metric_names else self.need_metric,
            arc_workload_s=None if self.arc_workload_s is None else self.arc_workload_s[keep],
            arc_travel=None if self.arc_travel is None else self.arc_travel[keep],
            need_value=None if self.need_value is None else self.need_value[keep],
            need_unit=None if self.need_unit is None else self.need_unit[keep],
            drive_s_per_km=None if self.drive_s_per_km is None else self.drive_s_per_km[keep],
            drive_base_s=None if self.drive_base_s is None else self.drive_base_s[keep],
            need_drive_s=None if self.need_drive_s is None else self.need_drive_s[keep],
            **self._kept_members(keep),
        )

    def _kept_members(self, keep: np.ndarray) -> dict[str, np.ndarray | None]:
        """The member arrays of the kept needs (bundled problems only)."""
        if self.member_ptr is None or self.member_customer is None or self.member_xy is None:
            return {}
        sizes = self.need_sizes[keep]
        rows = np.concatenate([np.arange(self.member_ptr[i], self.member_ptr[i + 1])
                               for i in np.flatnonzero(keep)] or [np.zeros(0, np.int64)]).astype(np.int64)
        return {"member_ptr": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
                "member_customer": self.member_customer[rows], "member_xy": self.member_xy[rows]}

    def part(self, need_keep: np.ndarray, rep_keep: np.ndarray) -> Problem:
        """The independent part made of these needs, these reps and the needs' customers, every index renumbered.

        A current or locked rep outside the part becomes NO_REP (a locked need's rep is always inside its part; a
        current rep outside it only adds the same continuity penalty to every choice, see `outside_current`).
        """
        sub = self.subset_needs(need_keep)
        reps = np.flatnonzero(np.asarray(rep_keep, dtype=bool))
        rep_index = np.full(self.n_reps + 1, NO_REP, dtype=np.int64)  # the last slot maps NO_REP to itself
        rep_index[reps] = np.arange(len(reps))
        customers, need_customer = np.unique(sub.need_customer, return_inverse=True)
        ex_need, ex_rep = sub.excluded // max(self.n_reps, 1), sub.excluded % max(self.n_reps, 1)
        kept = rep_index[ex_rep] != NO_REP
        return sub.replace(
            customer_ids=self.customer_ids[customers], customer_xy=self.customer_xy[customers],
            customer_max_reps=None if self.customer_max_reps is None else self.customer_max_reps[customers],
            need_customer=need_customer.reshape(-1).astype(np.int64),
            rep_ids=self.rep_ids[reps], rep_xy=self.rep_xy[reps], rep_in_team=self.rep_in_team[reps],
            rep_target_s=self.rep_target_s[reps], rep_min_s=self.rep_min_s[reps], rep_max_s=self.rep_max_s[reps],
            need_locked_rep=rep_index[sub.need_locked_rep], need_current_rep=rep_index[sub.need_current_rep],
            rep_zone=self.rep_zone[:, reps] if self.n_zone_kinds else self.rep_zone,
            rep_skills=None if self.rep_skills is None else self.rep_skills[reps],
            excluded=np.sort(ex_need[kept] * len(reps) + rep_index[ex_rep[kept]]).astype(np.int64),
            rep_metric_min=self.rep_metric_min[:, reps] if self.metric_names else self.rep_metric_min,
            rep_metric_max=self.rep_metric_max[:, reps] if self.metric_names else self.rep_metric_max,
            arc_workload_s=None if sub.arc_workload_s is None else sub.arc_workload_s[:, reps],
            arc_travel=None if sub.arc_travel is None else sub.arc_travel[:, reps],
        )

    @functools.cached_property
    def need_sizes(self) -> np.ndarray:
        """(N,) how many customers each need stands for (1 unless needs are bundled)."""
        if self.member_ptr is None:
            return np.ones(self.n_needs, dtype=np.int64)
        return np.diff(self.member_ptr).astype(np.int64)

    def farthest_km(self, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """Road-distance proxy from a rep's home to the farthest customer of each need, km."""
        need, rep = np.asarray(need, dtype=np.int64), np.asarray(rep, dtype=np.int64)
        if self.member_ptr is None or self.member_xy is None:
            return self.road_km(need, rep)
        sizes = self.need_sizes[need]
        owner = np.repeat(np.arange(len(need)), sizes)
        starts = np.repeat(self.member_ptr[need], sizes)
        offsets = np.arange(len(owner)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        delta = self.member_xy[starts + offsets] - self.rep_xy[rep[owner]]
        km = np.hypot(delta[:, 0], delta[:, 1]) * self.detour_factor / 1000.0
        out = np.zeros(len(need))
        np.maximum.at(out, owner, km)
        return out

    def road_km(self, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """Road distance proxy (straight line x detour) from each need's customer to a rep's home, km."""
        delta = self.customer_xy[self.need_customer[need]] - self.rep_xy[rep]
        return np.hypot(delta[:, 0], delta[:, 1]) * self.detour_factor / 1000.0

    def travel_cost(self, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """The objective's travel term of giving `need` to `rep`: visits x the team's travel weight x road km (or
        the given `arc_travel`)."""
        if self.arc_travel is not None:
            return np.asarray(self.arc_travel[need, rep], dtype=float)
        return self.need_visits[need] * self.need_travel_weight[need] * self.road_km(need, rep)

    def arc_cost(self, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """Objective contribution of giving `need` to `rep`: visit-weighted travel plus the continuity penalty."""
        travel = self.travel_cost(need, rep)
        current = self.need_current_rep[need]
        moved = (current != NO_REP) & (current != rep)
        return travel + self.continuity_weight * moved


