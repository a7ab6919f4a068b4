"""Every hard rule of the assignment, one module each, composed here.

`RULES` is the one list: the order in which their constraints enter the CP-SAT model and the LP. Adding a rule
means writing its module (a `Rule` subclass, see `base.py`), listing it here, and testing it; the engines,
repair, the large engine's search, contiguity, `explain` and the diagnosis then obey it. `metrics.py`, the
independent judge, checks the same rules without these pieces.
"""

from __future__ import annotations

import weakref

import numpy as np

from ...model.problem import Problem
from .balance import Balance
from .base import CpSatBuild, Rule
from .boundaries import Boundaries
from .contact_cap import ContactCap, capped_customers
from .contiguity import Contiguity
from .continuity import Continuity
from .coverage import Coverage
from .exclusion import Exclusion
from .lock import Lock
from .max_customers import MaxCustomers
from .max_km import MaxKm
from .skills import Skills

RULES: tuple[Rule, ...] = (Coverage(), Balance(), Lock(), Skills(), Exclusion(), ContactCap(), Boundaries(),
                           Continuity(), MaxCustomers(), MaxKm(), Contiguity())


# per problem (compared by identity; problems are frozen): the searches ask for every tried move, and some rules
# need a pass over all customers to know (the contact cap)
_ACTIVE: weakref.WeakKeyDictionary[Problem, tuple[Rule, ...]] = weakref.WeakKeyDictionary()


def active_rules(problem: Problem) -> tuple[Rule, ...]:
    """The rules this problem uses, in `RULES` order."""
    found = _ACTIVE.get(problem)
    if found is None:
        found = _ACTIVE[problem] = tuple(rule for rule in RULES if rule.active(problem))
    return found


def rule(name: str) -> Rule:
    """The rule piece of that name."""
    return next(r for r in RULES if r.name == name)


def eligible(problem: Problem, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
    """Whether each rep may take each need at all: every rule's pair test (team, lock, zone pin, product lines,
    exclusions, reach)."""
    need, rep = np.asarray(need, dtype=np.int64), np.asarray(rep, dtype=np.int64)
    ok = np.ones(len(need), dtype=bool)
    for piece in active_rules(problem):
        allowed = piece.pair_allows(problem, need, rep)
        if allowed is not None:
            ok &= allowed
    return ok


def _group_pieces(problem: Problem) -> list[tuple[Rule, int]]:
    return [(piece, len(piece.group_rows(problem))) for piece in RULES if piece.group_rows(problem)]


def need_groups(problem: Problem) -> dict[tuple[int, ...], np.ndarray]:
    """Needs grouped by every value the rules' group tests read (team, required lines, zone per boundary kind): a
    group shares its eligible reps (before locks and exclusions)."""
    rows = [np.asarray(row, dtype=np.int64) for piece, _ in _group_pieces(problem) for row in piece.group_rows(problem)]
    varying = [i for i, row in enumerate(rows) if len(row) and (row != row[0]).any()]  # the others group nothing
    if len(varying) <= 1:  # one key row: a plain unique, much faster than rows of a matrix
        values = rows[varying[0]] if varying else np.zeros(problem.n_needs, np.int64)
        distinct, inverse = np.unique(values, return_inverse=True)
        unique = np.tile([row[0] if len(row) else 0 for row in rows], (len(distinct), 1)).astype(np.int64)
        if varying:
            unique[:, varying[0]] = distinct
    else:
        keys = np.vstack([row[None, :] for row in rows])
        unique, inverse = np.unique(keys.T, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(unique) + 1))
    return {tuple(int(v) for v in unique[g]): order[bounds[g]:bounds[g + 1]] for g in range(len(unique))}


def group_members(problem: Problem, key: tuple[int, ...]) -> np.ndarray:
    """The reps every group test allows for a group key of `need_groups`."""
    ok = np.ones(problem.n_reps, dtype=bool)
    at = 0
    for piece, width in _group_pieces(problem):
        allowed = piece.group_allows(problem, key[at:at + width])
        if allowed is not None:
            ok &= allowed
        at += width
    return np.flatnonzero(ok)


__all__ = ["RULES", "CpSatBuild", "Rule", "active_rules", "capped_customers", "eligible", "group_members",
           "need_groups", "rule"]
