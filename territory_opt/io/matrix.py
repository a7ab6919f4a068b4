"""A user's travel matrix (CSV or Parquet): `from_id, to_id` and `seconds` or `minutes`, optionally `metres` or
`km`, for the routing (`routing.travel: matrix`).

Ids are customer ids, or rep ids for a rep's home. Rows naming ids the run does not know are skipped (a matrix made
for a larger market still works) and counted in a warning; a missing, negative or non-numeric value, or a pair given
twice, is an error naming the file, row and field. Missing metres are estimated from the seconds at the routing speed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import LayerSource
from ..errors import Finding, InputError
from ..routing.travel import MatrixTravel, StraightTravel
from .findings import FindingLog
from .sources import file_sha256, read_table

TIME_COLUMNS = {"seconds": 1.0, "minutes": 60.0}
LENGTH_COLUMNS = {"metres": 1.0, "meters": 1.0, "km": 1000.0}


def read_travel_matrix(path: Path, point_ids: np.ndarray, fallback: StraightTravel) -> tuple[MatrixTravel,
                                                                                          list[Finding], str]:
    """The matrix over `point_ids` (customers, then rep homes); returns it, its warnings and the file's SHA-256."""
    name = str(path)
    log = FindingLog()
    frame, offset = read_table(LayerSource(path=path), log, "travel matrix")
    if frame is None:
        raise InputError(log.errors)
    frame = pd.DataFrame(frame).rename(columns=lambda c: str(c).strip().lower())
    time_col = next((c for c in TIME_COLUMNS if c in frame), None)
    length_col = next((c for c in LENGTH_COLUMNS if c in frame), None)
    missing = [c for c in ("from_id", "to_id") if c not in frame]
    if missing or time_col is None:
        wanted = ", ".join(missing + ([] if time_col else ["seconds or minutes"]))
        raise InputError([Finding(f"missing column(s): {wanted} (has {', '.join(map(str, frame.columns))})",
                                  source=name)])
    index = {str(pid): i for i, pid in enumerate(point_ids.tolist())}
    if len(index) != len(point_ids):
        raise InputError([Finding("a rep_id is also a customer_id, so matrix ids are ambiguous", source=name)])
    rows = np.arange(len(frame)) + offset
    src = frame["from_id"].astype(str).str.strip().map(index)
    dst = frame["to_id"].astype(str).str.strip().map(index)
    known = src.notna().to_numpy() & dst.notna().to_numpy()
    values = {}
    for col, scale in ((time_col, TIME_COLUMNS.get(time_col)), (length_col, LENGTH_COLUMNS.get(length_col or ""))):
        if col is None:
            continue
        number = pd.to_numeric(frame[col].astype(str).str.strip(), errors="coerce").to_numpy(float)
        bad = known & ~(np.isfinite(number) & (number >= 0))
        for row in rows[bad][:5].tolist():
            log.add(Finding("not a number >= 0", source=name, row=row, field=col), kind=col)
        values[col] = number * float(scale or 1.0)
    log.summarise_overflow()
    if log.errors:
        raise InputError(log.errors)
    n_points = len(point_ids)
    key = src.to_numpy(float)[known].astype(np.int64) * n_points + dst.to_numpy(float)[known].astype(np.int64)
    order = np.argsort(key, kind="stable")
    key = key[order]
    twice = np.flatnonzero(key[1:] == key[:-1])
    if len(twice):
        row = int(rows[known][order][twice[0] + 1])
        raise InputError([Finding(f"the pair {frame['from_id'].iloc[row - offset]!r} -> "
                                  f"{frame['to_id'].iloc[row - offset]!r} is given twice", source=name, row=row)])
    seconds = np.rint(values[time_col][known][order]).astype(np.int64)
    if length_col is not None:
        metres = np.rint(values[length_col][known][order]).astype(np.int64)
    else:
        metres = np.rint(seconds * fallback.speed_kmh / 3.6).astype(np.int64)
    warnings = []
    if (~known).any():
        warnings.append(Finding(f"{int((~known).sum()):,} rows name ids this run does not have (skipped)",
                                source=name))
    return MatrixTravel(key, seconds, metres, n_points, fallback), warnings, file_sha256(path)
