"""Ejection chains (solve/chains.py): band breaches mended through full territories, one piece kept."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory_opt.model.problem import Problem
from territory_opt.solve.chains import eject_chains
from territory_opt.solve.contiguous import rebalance, territory_pieces
from territory_opt.solve.ledger import Ledger

from .unit_problems import grid_problem, per_unit, unit_cell

HOUR = 3600


def strip(low: list[int], high: list[int]) -> Problem:
    """A 1 x 6 strip of one-hour units and three reps living at units 0, 3 and 5, with bands in hours."""
    return grid_problem(1, 6, [unit_cell(0, 0), unit_cell(0, 3), unit_cell(0, 5)],
                        rep_min_s=np.array(low) * HOUR, rep_max_s=np.array(high) * HOUR,
                        rep_target_s=(np.array(low) + np.array(high)) * HOUR / 2.0)


def test_an_excess_passes_through_a_full_territory_to_one_with_room() -> None:
    # A holds 0-2 (3 h, band 2 h), B holds 3 (1 h, exactly its band), C holds 4-5 (2 h, room for 1 h more).
    # No single move helps: whatever A hands B overfills B. The chain A -> B -> C does.
    problem = strip([0, 1, 2], [2, 1, 3])
    ledger = Ledger(problem, per_unit(problem, [0, 0, 0, 1, 2, 2]))
    assert rebalance(problem, ledger) == 0
    assert eject_chains(problem, ledger) == 2
    assert ledger.assign.tolist() == [0, 0, 1, 2, 2, 2]


def test_a_shortfall_pulls_through_a_full_territory_from_one_with_spare() -> None:
    # C holds 5 only (1 h, band at least 2 h); B holds 3-4 (exactly its 2 h); A holds 0-2 with 1 h to spare
    problem = strip([2, 2, 2], [3, 2, 3])
    ledger = Ledger(problem, per_unit(problem, [0, 0, 0, 1, 1, 2]))
    assert eject_chains(problem, ledger) == 2
    assert ledger.assign.tolist() == [0, 0, 1, 1, 2, 2]


def test_no_chain_is_kept_when_no_rep_has_room() -> None:
    problem = strip([0, 1, 2], [2, 1, 2])  # 6 h of work, 5 h of room at most
    start = per_unit(problem, [0, 0, 0, 1, 2, 2])
    ledger = Ledger(problem, start)
    assert eject_chains(problem, ledger) == 0
    assert ledger.assign.tolist() == start.tolist()


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 5), st.integers(2, 6), st.lists(st.integers(1, 4), min_size=36, max_size=36),
       st.lists(st.integers(0, 8), min_size=4, max_size=4), st.integers(0, 2**16))
def test_chains_keep_every_territory_one_piece_and_never_raise_the_breach(rows: int, cols: int, hours: list[int],
                                                                        widths: list[int], seed: int) -> None:
    n_units = rows * cols
    workload = np.array(hours[:n_units]) * HOUR
    homes = [unit_cell(0, 0), unit_cell(rows - 1, cols - 1), unit_cell(0, cols - 1), unit_cell(rows - 1, 0)]
    share = workload.sum() / 4
    rng = np.random.default_rng(seed)
    low = np.array([share - w * HOUR / 2 - rng.integers(0, HOUR) for w in widths]).clip(0).astype(np.int64)
    high = low + np.array(widths) * HOUR
    problem = grid_problem(rows, cols, homes, workload=workload, rep_min_s=low, rep_max_s=high,
                           rep_target_s=(low + high) / 2.0)
    # a one-piece start: column bands of the grid, left to right, shared out in order
    column = np.arange(n_units) % cols
    start = per_unit(problem, np.minimum(column * 4 // cols, 3))
    assert territory_pieces(problem, start) == 0
    before = Ledger(problem, start).breach()
    ledger = Ledger(problem, start)
    eject_chains(problem, ledger)
    assert territory_pieces(problem, ledger.assign) == 0
    assert ledger.breach() <= before + 1e-9
