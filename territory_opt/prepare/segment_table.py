"""Micro-segments and their scores: the table sales ops read before deciding who calls on whom.

A micro-segment is a combination of key columns (sector, product version, payment format, sales approach...).
Segments too small to act on merge into the most similar larger segment of the same sector. Each segment is then
scored on three axes, each a weighted sum of inputs normalised to 0..1 across segments and reported 0..100 beside
those inputs, so a reader can see why a segment scores as it does:

- attractiveness to us: total value, total potential, growth headroom (potential - value) / potential;
- our competitiveness: share of wallet (value / potential) and, when the data has it, the mean win rate;
- our attractiveness to its buyers: the mean of columns the user names (satisfaction, retention...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SECTOR = "sector"


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of each score's inputs; a weight of 0 drops the input."""

    value: float = 0.4
    potential: float = 0.4
    growth: float = 0.2
    share_of_wallet: float = 1.0
    win_rate: float = 0.0
    buyer_columns: Mapping[str, float] | None = None


def segment_keys(customers: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """The raw key per customer: its values of `columns` joined with '|' (missing values read as '-')."""
    parts = [customers[c].astype("string").fillna("-").replace("", "-") for c in columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key.astype(str)


def _distance(a: str, b: str) -> int:
    """How many key columns differ (the keys have the same number of parts)."""
    return sum(x != y for x, y in zip(a.split("|"), b.split("|"), strict=True))


def merge_small(keys: pd.Series, sectors: pd.Series, min_size: int) -> dict[str, str]:
    """Map every raw key to its final key: segments under `min_size` join the most similar larger segment of the
    same sector (fewest differing key columns, then the larger, then the first in key order). Smallest first, so a
    small segment can grow by absorbing others before it is judged. A sector with no large segment keeps its
    small ones merged into its largest.
    """
    sizes = keys.value_counts().to_dict()
    sector_of = dict(zip(keys, sectors.astype(str), strict=True))
    target = {k: k for k in sizes}
    alive = dict(sizes)
    for key in sorted(sizes, key=lambda k: (sizes[k], k)):
        if alive.get(key, 0) >= min_size or key not in alive:
            continue
        peers = [k for k in alive if k != key and sector_of[k] == sector_of[key]]
        if not peers:
            continue
        large = [k for k in peers if alive[k] >= min_size] or peers
        best = min(large, key=lambda k: (_distance(key, k), -alive[k], k))
        alive[best] += alive.pop(key)
        for raw, final in target.items():
            if final == key:
                target[raw] = best
    return target


def _normalise(values: pd.Series) -> pd.Series:
    """Min-max to 0..1 across segments; a constant input carries no information and scores 0.5."""
    values = values.astype(float)
    low, high = values.min(), values.max()
    if not np.isfinite(low) or high - low <= 0:
        return pd.Series(0.5, index=values.index)
    return (values - low) / (high - low)


def _weighted(inputs: Mapping[str, pd.Series], weights: Mapping[str, float]) -> pd.Series:
    used = {k: w for k, w in weights.items() if w > 0 and k in inputs and inputs[k].notna().any()}
    if not used:
        return pd.Series(np.nan, index=next(iter(inputs.values())).index)
    total = sum(used.values())
    return sum(_normalise(inputs[k]).fillna(0.5) * w for k, w in used.items()) * (100.0 / total)


def build_segments(customers: pd.DataFrame, columns: Sequence[str], min_size: int,
                   weights: ScoreWeights | None = None) -> tuple[pd.Series, pd.DataFrame]:
    """Per customer its `segment_id`, and the segment table (one row per segment, scores 0..100 with inputs).

    Segment ids (S001...) follow the sorted final keys, so they do not depend on row order.
    """
    weights = weights or ScoreWeights()
    columns = list(columns)
    if SECTOR not in columns:
        columns = [SECTOR, *columns]
    raw = segment_keys(customers, columns)
    final = raw.map(merge_small(raw, customers[SECTOR], min_size))
    ids = {key: f"S{i + 1:03d}" for i, key in enumerate(sorted(final.unique()))}
    segment_id = final.map(ids)

    frame = pd.DataFrame({
        "segment_id": segment_id.to_numpy(),
        "raw_key": raw.to_numpy(),
        "current": customers["current_value"].to_numpy(float),
        "potential": customers["potential_value"].to_numpy(float),
    })
    if "win_rate" in customers:
        frame["win_rate"] = pd.to_numeric(customers["win_rate"], errors="coerce").to_numpy()
    buyer_columns = dict(weights.buyer_columns or {})
    for column in buyer_columns:
        frame[f"buyer_{column}"] = pd.to_numeric(customers[column], errors="coerce").to_numpy()
    grouped = frame.groupby("segment_id", sort=True)
    table = pd.DataFrame({
        "n_customers": grouped.size(),
        "merged_keys": grouped["raw_key"].nunique(),
        "value": grouped["current"].sum().round(2),
        "potential": grouped["potential"].sum().round(2),
    })
    key_parts = pd.Series({v: k for k, v in ids.items()}).str.split("|", expand=True)
    key_parts.columns = columns
    table = key_parts.join(table)
    headroom = (table["potential"] - table["value"]).clip(lower=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["growth"] = np.where(table["potential"] > 0, headroom / table["potential"], 0.0).round(4)
        table["share_of_wallet"] = np.where(table["potential"] > 0, table["value"] / table["potential"],
                                            np.nan).round(4)
    if "win_rate" in frame:
        table["win_rate"] = grouped["win_rate"].mean().round(4)
    for column in buyer_columns:
        table[f"buyer_{column}"] = grouped[f"buyer_{column}"].mean().round(4)

    table["attractiveness"] = _weighted(
        {"value": table["value"], "potential": table["potential"], "growth": table["growth"]},
        {"value": weights.value, "potential": weights.potential, "growth": weights.growth}).round(1)
    table["competitiveness"] = _weighted(
        {"share_of_wallet": table["share_of_wallet"], "win_rate": table.get("win_rate", pd.Series(dtype=float))},
        {"share_of_wallet": weights.share_of_wallet, "win_rate": weights.win_rate}).round(1)
    buyer_inputs = {c: table[f"buyer_{c}"] for c in buyer_columns}
    table["buyer_attractiveness"] = (_weighted(buyer_inputs, buyer_columns).round(1) if buyer_inputs
                                     else pd.Series(np.nan, index=table.index))
    table.index.name = "segment_id"
    return segment_id.rename("segment_id"), table.reset_index()
