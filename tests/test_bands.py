"""model/bands.py: teams that share reps pool their work, and every band is taken over such a group."""

from __future__ import annotations

import numpy as np

from territory_opt.model.bands import team_components, team_groups


def test_teams_sharing_a_rep_form_one_group_with_all_their_reps() -> None:
    # reps x teams: rep 0 only team 0; rep 1 teams 0 and 2; rep 2 only team 1; team 3 has no rep
    rep_in_team = np.array([[1, 0, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]], dtype=bool)
    groups = [(teams.tolist(), reps.tolist()) for teams, reps in team_groups(rep_in_team)]
    assert sorted(groups) == [([0, 2], [0, 1]), ([1], [2]), ([3], [])]
    labels = team_components(rep_in_team)
    assert labels[0] == labels[2] and len({labels[0], labels[1], labels[3]}) == 3


def test_a_chain_of_shared_reps_joins_every_team_on_it() -> None:
    rep_in_team = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    [(teams, reps)] = team_groups(rep_in_team)
    assert teams.tolist() == [0, 1, 2] and reps.tolist() == [0, 1]
