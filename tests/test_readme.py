"""The README stays true: its two set-up commands, CI running the second, the generated scenario reference."""

from __future__ import annotations

import re

from territory_opt.config import scenario_reference
from territory_opt.errors import EXIT_CODES

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def first_screen_commands() -> list[str]:
    head = README.split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", head, flags=re.S)


def test_first_screen_has_exactly_two_commands() -> None:
    commands = first_screen_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert commands[0].endswith("territory-opt run configs/demo.yaml")
    assert "pytest" in commands[1]


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert first_screen_commands()[1] in ci.splitlines()


def test_scenario_reference_is_generated_from_the_schema() -> None:
    block = README.split("<!-- scenario-reference:start -->\n", 1)[1].split("<!-- scenario-reference:end -->")[0]
    assert block == scenario_reference()


def test_exit_codes_table_matches_the_code() -> None:
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in README
