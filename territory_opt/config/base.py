"""What every scenario model shares: strictness, the common number and name types, and paths relative to the
scenario file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# finite: an infinite visit count, speed or weight would only fail deep inside the solver
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
MAX_INT = 2**31 - 1  # counts and seeds the solvers take as 32-bit integers
Weight = Annotated[float, Field(ge=0, le=1e6)]  # objective weights: far beyond any use, inside 64-bit costs
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class StrictModel(BaseModel):
    """Frozen, and unknown keys are errors: a typo in the YAML fails instead of being silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def resolve_path(path: Path, info: ValidationInfo) -> Path:
    """A relative path taken from the scenario file's folder (`base_dir` in the validation context), not the
    working directory: a scenario runs the same from anywhere."""
    base = (info.context or {}).get("base_dir")
    if base is not None and not path.is_absolute():
        return Path(base) / path
    return path
