"""Who is in which team: the scenario's explicit lists, else the roster's `team` column (`;` for several)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import Scenario
from .lists import split_list


def team_members(team: str, explicit: list[str] | None, reps: pd.DataFrame) -> np.ndarray:
    """Row positions of a team's reps: the scenario's explicit list, or the roster rows whose `team` names it."""
    if explicit is not None:
        return np.flatnonzero(reps["rep_id"].isin(set(explicit)).to_numpy())
    memberships = reps["team"].map(lambda text: team in split_list(text))
    return np.flatnonzero(memberships.to_numpy(dtype=bool))


def team_matrix(scenario: Scenario, reps: pd.DataFrame) -> np.ndarray:
    """Reps x teams membership, from each team's explicit list or the roster's `team` column."""
    matrix = np.zeros((len(reps), len(scenario.teams)), dtype=bool)
    for t, team in enumerate(scenario.teams):
        matrix[team_members(team.name, team.reps, reps), t] = True
    return matrix
