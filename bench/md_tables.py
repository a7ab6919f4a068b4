"""Markdown tables for the bench scripts, in the layout docs/benchmarks.md shows them.

Every script in bench/ takes `--markdown` and then prints its result table(s) through `markdown_table` on stdout
(the machine line goes to stderr), so a table in docs/benchmarks.md is replaced by copying the script's output,
never retyped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Iterable, Sequence


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]], right: Collection[int] = ()) -> str:
    """A Markdown table: the header, a separator (`---:` for the column indices in `right`), one line per row.

    Cells print with `str`; None and "" print as an empty cell. A row must have as many cells as the header.
    """
    lines = [_line(header), "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row has {len(row)} cells, header {len(header)}: {row}")
        lines.append(_line(row))
    return "\n".join(lines)


def _line(cells: Sequence[object]) -> str:
    return "|" + "|".join(" " if cell is None or cell == "" else f" {cell} " for cell in cells) + "|"


def add_markdown_flag(parser: argparse.ArgumentParser) -> None:
    """The `--markdown` option every bench script shares."""
    parser.add_argument("--markdown", action="store_true",
                        help="print only the result table(s), as docs/benchmarks.md shows them (context on stderr)")


def context(line: str, markdown: bool) -> None:
    """A run's context line (machine, settings): on stdout as before, on stderr with --markdown."""
    print(line, file=sys.stderr if markdown else sys.stdout, flush=True)
