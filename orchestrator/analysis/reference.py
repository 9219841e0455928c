"""The papers' numbers (``sweeps/reference/<name>.yaml``) and how a sweep's measurements
compare with them.

A reference file names its source (paper, table, test set, encoder) and holds entries: the
scores one method reached, as the paper prints them (percent by default), each with the std
over runs when the paper gives one. An entry's ``match`` lists the training options
(``{dotted option: value}``, as in a sweep file) of the configurations it corresponds to; an
entry without one (another system, quoted for comparison) is shown but matched to nothing.

A measured configuration is compared on its test scores: those of the test-stage trials in a
two-stage sweep, else the dev stage's. The difference is measured - reference, in the file's
unit, and "within std" means |difference| <= the paper's std (not a test: the paper's std is
over its runs, the measured mean over ours).

No emotrain import here: the report reads tables only and must not load torch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Self

import pandas as pd
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from emotrain.config_errors import ConfigError, read_yaml_mapping
from emotrain.section import Section
from orchestrator.analysis.matching import describe_selector, matching

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "sweeps" / "reference"
NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
_METRIC = re.compile(r"^(jaccard|micro_f1|macro_f1|[a-z_]+_f1)$")
NO_STD = "no std reported"


class ReferenceError(ValueError):
    """A reference file that cannot be used; ``str()`` is the one-line message."""


class _NanAllowingSection(Section):
    """A configuration section (unknown fields are errors, values are frozen) whose numbers may
    be infinite or NaN, as a paper's table may print them."""

    model_config = ConfigDict(allow_inf_nan=True)


class Score(_NanAllowingSection):
    mean: float
    std: float | None = Field(default=None, ge=0)
    approximate: bool = Field(default=False, description="the paper prints it as ≈ (derived)")


class Entry(_NanAllowingSection):
    name: str = Field(min_length=1)
    test_set: str = Field(min_length=1)
    encoder: str | None = Field(default=None, description="None: the source does not say")
    runs: int | None = Field(default=None, ge=1, description="runs behind the mean, if stated")
    match: dict[str, Any] | None = Field(
        default=None, description="the training options of the corresponding configurations"
    )
    scores: dict[str, Score]

    @field_validator("scores", mode="before")
    @classmethod
    def _plain_numbers(cls, value: Any) -> Any:
        """``anger_f1: 79.4`` is short for ``anger_f1: {mean: 79.4}``."""
        if not isinstance(value, dict):
            return value
        return {k: v if isinstance(v, dict) else {"mean": v} for k, v in value.items()}

    @field_validator("scores")
    @classmethod
    def _known_metrics(cls, value: dict[str, Score]) -> dict[str, Score]:
        if not value:
            raise ValueError("an entry needs at least one score")
        for name in value:
            if not _METRIC.match(name):
                raise ValueError(f"{name!r} is not a metric train reports (jaccard, micro_f1, "
                                 "macro_f1 or <emotion>_f1)")  # fmt: skip
        return value

    @field_validator("match")
    @classmethod
    def _some_options(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not value:
            raise ValueError("an empty match would match every configuration; leave it out")
        return value


class Reference(_NanAllowingSection):
    paper: str = Field(min_length=1)
    table: str = Field(min_length=1)
    unit: Literal["percent", "fraction"] = "percent"
    note: str | None = None
    entries: list[Entry] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [entry.name for entry in self.entries]
        if len(set(names)) != len(names):
            raise ValueError("entry names must be distinct")
        top = 100.0 if self.unit == "percent" else 1.0
        for entry in self.entries:
            for metric, score in entry.scores.items():
                if not 0.0 <= score.mean <= top:
                    raise ValueError(
                        f"{entry.name}: {metric}: {score.mean} is outside [0, {top:g}] "
                        f"(unit: {self.unit})"
                    )
        return self

    @property
    def scale(self) -> float:
        """What a measured fraction is multiplied by to be in the file's unit."""
        return 100.0 if self.unit == "percent" else 1.0


def reference_path(name: str) -> Path:
    """``semeval_paper1`` (or ``semeval_paper1.yaml``): a file of sweeps/reference/."""
    stem = name.removesuffix(".yaml")
    if not re.match(NAME, stem):
        raise ReferenceError(f"{name!r}: expected a file name of {REFERENCE_DIR}, not a path")
    path = REFERENCE_DIR / f"{stem}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in REFERENCE_DIR.glob("*.yaml"))) or "none"
        raise ReferenceError(f"{name!r}: no such file in {REFERENCE_DIR} (there: {known})")
    return path


def load_reference(path: Path) -> Reference:
    """Read and validate a reference file; ``ReferenceError`` names the file and the field."""
    try:
        raw = read_yaml_mapping(path)
    except ConfigError as err:
        raise ReferenceError(str(err)) from None
    try:
        return Reference.model_validate(raw)
    except ValidationError as err:
        raise ReferenceError(_first_error(path, err)) from None


def comparison_table(reference: Reference, configs: pd.DataFrame) -> pd.DataFrame:
    """One row per (entry, matching configuration, score): reference beside measured (both in
    the file's unit), the difference and whether it lies within the paper's std."""
    rows = [
        row
        for entry in reference.entries
        if entry.match is not None
        for _, config in configs[matching(configs, entry.match)].iterrows()
        for row in _entry_rows(reference, entry, config)
    ]
    return pd.DataFrame(rows)


def unmatched(reference: Reference, configs: pd.DataFrame) -> list[str]:
    """The entries no configuration corresponds to, each with the reason."""
    reasons = []
    for entry in reference.entries:
        if entry.match is None:
            reasons.append(f"{entry.name}: no training options given (another system)")
        elif absent := [o for o in entry.match if f"cfg.{o}" not in configs]:
            reasons.append(f"{entry.name}: the tables have no option {', '.join(absent)}")
        elif not matching(configs, entry.match).any():
            reasons.append(f"{entry.name}: no configuration has {describe_selector(entry.match)}")
    return reasons


def _entry_rows(reference: Reference, entry: Entry, config: pd.Series) -> list[dict[str, Any]]:
    rows = []
    for metric, score in entry.scores.items():
        column = f"test_{metric}_mean"
        if column not in config or pd.isna(config[column]):
            continue
        measured = float(config[column]) * reference.scale
        std = float(config[f"test_{metric}_std"]) * reference.scale
        difference = measured - score.mean
        rows.append(
            {
                "entry": entry.name,
                "config_key": config["config_key"],
                "cell": config["cell"],
                "stage": config.get("stage", "dev"),
                "n_seeds": int(config["n_seeds"]),
                "metric": metric,
                "reference": score.mean,
                "reference_std": score.std,
                "approximate": score.approximate,
                "measured": measured,
                "measured_std": std,
                "difference": difference,
                "within_std": None if score.std is None else abs(difference) <= score.std,
            }
        )
    return rows


def _first_error(path: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
    return f"{path}: {where}: {message}"
