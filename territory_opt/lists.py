"""`;`-separated lists in data cells (a customer's product lines, a rep's teams), read one way everywhere."""

from __future__ import annotations

import pandas as pd


def split_list(text: object) -> list[str]:
    """The non-empty, stripped items of a `;`-separated cell, in order, without repeats (blank or NaN: none)."""
    if text is None or (not isinstance(text, str) and bool(pd.isna(text))):
        return []
    return list(dict.fromkeys(p.strip() for p in str(text).split(";") if p.strip()))

