"""What changed: every customer-team whose rep differs from the baseline, with a reason a manager can act on.

The baseline is the customers' `current_rep_id` (today's alignment), or a previous run's `assignments.csv`
(`territory-opt run --previous DIR`). Reasons, first match wins:
- `new customer`: not in the baseline at all (a new outlet);
- `removed`: in the baseline, not in this run at all (the customer is gone from the extract or from every team);
- `team change`: the customer is on both sides but this team's need is on one only: its tier, sector or another
  covering rule moved it between teams (a gold account that became bronze leaves the field team for inside sales);
- `lock`: `locked_rep_id` names the new rep;
- `lost rep`: the old rep is no longer on the roster, or no longer in the team;
- `boundary`: the old rep now works in another depot or distributor area than this customer's;
- `rule`: a never-this-rep exclusion or a product line the old rep does not carry rules the old rep out;
- `cap`: the customer's contact cap binds and the new rep already serves another of its needs;
- `unit`: its alignment unit goes whole to one rep of the team, and in the baseline the unit's customers had
  several reps (so some had to move);
- `one piece`: the alignment with contiguity relaxed kept the old rep; the move keeps every territory in one piece;
- `balance`: none of the above: the optimiser moved it to balance workloads or cut travel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.problem import NO_REP, Problem
from ..solve.ledger import committed_zones
from ..solve.rules import eligible

CHANGE_COLUMNS = ["customer_id", "team", "old_rep_id", "new_rep_id", "reason"]


def baseline_from_current(customers: pd.DataFrame, problem: Problem) -> pd.DataFrame:
    """(customer_id, team, rep_id) of today's alignment: each need's current rep where it is in the need's team; a
    current rep who left the roster stands for every need of the customer that has no current rep in its team."""
    if "current_rep_id" not in customers:
        return pd.DataFrame(columns=["customer_id", "team", "rep_id"])
    named = customers["current_rep_id"].fillna("").astype(str).to_numpy(dtype=object)[problem.need_customer]
    rep = np.where(problem.need_current_rep != NO_REP,
                   problem.rep_ids[np.maximum(problem.need_current_rep, 0)], "")
    departed = ~np.isin(named, problem.rep_ids) & (named != "") & (problem.need_current_rep == NO_REP)
    rep = np.where(departed, named, rep)
    frame = pd.DataFrame({"customer_id": problem.customer_ids[problem.need_customer],
                          "team": np.asarray(problem.team_names, dtype=object)[problem.need_team], "rep_id": rep})
    return frame[frame["rep_id"] != ""].reset_index(drop=True)


def change_table(problem: Problem, assignment: np.ndarray, baseline: pd.DataFrame,
                 relaxed: np.ndarray | None = None) -> pd.DataFrame:
    """Every (customer, team) whose rep differs from `baseline` (customer_id, team, rep_id), with its reason;
    `relaxed` is the contiguity-relaxed alignment the solver started the one-piece one from, if any."""
    now = pd.DataFrame({"customer_id": problem.customer_ids[problem.need_customer],
                        "team": np.asarray(problem.team_names, dtype=object)[problem.need_team],
                        "new_rep_id": problem.rep_ids[assignment], "need": np.arange(problem.n_needs)})
    before = baseline.rename(columns={"rep_id": "old_rep_id"})[["customer_id", "team", "old_rep_id"]]
    merged = now.merge(before, on=["customer_id", "team"], how="outer", sort=False)
    merged["old_rep_id"] = merged["old_rep_id"].fillna("")
    merged["new_rep_id"] = merged["new_rep_id"].fillna("")
    changed = merged[merged["old_rep_id"] != merged["new_rep_id"]].copy()
    changed["reason"] = _reasons(problem, assignment, changed, before["customer_id"].to_numpy(dtype=object))
    _unit_reasons(problem, merged, changed, relaxed)
    changed = changed.sort_values(["customer_id", "team"], kind="stable")
    return changed[CHANGE_COLUMNS].reset_index(drop=True)


def _reasons(problem: Problem, assignment: np.ndarray, changed: pd.DataFrame, before: np.ndarray) -> np.ndarray:
    """The reason of each changed row, vectorised (the lowest-priority reasons are set first, then overwritten)."""
    old_ids = changed["old_rep_id"].to_numpy(dtype=object)
    new_ids = changed["new_rep_id"].to_numpy(dtype=object)
    reason = np.full(len(changed), "balance", dtype=object)
    both = (old_ids != "") & (new_ids != "")
    need = np.where(both, changed["need"].fillna(-1).to_numpy(float), -1).astype(np.int64)
    rep_index = pd.Series(np.arange(problem.n_reps), index=problem.rep_ids.astype(str))
    old = rep_index.reindex(old_ids.astype(str)).fillna(-1).to_numpy().astype(np.int64)
    rows = np.flatnonzero(both & (old >= 0))
    n_rows, o_rep, new_rep = need[rows], old[rows], assignment[need[rows]]
    customer = problem.need_customer[n_rows]
    keys, counts = np.unique(problem.need_customer.astype(np.int64) * problem.n_reps + assignment, return_counts=True)
    wanted = customer.astype(np.int64) * problem.n_reps + new_rep
    serves = counts[np.searchsorted(keys, wanted)] >= 2  # this need and another of the customer's
    n_needs = np.bincount(problem.need_customer, minlength=problem.n_customers)
    reason[rows[serves & (n_needs[customer] > problem.customer_caps[customer])]] = "cap"
    reason[rows[~eligible(problem, n_rows, o_rep)]] = "rule"
    reason[rows[_outside_zone(problem, assignment, n_rows, o_rep)]] = "boundary"
    in_team = np.zeros(len(changed), dtype=bool)
    in_team[rows] = problem.rep_in_team[o_rep, problem.need_team[n_rows]]
    reason[both & ~in_team] = "lost rep"
    locked = np.zeros(len(changed), dtype=bool)
    has = need >= 0
    locked[has] = problem.need_locked_rep[need[has]] == assignment[need[has]]
    reason[both & locked] = "lock"
    customer_ids = changed["customer_id"].to_numpy(dtype=object)
    ids = pd.Series(customer_ids, dtype=object)  # hashed lookups: numpy's isin on objects is quadratic here
    known_before = ids.isin(pd.unique(before)).to_numpy()
    known_now = ids.isin(pd.unique(problem.customer_ids[problem.need_customer])).to_numpy()
    reason[old_ids == ""] = np.where(known_before[old_ids == ""], "team change", "new customer")
    reason[new_ids == ""] = np.where(known_now[new_ids == ""], "team change", "removed")
    return reason


def _outside_zone(problem: Problem, assignment: np.ndarray, need: np.ndarray, rep: np.ndarray) -> np.ndarray:
    """Whether each rep is pinned to, or now works in, another zone than the need's, for some boundary kind."""
    out = np.zeros(len(need), dtype=bool)
    committed = committed_zones(problem, assignment)
    for k in range(problem.n_zone_kinds):
        zone, theirs = problem.need_zone[k, need], committed[k, rep]
        out |= (zone >= 0) & (theirs >= 0) & (theirs != zone)
    return out


def _unit_reasons(problem: Problem, merged: pd.DataFrame, changed: pd.DataFrame, relaxed: np.ndarray | None) -> None:
    """Overwrite `balance` where the alignment units explain the move: `unit` when the customer's unit (in its team)
    had several reps in the baseline, else `one piece` when the contiguity-relaxed alignment kept the old rep."""
    if problem.need_unit is None or changed.empty:
        return
    rows = merged[merged["need"].notna() & (merged["old_rep_id"] != "")]
    need = rows["need"].to_numpy(dtype=float).astype(np.int64)
    unit = problem.need_unit[need]
    grouped = pd.DataFrame({"key": problem.need_team[need].astype(np.int64) * (problem.need_unit.max() + 1) + unit,
                            "rep": rows["old_rep_id"].to_numpy(dtype=object)})[unit >= 0]
    split_keys = set(grouped.groupby("key")["rep"].nunique().loc[lambda n: n > 1].index.tolist())
    open_rows = changed.index[(changed["reason"] == "balance").to_numpy()]
    if len(open_rows) == 0:
        return
    moved_need = changed.loc[open_rows, "need"].to_numpy(dtype=float).astype(np.int64)
    moved_unit = problem.need_unit[moved_need]
    key = problem.need_team[moved_need].astype(np.int64) * (problem.need_unit.max() + 1) + moved_unit
    in_split = (moved_unit >= 0) & np.isin(key, sorted(split_keys))
    changed.loc[open_rows[in_split], "reason"] = "unit"
    if relaxed is not None:
        old_ids = changed.loc[open_rows, "old_rep_id"].to_numpy(dtype=object).astype(str)
        kept = problem.rep_ids[np.asarray(relaxed)[moved_need]].astype(str) == old_ids
        changed.loc[open_rows[~in_split & kept & (moved_unit >= 0)], "reason"] = "one piece"
