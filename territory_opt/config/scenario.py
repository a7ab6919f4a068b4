"""The whole scenario: its model and cross-checks, reading it from YAML with `--set` overrides, every validation
error as a finding, and the JSON Schema and Markdown reference generated from it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..errors import ConfigError, Finding
from .base import NAME_PATTERN, StrictModel
from .policy import KeyAccounts, Segments, ServiceLevel, ServiceRaise, Tiers, UnitsConfig, default_service
from .programmes import Programmes, merged_service
from .rules import Hierarchy, Quality, Rules
from .run import Executor, Logistics, Output, Routing, Solver, Workload
from .sources import Inputs
from .teams import Team, strategy_problems


class Scenario(StrictModel):
    """A whole territory run: inputs, how customers are tiered and served, teams, rules, solver, output."""

    name: str = Field(pattern=NAME_PATTERN, description="Scenario name (letters, digits, _ . -).")
    description: str = Field("", description="Free text shown in reports.")
    inputs: Inputs = Field(description="Input layers; paths are relative to the scenario file.")
    crs: str | None = Field(
        None, description="Metric CRS for distances (e.g. EPSG:2180). Refused (exit 2) when it stretches distances "
        "by more than 1 % anywhere in the customers' and reps' points (a CRS made for another area). Default: the UTM "
        "zone of the customers' and reps' median point, or, for data too wide for one zone, an azimuthal equidistant "
        "projection centred there; the choice and its largest distance error are in manifest.json (`crs_note`) and "
        "the log."
    )
    cycle_weeks: Annotated[int, Field(ge=1, le=52)] = Field(4, description="Length of the call cycle.")
    tiers: Tiers = Field(default_factory=Tiers, description="Value tiers from current and potential value.")
    service: dict[str, ServiceLevel] = Field(
        default_factory=default_service,
        description="Service policy per tier name: visits, minutes per call, channel, minimum order value, sector "
        "exceptions; workload hours = visits_per_cycle x call_minutes / 60. Order: tiers, then this policy (channel "
        "inside by the tier, then min_order_value, then logistics.inside_beyond_km), then segments, then "
        "service_raises. Still read; new scenarios put these keys in `programmes.tiers.<tier>.offer`, which "
        "replaces them tier by tier (README: Tiered account programmes).",
    )
    service_raises: list[ServiceRaise] = Field(
        default_factory=list,
        description="Score rules applied after segmentation, e.g. `{score: attractiveness, at_least: 70, "
        "extra_visits: 1}`: each customer of a segment scoring at least that gets the extra visits (and workload); "
        "tier and channel stay. Default: none.",
    )
    mode: Literal["rebalance", "design"] = Field(
        "rebalance",
        description="rebalance: reps keep their homes and customers are assigned to them. design: territory "
        "centres are chosen too: per team a p-median over its customers, then rounds of assigning under every rule "
        "and moving each rep to the best home among its own customers, while travel falls (up to "
        "solver.time_limit_s); reps.csv gives each rep's suggested home and how far it moved, and customers are "
        "then assigned as in rebalance.",
    )
    strategy: Literal["geographic", "sector", "hybrid"] | None = Field(
        None,
        description="How the field is organised, checked against `teams`: geographic = one generalist team split by "
        "area; sector = one team per sector ('direction'), each across the whole area, sectors not shared; hybrid "
        "= one generalist team plus specialist overlay teams. Carve-out (exclusive) teams are allowed in all.",
    )
    teams: list[Team] = Field(min_length=1, description="Sales teams, matched against customers in this order.")
    key_accounts: KeyAccounts = Field(default_factory=KeyAccounts, description="Key-account and novelty carve-out.")
    segments: Segments = Field(default_factory=Segments, description="Micro-segments and their scores.")
    programmes: Programmes | None = Field(
        None,
        description="Tiered account programmes: per tier the service offer (what the company controls) and the "
        "trading terms (payment days, rebate ladders on the customer's behaviour), and the constants of the "
        "profitability view; writes programmes.csv and a report section. Default: none.",
    )
    rules: Rules = Field(default_factory=Rules, description="Rules every alignment must keep.")
    units: UnitsConfig = Field(default_factory=UnitsConfig,
                               description="Alignment units territories are built from (prepare/units.py).")
    workload: Workload = Field(default_factory=Workload,
                               description="What workload counts: calls and, with `drive: true`, their drive.")
    routing: Routing = Field(default_factory=Routing, description="Call-cycle routing (off by default).")
    quality: Quality = Field(default_factory=Quality, description="Data-quality warning thresholds.")
    hierarchy: Hierarchy = Field(default_factory=Hierarchy,
                                 description="Districts and regions the territories roll up to (optional).")
    logistics: Logistics = Field(default_factory=Logistics,
                                 description="Depot shoulders along the route network, and their bands.")
    solver: Solver = Field(default_factory=Solver, description="Optimiser settings.")
    executor: Executor = Field(
        default_factory=Executor,
        description="Where independent parts run: this process, a process pool or a Dask cluster (docs/dask.md).")
    output: Output = Field(default_factory=Output, description="Where results go.")

    _source_sha256: str = PrivateAttr(default="")
    _source_path: str = PrivateAttr(default="")
    _overrides: tuple[str, ...] = PrivateAttr(default=())
    _service_levels: dict[str, ServiceLevel] = PrivateAttr(default_factory=dict)

    @field_validator("crs")
    @classmethod
    def _metric_crs(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(value)
        except CRSError as exc:
            raise ValueError(f"unknown CRS {value!r}") from exc
        if not crs.is_projected:
            raise ValueError(f"{value!r} is not a projected (metric) CRS")
        return value

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        problems: list[str] = []
        tier_names = list(self.tiers.names)
        given = "service" in self.model_fields_set or self.programmes is None
        service = self.service if given else {t: v for t, v in self.service.items() if t in tier_names}
        levels, missing = merged_service(service, self.programmes, tier_names)
        if missing:
            where = " or programmes.tiers.<tier>.offer" if self.programmes is not None else ""
            problems.append(f"service: no service level for tier(s) {', '.join(missing)} (visits_per_cycle and "
                            f"call_minutes{where})")
        unknown = [t for t in service if t not in tier_names]
        if unknown:
            problems.append(f"service: tier(s) {', '.join(unknown)} are not in tiers.names {tier_names}")
        unknown = [t for t in (self.programmes.tiers if self.programmes else {}) if t not in tier_names]
        if unknown:
            problems.append(f"programmes.tiers: tier(s) {', '.join(unknown)} are not in tiers.names {tier_names}")
        self._service_levels = levels
        problems += [f"service_raises[{i}].score: buyer_attractiveness needs segments.scores.buyer_columns (without "
                     "them no segment has that score)" for i, r in enumerate(self.service_raises)
                     if r.score == "buyer_attractiveness" and not self.segments.scores.buyer_columns]
        seen: set[str] = set()
        for i, team in enumerate(self.teams):
            if team.name in seen:
                problems.append(f"teams[{i}].name: team {team.name!r} is defined twice")
            seen.add(team.name)
            for block in team.covers:
                for tier in block.tiers or []:
                    if tier not in tier_names:
                        problems.append(f"teams[{i}].covers.tiers: unknown tier {tier!r} (tiers are {tier_names})")
        problems += [f"strategy: {problem}" for problem in strategy_problems(self.strategy, self.teams)]
        if self.routing.enabled and self.routing.travel == "network" and self.inputs.routes is None:
            problems.append("routing.travel: network needs inputs.routes (the route network)")
        team_names = [t.name for t in self.teams]
        for name in self.rules.precedence or []:
            if name not in team_names:
                problems.append(f"rules.precedence: unknown team {name!r} (teams are {team_names})")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def service_levels(self) -> dict[str, ServiceLevel]:
        """Each tier's service level as the run uses it: `service:` with the programmes' offers laid over it."""
        return self._service_levels

    @property
    def source_sha256(self) -> str:
        """SHA-256 of the scenario file's bytes (empty when built in Python)."""
        return self._source_sha256

    @property
    def overrides(self) -> tuple[str, ...]:
        """The `--set key.path=value` overrides laid over the file, in order."""
        return self._overrides

    @property
    def source_name(self) -> str:
        """Where the scenario came from, for messages: its file path, or "scenario" when built in Python."""
        return self._source_path or "scenario"


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def findings_from_validation(exc: ValidationError, source: str) -> list[Finding]:
    """One finding per pydantic error, each with its YAML path (`teams[2].covers.tiers`)."""
    findings = []
    for err in exc.errors():
        where = _location(tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p)))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (not part of the scenario schema; check the spelling)"
        for line in message.splitlines():
            sub = re.match(r"^([\w\[\].]+): (.*)$", line)
            if sub and not where:
                findings.append(Finding(sub.group(2), source=source, field=sub.group(1)))
            else:
                findings.append(Finding(line, source=source, field=where))
    return findings


def parse_scenario(data: Any, *, base_dir: Path | None = None, source: str = "<scenario>") -> Scenario:
    """Validate a mapping as a scenario; relative paths resolve against `base_dir`."""
    if not isinstance(data, dict):
        raise ConfigError(Finding("the scenario must be a YAML mapping of keys to values", source=source))
    output = data.get("output", {})
    if base_dir is not None and isinstance(output, dict) and "dir" not in output:
        # the default folder is relative to the scenario file like a given one, not to the working directory
        data = {**data, "output": {**output, "dir": Output.model_fields["dir"].default}}
    try:
        return Scenario.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(findings_from_validation(exc, source)) from None


def apply_overrides(data: Any, overrides: Sequence[str], source: str) -> Any:
    """`key.path=value` settings laid over the scenario's YAML mapping; each value is read as YAML (`true`, `30`,
    `[a, b]`, `null`), and missing mappings on the path are created."""
    if not overrides:
        return data
    data = {} if data is None else data
    for text in overrides:
        key, sep, value = text.partition("=")
        path = [part.strip() for part in key.split(".")]
        if not sep or not all(path):
            raise ConfigError(Finding(f"--set {text!r}: expected key.path=value, e.g. rules.balance_tolerance=0.15",
                                      source=source))
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            raise ConfigError(Finding(f"--set {text!r}: the value is not valid YAML", source=source)) from None
        node = data
        for part in path[:-1]:
            if node.get(part) is None:  # absent, or an empty `key:` in the file
                node[part] = {}
            node = node[part]
            if not isinstance(node, dict):
                break
        if not isinstance(node, dict):
            raise ConfigError(Finding(f"--set {text!r}: {'.'.join(path[:-1])} is not a mapping", source=source))
        node[path[-1]] = parsed
    return data


def _blame_override(finding: Finding, overrides: Sequence[str]) -> Finding:
    """A finding about a key a `--set` gave (or one inside it) names that `--set`, not the scenario file."""
    for text in reversed(overrides):  # the last --set of a key is the one that counts
        key = ".".join(part.strip() for part in text.partition("=")[0].split("."))
        if finding.field == key or finding.field.startswith((key + ".", key + "[")):
            return dataclasses.replace(finding, source=f"--set {text}")
    return finding


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read and validate a scenario YAML file (loaded safely: no Python objects from YAML tags), with any
    `--set key.path=value` overrides laid over it before validation."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(Finding("file not found", source=source)) from None
    except IsADirectoryError:
        raise ConfigError(Finding("is a folder, not a scenario file", source=source)) from None
    except OSError as exc:
        raise ConfigError(Finding(f"cannot read: {exc.strerror}", source=source)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(Finding(f"not UTF-8 text (byte {exc.start})", source=source)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        row = mark.line + 1 if mark is not None else None
        raise ConfigError(Finding(f"not valid YAML: {problem}", source=source, row=row)) from None
    if overrides and data is not None and not isinstance(data, dict):
        raise ConfigError(Finding("the scenario must be a mapping of keys to settings", source=source))
    data = apply_overrides(data, overrides, source)
    try:
        scenario = parse_scenario(data, base_dir=path.resolve().parent, source=source)
    except ConfigError as exc:
        raise ConfigError([_blame_override(f, overrides) for f in exc.findings]) from None
    scenario._overrides = tuple(overrides)
    scenario._source_sha256 = hashlib.sha256(raw).hexdigest()
    scenario._source_path = source
    return scenario


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario file, for editors and for `territory-opt schema`."""
    return Scenario.model_json_schema()


def scenario_reference() -> str:
    """Every scenario key as a Markdown table, generated from the schema (the README embeds it)."""
    schema = scenario_json_schema()
    defs = schema.get("$defs", {})
    rows: list[str] = ["| key | type | default | meaning |", "|---|---|---|---|"]
    shown: dict[int, str] = {}

    def target(prop: dict[str, Any]) -> dict[str, Any] | None:
        for option in [prop, *prop.get("anyOf", []), prop.get("items", {}), prop.get("additionalProperties") or {}]:
            if isinstance(option, dict) and "$ref" in option:
                return defs[option["$ref"].split("/")[-1]]
        return None

    def type_name(prop: dict[str, Any]) -> str:
        options = prop.get("anyOf", [prop])
        names = []
        for o in options:
            if "$ref" in o:
                names.append("mapping")
            elif o.get("type") == "array":
                names.append("list")
            elif o.get("type") == "object":
                names.append("mapping")
            elif "type" in o:
                names.append({"number": "number", "integer": "integer", "string": "text", "boolean": "true/false",
                              "null": "null"}[o["type"]])
        return " or ".join(dict.fromkeys(names)) or "any"

    def walk(model: dict[str, Any], prefix: str) -> None:
        required = set(model.get("required", []))
        for key, prop in model.get("properties", {}).items():
            path = f"{prefix}{key}"
            sub = target(prop)
            suffix = "[]" if prop.get("type") == "array" and sub else ".*" if prop.get("type") == "object" else ""
            plain_default = "default" in prop and not isinstance(prop["default"], dict | list)
            default = "required" if key in required else (
                "`" + json.dumps(prop["default"]) + "`" if plain_default else "")
            meaning = " ".join(prop.get("description", sub.get("description", "") if sub else "").split())
            if sub is not None and id(sub) in shown:  # the same structure again (input layers): say so once
                meaning += f" Same keys as `{shown[id(sub)]}`."
            rows.append(f"| `{path}{suffix}` | {type_name(prop)} | {default} | {meaning} |")
            if sub is not None and id(sub) not in shown:
                shown[id(sub)] = path
                walk(sub, f"{path}{suffix}.")

    walk(schema, "")
    return "\n".join(rows) + "\n"


def paths_outside(scenario: Scenario, roots: Sequence[Path]) -> list[Finding]:
    """Every file or folder the scenario names that resolves (symlinks followed) outside all of `roots`."""
    allowed = [Path(r).resolve() for r in roots]
    named: list[tuple[str, Path]] = [(f"inputs.{name}", source.path) for name in
                                     ("customers", "reps", "depots", "routes", "distributors", "units")
                                     if (source := getattr(scenario.inputs, name)) is not None
                                     and source.path is not None]  # a database input has no path to escape
    if scenario.routing.travel_matrix is not None:
        named.append(("routing.travel_matrix", scenario.routing.travel_matrix))
    named.append(("output.dir", scenario.output.dir))
    out = []
    for field, path in named:
        real = Path(path).resolve()
        if not any(real == root or root in real.parents for root in allowed):
            out.append(Finding(f"{path} is outside the allowed roots ({', '.join(map(str, allowed))})",
                               source=scenario.source_name, field=field))
    return out
