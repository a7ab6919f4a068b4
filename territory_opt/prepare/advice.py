"""Specialist or generalist advice: per product line, the numbers behind the choice and a short recommendation.

Sales ops must decide, per product line, whether the generalist field force sells it, a specialist overlay team
joins the generalists on its calls, or a separate team owns its customers. This module gives the numbers that
decide it and applies one documented rule, so the advice is reproducible and every recommendation can be argued
with its numbers. It is a pure function of the enriched customer table (no IO); `pipeline.py` writes `advice.csv`.

Input columns: `products` (lines separated by ';'; a value may be empty or NaN), `sector`, `visits_per_cycle`,
`workload_hours`; optional `buyer_roles` (roles separated by ';', e.g. 'owner;chef;purchasing'), and `tier` when
`inside_tiers` is given. A customer without `buyer_roles` gets its sector's roles from `sector_roles`
(default `DEFAULT_SECTOR_ROLES`: horeca -> chef, owner; modern_trade -> category_manager, purchasing;
b2b -> purchasing, technical; any other sector -> `default_roles`, i.e. owner). Names are trimmed; roles and
sectors are compared in lower case.

Per line (one row per line, sorted by name):

- `n_customers`, `share_of_customers`: its buyers, and their share of all customers (those buying nothing count).
- `distinct_buyer_roles`, `buyer_roles`: how many (and which) buyer roles its buyers involve: more roles, a more
  complex sale that a specialist handles better.
- `specialist_visits_per_cycle`: field visits per cycle to its buyers (customers of an `inside_tiers` tier are
  called by inside sales and left out), i.e. the calls where its skill is needed.
- `reps_carrying`: the reps who would carry it: `reps_per_line[line]`, else the generalist field force
  `field_reps`.
- `specialist_calls_per_rep_week`: specialist visits / `cycle_weeks` / `reps_carrying`: how often each of those
  reps would use the skill.
- `overlap_with_other_lines`: share of its buyers who also buy another line; `most_overlapping_line` (most shared
  buyers, ties by name; missing (NaN) if none) and `most_overlapping_share` (share of its buyers who buy that line).
- `workload_hours`, `fte_needed`: the field workload of its buyers per cycle (what a separate team would take
  over), and that in full-time reps (`rep_hours_per_week` x `cycle_weeks` hours each).

Decision rule (the first that holds wins; thresholds are keyword arguments):

1. `keep with generalists` when `share_of_customers >= broad_share` (0.5): a line most customers buy is the field
   force's everyday work (the core line always lands here).
2. `separate team` when `overlap_with_other_lines <= max_overlap_for_team` (0.3) and
   `fte_needed >= min_fte_for_team` (1.0): its buyers rarely buy other lines, so a team of its own adds few
   second visits, and it has work for at least one full-time rep.
3. `specialist overlay` when `distinct_buyer_roles >= min_roles_for_overlay` (2) and
   `specialist_calls_per_rep_week >= min_calls_per_rep_week` (5, about one a day): a sale involving several
   buyer roles needs a skill, and the reps carrying it use it often enough to keep it sharp.
4. `keep with generalists` otherwise: too few roles or too few calls (a low share, a small line) to justify a
   specialist, or too much overlap for a team of its own; the reason says which tests failed.

Everything is vectorised over distinct product (and role) combinations, not customers, and sums run in an order
fixed by the data's values, so shuffled rows give identical output.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import Finding, InputError
from ..lists import split_list

KEEP = "keep with generalists"
OVERLAY = "specialist overlay"
TEAM = "separate team"

DEFAULT_SECTOR_ROLES: Mapping[str, tuple[str, ...]] = {
    "horeca": ("chef", "owner"),
    "modern_trade": ("category_manager", "purchasing"),
    "b2b": ("purchasing", "technical"),
}
"""Buyer roles assumed for a customer of each sector when the data has no `buyer_roles`."""

DTYPES: Mapping[str, str] = {
    "product_line": "str", "n_customers": "int64", "share_of_customers": "float64", "distinct_buyer_roles": "int64",
    "buyer_roles": "str", "specialist_visits_per_cycle": "float64", "reps_carrying": "int64",
    "specialist_calls_per_rep_week": "float64", "overlap_with_other_lines": "float64", "most_overlapping_line": "str",
    "most_overlapping_share": "float64", "workload_hours": "float64", "fte_needed": "float64",
    "recommendation": "str", "reason": "str",
}
"""The output columns, in order, with their dtypes (the same whatever the data, an empty table included)."""
COLUMNS = list(DTYPES)

REQUIRED = ("products", "sector", "visits_per_cycle", "workload_hours")


def _split(text: str, *, lower: bool) -> tuple[str, ...]:
    """A ';'-separated list as a sorted tuple of distinct trimmed names, so 'b; a;a' and 'a;b' are one set."""
    return tuple(sorted({name.lower() if lower else name for name in split_list(text)}))


def _incidence(texts: pd.Series, *, lower: bool) -> tuple[np.ndarray, sparse.csr_array, list[str]]:
    """Parse each distinct text once: per row a combination code, per combination a sparse 0/1 row over names.

    Combinations are numbered in sorted order, not first-seen order, so the result does not depend on row order;
    sparse, because data with many lines can hold hundreds of thousands of distinct combinations.
    """
    codes, uniques = pd.factorize(texts.to_numpy(dtype=object), use_na_sentinel=False)
    sets = [_split(u if isinstance(u, str) else "", lower=lower) for u in uniques]
    combos = sorted(set(sets))
    combo_id = {c: i for i, c in enumerate(combos)}
    row_combo = np.fromiter((combo_id[s] for s in sets), dtype=np.int64, count=len(sets))[codes]
    names = sorted({n for c in combos for n in c})
    name_id = {n: j for j, n in enumerate(names)}
    indptr = np.cumsum([0, *(len(c) for c in combos)])
    indices = np.fromiter((name_id[n] for c in combos for n in c), dtype=np.int64, count=int(indptr[-1]))
    data = np.ones(len(indices), dtype=np.int64)
    return row_combo, sparse.csr_array((data, indices, indptr), shape=(len(combos), len(names))), names


def _role_texts(customers: pd.DataFrame, sector_roles: Mapping[str, Sequence[str]],
                default_roles: Sequence[str]) -> pd.Series:
    """Each customer's buyer roles as text: its own `buyer_roles` when given, else its sector's default roles."""
    sector_codes, sectors = pd.factorize(customers["sector"].to_numpy(dtype=object), use_na_sentinel=False)
    lookup = {str(k).strip().lower(): v for k, v in sector_roles.items()}
    by_sector = np.array([";".join(lookup.get(str(s).strip().lower(), default_roles)) if isinstance(s, str)
                          else ";".join(default_roles) for s in sectors], dtype=object)
    defaults = by_sector[sector_codes] if len(sectors) else np.array([], dtype=object)
    if "buyer_roles" not in customers.columns:
        return pd.Series(defaults, index=customers.index, dtype=object)
    given = customers["buyer_roles"].to_numpy(dtype=object)
    codes, uniques = pd.factorize(given, use_na_sentinel=False)
    blank = np.array([not isinstance(u, str) or not u.strip() for u in uniques], dtype=bool)
    if len(uniques):
        given = np.where(blank[codes], defaults, given)
    return pd.Series(given, index=customers.index, dtype=object)


def _sum_by(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-code sums taken in (code, value) order, so any permutation of the rows gives the same bits."""
    order = np.lexsort((values, codes))
    return np.bincount(codes[order], weights=values[order], minlength=n)


def _numbers(customers: pd.DataFrame, column: str, findings: list[Finding]) -> np.ndarray:
    """A non-negative numeric column as floats; bad values become findings, not silent zeros."""
    values = pd.to_numeric(customers[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        findings.append(Finding(f"{int(bad.sum())} value(s) missing, not numeric or negative (first at position "
                                f"{first}: {customers[column].iloc[first]!r})", source="customers", field=column))
    return values


def _fmt(x: float, digits: int = 1) -> str:
    """A number as short as it can be read: no '.0' on whole numbers."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.{digits}f}"


def _pct(x: float) -> str:
    """A share as a whole percentage, as the reason texts quote it."""
    return f"{100 * x:.0f}%"


def product_line_advice(
    customers: pd.DataFrame,
    *,
    reps_per_line: Mapping[str, int] | None = None,
    cycle_weeks: int = 4,
    field_reps: int | None = None,
    sector_roles: Mapping[str, Sequence[str]] = DEFAULT_SECTOR_ROLES,
    default_roles: Sequence[str] = ("owner",),
    inside_tiers: Collection[str] = (),
    rep_hours_per_week: float = 37.5,
    broad_share: float = 0.5,
    max_overlap_for_team: float = 0.3,
    min_fte_for_team: float = 1.0,
    min_roles_for_overlay: int = 2,
    min_calls_per_rep_week: float = 5.0,
) -> pd.DataFrame:
    """Per product line, the numbers behind a specialist-vs-generalist decision and the recommendation.

    See the module docstring for the columns and the decision rule. `field_reps` (the generalist field force) is
    needed only for lines missing from `reps_per_line`. Raises `InputError` for missing or invalid columns and
    `ValueError` for invalid parameters.
    """
    reps_per_line = dict(reps_per_line or {})
    problems = []
    if cycle_weeks <= 0:
        problems.append(f"cycle_weeks must be > 0, got {cycle_weeks}")
    if rep_hours_per_week <= 0:
        problems.append(f"rep_hours_per_week must be > 0, got {rep_hours_per_week}")
    if field_reps is not None and field_reps <= 0:
        problems.append(f"field_reps must be > 0, got {field_reps}")
    problems += [f"reps_per_line[{k!r}] must be > 0, got {v}" for k, v in sorted(reps_per_line.items()) if v <= 0]
    if problems:
        raise ValueError("; ".join(problems))

    need = [*REQUIRED, "tier"] if inside_tiers else list(REQUIRED)
    missing = [c for c in need if c not in customers.columns]
    if missing:
        raise InputError([Finding("required column missing", source="customers", field=c) for c in missing])
    findings: list[Finding] = []
    visits = _numbers(customers, "visits_per_cycle", findings)
    workload = _numbers(customers, "workload_hours", findings)
    if findings:
        raise InputError(findings)

    n_total = len(customers)
    combo, products, lines = _incidence(customers["products"], lower=False)
    if not lines:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in DTYPES.items()})
    unknown = sorted(set(lines) - set(reps_per_line))
    if unknown and field_reps is None:
        raise ValueError(f"field_reps is needed for lines without reps_per_line: {', '.join(unknown)}")

    if inside_tiers:
        field = ~customers["tier"].astype(object).isin(list(inside_tiers)).to_numpy()
        visits = np.where(field, visits, 0.0)
        workload = np.where(field, workload, 0.0)

    n_combos = products.shape[0]
    count = np.bincount(combo, minlength=n_combos)
    visits_c = _sum_by(combo, visits, n_combos)
    workload_c = _sum_by(combo, workload, n_combos)

    role_combo, role_matrix, roles = _incidence(_role_texts(customers, sector_roles, default_roles), lower=True)
    n_role_combos = role_matrix.shape[0]
    pairs = np.unique(combo * n_role_combos + role_combo)  # (products, roles) combinations that occur
    present = (products[pairs // n_role_combos].T @ role_matrix[pairs % n_role_combos]).toarray() > 0

    weighted = sparse.diags_array(count, dtype=np.int64) @ products
    n_line = np.asarray(weighted.sum(axis=0)).ravel()
    shared = (products.T @ weighted).toarray()  # customers buying both lines, exact integers
    multi = np.asarray(products.sum(axis=1)).ravel() > 1
    overlap_n = products.T @ (count * multi)
    np.fill_diagonal(shared, -1)
    best = shared.argmax(axis=1)  # first maximum: ties go to the line first by name
    best_n = shared[np.arange(len(lines)), best]
    by_line = products.tocsc()

    rows = []
    for j, line in enumerate(lines):
        n = int(n_line[j])  # > 0: every line comes from some customer's products
        in_line = by_line.indices[by_line.indptr[j]:by_line.indptr[j + 1]]
        line_visits = math.fsum(visits_c[in_line])  # exact, so the order of combinations cannot matter
        line_workload = math.fsum(workload_c[in_line])
        reps = int(reps_per_line.get(line, field_reps or 0))
        rows.append(_Line(
            product_line=line,
            n_customers=n,
            share_of_customers=n / n_total,
            distinct_buyer_roles=int(present[j].sum()),
            buyer_roles=";".join(r for r, p in zip(roles, present[j], strict=True) if p),
            specialist_visits_per_cycle=line_visits,
            reps_carrying=reps,
            specialist_calls_per_rep_week=line_visits / cycle_weeks / reps,
            overlap_with_other_lines=int(overlap_n[j]) / n,
            most_overlapping_line=lines[best[j]] if best_n[j] > 0 else None,
            most_overlapping_share=max(int(best_n[j]), 0) / n,
            workload_hours=line_workload,
            fte_needed=line_workload / (rep_hours_per_week * cycle_weeks),
        ))
    rule = _Rule(broad_share, max_overlap_for_team, min_fte_for_team, min_roles_for_overlay, min_calls_per_rep_week)
    decided = [_decide(row, rule) for row in rows]
    table = pd.DataFrame(rows, columns=COLUMNS[:-2])
    table["recommendation"] = [d[0] for d in decided]
    table["reason"] = [d[1] for d in decided]
    return table.astype(DTYPES)


class _Line(NamedTuple):
    """One line's numbers, the output row before the recommendation."""

    product_line: str
    n_customers: int
    share_of_customers: float
    distinct_buyer_roles: int
    buyer_roles: str
    specialist_visits_per_cycle: float
    reps_carrying: int
    specialist_calls_per_rep_week: float
    overlap_with_other_lines: float
    most_overlapping_line: str | None
    most_overlapping_share: float
    workload_hours: float
    fte_needed: float


class _Rule(NamedTuple):
    """The decision rule's thresholds (see the module docstring)."""

    broad_share: float
    max_overlap_for_team: float
    min_fte_for_team: float
    min_roles_for_overlay: int
    min_calls_per_rep_week: float


def _decide(x: _Line, rule: _Rule) -> tuple[str, str]:
    """Apply the decision rule to one line; the reason names the numbers and thresholds it turned on."""
    share, overlap, n = x.share_of_customers, x.overlap_with_other_lines, x.n_customers
    calls, fte, n_roles = x.specialist_calls_per_rep_week, x.fte_needed, x.distinct_buyer_roles
    with_other = f", most with {x.most_overlapping_line}" if x.most_overlapping_line else ""
    calls_text = (f"{calls:.1f} specialist calls per rep-week across {x.reps_carrying} "
                  f"rep{'' if x.reps_carrying == 1 else 's'}")

    if share >= rule.broad_share:
        return KEEP, (f"bought by {_pct(share)} of customers ({n:,}; >= {_pct(rule.broad_share)}): "
                      f"the field force's everyday work")
    if overlap <= rule.max_overlap_for_team and fte >= rule.min_fte_for_team:
        return TEAM, (f"only {_pct(overlap)} of its {n:,} customers buy another line "
                      f"(<= {_pct(rule.max_overlap_for_team)}) and its {_fmt(x.workload_hours)} h per cycle "
                      f"need {fte:.1f} full-time reps (>= {_fmt(rule.min_fte_for_team)})")
    if n_roles >= rule.min_roles_for_overlay and calls >= rule.min_calls_per_rep_week:
        return OVERLAY, (f"{n_roles} buyer roles (>= {rule.min_roles_for_overlay}) and {calls_text} "
                         f"(>= {_fmt(rule.min_calls_per_rep_week)}); {_pct(overlap)} of its customers buy another "
                         f"line{with_other}, so specialists join the generalists' calls")
    failed = []
    if n_roles < rule.min_roles_for_overlay:
        failed.append(f"{n_roles} buyer role{'' if n_roles == 1 else 's'} (< {rule.min_roles_for_overlay})")
    if calls < rule.min_calls_per_rep_week:
        failed.append(f"{calls_text} (< {_fmt(rule.min_calls_per_rep_week)})")
    if overlap > rule.max_overlap_for_team:
        failed.append(f"{_pct(overlap)} of its customers buy another line{with_other} "
                      f"(> {_pct(rule.max_overlap_for_team)})")
    if fte < rule.min_fte_for_team:
        failed.append(f"{fte:.1f} full-time reps of workload (< {_fmt(rule.min_fte_for_team)})")
    return KEEP, f"bought by {_pct(share)} of customers ({n:,}); no overlay or team: " + "; ".join(failed)
