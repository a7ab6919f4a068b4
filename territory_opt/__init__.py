"""territory-opt: sales territory design and rep assignment with OR-Tools.

The public API: load a `Scenario`, run it, write the outputs.

    from territory_opt import load_scenario, run_scenario, write_outputs
    scenario = load_scenario("configs/demo.yaml")
    run = run_scenario(scenario, seed=0)
    write_outputs(run, scenario.output.dir)
"""

from __future__ import annotations

__version__ = "0.1.0"

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Scenario, load_scenario
    from .io.write import write_outputs
    from .pipeline import RunResult, run_scenario
    from .preparation import prepare

__all__ = ["RunResult", "Scenario", "__version__", "load_scenario", "prepare", "run_scenario", "write_outputs"]

# the public names load on first use: `territory-opt --version` and `--help` must not pay for OR-Tools and GDAL
_HOMES = {"Scenario": ".config", "load_scenario": ".config", "write_outputs": ".io.write", "RunResult": ".pipeline",
          "prepare": ".preparation", "run_scenario": ".pipeline"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
