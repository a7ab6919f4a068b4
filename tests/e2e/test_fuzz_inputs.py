"""Fuzzing the inputs a user controls (issue 7): the scenario YAML and the CSV files, through the real CLI.

Whatever the input, the CLI must end with a documented exit code that is never 1 (an internal error is a bug), print
no traceback, and leave no output folder after a failure. Examples are derandomized, so CI runs the same ~1,100
cases every time; `TERRITORY_OPT_FUZZ_SCALE=20` (and `TERRITORY_OPT_FUZZ_RANDOM=1` for fresh examples) searches
further on a workstation.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from territory_opt.cli import app
from territory_opt.errors import EXIT_CODES

VALID = Path(__file__).resolve().parents[1] / "data" / "bad" / "_valid"
RUNNER = CliRunner()
SCALE = float(os.environ.get("TERRITORY_OPT_FUZZ_SCALE", "1"))


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None, database=None,
                    derandomize=not os.environ.get("TERRITORY_OPT_FUZZ_RANDOM"), print_blob=True,
                    suppress_health_check=list(HealthCheck))


BASE: dict[str, Any] = {
    "name": "fuzz",
    "inputs": {"customers": "customers.csv", "reps": "reps.csv", "depots": "../_valid/depots.geojson",
               "routes": "../_valid/routes.geojson", "distributors": "../_valid/distributors.geojson"},
    "service": {"gold": {"visits_per_cycle": 2, "call_minutes": 60},
                "silver": {"visits_per_cycle": 1, "call_minutes": 60},
                "bronze": {"visits_per_cycle": 1, "call_minutes": 30}},
    "teams": [{"name": "key_accounts", "exclusive": True, "covers": {"key_account": True}},
              {"name": "field"}],
    "segments": {"columns": [], "min_size": 2},
    "rules": {"balance_tolerance": 0.3, "candidate_reps": 2, "max_reps_per_customer": 2},
    "routing": {"enabled": False, "day_start": "08:00"},
    "solver": {"time_limit_s": 1, "seed": 0},
    "output": {"dir": "out"},
}
# keys the base leaves at their defaults, so mutations reach them too
MORE_PATHS = [
    "crs", "cycle_weeks", "mode", "strategy", "description", "service_raises", "tiers", "tiers.names", "tiers.method",
    "tiers.shares", "tiers.thresholds", "tiers.current_weight", "service.gold.channel", "service.gold.min_order_value",
    "service.gold.by_sector", "teams.1.covers", "teams.1.reps", "teams.1.products", "teams.1.call_minutes_factor",
    "teams.1.travel_weight", "teams.1.boundaries", "teams.1.max_customers", "teams.1.max_km", "key_accounts",
    "key_accounts.top_n_by_value", "key_accounts.flag",
    "segments.scores", "segments.scores.buyer_columns", "rules.balance_metrics", "rules.max_reps_overrides",
    "rules.detour_factor", "rules.boundaries", "rules.max_moved_customers", "rules.max_moved_value",
    "rules.contiguity_weight", "rules.outside_footprint", "rules.precedence", "rules.continuity_weight",
    "rules.balance_weight", "routing.travel", "routing.days_per_week", "routing.day_hours", "routing.speed_kmh",
    "quality.far_km", "quality.change_threshold", "quality.outlier_factor", "quality.outlier_min_km",
    "hierarchy.districts", "hierarchy.regions", "logistics.bands",
    "logistics.snap_tolerance_m", "logistics.inside_beyond_km", "logistics.default_speed_kmh", "solver.workers",
    "output.layout", "inputs.customers.lon", "inputs.customers.layer", "inputs.reps.path",
]

# --- values -------------------------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
SPECIAL = st.sampled_from(["", "nan", "NaN", "inf", "-inf", "-1", "0", "1e400", "1e-400", "EPSG:2180", "EPSG:4326",
                           "field", "gold", "horeca", "F1", "C001", "D1", "DS1", "../_valid/customers.csv",
                           "24:00", "08:00", "null", "~", "true", "yes", "[]", "{}", "a: b", "quantile", "1e300",
                           "1e15", "4294967296", "9223372036854775808", "-0.0"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 100), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.floats(-2.0, 2.0), TEXT, SPECIAL)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.one_of(TEXT, SPECIAL), inner, max_size=3)),
                      max_leaves=6)


def paths_of(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.append((*prefix, key))
        out += paths_of(value, (*prefix, key))
    return out


ALL_PATHS = sorted({*paths_of(BASE), *(tuple(int(p) if p.isdigit() else p for p in s.split(".")) for s in MORE_PATHS)},
                   key=str)


def apply(data: dict[str, Any], op: str, path: tuple[Any, ...], value: Any) -> None:
    """Set, delete or add an unknown key at `path`, creating missing mappings; a path through a non-container is
    left alone (another mutation may have replaced it)."""
    node: Any = data
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return
    last = path[-1]
    if isinstance(node, list) and isinstance(last, int) and last < len(node):
        if op == "delete":
            del node[last]
        else:
            node[last] = value
    elif isinstance(node, dict):
        if op == "delete":
            node.pop(last, None)
        elif op == "unknown":
            target = node.get(last)
            (target if isinstance(target, dict) else node)[f"unknown_{abs(hash(str(value))) % 97}"] = value
        else:
            node[last] = value


MUTATION = st.tuples(st.sampled_from(["set", "set", "set", "delete", "unknown"]), st.sampled_from(ALL_PATHS), VALUES)


@st.composite
def mutated_scenarios(draw: st.DrawFn, max_mutations: int = 3) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for op, path, value in draw(st.lists(MUTATION, min_size=1, max_size=max_mutations)):
        apply(data, op, path, value)
    return data


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# --- CSV files ----------------------------------------------------------------------------------------------------

def valid_rows(name: str) -> list[list[str]]:
    lines = (VALID / name).read_text(encoding="utf-8").splitlines()
    return [line.split(",") for line in lines]


CUSTOMERS = valid_rows("customers.csv")
REPS = valid_rows("reps.csv")
WEIRD_CELLS = st.one_of(SPECIAL, TEXT, st.sampled_from(['"', '""', '"a,b"', "a;b", "\t", "1,5", " 16.9 ", "١٢",
                                                        "9" * 400, "-0", "+3", "0x10", "1_000", "NULL", "N/A"]),
                        st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str))
EXTRA_COLUMNS = ["max_reps", "locked_rep_id", "excluded_rep_ids", "open_time", "close_time", "products", "depot_id",
                 "distributor_id", "capacity_hours", "team", "", "lon", "geometry", "customer_id"]


@st.composite
def fuzzed_csv(draw: st.DrawFn, rows: list[list[str]]) -> bytes:
    """The valid file with cells, rows and columns replaced, dropped or added; another delimiter, encoding or
    line ending; blank lines and stray quotes."""
    header, body = list(rows[0]), [list(r) for r in rows[1:]]
    if draw(st.booleans()):  # drop or add a column
        if draw(st.booleans()) and len(header) > 1:
            drop = draw(st.integers(0, len(header) - 1))
            header.pop(drop)
            for r in body:
                r.pop(drop)
        else:
            header.append(draw(st.sampled_from(EXTRA_COLUMNS)))
            for r in body:
                r.append(draw(st.one_of(st.just(""), WEIRD_CELLS)))
    for _ in range(draw(st.integers(0, 4))):  # replace cells
        if body:
            r, c = draw(st.integers(0, len(body) - 1)), draw(st.integers(0, len(header) - 1))
            body[r][c] = draw(WEIRD_CELLS)
    body = body[: draw(st.integers(0, len(body)))] if draw(st.integers(0, 9)) == 0 else body
    if draw(st.integers(0, 4)) == 0 and body:  # duplicate or ragged rows
        body.append(list(draw(st.sampled_from(body))) + draw(st.lists(WEIRD_CELLS, max_size=2)))
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t", "|"]))
    lines = [sep.join(r) for r in [header, *body]]
    for _ in range(draw(st.integers(0, 2))):  # blank or junk lines
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", ",,,,", '"', "#", sep * 3])))
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines) + draw(st.sampled_from(["\n", ""]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1", "cp1250", "utf-16"]))
    return text.encode(encoding, errors="replace")


# --- running ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(VALID, base / "_valid")
    return base


@contextmanager
def case(root: Path, scenario: str | bytes, **files: bytes) -> Iterator[Path]:
    """A fresh folder beside `_valid/` with the scenario and the customers and reps files (valid unless given)."""
    folder = Path(tempfile.mkdtemp(dir=root))
    try:
        for name in ("customers.csv", "reps.csv"):
            (folder / name).write_bytes(files.get(name.split(".")[0]) or (VALID / name).read_bytes())
        path = folder / "scenario.yaml"
        path.write_bytes(scenario if isinstance(scenario, bytes) else scenario.encode("utf-8"))
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check(command: str, scenario: Path) -> int:
    args = [command, str(scenario)] + (["--time-limit", "1", "--quiet"] if command == "run" else [])
    before = set(scenario.parent.iterdir())
    result = RUNNER.invoke(app, args, env={"TERRITORY_OPT_DEBUG": None})
    output = result.output
    assert result.exit_code in EXIT_CODES, f"undocumented exit code {result.exit_code}:\n{output}"
    assert result.exit_code != 1, f"internal error:\n{output}"
    assert "Traceback" not in output, output
    event(f"{command}: exit {result.exit_code}")
    if result.exit_code != 0:
        left = sorted(p.name for p in set(scenario.parent.iterdir()) - before)
        assert not left, f"exit {result.exit_code} left {left} behind:\n{output}"
    return result.exit_code


@fuzz_settings(450)
@given(data=mutated_scenarios())
def test_fuzzed_scenario_validate(root: Path, data: dict[str, Any]) -> None:
    with case(root, dump(data)) as scenario:
        check("validate", scenario)


@fuzz_settings(150)
@given(content=st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400),
    st.tuples(mutated_scenarios(max_mutations=1), st.integers(0, 2000)).map(lambda t: dump(t[0])[: t[1]]),
    st.tuples(mutated_scenarios(max_mutations=1), st.sampled_from(["latin-1", "utf-16", "cp1250"])).map(
        lambda t: dump({**t[0], "description": "Poznań, Łódź"}).encode(t[1], errors="replace")),
))
def test_fuzzed_scenario_file(root: Path, content: str | bytes) -> None:
    """The whole file: random bytes or text, a valid scenario cut short, or one in another encoding."""
    with case(root, content) as scenario:
        check("validate", scenario)


@fuzz_settings(400)
@given(which=st.sampled_from(["customers", "customers", "reps"]), data=st.data())
def test_fuzzed_csv_validate(root: Path, which: str, data: st.DataObject) -> None:
    content = data.draw(fuzzed_csv(CUSTOMERS if which == "customers" else REPS), label=which)
    with case(root, dump(BASE), **{which: content}) as scenario:
        check("validate", scenario)


@fuzz_settings(100)
@given(data=st.data())
def test_fuzzed_run(root: Path, data: st.DataObject) -> None:
    """`run` on a smaller share: one mutation of the scenario, or one fuzzed file."""
    if data.draw(st.booleans(), label="scenario mutated"):
        scenario, files = dump(data.draw(mutated_scenarios(max_mutations=1))), {}
    else:
        which = data.draw(st.sampled_from(["customers", "reps"]))
        scenario, files = dump(BASE), {which: data.draw(fuzzed_csv(CUSTOMERS if which == "customers" else REPS))}
    with case(root, scenario, **files) as path:
        if check("run", path) == 0:
            shutil.rmtree(path.parent / "out")
