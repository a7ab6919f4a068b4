"""Design mode's engine: choose which `p` candidate sites become territory centres, and which centre serves each
customer (the p-median family, DESIGN.md section 4, "design" mode).

One engine per kind of problem:
- uncapacitated p-median (`uncapacitated.py`): fast interchange inside a variable-neighbourhood search
  (`interchange.py`), a Lagrangian bound (`lagrangian.py`), CP-SAT on a gap left on a small instance;
- capacity, size bounds and/or soft balance (`capacitated.py`): CP-SAT on the assignment model (`model.py`,
  `cpsat.py`) around a flow-judged centre-swap search (`assign.py`, `swap.py`) and a region LNS (`lns.py`).
Answers are judged by `judge.py`, never by the engine that found them.

Every engine is deterministic for a seed and worker count: budgets are work seconds (`meter.py` prices each
step), never wall time; the budget's wall-clock cap is only a safety stop, and `stats["wall_capped"]` says when it
ended a run.
"""

from __future__ import annotations

from ..budget import Budget, WorkMeter
from .capacitated import solve_capacitated
from .judge import design_objective, design_violations
from .problem import DesignProblem
from .result import DesignResult
from .uncapacitated import solve_uncapacitated

__all__ = ["DesignProblem", "DesignResult", "design_objective", "design_violations", "solve_design"]


def solve_design(problem: DesignProblem, budget: Budget, *, seed: int = 0, workers: int = 1) -> DesignResult:
    """Choose `problem.p` centres and serve every customer, minimising the objective under the hard rules.

    `budget.work_s` is counted in work seconds (reproducible, roughly seconds on one core), not wall time: the same
    problem, seed and worker count give the same answer on any machine load. Raises InfeasibleError when the
    capacity and size rules cannot all hold, SolverLimitError when no feasible answer is found within the budget.
    """
    if not isinstance(problem, DesignProblem):
        raise ValueError("problem must be a DesignProblem")
    if not isinstance(budget, Budget):
        raise ValueError(f"budget must be a Budget, got {budget!r}")
    if budget.work_s is None:
        raise ValueError("the design engines count work: the budget needs work_s")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    meter = WorkMeter(budget)
    if problem.is_uncapacitated:
        result = solve_uncapacitated(problem, meter, int(seed), workers)
    else:
        result = solve_capacitated(problem, meter, int(seed), workers)
    if budget.stopped():
        result.stats["stopped"] = 1  # ended from outside: the answer depends on when
    return result
