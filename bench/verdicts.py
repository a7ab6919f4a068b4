"""Honest benchmark summaries, shared by the published_* scripts: every instance gets a verdict, and means count
only the answers that can be compared, with the rest counted beside them.

A verdict is one of:
- `ok`: a valid answer, compared with the reference (a proven optimum or a best-known value);
- `new_best`: a valid answer better than a best-known (not proven) value: possible, counted in the mean (its gap is
  negative) and flagged;
- `beats_optimum`: better than a proven optimum, which cannot be: a bug (in the engine, the judge or the reading of
  the instance); reported, never hidden as a positive gap, and excluded from the mean;
- `invalid`: the judge rejected the answer; excluded;
- `crashed`: the engine raised (or returned nothing); excluded, the run goes on;
- `no_reference`: no published value to compare with; excluded.

Gaps are signed: (value - reference) / |reference| x 100 when minimising, (reference - value) / |reference| x 100
when maximising, so a positive gap is always "worse than the reference".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

COUNTED = ("ok", "new_best")
REL_TOL = 1e-9  # relative slack before a value counts as better than its reference (float sums)


def signed_gap(value: float, reference: float, sense: str = "min") -> float:
    """Percentage by which `value` is worse than `reference` (negative: better); nan without a usable reference."""
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', got {sense!r}")
    if not (math.isfinite(value) and math.isfinite(reference)) or reference == 0:
        return math.nan
    worse_by = value - reference if sense == "min" else reference - value
    return worse_by / abs(reference) * 100.0


@dataclass(frozen=True)
class Verdict:
    """One instance's answer, judged against its reference value."""

    name: str
    value: float  # nan when the engine crashed or gave nothing
    reference: float  # nan when there is none
    kind: str  # see the module docstring
    gap: float  # signed gap %, nan when not comparable
    error: str = ""  # the exception (crashed) or the judge's first complaint (invalid)

    @property
    def counted(self) -> bool:
        return self.kind in COUNTED

    def gap_cell(self, digits: int = 2) -> str:
        """The gap column of a table: the number, or what went wrong in capitals (never a bare number that hides it)."""
        if self.kind == "ok":
            return f"{self.gap:.{digits}f}"
        if self.kind == "new_best":
            return f"{self.gap:.{digits}f} (new best)"
        if self.kind == "beats_optimum":
            return f"BELOW PROVEN OPTIMUM ({self.gap:.{digits}f})"
        return {"invalid": "INVALID", "crashed": "CRASHED", "no_reference": "no reference"}[self.kind]


def judge(name: str, value: float | None, reference: float | None, *, sense: str = "min", proven: bool = True,
          valid: bool = True, error: str = "") -> Verdict:
    """The verdict on one answer: `value` None (or nan) is a crash, `valid` False an answer the judge rejected,
    `proven` says whether the reference is a proven optimum (else a best-known value)."""
    v = math.nan if value is None else float(value)
    ref = math.nan if reference is None else float(reference)
    if not math.isfinite(v):
        return Verdict(name, v, ref, "crashed", math.nan, error or "no answer")
    if not valid:
        return Verdict(name, v, ref, "invalid", math.nan, error)
    gap = signed_gap(v, ref, sense)
    if not math.isfinite(gap):
        return Verdict(name, v, ref, "no_reference", math.nan, error)
    better = gap < 0 and abs(gap) > REL_TOL * 100.0
    if better:
        return Verdict(name, v, ref, "beats_optimum" if proven else "new_best", gap, error)
    return Verdict(name, v, ref, "ok", max(gap, 0.0) if abs(gap) <= REL_TOL * 100.0 else gap, error)


def crashed(name: str, reference: float | None, exc: BaseException) -> Verdict:
    """The verdict on an engine call that raised."""
    return judge(name, None, reference, error=f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class Summary:
    """Means over the counted verdicts, and how many were left out and why."""

    total: int
    counted: int
    mean_gap: float  # nan when nothing counted
    max_gap: float
    at_reference: int  # counted verdicts with gap <= 0 (the optimum or better than a best-known value)
    excluded: dict[str, int]  # kind -> count, for every kind not counted

    def text(self, digits: int = 3) -> str:
        """"mean gap 0.123 %, max 0.500 % over 38 of 40 (excluded: 1 invalid, 1 crashed)"."""
        if not self.counted:
            head = "no comparable answer"
        else:
            head = (f"mean gap {self.mean_gap:.{digits}f} %, max {self.max_gap:.{digits}f} % over {self.counted} of "
                    f"{self.total}")
        return head + self.excluded_text()

    def excluded_list(self) -> str:
        """"1 crashed, 2 invalid": what was left out of the means."""
        return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in self.excluded.items())

    def excluded_text(self) -> str:
        return f" (excluded: {self.excluded_list()})" if self.excluded else ""

    def mean_cell(self, digits: int = 2) -> str:
        """A table cell: the mean, with "k/n: what was left out" beside it when some answers were."""
        if not self.counted:
            return "-" + (f" (0/{self.total})" if self.total else "")
        note = "" if self.counted == self.total else f" ({self.counted}/{self.total}: {self.excluded_list()})"
        return f"{self.mean_gap:.{digits}f}{note}"


def summarise(verdicts: Iterable[Verdict]) -> Summary:
    """Mean and max gap over the counted verdicts; every other kind counted beside them."""
    verdicts = list(verdicts)
    gaps = [v.gap for v in verdicts if v.counted]
    excluded: dict[str, int] = {}
    for v in verdicts:
        if not v.counted:
            excluded[v.kind] = excluded.get(v.kind, 0) + 1
    mean = sum(gaps) / len(gaps) if gaps else math.nan
    return Summary(len(verdicts), len(gaps), mean, max(gaps) if gaps else math.nan,
                   sum(g <= 0 for g in gaps), dict(sorted(excluded.items())))
