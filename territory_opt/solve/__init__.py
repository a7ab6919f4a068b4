"""The solvers: the assignment engine (`solve`), its rules, formulations and heuristics, the design engine and
the shared solver contract (`budget.py`). Every engine takes a `Budget` and reports an `Outcome`.

The engine (and with it OR-Tools) loads on first use: `explain` reads the rules' ledger without solving."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .budget import Budget, Stop

if TYPE_CHECKING:
    from .engine import Result, SolveParams, solve

__all__ = ["Budget", "Result", "SolveParams", "Stop", "solve"]


def __getattr__(name: str) -> Any:
    if name in ("Result", "SolveParams", "solve"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
