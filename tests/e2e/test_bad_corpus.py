"""The bad-input corpus (issue 7): every folder of tests/data/bad/ is one broken scenario, run through the real CLI.

A case folder holds `scenario.yaml`, the few data files it needs (most cases point at the shared valid files in
`_valid/` with `../_valid/...`), and `expected.yaml`:

    exit_code: 2                 # the documented exit code both commands must end with
    message: [customers.csv, "row 5", "field 'lat'"]   # fragments that must all appear in the output
    command: run                 # optional: validate, run or both (default both)
    args: [--strict]             # optional: extra arguments for `run`
    setup: huge_customers        # optional: built at test time (see SETUPS)

Each case is copied to tmp_path first, so no output can land in the repository, and must end without a traceback,
with a documented exit code and nothing left behind: no output folder, no lock, no temporary sibling.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from territory_opt.cli import app
from territory_opt.errors import EXIT_CODES

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad"
SHARED = "_valid"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))
RUN_ARGS = ["--time-limit", "1", "--quiet"]
EXPECTED_KEYS = {"exit_code", "message", "command", "args", "setup"}
RUNNER = CliRunner()
FILE_SIZE_LIMIT = 64 * 1024  # disk_full: bigger than the lock file and the first tables, smaller than map.png


def _huge_customers(folder: Path) -> None:
    """A 1,000,000-row customers.csv (about 45 MB) whose every latitude is out of range: it must be read, and the
    report must stay short (a few rows per field, then a count), not a million lines."""
    n = 1_000_000
    header = "customer_id,lon,lat,sector,current_value,potential_value\n"
    with (folder / "customers.csv").open("w", encoding="utf-8") as fh:
        fh.write(header)
        block = 50_000
        for start in range(0, n, block):
            fh.write("".join(f"C{i:07d},16.9,95.0,retail,1000,2000\n" for i in range(start, start + block)))


def _sparse_too_big(folder: Path) -> None:
    """A customers.csv of 5 GiB that takes no disk (sparse): refused by its size before anything reads it."""
    with (folder / "customers.csv").open("wb") as fh:
        fh.write(b"customer_id,lon,lat,sector,current_value,potential_value\n")
        fh.truncate(5 * 2**30)


SETUPS: dict[str, Callable[[Path], None]] = {
    "huge_customers": _huge_customers,
    "too_big": _sparse_too_big,
    "disk_full": lambda folder: None,  # the limit is set on the subprocess (see _run_with_file_size_limit)
}


def _limit_file_size() -> None:  # runs in the child: Python ignores SIGXFSZ, so a write past it fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def _run_with_file_size_limit(args: list[str], cwd: Path) -> tuple[int, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLCONFIGDIR": str(cwd / ".mpl")}
    env.pop("TERRITORY_OPT_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "territory_opt", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, preexec_fn=_limit_file_size, check=False)
    shutil.rmtree(cwd / ".mpl", ignore_errors=True)
    return done.returncode, done.stdout + done.stderr


def load_expected(case: Path) -> dict[str, Any]:
    expected = yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))
    assert isinstance(expected, dict) and not set(expected) - EXPECTED_KEYS, f"{case.name}: bad expected.yaml"
    messages = expected.get("message", [])
    expected["message"] = [messages] if isinstance(messages, str) else list(messages)
    expected.setdefault("command", "both")
    expected.setdefault("args", [])
    assert expected["command"] in ("validate", "run", "both"), case.name
    assert expected.get("setup") in (None, *SETUPS), f"{case.name}: unknown setup {expected.get('setup')!r}"
    return expected


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def execute(command: str, scenario: Path, expected: dict[str, Any]) -> tuple[int, str]:
    args = [command, str(scenario)]
    if command == "run":
        args += [*RUN_ARGS, *expected["args"]]
    if expected.get("setup") == "disk_full":
        return _run_with_file_size_limit(args, scenario.parent)
    result = RUNNER.invoke(app, args, env={"TERRITORY_OPT_DEBUG": None})
    return result.exit_code, result.output


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60, f"only {len(CASES)} cases in {CORPUS}"
    assert (CORPUS / SHARED / "customers.csv").is_file()


def test_the_shared_valid_files_are_valid(tmp_path: Path) -> None:
    """A scenario over `_valid/` alone passes, so each case fails for its own reason only."""
    shutil.copytree(CORPUS / SHARED, tmp_path / SHARED)
    folder = tmp_path / "ok"
    folder.mkdir()
    scenario = yaml.safe_load((CORPUS / "unknown_key_top" / "scenario.yaml").read_text(encoding="utf-8"))
    del scenario["colour"]
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    result = RUNNER.invoke(app, ["validate", str(folder / "scenario.yaml")])
    assert result.exit_code == 0 and "warning" not in result.output, result.output


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_case(case: Path, tmp_path: Path) -> None:
    expected = load_expected(case)
    assert expected["exit_code"] in EXIT_CODES, f"{case.name}: {expected['exit_code']} is not a documented code"
    shutil.copytree(CORPUS / SHARED, tmp_path / SHARED)
    work = tmp_path / case.name
    shutil.copytree(case, work, ignore=shutil.ignore_patterns("expected.yaml"))
    if expected.get("setup"):
        SETUPS[expected["setup"]](work)
    before = tree(tmp_path)
    commands = ("validate", "run") if expected["command"] == "both" else (expected["command"],)
    for command in commands:
        code, output = execute(command, work / "scenario.yaml", expected)
        assert code in EXIT_CODES, f"{command}: undocumented exit code {code}:\n{output}"
        assert code == expected["exit_code"], f"{command}: exit {code}, expected {expected['exit_code']}:\n{output}"
        assert "Traceback" not in output and "internal error" not in output, f"{command}:\n{output}"
        missing = [m for m in expected["message"] if m not in output]
        assert not missing, f"{command}: {missing} not in the output:\n{output}"
        left = sorted(tree(tmp_path) - before)
        assert not left, f"{command} left {left} behind"


def test_the_default_output_folder_is_beside_the_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `output.dir` the folder is `out` beside the scenario file (as documented), not in the working
    directory: a failed case must not write there either."""
    shutil.copytree(CORPUS / SHARED, tmp_path / SHARED)
    folder = tmp_path / "case"
    folder.mkdir()
    scenario = yaml.safe_load((CORPUS / "unknown_key_top" / "scenario.yaml").read_text(encoding="utf-8"))
    del scenario["colour"], scenario["output"]
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = RUNNER.invoke(app, ["run", str(folder / "scenario.yaml"), *RUN_ARGS])
    assert result.exit_code == 0, result.output
    assert (folder / "out" / "assignments.csv").is_file() and not list(elsewhere.iterdir())
