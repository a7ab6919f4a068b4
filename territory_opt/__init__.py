"""territory-opt: sales territory design and rep assignment with OR-Tools.

The public API: load a `Scenario`, run it, write the outputs.

    from territory_opt import load_scenario, run_scenario, write_outputs
    scenario = load_scenario("configs/demo.yaml")
    run = run_scenario(scenario, seed=0)
    write_outputs(run, scenario.output.dir)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .config import Scenario, load_scenario
from .io.write import write_outputs
from .pipeline import RunResult, prepare, run_scenario

__all__ = ["RunResult", "Scenario", "__version__", "load_scenario", "prepare", "run_scenario", "write_outputs"]
