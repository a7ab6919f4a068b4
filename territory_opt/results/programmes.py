"""The programmes of a solved run: the hours each customer costs under its reps (calls and the drive estimate), the
programmes table (prepare/programmes.py) built on them, and its section of report.html."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..model.problem import Problem
from ..prepare.prepared import Prepared
from ..prepare.programmes import ServeHours, programme_summary, programme_table, segment_entries
from .report_html import table

WEEKS_PER_YEAR = 52
FLAGGED_ROWS = 25


def serve_hours(prepared: Prepared, assignment: np.ndarray) -> ServeHours:
    """Per customer, hours a year: its travelling teams' calls and estimated drive from the reps that serve it
    (model/drive.py, counted whether `workload.drive` is on or not), and its phone teams' calls."""
    problem: Problem = prepared.problem
    need = np.arange(problem.n_needs)
    rep = np.asarray(assignment, dtype=np.int64)
    per_year = WEEKS_PER_YEAR / prepared.scenario.cycle_weeks / 3600.0
    calls = problem.calls_only().workload(need, rep).astype(float) * per_year
    drive = problem.drive_s(need, rep).astype(float) * per_year
    travels = np.array([t.travel_weight > 0 for t in prepared.scenario.teams], dtype=bool)[problem.need_team]
    n = problem.n_customers

    def per_customer(values: np.ndarray) -> np.ndarray:
        return np.bincount(problem.need_customer, weights=values, minlength=n)

    return ServeHours(field=per_customer(np.where(travels, calls + drive, 0.0)),
                      field_calls=per_customer(np.where(travels, calls, 0.0)),
                      inside=per_customer(np.where(travels, 0.0, calls)))


def programme_view(prepared: Prepared, assignment: np.ndarray,
                   rows: list[int] | None = None) -> pd.DataFrame | None:
    """programmes.csv's rows for a run, or only those of the customers at `rows` (the table's rules are per
    customer); None when the scenario has no `programmes:`."""
    settings = prepared.scenario.programmes
    if settings is None:
        return None
    hours, customers = serve_hours(prepared, assignment), prepared.customers
    if rows is not None:
        hours = ServeHours(field=hours.field[rows], field_calls=hours.field_calls[rows], inside=hours.inside[rows])
        customers = customers.iloc[rows]
    return programme_table(customers, settings, hours, prepared.scenario.source_name)


def rebate_table(programmes: pd.DataFrame) -> pd.DataFrame:
    """Rebate cost at today's behaviour per programme and band: customers, their current value, the rebate."""
    paid = programmes[programmes["programme"] != "none"]
    out = (paid.groupby(["programme", "rebate_band"], sort=True)
           .agg(customers=("customer_id", "count"), current_value=("current_value", "sum"),
                rebate_cost=("rebate_cost", "sum")).reset_index())
    out[["current_value", "rebate_cost"]] = out[["current_value", "rebate_cost"]].round(0).astype(np.int64)
    return out


def _money(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-unit money columns as floats, which the report's tables print with thousands separators."""
    money = [c for c in ("current_value", "margin", "cost_to_serve", "rebate_cost", "contribution") if c in frame]
    return frame.astype(dict.fromkeys(money, float))


def programmes_section(programmes: pd.DataFrame | None, tier_names: list[str], margin_pct: float) -> list[str]:
    """report.html's Programmes section: the tier x programme table, the rebate cost at today's behaviour, and the
    flagged customers (the first FLAGGED_ROWS by contribution; all are in programmes.csv)."""
    if programmes is None:
        return []
    summary = programme_summary(programmes, tier_names)
    flagged = programmes[programmes["flag"] == "unprofitable"].sort_values(["contribution", "customer_id"],
                                                                         kind="stable")
    unknown = int(programmes["earned_by"].str.contains("behaviour unknown", regex=False).sum())
    rebate = float(programmes["rebate_cost"].sum())
    by_suggestion = ", ".join(f"{k} {v:,}" for k, v in flagged["suggestion"].value_counts().sort_index().items())
    out = [f"<p id='programmes-totals' data-customers='{len(programmes)}' data-flagged='{len(flagged)}' "
           f"data-rebate-cost='{rebate:.0f}'>Contribution = current value x {margin_pct:g} (margin) - cost to serve "
           "(calls and drive hours, orders handled; or the customers file's cost_to_serve) - rebate. Every row is in "
           "programmes.csv.</p>",
           "<h3>Tiers and programmes</h3>", table(_money(summary)),
           f"<h3>Rebate cost at today's behaviour: {rebate:,.0f}</h3>",
           f"<p class='note'>{unknown:,} customers' behaviour is unknown for at least one ladder: they are in its base "
           "band (no rebate).</p>" if unknown else "",
           table(_money(rebate_table(programmes))),
           f"<h3>Customers costing more than they bring: {len(flagged):,}</h3>"]
    if len(flagged):
        out.append(f"<p>Suggested: {html.escape(by_suggestion)}. Flagged when contribution is below "
                   "programmes.flag_below; customers without sales are prospects, not judged.</p>")
        shown = flagged[["customer_id", "tier", "programme", "channel", "contribution", "suggestion", "flag_rule"]]
        out.append(table(shown, max_rows=FLAGGED_ROWS, long=("flag_rule",), more="in programmes.csv"))
    return out


def programme_facts(prepared: Prepared, assignment: np.ndarray, customer: int) -> dict[str, object] | None:
    """`explain`'s programme part: the customer's programmes.csv row as plain values, and why, in words."""
    settings = prepared.scenario.programmes
    view = programme_view(prepared, assignment, [customer])  # its one row, not all of programmes.csv
    if settings is None or view is None:
        return None
    row = view.iloc[0]
    values = {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    tier, sector = str(row["tier"]), str(row["sector"])
    programme = settings.tiers.get(tier)
    if programme is None:
        why = [f"tier {tier} has no programme (programmes.tiers.{tier}): no payment terms, no rebate"]
    else:
        variant = (f"; sector {sector} has its own variant (programmes.tiers.{tier}.by_sector.{sector})"
                   if sector in programme.by_sector else "")
        entry = int(segment_entries(prepared.customers.iloc[[customer]], programme, f"programmes.tiers.{tier}")[0])
        if entry >= 0:
            variant += f"; its segment matches programmes.tiers.{tier}.by_segment[{entry}]"
        why = [f"tier {tier} -> programme {row['programme']}{variant}"]
        terms = "prepayment" if values["payment_days"] == 0 else (
            f"{values['payment_days']} days" if values["payment_days"] is not None else "none set")
        why.append(f"payment terms {terms}; rebate {row['rebate_pct']:g} % ({row['rebate_band']}: "
                   f"{row['earned_by']})")
    why.append(f"contribution {row['contribution']:,.0f} = margin {row['margin']:,.0f} (current value x "
               f"{settings.margin_pct:g}) - cost to serve {row['cost_to_serve']:,.0f} ({row['cost_basis']}; "
               f"{row['orders_per_year']:g} orders a year from {row['orders_basis']}) - rebate "
               f"{row['rebate_cost']:,.0f}")
    if row["flag"] == "unprofitable":
        why.append(f"flagged: {row['flag_rule']}; suggestion: {row['suggestion']}")
    elif row["flag"] == "prospect":
        why.append("a prospect (no sales yet): not judged")
    return {**values, "why": why}
