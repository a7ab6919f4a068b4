"""The shape of a hard rule on the solver side: one piece that knows every way the solver meets its rule.

Each module of this package defines one `Rule`; `rules.RULES` lists them in the order their constraints enter the
models. A piece answers, for its own rule only:
- which (need, rep) pairs it allows at all: `group_rows`/`group_allows` for tests a whole group of needs shares
  (team, product lines, zone), `pair_allows` for single pairs (locks, exclusions);
- its CP-SAT constraints (`add_cpsat`) and LP rows (`add_lp`) over the candidate arcs;
- whether moving one need to another rep keeps the rule (`allows_moves`, reading the `Ledger` of the current
  assignment), and in words why a rep cannot take a need (`why_not`);
- counting checks that prove infeasibility before any solver runs (`findings`), and how the scenario names the
  rule when the LP proves the rules contradictory (`in_play`).
Repair, the large engine's search, the contiguity pass, `explain` and the diagnosis ask the pieces; `metrics.py`
checks the same rules independently and never imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...errors import Finding
from ...model.problem import Problem

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from ..candidates import Arcs
    from ..ledger import Ledger
    from ..lp_rows import SparseLp


@dataclass(frozen=True)
class CpSatBuild:
    """What a rule's CP-SAT constraints are written on: the model, the problem, the arcs and one Boolean per arc."""

    model: cp_model.CpModel
    problem: Problem
    arcs: Arcs
    x: list[cp_model.IntVar]


class Rule:
    """A hard rule; every method defaults to "this rule says nothing here"."""

    name = ""
    moves: bool = False  # whether the rule can break when one need moves between eligible reps (a ledger check)
    bundles: bool = False  # whether its pair test reads a bundled need's members (its restricted needs may bundle)

    def active(self, problem: Problem) -> bool:
        """Whether the problem uses the rule at all (inactive rules are skipped everywhere)."""
        return True

    def group_rows(self, problem: Problem) -> list[np.ndarray]:
        """Per-need values a group of needs shares for this rule (each (N,) int64); [] when it groups nothing."""
        return []

    def group_allows(self, problem: Problem, values: tuple[int, ...]) -> np.ndarray | None:
        """(R,) the reps this rule allows for a group with these values of `group_rows`; None: all."""
        return None

    def pair_allows(self, problem: Problem, need: np.ndarray, rep: np.ndarray) -> np.ndarray | None:
        """Whether each (need, rep) pair is allowed by this rule whatever else is assigned; None: all."""
        return None

    def restricted_needs(self, problem: Problem) -> np.ndarray | None:
        """(N,) the needs whose `pair_allows` may refuse a rep that the group tests allow; None: none."""
        return None

    def add_cpsat(self, build: CpSatBuild) -> int:
        """Add the rule's constraints; returns how many were added."""
        return 0

    def add_lp(self, lp: SparseLp, problem: Problem, arcs: Arcs) -> None:
        """Add the rule's rows (and any columns they need) to the LP relaxation."""

    def allows_moves(self, ledger: Ledger, need: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Whether moving each need (from its current rep) to its target, on its own, keeps the rule; the pairs
        are eligible. Only called when `moves` is true."""
        return np.ones(len(need), dtype=bool)

    def allows_move(self, ledger: Ledger, need: int, target: int) -> bool:
        """`allows_moves` for one move (rules on hot paths override it without numpy overhead)."""
        return bool(self.allows_moves(ledger, np.array([need]), np.array([target]))[0])

    def start(self, ledger: Ledger) -> None:
        """Build whatever tally the move check needs (kept in `ledger.state[self.name]`); called once per ledger."""

    def moved(self, ledger: Ledger, need: int, source: int, target: int) -> None:
        """Update the rule's tally after `need` moved from `source` to `target` (the ledger's own tallies are
        already updated)."""

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        """Why `rep` cannot take `need` as things stand under this rule ([]: it could)."""
        return []

    def findings(self, problem: Problem) -> list[Finding]:
        """Counting arguments that prove the rule cannot hold, before any solver runs."""
        return []

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        """The rule's scenario name when it restricts these needs (for infeasibility messages); None otherwise."""
        return None


def hours(seconds: float) -> str:
    return f"{seconds / 3600.0:,.1f} h"


MAX_LISTED = 10  # findings of one kind listed before "... and N more"
