"""A previous run's folder read back: its tables and JSON files, and the baseline of `run --previous`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import first_row_of
from ..errors import Finding, InputError
from .layers import as_text


def run_file(folder: Path, name: str) -> Path:
    """A file a run wrote into `folder`, or an input error saying which is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError([Finding("run folder not found", source=str(folder))])
    path = folder / name
    if not path.is_file():
        raise InputError([Finding(f"{name} is missing: is this a territory-opt run folder?", source=str(folder))])
    return path


def read_run_table(folder: Path, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A CSV of a run folder as text columns, with the columns named checked."""
    path = run_file(folder, name)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError([Finding(f"cannot read as CSV ({type(exc).__name__})", source=str(path))]) from None
    missing = [c for c in columns if c not in frame]
    if missing:
        raise InputError([Finding(f"missing column(s): {', '.join(missing)}", source=str(path))])
    return frame


def read_run_json(folder: Path, name: str) -> dict[str, Any]:
    """A run folder's JSON file (kpis.json, manifest.json) as a dict."""
    path = run_file(folder, name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Finding(f"not valid JSON ({exc})", source=str(path))]) from None
    if not isinstance(data, dict):
        raise InputError([Finding("not a JSON object", source=str(path))])
    return data


def read_previous_assignments(folder: Path) -> pd.DataFrame:
    """A previous run's `assignments.csv` as (customer_id, team, rep_id): the baseline of `run --previous`."""
    columns = ("customer_id", "team", "rep_id")
    frame = read_run_table(folder, "assignments.csv", columns)
    out = pd.DataFrame({c: as_text(frame[c]) for c in columns})
    twice = out.duplicated(["customer_id", "team"], keep="first").to_numpy()
    if twice.any():
        path = Path(folder) / "assignments.csv"
        row = int(np.flatnonzero(twice)[0]) + first_row_of(path)
        raise InputError([Finding("a customer and team appear twice", source=str(path), row=row,
                                  field="customer_id")])
    return out


def read_previous_kpis(folder: Path) -> tuple[dict[str, Any], list[Finding]]:
    """A previous run's kpis.json, and why it could not be read (then {}): the change check compares against it,
    so a missing or broken file is said, never taken silently for "nothing changed"."""
    try:
        return read_run_json(folder, "kpis.json"), []
    except InputError as exc:
        return {}, [Finding(f"the previous run's kpis.json could not be read, so changes since it are not checked: "
                            f"{finding}", source=str(folder), field="quality.change_threshold")
                    for finding in exc.findings]
