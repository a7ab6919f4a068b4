"""The solvers: the assignment engine (`solve`), its rules, formulations and heuristics, the design engine and
the shared solver contract (`budget.py`). Every engine takes a `Budget` and reports an `Outcome`."""

from __future__ import annotations

from .budget import Budget, Stop
from .engine import Result, SolveParams, solve

__all__ = ["Budget", "Result", "SolveParams", "Stop", "solve"]
