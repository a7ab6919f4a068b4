"""`territory-opt --version` and `--help` answer at once: the CLI module and the package load no solver or GIS."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("ortools", "geopandas", "pyogrio", "shapely", "pandas", "matplotlib", "dask", "scipy")


def test_the_cli_module_loads_no_solver_or_gis_library() -> None:
    code = ("import sys, territory_opt.cli; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""


def test_version_prints_and_the_public_api_still_loads_on_use() -> None:
    done = subprocess.run([sys.executable, "-m", "territory_opt", "--version"], capture_output=True, text=True,
                          check=True)
    assert done.stdout.startswith("territory-opt ")
    import territory_opt

    assert callable(territory_opt.run_scenario) and territory_opt.Scenario.__name__ == "Scenario"


def test_explain_and_validate_load_no_solver() -> None:
    """`explain` and `validate` prepare the inputs but never solve: OR-Tools (about 0.1 s to import) stays out."""
    code = ("import sys, territory_opt.preparation, territory_opt.results.explain; "
            "print('ortools' in ' '.join(sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False"
