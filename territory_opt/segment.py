"""Coverage: which teams must cover each customer.

Exclusive teams (key accounts, inside sales) are carve-outs: they claim their customers first, in the order
listed, and those customers are covered by no other team. Every other team covers the unclaimed customers that
match its `covers` block, so one customer can need a generalist and a specialist overlay at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Covers, Scenario
from .errors import ConfigError, Finding


@dataclass(frozen=True)
class Coverage:
    """The (customer, team) pairs that need a rep: `need_customer[i]` is covered by `teams[need_team[i]]`."""

    teams: tuple[str, ...]
    need_customer: np.ndarray
    need_team: np.ndarray
    uncovered: np.ndarray  # row positions of customers no team covers

    def teams_of_customers(self, n_customers: int) -> list[str]:
        """Per customer, its teams joined with ';' (scenario order)."""
        names: list[list[str]] = [[] for _ in range(n_customers)]
        for c, t in zip(self.need_customer.tolist(), self.need_team.tolist(), strict=True):
            names[c].append(self.teams[t])
        return [";".join(n) for n in names]


def covers_mask(customers: pd.DataFrame, covers: Covers, where: str) -> np.ndarray:
    """Customers matching every condition of a `covers` block."""
    mask = np.ones(len(customers), dtype=bool)
    if covers.sectors is not None:
        mask &= customers["sector"].isin(covers.sectors).to_numpy()
    if covers.tiers is not None:
        mask &= customers["tier"].isin(covers.tiers).to_numpy()
    if covers.key_account is not None:
        mask &= customers["key_account"].to_numpy(dtype=bool) == covers.key_account
    for column, values in covers.columns.items():
        if column not in customers:
            raise ConfigError(Finding(f"customers have no column {column!r}", source="scenario",
                                      field=f"{where}.columns"))
        mask &= customers[column].astype(str).isin([str(v) for v in values]).to_numpy()
    return mask


def build_coverage(customers: pd.DataFrame, scenario: Scenario) -> Coverage:
    n = len(customers)
    claimed = np.zeros(n, dtype=bool)
    masks: list[np.ndarray] = [np.zeros(n, dtype=bool)] * len(scenario.teams)
    for i, team in enumerate(scenario.teams):
        if team.exclusive:
            mask = covers_mask(customers, team.covers, f"teams[{i}].covers") & ~claimed
            masks[i] = mask
            claimed |= mask
    for i, team in enumerate(scenario.teams):
        if not team.exclusive:
            masks[i] = covers_mask(customers, team.covers, f"teams[{i}].covers") & ~claimed
    stacked = np.column_stack(masks)  # customers x teams
    need_customer, need_team = np.nonzero(stacked)
    return Coverage(
        teams=tuple(t.name for t in scenario.teams),
        need_customer=need_customer.astype(np.int64),
        need_team=need_team.astype(np.int64),
        uncovered=np.flatnonzero(~stacked.any(axis=1)),
    )
