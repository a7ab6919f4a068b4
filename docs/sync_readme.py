"""Regenerate the README's scenario reference from the schema: `python docs/sync_readme.py`."""

from __future__ import annotations

from pathlib import Path

from territory_opt.config import scenario_reference

START, END = "<!-- scenario-reference:start -->\n", "<!-- scenario-reference:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"

if __name__ == "__main__":
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(head + START + scenario_reference() + END + tail, encoding="utf-8")
