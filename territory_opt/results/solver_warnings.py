"""What a manager must hear about how the answer was reached: a wall-clock safety stop that ended a search (the
answer may then differ on a busier or quieter machine) and a bound that could not be proven."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import Finding

# LP statuses that leave the bound as designed: optimal gives it, infeasible stops the run before this point
_SOUND_LP = ("optimal", "infeasible")


def solver_findings(stats: Mapping[str, object], routing_days_capped: int = 0) -> list[Finding]:
    """Warnings for `warnings.csv`, the log and `--json` (and a failure under `--strict`)."""
    found = []
    capped = [key for key, value in sorted(stats.items()) if key.endswith("wall_capped") and int(str(value)) > 0]
    if capped:
        found.append(Finding(
            "the solver's wall-clock safety stop, not its work budget, ended the search "
            f"({', '.join(capped)}): the machine was too busy to finish the budget in time, so this answer may "
            "differ from an idle machine's; rerun on a quieter machine or lower solver.time_limit_s",
            field="solver.time_limit_s"))
    lp_status = stats.get("lp_status")
    if lp_status is not None and lp_status not in _SOUND_LP:
        found.append(Finding(
            f"the LP relaxation ended with status {lp_status} (the wall-clock safety stop on a busy machine, or a "
            "numerical failure): the bound and gap come from the solver's own weaker bound", field="solver"))
    if routing_days_capped:
        found.append(Finding(
            f"routing: the wall-clock safety stop ended {routing_days_capped} day route search(es) before their "
            "solution limit: the call plan may differ on an idle machine", field="routing.time_limit_s"))
    return found
