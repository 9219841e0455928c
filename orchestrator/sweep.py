"""Sweep files: a base training config, grid cells, an Optuna search space, seeds, resources.

Everything is validated here, before Ray starts: each error is one line naming the file and field.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from emotrain.config import TrainConfig
from emotrain.config_errors import ConfigError
from emotrain.emotions import SEMEVAL_EMOTIONS
from emotrain.metrics import metric_names
from orchestrator.layers import FieldPath, Layered, Override, read_layers

Scalar = bool | int | float | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchParam(_Strict):
    """One Optuna distribution over a training option (a dotted path such as ``loss.alpha``)."""

    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Scalar] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical parameter needs a non-empty 'choices' list")
        elif self.low is None or self.high is None or not self.low < self.high:
            raise ValueError(f"a {self.type} parameter needs numbers low < high")
        return self

    def extremes(self) -> list[Scalar]:
        """Values that together exercise the whole range, for validation before the sweep."""
        if self.choices is not None:
            return list(self.choices)
        cast = int if self.type == "int" else float
        return [cast(self.low), cast(self.high)]


class SearchSpec(_Strict):
    space: dict[str, SearchParam] = {}
    budget: int = Field(default=1, ge=1, description="Optuna suggestions per grid cell")
    sampler: Literal["tpe", "random"] = "tpe"
    seed: int = 0
    metric: str = "best_dev_jaccard"
    mode: Literal["max", "min"] = "max"

    @model_validator(mode="after")
    def _known_metric(self) -> Self:
        known = [f"best_dev_{name}" for name in metric_names(SEMEVAL_EMOTIONS)]
        if self.metric not in known:
            raise ValueError(
                f"metric {self.metric!r} is not reported by train; use one of "
                f"{', '.join(known[:3])} or best_dev_<emotion>_f1"
            )
        if not self.space and self.budget != 1:
            raise ValueError("budget > 1 needs a search space (an empty space has one point)")
        return self


class Resources(_Strict):
    cpus: float = Field(default=1, gt=0)
    gpus: float = Field(default=0, ge=0)


class SweepSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    base: dict[str, Any] = {}
    grid: dict[str, list[Scalar]] = {}
    search: SearchSpec = SearchSpec()
    seeds: list[int] = Field(default=[0], min_length=1)
    protocol: Literal["dev", "two_stage"] = Field(
        default="dev",
        description="dev: the dev stage only; two_stage: then retrain each configuration on "
        "train+dev for its median best epoch and score test (see second_stage.py)",
    )
    resources: Resources = Resources()
    max_failures: int = Field(
        default=2, ge=0, description="retries of a failed trial, each from its last epoch"
    )
    storage: Path = Path("results")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be distinct")
        for key, values in self.grid.items():
            if not values:
                raise ValueError(f"grid axis {key!r} has no values")
        if overlap := set(self.grid) & set(self.search.space):
            raise ValueError(f"{sorted(overlap)} is both a grid axis and searched")
        return self


@dataclass(frozen=True)
class Cell:
    """One point of the grid: a name fit for folder names and its overrides of ``base``."""

    name: str
    overrides: dict[str, Scalar]


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file, its grid expanded into cells."""

    source: Path
    spec: SweepSpec
    cells: list[Cell]
    layers: Layered  # where each value came from, to name it in later errors (preflight)

    @property
    def experiment_dir(self) -> Path:
        return self.spec.storage / self.spec.name

    @property
    def total_trials(self) -> int:
        return len(self.cells) * self.spec.search.budget * len(self.spec.seeds)

    def train_config(self, cell: Cell, params: dict[str, Scalar], seed: int) -> TrainConfig:
        """The full training config of one trial (threads follow the trial's CPUs)."""
        values = with_overrides(self.spec.base, {**cell.overrides, **params})
        values["seed"] = seed
        values["threads"] = max(1, int(self.spec.resources.cpus))
        return TrainConfig.model_validate(values)

    def test_config(
        self, cell: Cell, params: dict[str, Scalar], seed: int, epochs: int
    ) -> TrainConfig:
        """The protocol's second stage of a configuration: train+dev for ``epochs`` epochs."""
        return self.train_config(
            cell, {**params, "stage": "test", "optim.max_epochs": epochs}, seed
        )

    def probes(self) -> Iterator[tuple[Cell, dict[str, Scalar], FieldPath]]:
        """Every cell alone and at every extreme of the search space, with the sweep field to
        blame for a problem: together they exercise every value a trial can get."""
        for cell in self.cells:
            yield cell, {}, ("grid",)
            for key, param in self.spec.search.space.items():
                for value in param.extremes():
                    yield cell, {key: value}, ("search", "space", key)


def load_sweep(path: Path, overrides: Sequence[Override] = ()) -> Sweep:
    """Read and fully validate a sweep file (with the files it extends and the command-line
    overrides); raises ``ConfigError`` with a one-line message naming the origin and field."""
    layers = read_layers(path, overrides)
    try:
        spec = SweepSpec.model_validate(layers.raw)
    except ValidationError as err:
        raise _describe(err, layers, ()) from None
    spec = spec.model_copy(update={"storage": _absolute(spec.storage)})
    sweep = Sweep(path, spec, expand_grid(spec.grid), layers)
    for cell, params, blame in sweep.probes():
        _validate(sweep, cell, params, blame)
        if spec.protocol == "two_stage":
            _check_dev_stage(sweep, cell, params)
    return sweep


def expand_grid(grid: dict[str, list[Scalar]]) -> list[Cell]:
    """The cartesian product of the grid axes, in file order (no axes: one cell, ``base``)."""
    if not grid:
        return [Cell("base", {})]
    keys = list(grid)
    short = [key.rsplit(".", 1)[-1] for key in keys]
    labels = short if len(set(short)) == len(short) else keys
    cells = []
    for values in itertools.product(*(grid[key] for key in keys)):
        name = "_".join(
            f"{label}-{_slug(value)}" for label, value in zip(labels, values, strict=True)
        )
        cells.append(Cell(name, dict(zip(keys, values, strict=True))))
    return cells


def with_overrides(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with dotted overrides set (``loss.alpha``: base[loss][alpha])."""
    result = copy.deepcopy(base)
    for dotted, value in overrides.items():
        node = result
        *parents, leaf = dotted.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{dotted}: {part} is not a section")
            node = child
        node[leaf] = value
    return result


def _validate(sweep: Sweep, cell: Cell, params: dict[str, Scalar], blame: FieldPath) -> None:
    layers = sweep.layers
    try:
        sweep.train_config(cell, params, sweep.spec.seeds[0])
    except ValidationError as err:
        loc = ".".join(str(part) for part in err.errors()[0]["loc"])
        owner = next((key for key in cell.overrides if loc.startswith(key)), None)
        if owner is not None:
            raise _describe(err, layers, ("grid",), owner=owner) from None
        if params:
            raise layers.problem(blame, f"{loc}: {err.errors()[0]['msg']}") from None
        raise _describe(err, layers, ("base",)) from None
    except ConfigError as err:
        raise layers.problem(blame, str(err)) from None


def _check_dev_stage(sweep: Sweep, cell: Cell, params: dict[str, Scalar]) -> None:
    """Under ``two_stage`` the sweep's configurations are the dev stage: the test stage is the
    protocol's own step, so a configuration set to ``stage: test`` is a mistake."""
    if sweep.train_config(cell, params, sweep.spec.seeds[0]).stage == "dev":
        return
    if "stage" in cell.overrides:
        where: FieldPath = ("grid", "stage")
    elif "stage" in params:
        where = ("search", "space", "stage")
    else:
        where = ("base", "stage")
    message = "protocol two_stage runs the test stage itself: leave stage at dev"
    raise sweep.layers.problem(where, message)


def _describe(
    err: ValidationError, layers: Layered, prefix: FieldPath, owner: str | None = None
) -> ConfigError:
    """The first problem of a pydantic error, blamed on the file or flag that set the field.
    ``owner`` is the grid axis holding a cell's bad value: the axis is the field to edit."""
    first = err.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    where = (*prefix, owner) if owner is not None else (*prefix, *loc)
    message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
    if owner is not None and loc and ".".join(loc) != owner:
        where = (*prefix, ".".join(loc))  # a field below the axis (an unknown one, say)
    more = len(err.errors()) - 1
    suffix = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
    return layers.problem(where, message + suffix)


def _slug(value: Scalar) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", str(value)).strip("-") or "empty"


def _absolute(path: Path) -> Path:
    """Ray needs an absolute storage path; a relative one means relative to the current folder."""
    return path.expanduser().resolve()
