"""Findings collected across every input file, so one run reports every problem at once (and no column floods it)."""

from __future__ import annotations

from collections import defaultdict

from ..errors import Finding

MAX_FINDINGS_PER_FIELD = 20


class FindingLog:
    """Collects findings, keeping at most a few per (file, field, kind) so one bad column cannot flood the report."""

    def __init__(self) -> None:
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []
        self.notes: list[Finding] = []  # how an input was read, for the log: no problem, nothing to fix
        self._counts: dict[tuple[str, str, str], int] = defaultdict(int)
        self.rows_with_errors: set[tuple[str, int]] = set()  # (source, row), also of findings past the cap

    def add(self, finding: Finding, *, kind: str = "", warning: bool = False) -> None:
        key = (finding.source, finding.field, kind or finding.message)
        self._counts[key] += 1
        if not warning and finding.row is not None:
            self.rows_with_errors.add((finding.source, finding.row))
        if self._counts[key] <= MAX_FINDINGS_PER_FIELD:
            (self.warnings if warning else self.errors).append(finding)

    def note(self, finding: Finding) -> None:
        self.notes.append(finding)

    def sources_with_errors(self) -> set[str]:
        return {finding.source for finding in self.errors}

    def in_file_order(self) -> list[Finding]:
        """The errors file by file (in the order first reported), each file's rows top to bottom, findings without a
        row after them: how the operator reads the file to fix it."""
        files = {source: rank for rank, source in enumerate(dict.fromkeys(f.source for f in self.errors))}
        return sorted(self.errors, key=lambda f: (files[f.source], f.row is None, f.row or 0))

    def summarise_overflow(self) -> None:
        for (source, fld, kind), count in self._counts.items():
            if count > MAX_FINDINGS_PER_FIELD:
                self.errors.append(
                    Finding(f"... and {count - MAX_FINDINGS_PER_FIELD} more rows like that ({kind})",
                            source=source, field=fld)
                )
