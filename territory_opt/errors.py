"""Typed errors and warnings.

Library code raises these; only the CLI turns them into messages and exit codes (DESIGN.md section 8), so a
Python caller gets a typed exception it can handle, and the terminal user one clear message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One problem (or warning) in a user's scenario or data, with where it was found."""

    message: str
    source: str = ""
    row: int | None = None
    field: str = ""

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where = f"{where}, row {self.row}" if where else f"row {self.row}"
        if self.field:
            where = f"{where}, field '{self.field}'" if where else f"field '{self.field}'"
        return f"{where}: {self.message}" if where else self.message


class TerritoryOptError(Exception):
    """Base of every error a user can cause; carries every finding, not just the first."""

    exit_code = 1
    headline = "error"

    def __init__(self, findings: str | Finding | list[Finding]) -> None:
        if isinstance(findings, str):
            findings = [Finding(findings)]
        elif isinstance(findings, Finding):
            findings = [findings]
        self.findings: list[Finding] = list(findings)
        super().__init__(self.render())

    def render(self) -> str:
        if len(self.findings) == 1:
            return f"{self.headline}: {self.findings[0]}"
        lines = [f"{self.headline}: {len(self.findings)} problems found"]
        lines += [f"  - {f}" for f in self.findings]
        return "\n".join(lines)


class ConfigError(TerritoryOptError):
    """The scenario YAML is missing, malformed or has invalid fields."""

    exit_code = 2
    headline = "invalid scenario"


class InputError(TerritoryOptError):
    """An input file is missing, unreadable or holds invalid rows."""

    exit_code = 2
    headline = "invalid input"


class InfeasibleError(TerritoryOptError):
    """The rules cannot all hold at once; findings say what is short and by how much."""

    exit_code = 3
    headline = "infeasible"


class SolverLimitError(TerritoryOptError):
    """The solver's time limit ran out before any feasible answer was found."""

    exit_code = 4
    headline = "no answer within the time limit"


class QualityError(TerritoryOptError):
    """`run --strict`: the data passed every check but raised warnings, and strict mode treats them as failures."""

    exit_code = 2
    headline = "data quality warnings (--strict)"


class ChangedInputError(QualityError):
    """`quality.fail_on_change`: counts or totals moved past `quality.change_threshold` against the previous run
    (a truncated extract, say), so this answer does not replace it."""

    headline = "inputs changed too much since the previous run (quality.fail_on_change)"


class LockedError(TerritoryOptError):
    """Another run holds the output folder's lock."""

    exit_code = 5
    headline = "output folder busy"


class OutputError(TerritoryOptError):
    """The output folder cannot be written (permissions, disk full)."""

    exit_code = 2
    headline = "cannot write output"


class DatabaseError(TerritoryOptError):
    """PostgreSQL could not be reached, or refused a read or a write (a write is rolled back whole)."""

    exit_code = 6
    headline = "database error"


class ClusterError(TerritoryOptError):
    """The Dask scheduler named in `executor.scheduler` cannot be reached: an outage, not a scenario mistake, so a
    nightly wrapper may retry or fall back to `--set executor.kind=local`."""

    exit_code = 6
    headline = "cluster error"


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "internal error (a bug: please report it with the command and scenario)",
    2: "invalid scenario or input, or an output folder that cannot be written",
    3: "infeasible: the rules cannot all hold (the message says what is short)",
    4: "the solver's time limit ran out before a feasible answer was found",
    5: "another run is writing the same output folder (its lock is live; a stale lock is taken over)",
    6: "an outside service failed: PostgreSQL unreachable, login refused, or a write rolled back (nothing was "
       "written); or the Dask scheduler unreachable",
    130: "interrupted (Ctrl-C): temporary files removed, the previous answer kept",
    143: "terminated (SIGTERM): temporary files removed, the previous answer kept",
}
