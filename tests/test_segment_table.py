"""Micro-segments: keys, merging of small segments within a sector, scores with their inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory_opt.prepare.segment_table import ScoreWeights, build_segments, merge_small, segment_keys


def frame(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sector", "product_version", "payment_format", "current_value",
                                       "potential_value"])


def test_keys_join_columns_and_mark_missing_values() -> None:
    customers = pd.DataFrame({"sector": ["a", "b"], "version": ["x", None]})
    assert segment_keys(customers, ["sector", "version"]).tolist() == ["a|x", "b|-"]


def test_small_segments_join_the_most_similar_large_one_of_their_sector() -> None:
    keys = pd.Series(["r|p|cash"] * 5 + ["r|e|card"] * 4 + ["r|p|card"] * 1 + ["h|p|cash"] * 1)
    sectors = keys.str[0]
    target = merge_small(keys, sectors, min_size=3)
    assert target["r|p|card"] in {"r|p|cash", "r|e|card"}  # one column away from both; the larger wins
    assert target["r|p|card"] == "r|p|cash"
    assert target["h|p|cash"] == "h|p|cash"  # no other segment in its sector: kept
    assert target["r|e|card"] == "r|e|card"


def test_segment_table_counts_values_and_scores() -> None:
    customers = frame([
        ("retail", "premium", "cash", 100.0, 200.0),
        ("retail", "premium", "cash", 100.0, 200.0),
        ("retail", "economy", "cash", 50.0, 50.0),
        ("retail", "economy", "cash", 50.0, 50.0),
        ("horeca", "premium", "card", 10.0, 100.0),
        ("horeca", "premium", "card", 10.0, 100.0),
    ])
    ids, table = build_segments(customers, ["product_version", "payment_format"], min_size=2)
    assert ids.tolist() == ["S003", "S003", "S002", "S002", "S001", "S001"]  # ids follow sorted keys
    row = table.set_index("segment_id").loc["S003"]
    assert (row["n_customers"], row["value"], row["potential"]) == (2, 200.0, 400.0)
    assert row["share_of_wallet"] == pytest.approx(0.5) and row["growth"] == pytest.approx(0.5)
    assert table["attractiveness"].between(0, 100).all() and table["competitiveness"].between(0, 100).all()
    # retail/economy holds all its potential: the most competitive; horeca has the most headroom
    best = table.set_index("segment_id")
    assert best["competitiveness"].idxmax() == "S002"
    assert best["growth"].idxmax() == "S001"
    assert table["buyer_attractiveness"].isna().all()


def test_segment_ids_do_not_depend_on_row_order() -> None:
    rng = np.random.default_rng(1)
    customers = frame([(str(rng.choice(["a", "b"])), str(rng.choice(["x", "y", "z"])), str(rng.choice(["c", "d"])),
                        float(rng.integers(1, 100)), float(rng.integers(100, 200))) for _ in range(200)])
    ids, table = build_segments(customers, ["product_version", "payment_format"], min_size=15)
    order = rng.permutation(len(customers))
    ids2, table2 = build_segments(customers.iloc[order].reset_index(drop=True),
                                  ["product_version", "payment_format"], min_size=15)
    assert ids.iloc[order].tolist() == ids2.tolist()
    pd.testing.assert_frame_equal(table, table2)
    assert table["n_customers"].sum() == 200


def test_buyer_columns_feed_the_third_score() -> None:
    customers = frame([("r", "p", "c", 1.0, 2.0), ("r", "p", "c", 1.0, 2.0), ("h", "p", "c", 1.0, 2.0)])
    customers["satisfaction"] = [9.0, 7.0, 2.0]
    _, table = build_segments(customers, ["product_version"], min_size=1,
                              weights=ScoreWeights(buyer_columns={"satisfaction": 1.0}))
    scores = table.set_index("sector")["buyer_attractiveness"]
    assert scores["r"] == 100.0 and scores["h"] == 0.0
    assert table.set_index("sector").loc["r", "buyer_satisfaction"] == pytest.approx(8.0)
