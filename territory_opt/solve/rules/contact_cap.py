"""The contact cap: at most `max_reps_per_customer` distinct reps call on one customer (its own cap where a segment
override or a `max_reps` column sets one). It can only bind on customers with more needs than their cap."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import Finding
from ...model.problem import Problem
from .base import MAX_LISTED, CpSatBuild, Rule

if TYPE_CHECKING:
    from ..candidates import Arcs
    from ..ledger import Ledger
    from ..lp_rows import SparseLp


def capped_customers(problem: Problem) -> np.ndarray:
    """Customers with more needs than the contact cap: only they need the distinct-reps constraint."""
    counts = np.bincount(problem.need_customer, minlength=problem.n_customers)
    return np.flatnonzero(counts > problem.customer_caps)


def _cap_pairs(problem: Problem, arcs: Arcs) -> tuple[np.ndarray, np.ndarray]:
    """For arcs of capped customers: each arc's (customer, rep) pair index (-1 elsewhere), and the pairs'
    customers."""
    capped = capped_customers(problem)
    if len(capped) == 0 or len(arcs) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cust = problem.need_customer[arcs.need]
    in_capped = np.isin(cust, capped)
    key = cust.astype(np.int64) * problem.n_reps + arcs.rep
    pairs, pair_of_arc = np.unique(np.where(in_capped, key, -1), return_inverse=True)
    pair_of_arc = np.where(in_capped, pair_of_arc - (pairs[0] == -1), -1)
    pairs = pairs[pairs >= 0]
    return pair_of_arc, pairs // problem.n_reps


class ContactCap(Rule):
    name = "contact_cap"
    moves = True

    def active(self, problem: Problem) -> bool:
        return len(capped_customers(problem)) > 0

    def add_cpsat(self, build: CpSatBuild) -> int:
        problem, arcs, x, model = build.problem, build.arcs, build.x, build.model
        capped = set(capped_customers(problem).tolist())
        by_customer: dict[int, dict[int, list[int]]] = {}
        for i, (need, rep) in enumerate(zip(arcs.need.tolist(), arcs.rep.tolist(), strict=True)):
            c = int(problem.need_customer[need])
            if c in capped:
                by_customer.setdefault(c, {}).setdefault(rep, []).append(i)
        caps = problem.customer_caps
        for c, reps in by_customer.items():
            uses = []
            for rep, arc_ids in reps.items():
                y = model.new_bool_var(f"y{c}_{rep}")
                for i in arc_ids:
                    model.add_implication(x[i], y)
                uses.append(y)
            model.add(sum(uses) <= int(caps[c]))
        return len(by_customer)

    def add_lp(self, lp: SparseLp, problem: Problem, arcs: Arcs) -> None:
        """y[customer, rep] >= x of its arcs; sum over reps of y <= cap, for capped customers."""
        pair_of_arc, pair_customer = _cap_pairs(problem, arcs)
        capped_arcs = np.flatnonzero(pair_of_arc >= 0)
        if len(capped_arcs) == 0:
            return
        first = lp.link(capped_arcs, pair_of_arc[capped_arcs])
        customers, cap_row = np.unique(pair_customer, return_inverse=True)
        lp.add(cap_row.reshape(-1), first + np.arange(len(pair_customer)), np.ones(len(pair_customer)),
               np.full(len(customers), -np.inf), problem.customer_caps[customers].astype(float))

    def reps_after(self, ledger: Ledger, need: int, target: int) -> int:
        """How many distinct reps the need's customer would have with the need moved to `target`."""
        others = ledger.needs_of_customer(int(ledger.problem.need_customer[need]))
        return len({int(ledger.assign[o]) for o in others.tolist() if o != need} | {target})

    def allows_move(self, ledger: Ledger, need: int, target: int) -> bool:
        customer = int(ledger.problem.need_customer[need])
        return not ledger.is_capped(customer) or (
            self.reps_after(ledger, need, target) <= ledger.problem.customer_caps[customer])

    def allows_moves(self, ledger: Ledger, need: np.ndarray, target: np.ndarray) -> np.ndarray:
        ok = np.ones(len(need), dtype=bool)
        for i in np.flatnonzero(ledger.capped_mask[ledger.problem.need_customer[need]]).tolist():
            ok[i] = self.allows_move(ledger, int(need[i]), int(target[i]))
        return ok

    def why_not(self, ledger: Ledger, need: int, rep: int) -> list[str]:
        customer = int(ledger.problem.need_customer[need])
        if not ledger.is_capped(customer) or self.allows_move(ledger, need, rep):
            return []
        return [f"contact cap: the customer would have {self.reps_after(ledger, need, rep)} reps, more than its cap "
                f"of {ledger.problem.customer_caps[customer]}"]

    def findings(self, problem: Problem) -> list[Finding]:
        """Customers whose teams need more distinct reps than the cap allows, with no rep spanning two of them."""
        counts = np.bincount(problem.need_customer, minlength=problem.n_customers)
        caps = problem.customer_caps
        bad = []
        for c in np.flatnonzero(counts > caps):
            teams = problem.need_team[problem.need_customer == c]
            # the fewest distinct reps is at least the number of teams no multi-team rep can merge
            if problem.rep_in_team[:, teams].sum(axis=1).max(initial=0) < 2:
                bad.append(c)
        findings = [
            Finding(f"customer {problem.customer_ids[c]!r} must be covered by {int(counts[c])} teams but its contact "
                    f"cap is {int(caps[c])}, and no rep belongs to two of those teams")
            for c in bad[:MAX_LISTED]
        ]
        if len(bad) > MAX_LISTED:
            findings.append(Finding(f"... and {len(bad) - MAX_LISTED} more customers over the contact cap"))
        return findings

    def in_play(self, problem: Problem, needs: np.ndarray) -> str | None:
        counts = np.bincount(problem.need_customer[needs], minlength=problem.n_customers)
        return "rules.max_reps_per_customer" if (counts > problem.customer_caps).any() else None
