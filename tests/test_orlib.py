"""OR-Library GAP files read into the CLI's Problem and solved to the optimum enumeration finds."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from territory_opt.io.orlib import gap_problem, gap_value, read_gap
from territory_opt.metrics import check
from territory_opt.solve import Budget, SolveParams, solve

# Two problems, 2 agents x 4 jobs and 3 agents x 3 jobs, in the OR-Library layout (free-form whitespace).
GAP_TEXT = """ 2
 2 4
 5 9 3 7
 6 2 8 4
 3 4 2 5
 4 3 3 2
 8 7
 3 3
 1 5 9
 7 2 6
 4 8 3
 2 2 2
 3 1 2
 2 3 1
 4 3 3
"""


def brute_force(cost: np.ndarray, resource: np.ndarray, capacity: np.ndarray, maximise: bool) -> float:
    m, n = cost.shape
    best = None
    for combo in itertools.product(range(m), repeat=n):
        load = np.bincount(combo, weights=resource[list(combo), range(n)], minlength=m)
        if (load > capacity).any():
            continue
        value = float(cost[list(combo), range(n)].sum())
        if best is None or (value > best if maximise else value < best):
            best = value
    assert best is not None
    return best


@pytest.fixture
def gap_file(tmp_path: Path) -> Path:
    path = tmp_path / "gaptiny.txt"
    path.write_text(GAP_TEXT)
    return path


def test_reads_every_problem(gap_file: Path) -> None:
    first, second = read_gap(gap_file)
    assert first.name == "gaptiny#1" and first.cost.shape == (2, 4) and first.capacity.tolist() == [8, 7]
    assert second.resource[2].tolist() == [2, 3, 1] and second.capacity.tolist() == [4, 3, 3]


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(GAP_TEXT.rsplit("\n", 3)[0])
    with pytest.raises(ValueError, match="truncated"):
        read_gap(path)


@pytest.mark.parametrize("maximise", [False, True])
def test_solves_to_the_enumerated_optimum(gap_file: Path, maximise: bool) -> None:
    for instance in read_gap(gap_file):
        problem = gap_problem(instance, maximise=maximise)
        result = solve(problem, Budget(work_s=5), seed=0, params=SolveParams(candidate_reps=problem.n_reps))
        assert check(problem, result.assignment) == []
        value = gap_value(instance, result.objective, maximise=maximise)
        assert value == brute_force(instance.cost, instance.resource, instance.capacity, maximise)
        assert result.status == "optimal"
        loads = np.bincount(result.assignment, weights=instance.resource[result.assignment, np.arange(len(
            result.assignment))], minlength=len(instance.capacity))
        assert (loads <= instance.capacity).all()  # the per-arc loads, not the need's own, were balanced
