"""Coverage: which teams must cover each customer.

Exclusive teams (key accounts, inside sales) are carve-outs: they claim their customers first, in the order
listed, and those customers are covered by no other team. Every other team covers the unclaimed customers that
match its `covers` block, so one customer can need a generalist and a specialist overlay at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config import Covers, KeyAccounts, Scenario, Team
from ..errors import ConfigError, Finding
from ..lists import split_list


@dataclass(frozen=True)
class Coverage:
    """The (customer, team) pairs that need a rep: `need_customer[i]` is covered by `teams[need_team[i]]`."""

    teams: tuple[str, ...]
    need_customer: np.ndarray
    need_team: np.ndarray
    uncovered: np.ndarray  # row positions of customers no team covers
    absorbed_customer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    absorbed_team: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # the team dropped
    absorbed_by: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # the kept team taking its lines

    def teams_of_customers(self, n_customers: int) -> list[str]:
        """Per customer, its teams joined with ';' (scenario order)."""
        names: list[list[str]] = [[] for _ in range(n_customers)]
        for c, t in zip(self.need_customer.tolist(), self.need_team.tolist(), strict=True):
            names[c].append(self.teams[t])
        return [";".join(n) for n in names]


def covers_mask(customers: pd.DataFrame, covers: Covers, where: str, source: str = "scenario") -> np.ndarray:
    """Customers matching every condition of a `covers` block."""
    mask = np.ones(len(customers), dtype=bool)
    if covers.sectors is not None:
        mask &= customers["sector"].isin(covers.sectors).to_numpy()
    if covers.tiers is not None:
        mask &= customers["tier"].isin(covers.tiers).to_numpy()
    if covers.key_account is not None:
        mask &= customers["key_account"].to_numpy(dtype=bool) == covers.key_account
    for field_name, column in (("channels", "channel"), ("shoulder_bands", "shoulder_band"),
                               ("distributors", "distributor_id")):
        wanted = getattr(covers, field_name)
        if wanted is None:
            continue
        if column not in customers:
            raise ConfigError(Finding(f"customers have no {column!r} (needed by covers.{field_name})", source=source,
                                      field=f"{where}.{field_name}"))
        mask &= customers[column].astype(str).isin([str(v) for v in wanted]).to_numpy()
    for column, values in covers.columns.items():
        if column not in customers:
            raise ConfigError(Finding(f"customers have no column {column!r}", source=source,
                                      field=f"{where}.columns"))
        mask &= customers[column].astype(str).isin([str(v) for v in values]).to_numpy()
    return mask


def team_mask(customers: pd.DataFrame, team: Team, index: int, source: str) -> np.ndarray:
    """Customers matching any of a team's `covers` blocks."""
    mask = np.zeros(len(customers), dtype=bool)
    for b, block in enumerate(team.covers):
        mask |= covers_mask(customers, block, f"teams[{index}].covers[{b}]", source)
    return mask


def mark_key_accounts(customers: pd.DataFrame, settings: KeyAccounts) -> pd.DataFrame:
    """`key_account` (bool) and `key_account_reason` (flag, top_n, product; '' for the others), carved out first.

    The top N by current value break ties on customer id, so the same data always marks the same customers.
    """
    out = customers.copy()
    n = len(out)
    reason = np.full(n, "", dtype=object)
    if settings.flag and settings.flag in out:
        flagged = out[settings.flag].astype(str).str.lower().isin(["true", "1", "yes", "y", "t"]).to_numpy()
        reason[flagged] = "flag"
    if settings.top_n_by_value:
        order = np.lexsort((out["customer_id"].to_numpy(dtype=str), -out["current_value"].to_numpy(float)))
        top = order[: settings.top_n_by_value]
        reason[top] = np.where(reason[top] == "", "top_n", reason[top])
    if settings.products and "products" in out:
        wanted = set(settings.products)
        buys = np.array([bool(wanted.intersection(split_list(text))) for text in out["products"]], dtype=bool)
        reason[buys & (reason == "")] = "product"
    out["key_account"] = reason != ""
    out["key_account_reason"] = reason
    return out


def precedence_order(scenario: Scenario) -> list[int]:
    """Team indices, most important first: `rules.precedence` then any team it leaves out, in scenario order."""
    names = [t.name for t in scenario.teams]
    listed = [names.index(n) for n in (scenario.rules.precedence or []) if n in names]
    return listed + [i for i in range(len(names)) if i not in listed]


def contact_caps(customers: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """Each customer's contact cap: its own `max_reps`, else the first matching `rules.max_reps_overrides` entry,
    else `rules.max_reps_per_customer`."""
    caps = np.full(len(customers), scenario.rules.max_reps_per_customer, dtype=np.int64)
    overrides = scenario.rules.max_reps_overrides
    for i in reversed(range(len(overrides))):  # the first match wins: apply it last
        mask = covers_mask(customers, overrides[i].covers, f"rules.max_reps_overrides[{i}].covers",
                           scenario.source_name)
        caps[mask] = overrides[i].max_reps
    if "max_reps" in customers:
        own = customers["max_reps"].to_numpy(float)
        caps = np.where(np.isnan(own), caps, np.nan_to_num(own, nan=1.0)).astype(np.int64)
    return caps


def resolve_contact_cap(stacked: np.ndarray, cap: np.ndarray, order: list[int],
                        component: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Drop the least important teams of customers needing more than their cap of reps.

    Teams sharing reps (one `component`) can be served by one rep, so they count once. A dropped team's lines go
    to the customer's most important kept team. Works per distinct pattern of teams and cap, so it stays fast on
    millions of customers. Returns the new matrix and (customer, dropped team, absorbing team) triples.
    """
    result = stacked.copy()
    events: list[tuple[int, int, int]] = []
    keyed = np.column_stack([stacked.astype(np.int64), np.broadcast_to(cap, (len(stacked),))])
    patterns, inverse = np.unique(keyed, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for p, row in enumerate(patterns):
        pattern, limit = row[:-1].astype(bool), int(row[-1])
        teams = [t for t in order if pattern[t]]
        dropped: list[int] = []
        while len({int(component[t]) for t in teams}) > limit:
            dropped.append(teams.pop())
        if not dropped:
            continue
        rows = np.flatnonzero(inverse == p)
        result[np.ix_(rows, np.asarray(dropped, dtype=np.int64))] = False
        events += [(int(c), t, teams[0]) for c in rows for t in dropped]
    events.sort()
    return result, events


def build_coverage(customers: pd.DataFrame, scenario: Scenario, component: np.ndarray | None = None) -> Coverage:
    """Which teams must cover each customer: carve-outs first, then matching teams, then the contact cap.

    `component` labels teams that share reps (they count as one against `max_reps_per_customer`); by default every
    team counts on its own.
    """
    n = len(customers)
    claimed = np.zeros(n, dtype=bool)
    masks: list[np.ndarray] = [np.zeros(n, dtype=bool)] * len(scenario.teams)
    for i, team in enumerate(scenario.teams):
        if team.exclusive:
            mask = team_mask(customers, team, i, scenario.source_name) & ~claimed
            masks[i] = mask
            claimed |= mask
    for i, team in enumerate(scenario.teams):
        if not team.exclusive:
            masks[i] = team_mask(customers, team, i, scenario.source_name) & ~claimed
    stacked = np.column_stack(masks)  # customers x teams
    component = np.arange(len(scenario.teams)) if component is None else component
    stacked, events = resolve_contact_cap(stacked, contact_caps(customers, scenario), precedence_order(scenario),
                                          component)
    need_customer, need_team = np.nonzero(stacked)
    triples = np.array(events, dtype=np.int64).reshape(-1, 3)
    return Coverage(
        teams=tuple(t.name for t in scenario.teams),
        need_customer=need_customer.astype(np.int64),
        need_team=need_team.astype(np.int64),
        uncovered=np.flatnonzero(~stacked.any(axis=1)),
        absorbed_customer=triples[:, 0],
        absorbed_team=triples[:, 1],
        absorbed_by=triples[:, 2],
    )
