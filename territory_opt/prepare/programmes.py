"""Tiered account programmes: each customer's programme, rebate band, contribution after cost to serve, and the
flag on customers who cost more than they bring (`programmes:` in the scenario; config/programmes.py).

Pure functions over the enriched customers and the config; the hours a customer costs come from the solved
alignment (results/programmes.py). The rules, in order:

1. **Programme**: the customer's tier's programme (`programmes.tiers.<tier>`), its sector variant laid over it
   (`by_sector`: name, offer keys, or the whole terms), then the first `by_segment` entry whose `covers` it
   matches (name, order keys, terms); a tier without one gets programme `none`: no payment terms, no rebate.
2. **Rebate band** per ladder: the first threshold the customer's behaviour reaches (at or above for on_time_share,
   orders_per_year and share_of_wallet; at or below for days_late), earning that band's `rebate_pct`; below every
   threshold, the `base` band (no rebate); a customer whose behaviour is unknown (blank, or the column absent) gets
   the base band and `behaviour unknown`. share_of_wallet is current_value / potential_value, capped at 1 (unknown
   when potential_value is 0). Ladders add up.
3. **Orders per year**: the customer's `orders_per_year`, else current_value / `avg_order_value`, else the offer's
   `orders_per_year`, else `programmes.default_orders_per_year` (no sales and no orders column: 0).
4. **Contribution** = margin - cost to serve - rebate cost, with margin = current_value x `margin_pct`, rebate cost
   = current_value x rebate_pct / 100, and cost to serve = the customer's `cost_to_serve` column when given, else
   the estimate: hours of travelling teams (calls and estimated drive, a year) x `field_hour_cost` + hours of phone
   teams x `inside_hour_cost` + orders per year x `order_cost`.
5. **Flag**: a customer with sales (current_value > 0) whose contribution is below `flag_below` is `unprofitable`,
   with the rule in words and a suggestion: `inside sales` when its calls made by phone (call hours x
   inside_hour_cost, no drive) would lift it to `flag_below`; else `stricter terms` when that and fewer, larger
   orders (at most the offer's frequency, else default_orders_per_year) without a rebate would; else `exit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config.programmes import BEHAVIOURS, Offer, Programme, Programmes, RebateLadder, Terms
from ..errors import Finding
from .segment import covers_mask

NO_PROGRAMME = "none"
UNKNOWN = "behaviour unknown"
PROGRAMME_COLUMNS = (
    "customer_id", "tier", "sector", "programme", "channel", "order_min_value", "order_min_qty", "payment_days",
    "rebate_band", "rebate_pct", "earned_by", "current_value", "orders_per_year", "orders_basis", "margin",
    "cost_to_serve", "cost_basis", "rebate_cost", "contribution", "flag", "flag_rule", "suggestion",
)


@dataclass(frozen=True)
class ServeHours:
    """Hours a year each customer costs: travelling teams' calls and drive (`field`), of which calls (`field_calls`),
    and phone teams' calls (`inside`)."""

    field: np.ndarray
    field_calls: np.ndarray
    inside: np.ndarray


@dataclass(frozen=True)
class Variant:
    """A programme as one customer group gets it: the tier's, with its sector's exception laid over."""

    name: str
    offer: Offer
    terms: Terms


def variant(programme: Programme, sector: str | None, segment: int = -1) -> Variant:
    """The tier's programme for customers of `sector` and of `by_segment[segment]` (-1: none): name, offer keys
    and terms of the sector's variant, then of the segment's, replace the tier's."""
    out = Variant(programme.name, programme.offer, programme.terms)
    layers = [programme.by_sector.get(sector) if sector is not None else None,
              programme.by_segment[segment] if segment >= 0 else None]
    for layer in layers:
        if layer is not None:
            offer = out.offer.model_copy(update=layer.offer.model_dump(exclude_none=True))
            out = Variant(layer.name or out.name, offer, layer.terms or out.terms)
    return out


def segment_entries(customers: pd.DataFrame, programme: Programme, where: str, source: str = "scenario",
                    ) -> np.ndarray:
    """Per customer, the first `by_segment` entry it matches (-1: none)."""
    entry = np.full(len(customers), -1, dtype=np.int64)
    for i in reversed(range(len(programme.by_segment))):  # the first match wins: apply it last
        mask = covers_mask(customers, programme.by_segment[i].covers, f"{where}.by_segment[{i}].covers", source)
        entry[mask] = i
    return entry


def behaviour_values(customers: pd.DataFrame, behaviour: str) -> np.ndarray:
    """The customers' values of one behaviour (NaN: unknown); share_of_wallet is derived from the values."""
    n = len(customers)
    if behaviour == "share_of_wallet":
        current = customers["current_value"].to_numpy(float)
        potential = customers["potential_value"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(potential > 0, np.minimum(current / potential, 1.0), np.nan)
        return share
    if behaviour not in customers:
        return np.full(n, np.nan)
    return pd.to_numeric(customers[behaviour], errors="coerce").to_numpy(float)


def ladder_bands(values: np.ndarray, ladder: RebateLadder) -> np.ndarray:
    """Band per value: 0 for the best band, len(thresholds) for the base band, -1 for an unknown value."""
    higher_better = BEHAVIOURS[ladder.behaviour][0]
    thresholds = np.asarray(ladder.thresholds, dtype=float)
    reached = values[:, None] >= thresholds[None, :] if higher_better else values[:, None] <= thresholds[None, :]
    band = np.where(reached.any(axis=1), reached.argmax(axis=1), len(thresholds))
    return np.where(np.isnan(values), -1, band)


def _number(value: float) -> str:
    return f"{value:g}"


def earned_text(ladder: RebateLadder, value: float, band: int) -> str:
    """Why a customer is in its band of one ladder, in words."""
    name = ladder.behaviour
    if band < 0:
        return f"{name} unknown: {UNKNOWN}"
    higher_better = BEHAVIOURS[name][0]
    thresholds = ladder.thresholds
    if band < len(thresholds):
        sign = ">=" if higher_better else "<="
        return f"{name} {value:.4g} {sign} {_number(thresholds[band])}"
    sign = "<" if higher_better else ">"
    return f"{name} {value:.4g} {sign} {_number(thresholds[-1])}"


def band_name(ladder: RebateLadder, band: int) -> str:
    """`<behaviour> <n>` for band n (1 = best), `<behaviour> base` below every threshold or when unknown."""
    return f"{ladder.behaviour} {band + 1 if 0 <= band < len(ladder.thresholds) else 'base'}"


def programme_table(customers: pd.DataFrame, settings: Programmes, hours: ServeHours,
                    source: str = "scenario") -> pd.DataFrame:
    """One row per customer (customers' order): its programme, terms, rebate band and the behaviour behind it,
    contribution after cost to serve, and the flag with its rule and suggestion (PROGRAMME_COLUMNS)."""
    n = len(customers)
    tiers = customers["tier"].astype(str).to_numpy(dtype=object)
    sectors = (customers["sector"].astype(str).to_numpy(dtype=object) if "sector" in customers
               else np.full(n, "", dtype=object))
    current = customers["current_value"].to_numpy(float)
    name = np.full(n, NO_PROGRAMME, dtype=object)
    min_value, min_qty, payment = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    offered_orders = np.full(n, np.nan)
    rebate_pct = np.zeros(n)
    bands = np.full(n, "", dtype=object)
    earned = np.full(n, "no programme", dtype=object)
    segment = np.full(n, -1, dtype=np.int64)
    for tier_name, tier_programme in settings.tiers.items():
        if tier_programme.by_segment:
            rows = np.flatnonzero(tiers == tier_name)
            segment[rows] = segment_entries(customers.iloc[rows], tier_programme, f"programmes.tiers.{tier_name}",
                                            source)
    groups = pd.DataFrame({"tier": tiers, "sector": sectors, "segment": segment}).groupby(
        ["tier", "sector", "segment"], sort=True).indices
    for (tier, sector, entry), rows in groups.items():
        programme = settings.tiers.get(str(tier))
        if programme is None:
            continue
        chosen = variant(programme, str(sector), int(entry))
        name[rows] = chosen.name
        offer = chosen.offer
        for target, value in ((min_value, offer.order_min_value), (min_qty, offer.order_min_qty),
                              (offered_orders, offer.orders_per_year), (payment, chosen.terms.payment_days)):
            if value is not None:
                target[rows] = value
        texts: list[list[str]] = [[] for _ in rows]
        names: list[list[str]] = [[] for _ in rows]
        for ladder in chosen.terms.rebates:
            values = behaviour_values(customers.iloc[rows], ladder.behaviour)
            band = ladder_bands(values, ladder)
            pct = np.asarray([*ladder.rebate_pct, 0.0])[np.where(band < 0, len(ladder.thresholds), band)]
            rebate_pct[rows] += pct
            for k, (v, b) in enumerate(zip(values.tolist(), band.tolist(), strict=True)):
                texts[k].append(earned_text(ladder, v, b))
                names[k].append(band_name(ladder, b))
        bands[rows] = ["; ".join(b) or "base" for b in names]
        earned[rows] = ["; ".join(t) or "no rebate ladder" for t in texts]
    orders, orders_basis = _orders(customers, current, offered_orders, settings.default_orders_per_year)
    margin = current * settings.margin_pct
    rebate_cost = current * rebate_pct / 100.0
    estimate = (hours.field * settings.field_hour_cost + hours.inside * settings.inside_hour_cost
                + orders * settings.order_cost)
    given = behaviour_values(customers, "cost_to_serve")
    cost = np.where(np.isnan(given), estimate, given)
    cost_basis = np.where(np.isnan(given), "estimate", "given").astype(object)
    contribution = margin - cost - rebate_cost
    flagged = (current > 0) & (contribution < settings.flag_below)
    flag = np.where(flagged, "unprofitable", np.where(current > 0, "", "prospect")).astype(object)
    rule = np.full(n, "", dtype=object)
    rule[flagged] = [f"contribution {c:,.0f} < {settings.flag_below:g}: margin {m:,.0f} - cost to serve {s:,.0f} "
                     f"- rebate {r:,.0f}" for c, m, s, r in zip(contribution[flagged], margin[flagged],
                                                                 cost[flagged], rebate_cost[flagged], strict=True)]
    suggestion = _suggestions(flagged, margin, rebate_cost, cost, hours, orders, offered_orders, settings)
    frame = pd.DataFrame({
        "customer_id": customers["customer_id"].astype(str).to_numpy(dtype=object),
        "tier": tiers, "sector": sectors, "programme": name,
        "channel": _served_by(customers, hours),
        "order_min_value": min_value, "order_min_qty": min_qty,
        "payment_days": pd.array([None if np.isnan(p) else int(p) for p in payment.tolist()], dtype="Int64"),
        "rebate_band": np.where(name == NO_PROGRAMME, "", bands).astype(object), "rebate_pct": np.round(rebate_pct, 4),
        "earned_by": earned, "current_value": np.round(current, 2), "orders_per_year": np.round(orders, 2),
        "orders_basis": orders_basis, "margin": np.round(margin, 2), "cost_to_serve": np.round(cost, 2),
        "cost_basis": cost_basis, "rebate_cost": np.round(rebate_cost, 2), "contribution": np.round(contribution, 2),
        "flag": flag, "flag_rule": rule, "suggestion": suggestion,
    }, columns=list(PROGRAMME_COLUMNS))
    return frame


def _served_by(customers: pd.DataFrame, hours: ServeHours) -> np.ndarray:
    """`field` when a travelling team serves the customer, `inside` when only phone teams do, else the policy's
    channel (a customer no team covers)."""
    policy = (customers["channel"].astype(str).to_numpy(dtype=object) if "channel" in customers
              else np.full(len(customers), "", dtype=object))
    return np.where(hours.field > 0, "field", np.where(hours.inside > 0, "inside", policy)).astype(object)


def _orders(customers: pd.DataFrame, current: np.ndarray, offered: np.ndarray,
            default: float) -> tuple[np.ndarray, np.ndarray]:
    """Orders per year and where the figure came from (rule 3)."""
    own = behaviour_values(customers, "orders_per_year")
    average = behaviour_values(customers, "avg_order_value")
    with np.errstate(divide="ignore", invalid="ignore"):
        from_average = np.where(average > 0, current / average, np.nan)
    fallback = np.where(np.isnan(offered), default, offered)
    orders = np.where(~np.isnan(own), own, np.where(~np.isnan(from_average), from_average,
                                                     np.where(current > 0, fallback, 0.0)))
    basis = np.select([~np.isnan(own), ~np.isnan(from_average), current <= 0, ~np.isnan(offered)],
                      ["customer", "avg_order_value", "no sales", "offer"], default="default").astype(object)
    return orders, basis


def _suggestions(flagged: np.ndarray, margin: np.ndarray, rebate_cost: np.ndarray, cost: np.ndarray,
                 hours: ServeHours, orders: np.ndarray, offered: np.ndarray, settings: Programmes) -> np.ndarray:
    """What would make a flagged customer pay (rule 5): inside sales, stricter terms, or exit."""
    order_cost = orders * settings.order_cost
    inside_cost = cost - hours.field * settings.field_hour_cost + hours.field_calls * settings.inside_hour_cost
    inside_ok = (hours.field > 0) & (margin - inside_cost - rebate_cost >= settings.flag_below)
    fewer = np.minimum(orders, np.where(np.isnan(offered), settings.default_orders_per_year, offered))
    strict_cost = np.minimum(inside_cost, cost) - order_cost + fewer * settings.order_cost
    strict_ok = margin - strict_cost >= settings.flag_below
    out = np.select([inside_ok, strict_ok], ["inside sales", "stricter terms"], default="exit").astype(object)
    return np.where(flagged, out, "").astype(object)


def programme_summary(table: pd.DataFrame, tier_names: list[str]) -> pd.DataFrame:
    """Per tier (best first) and programme (by name): customers, current value, margin, cost to serve, rebate cost,
    contribution (money rounded to whole units) and how many are flagged."""
    rank = {t: i for i, t in enumerate(tier_names)}
    grouped = table.assign(flagged=table["flag"] == "unprofitable",
                           rank=table["tier"].map(rank).fillna(len(rank))).groupby(["rank", "tier", "programme"],
                                                                                  sort=True)
    summary = grouped.agg(customers=("customer_id", "count"), current_value=("current_value", "sum"),
                          margin=("margin", "sum"), cost_to_serve=("cost_to_serve", "sum"),
                          rebate_cost=("rebate_cost", "sum"), contribution=("contribution", "sum"),
                          flagged=("flagged", "sum")).reset_index().drop(columns="rank")
    money = ["current_value", "margin", "cost_to_serve", "rebate_cost", "contribution"]
    summary[money] = summary[money].round(0).astype(np.int64)
    summary["flagged"] = summary["flagged"].astype(np.int64)
    return summary


def programme_findings(customers: pd.DataFrame, settings: Programmes, source: str = "scenario") -> list[Finding]:
    """Warnings worth a look: a ladder reading a behaviour column the customers file lacks (everyone is then in its
    base band, behaviour unknown), and a sector variant no customer can use."""
    sectors = set(customers["sector"].astype(str)) if "sector" in customers else set()
    out = []
    for tier, programme in settings.tiers.items():
        terms = [(f"programmes.tiers.{tier}.terms", programme.terms)]
        terms += [(f"programmes.tiers.{tier}.by_sector.{s}.terms", v.terms) for s, v in programme.by_sector.items()
                  if v.terms is not None]
        terms += [(f"programmes.tiers.{tier}.by_segment[{i}].terms", v.terms)
                  for i, v in enumerate(programme.by_segment) if v.terms is not None]
        for where, block in terms:
            for i, ladder in enumerate(block.rebates):
                if ladder.behaviour != "share_of_wallet" and ladder.behaviour not in customers:
                    out.append(Finding(f"customers have no {ladder.behaviour!r} column: every customer of this "
                                       f"ladder is in its base band ({UNKNOWN})", source=source,
                                       field=f"{where}.rebates[{i}]"))
        out += [Finding(f"no customer has sector {s!r}; this variant applies to no one", source=source,
                        field=f"programmes.tiers.{tier}.by_sector") for s in programme.by_sector if s not in sectors]
    return out
