"""Readers for published OR-Library instance files, turned into the same `Problem` the CLI builds.

They exist so the engine can be measured against tables of proven optima (`bench/`), and so tests can feed the
solver instances whose optimum is known. Only formats whose mapping onto rebalance mode is exact live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..model.problem import NO_REP, Problem


@dataclass(frozen=True)
class GapInstance:
    """Generalised assignment: each job to one agent, agent loads within capacity, optimise total cost."""

    name: str
    cost: np.ndarray  # (agents, jobs)
    resource: np.ndarray  # (agents, jobs) load a job puts on an agent
    capacity: np.ndarray  # (agents,)


def read_gap(path: Path) -> list[GapInstance]:
    """All problems of an OR-Library GAP file ("P", then per problem "m n", m x n costs, m x n loads, m caps)."""
    tokens = np.array(Path(path).read_text().split(), dtype=np.int64)
    count, pos = int(tokens[0]), 1
    out = []
    for k in range(count):
        if len(tokens) < pos + 2:
            raise ValueError(f"{path}: problem {k + 1} is truncated")
        m, n = int(tokens[pos]), int(tokens[pos + 1])
        pos += 2
        if len(tokens) < pos + 2 * m * n + m:
            raise ValueError(f"{path}: problem {k + 1} is truncated")
        cost = tokens[pos:pos + m * n].reshape(m, n)
        pos += m * n
        resource = tokens[pos:pos + m * n].reshape(m, n)
        pos += m * n
        capacity = tokens[pos:pos + m]
        pos += m
        out.append(GapInstance(f"{Path(path).stem}#{k + 1}", cost, resource, capacity))
    return out


def gap_problem(instance: GapInstance, *, maximise: bool) -> Problem:
    """Jobs become customers (one need each), agents become reps of one team, capacity the workload band's top.

    The engine minimises, so a maximisation instance is solved on costs `max(c) - c`: every job is assigned
    exactly once, so the two objectives differ by the constant `n x max(c)` (see `gap_value`).
    """
    m, n = instance.cost.shape
    table = (instance.cost.max() - instance.cost) if maximise else instance.cost
    no_rep = np.full(n, NO_REP, dtype=np.int64)
    return Problem(
        customer_ids=np.array([f"job{j + 1}" for j in range(n)], dtype=object),
        customer_xy=np.zeros((n, 2)),
        rep_ids=np.array([f"agent{i + 1}" for i in range(m)], dtype=object),
        rep_xy=np.zeros((m, 2)),
        team_names=("all",),
        rep_in_team=np.ones((m, 1), dtype=bool),
        need_customer=np.arange(n),
        need_team=np.zeros(n, dtype=np.int64),
        need_visits=np.ones(n),
        need_workload_s=instance.resource.min(axis=0).astype(np.int64),
        need_travel_weight=np.ones(n),
        need_locked_rep=no_rep,
        need_current_rep=no_rep.copy(),
        rep_target_s=instance.capacity.astype(float),
        rep_min_s=np.zeros(m, dtype=np.int64),
        rep_max_s=instance.capacity.astype(np.int64),
        max_reps_per_customer=1,
        arc_workload_s=np.ascontiguousarray(instance.resource.T, dtype=np.int64),
        arc_travel=np.ascontiguousarray(table.T, dtype=float),
    )


def gap_value(instance: GapInstance, objective: float, *, maximise: bool) -> float:
    """The instance's own objective from the engine's (minimised) one."""
    n = instance.cost.shape[1]
    return float(n * instance.cost.max() - objective) if maximise else float(objective)
