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

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from emotrain.config import Seed, TrainConfig
from emotrain.config_errors import ConfigError, did_you_mean, first_problem
from emotrain.emotions import SEMEVAL_EMOTIONS
from emotrain.metrics import metric_names
from emotrain.section import Section
from orchestrator.analysis.reference import ReferenceError, load_reference, reference_path
from orchestrator.analysis.significance import EFFECT
from orchestrator.spec.layers import FieldPath, Layered, Override, read_layers
from orchestrator.spec.record import DEFAULT_METRIC, DEFAULT_MODE
from orchestrator.store.cloud_storage import is_uri, join, mirror_folder

Scalar = bool | int | float | str
# Training options that name a file or folder (TrainConfig and its sections).
_PATH_OPTIONS = {"root", "train_file", "dev_file", "test_file", "eval_clusters", "cache_dir"}
GridValue = Scalar | list[Scalar]  # a list value sets a list option (held-out emotions)
Grid = dict[str, list[GridValue]]


class SearchParam(Section):
    """One Optuna distribution over a training option (a dotted path such as ``loss.alpha``)."""

    type: Literal["float", "int", "categorical"] = Field(description="the distribution")
    low: float | None = Field(default=None, description="float and int: the lower bound")
    high: float | None = Field(default=None, description="float and int: the upper bound")
    log: bool = Field(default=False, description="float and int: sample on a log scale")
    choices: list[Scalar] | None = Field(
        default=None, description="categorical: the values to choose from"
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical parameter needs a non-empty 'choices' list")
            if self.low is not None or self.high is not None or self.log:
                raise ValueError("low, high and log apply to float and int parameters only")
            return self
        if self.choices is not None:
            raise ValueError("choices apply to categorical parameters only")
        if self.low is None or self.high is None or not self.low < self.high:
            raise ValueError(f"a {self.type} parameter needs numbers low < high")
        # Optuna would refuse these only when the first trial is suggested, mid-run.
        if self.type == "int" and not (self.low.is_integer() and self.high.is_integer()):
            raise ValueError("an int parameter needs whole numbers low and high")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale parameter needs low > 0")
        return self

    def extremes(self) -> list[Scalar]:
        """Values that together exercise the whole range, for validation before the sweep."""
        if self.choices is not None:
            return list(self.choices)
        cast = int if self.type == "int" else float
        return [cast(self.low), cast(self.high)]


class SearchSpec(Section):
    """Optuna's search within each grid cell: the space, the budget, the sampler."""

    space: dict[str, SearchParam] = Field(
        default={}, description="{dotted training option: distribution} searched within each cell"
    )
    budget: int = Field(default=1, ge=1, le=10_000, description="Optuna suggestions per grid cell")
    sampler: Literal["tpe", "random"] = Field(
        default="tpe", description="Optuna's sampler, seeded per cell"
    )
    seed: int = Field(default=0, description="the samplers' seed")
    metric: str = Field(
        default=DEFAULT_METRIC,
        description="what Optuna and ASHA optimise: a best_dev_<metric> that train reports, "
        "as the mean over seeds",
    )
    mode: Literal["max", "min"] = Field(default=DEFAULT_MODE, description="maximise or minimise it")

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


class Resources(Section):
    """What one trial asks for. A trial is one process, or ``workers`` data-parallel processes
    under Ray Train (one GPU each when ``gpus`` > 1; gloo on CPUs)."""

    cpus: float = Field(default=1, gt=0, description="CPUs per training process (its threads)")
    gpus: float = Field(
        default=0,
        ge=0,
        description="GPUs per trial: a fraction packs several trials on one GPU; a whole number "
        "k > 1 runs k data-parallel workers, one GPU each",
    )
    workers: int | None = Field(
        default=None, ge=1, description="data-parallel processes (default: gpus if > 1, else 1)"
    )

    @model_validator(mode="after")
    def _one_gpu_per_worker(self) -> Self:
        if self.gpus > 1 and not self.gpus.is_integer():
            raise ValueError("gpus above 1 must be a whole number (one GPU per worker)")
        if self.gpus >= 1 and self.workers not in (None, int(self.gpus)):
            raise ValueError(f"gpus: {self.gpus:g} means {self.gpus:g} workers, one GPU each")
        if self.gpus and self.gpus < 1 and (self.workers or 1) > 1:
            raise ValueError("a fractional GPU is for a single-process trial (workers: 1)")
        return self

    @property
    def processes(self) -> int:
        """Training processes per trial."""
        return self.workers or max(1, int(self.gpus))

    @property
    def gpus_per_process(self) -> float:
        return self.gpus / self.processes


class SchedulerSpec(Section):
    """How Tune runs the dev stage's trials: each to its end (fifo), or with a seed-aware ASHA
    that stops a whole configuration, every seed of it, when it falls behind at a rung
    (tune/rungs.py)."""

    type: Literal["fifo", "asha"] = Field(
        default="fifo", description="fifo: every trial to its end; asha: seed-aware pruning"
    )
    grace_epochs: int = Field(default=1, ge=1, le=10_000, description="the first rung's epoch")
    reduction_factor: int = Field(
        default=3, ge=2, le=1_000, description="η: rungs at grace_epochs * η^k; the top 1/η go on"
    )

    @model_validator(mode="after")
    def _asha_options(self) -> Self:
        if self.type == "fifo" and self.model_fields_set - {"type"}:
            raise ValueError("grace_epochs and reduction_factor apply to type asha only")
        return self


class AnalysisSpec(Section):
    """What the report compares the configurations with (analysis/significance.py and
    analysis/reference.py)."""

    baseline: str | dict[str, Scalar | list[Scalar] | None] | None = Field(
        default=None,
        description="a grid cell's name, or training options {dotted option: value}; of several "
        "matching configurations the best by search.metric is the baseline",
    )
    reference: str | None = Field(
        default=None, description="a file of sweeps/reference/ (without .yaml): the papers' numbers"
    )
    effect: float = Field(
        default=EFFECT,
        gt=0,
        description="the difference from the baseline, in the metric's units, that the report's "
        "seeds-needed figure is for (0.01: one point of a metric between 0 and 1)",
    )

    @field_validator("baseline")
    @classmethod
    def _known_options(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if not value:
                raise ValueError("name a grid cell or at least one training option")
            options = training_options()
            if unknown := sorted(set(value) - options):
                hint = did_you_mean(unknown[0], options) or " (like loss.weights)"
                raise ValueError(f"{unknown[0]!r} is not a training option{hint}")
        return value

    @field_validator("reference")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                load_reference(reference_path(value))
            except ReferenceError as err:
                raise ValueError(str(err)) from None
        return value


def training_options() -> set[str]:
    """Every dotted training option (``loss.weights``), read from the defaults."""

    def walk(node: dict[str, Any], prefix: str) -> set[str]:
        paths = set()
        for key, value in node.items():
            path = f"{prefix}{key}"
            paths |= walk(value, f"{path}.") if isinstance(value, dict) else {path}
        return paths

    return walk(TrainConfig().model_dump(mode="json"), "")


class SweepSpec(Section):
    """One experiment: a base training configuration, a grid, a search, seeds, resources."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="the experiment, and its folder under storage",
    )
    base: dict[str, Any] = Field(
        default={}, description="the training configuration every trial starts from"
    )
    grid: Grid | list[Grid] = Field(
        default={},
        description="cartesian axes over dotted training options; a list of such mappings is "
        "the union of their products (a baseline beside a family of variants)",
    )
    search: SearchSpec = SearchSpec()
    seeds: list[Seed] = Field(
        default=[0],
        min_length=1,
        description="every suggestion runs on every seed; Optuna sees the mean",
    )
    protocol: Literal["dev", "two_stage"] = Field(
        default="dev",
        description="dev: the dev stage only; two_stage: then retrain each configuration on "
        "train+dev for its median best epoch and score test (see plan/second_stage.py)",
    )
    resources: Resources = Resources()
    reuse_workers: bool = Field(
        default=False,
        description="run trials one after another in the same worker processes, so that short "
        "trials do not each import torch again (--smoke turns it on); off, every trial has a "
        "fresh process, whose GPU memory and peak_rss_bytes are its own",
    )
    max_failures: int = Field(
        default=2, ge=0, description="retries of a failed trial, each from its last epoch"
    )
    trials_per_pass: int = Field(
        default=200,
        ge=1,
        description="the driver hands Tune at most this many trials per Tuner run, then starts "
        "a fresh one for the next (the searchers and schedulers carry over), so that Tune's "
        "per-trial bookkeeping in the driver is freed between passes and its memory stays flat "
        "over a long sweep; results do not depend on it",
    )
    hang_timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="kill and retry a trial that sends no report for this long (train reports "
        "after each evaluation: see eval.every_steps; with optim.compile the first report also "
        "waits for the compilation); none by default",
    )
    storage: Path = Field(
        default=Path("results"),
        description="a folder (on a cluster, one every node mounts), or a cloud URI "
        "(s3://bucket/prefix), which then becomes storage_uri and this its local mirror",
    )
    storage_uri: str | None = Field(
        default=None, description="the cloud storage that storage named (not set by hand)"
    )
    scheduler: SchedulerSpec = Field(
        default=SchedulerSpec(), description="fifo, or asha: prune whole configurations early"
    )
    analysis: AnalysisSpec = AnalysisSpec()

    @field_validator("analysis")
    @classmethod
    def _baseline_is_a_cell(cls, analysis: AnalysisSpec, info: ValidationInfo) -> AnalysisSpec:
        if not isinstance(analysis.baseline, str) or "grid" not in info.data:
            return analysis  # options are matched after the run; a bad grid has its own error
        names = [cell.name for cell in expand_grid(info.data["grid"])]
        if analysis.baseline not in names:
            raise ValueError(
                f"baseline: no grid cell is named {analysis.baseline!r} (cells: {', '.join(names)})"
            )
        return analysis

    @model_validator(mode="before")
    @classmethod
    def _cloud_storage(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "storage_uri" in data:
            raise ValueError("storage_uri: set storage to the URI instead (s3://bucket/prefix)")
        storage = data.get("storage")
        if isinstance(storage, str) and is_uri(storage):
            uri = storage.rstrip("/")
            return {**data, "storage": mirror_folder(uri), "storage_uri": uri}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be distinct")
        for group in grid_groups(self.grid):
            for key, values in group.items():
                if not values:
                    raise ValueError(f"grid axis {key!r} has no values")
            if overlap := set(group) & set(self.search.space):
                raise ValueError(f"{sorted(overlap)} is both a grid axis and searched")
        names = [cell.name for cell in expand_grid(self.grid)]
        if clash := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"grid: two different cells are both named {clash[0]!r}")
        return self

    @field_validator("base", "grid", "search")
    @classmethod
    def _trial_fields_left_alone(cls, value: Any) -> Any:
        # A trial's seed comes from seeds and its threads from resources.cpus: a value set
        # here would be silently replaced (two grid cells would be one configuration).
        options = value.space if isinstance(value, SearchSpec) else value
        keys = set().union(*(options if isinstance(options, list) else [options]))
        for field, source in (("seed", "seeds"), ("threads", "resources.cpus")):
            if field in keys:
                raise ValueError(f"{field}: each trial's {field} comes from {source}, not here")
        if "output_dir" in keys:  # every trial would write its model into that one folder
            raise ValueError(
                "output_dir: a sweep keeps each trial's checkpoint, not a model folder; "
                "retrain the chosen configuration with `python -m emotrain` to save one"
            )
        return value

    @field_validator("storage")
    @classmethod
    def _usable_path(cls, storage: Path) -> Path:
        if "\0" in str(storage):
            raise ValueError("a path cannot hold a NUL character")
        try:
            return storage.expanduser()
        except RuntimeError:  # ~user of a user this machine does not have
            raise ValueError(f"{storage}: no such user") from None


@dataclass(frozen=True)
class Cell:
    """One point of the grid: a name fit for folder names and its overrides of ``base``."""

    name: str
    overrides: dict[str, GridValue]


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file, its grid expanded into cells."""

    source: Path
    spec: SweepSpec
    cells: list[Cell]
    layers: Layered  # where each value came from, to name it in later errors (preflight)

    @property
    def experiment_dir(self) -> Path:
        """The experiment's folder here: in the storage, or in a cloud storage's mirror."""
        return self.spec.storage / self.spec.name

    @property
    def storage_location(self) -> str:
        """Where Tune writes the trials: the cloud URI, else the storage folder."""
        return self.spec.storage_uri or str(self.spec.storage)

    @property
    def experiment_location(self) -> str:
        return join(self.storage_location, self.spec.name)

    @property
    def total_trials(self) -> int:
        return len(self.cells) * self.spec.search.budget * len(self.spec.seeds)

    def train_config(self, cell: Cell, params: dict[str, Scalar], seed: int) -> TrainConfig:
        """The full training config of one trial (threads follow the trial's CPUs). A path
        set by the grid or the search is made absolute like ``base``'s: the trial runs in its
        own folder."""
        values = _absolute_paths(with_overrides(self.spec.base, {**cell.overrides, **params}))
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


def load_sweep(path: Path, overrides: Sequence[Override] = (), data: str | None = None) -> Sweep:
    """Read and fully validate a sweep file (with the files it extends, the command-line
    overrides, and ``data`` or $EMOSWEEP_DATA for ``${EMOSWEEP_DATA}``); raises ``ConfigError``
    with a one-line message naming the origin and field."""
    layers = read_layers(path, overrides, data)
    try:
        spec = SweepSpec.model_validate(layers.raw)
    except ValidationError as err:
        raise _blamed_problem(err, layers, (), SweepSpec) from None
    spec = spec.model_copy(
        update={"storage": _absolute(spec.storage), "base": _absolute_paths(spec.base)}
    )
    sweep = Sweep(path, spec, expand_grid(spec.grid), layers)
    for cell, params, blame in sweep.probes():
        _validate(sweep, cell, params, blame)
        if spec.protocol == "two_stage":
            _check_dev_stage(sweep, cell, params)
    return sweep


def grid_groups(grid: Grid | list[Grid]) -> list[Grid]:
    """The grid as a list of cartesian products (a single mapping is one product)."""
    return grid if isinstance(grid, list) else [grid]


def expand_grid(grid: Grid | list[Grid]) -> list[Cell]:
    """Every group's cartesian product, in file order, each distinct cell once (a group with
    no axes is the single cell ``base``)."""
    cells: list[Cell] = []
    for group in grid_groups(grid):
        cells += [cell for cell in _product(group) if cell not in cells]
    return cells or [Cell("base", {})]


def _product(group: Grid) -> list[Cell]:
    if not group:
        return [Cell("base", {})]
    keys = list(group)
    short = [key.rsplit(".", 1)[-1] for key in keys]
    labels = short if len(set(short)) == len(short) else keys
    cells = []
    for values in itertools.product(*(group[key] for key in keys)):
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
        problem = first_problem(err, TrainConfig)
        loc = ".".join(problem.loc)
        owner = next((key for key in cell.overrides if loc.startswith(key)), None)
        if owner is not None:
            raise _blamed_problem(err, layers, ("grid",), TrainConfig, owner) from None
        if params:
            raise layers.problem(blame, f"{loc}: {problem.message}") from None
        raise _blamed_problem(err, layers, ("base",), TrainConfig) from None
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


def _blamed_problem(
    err: ValidationError,
    layers: Layered,
    prefix: FieldPath,
    model: type[BaseModel],
    owner: str | None = None,
) -> ConfigError:
    """The first problem of a pydantic error (validating ``model``), blamed on the file or flag
    that set the field. ``owner`` is the grid axis holding a cell's bad value: the axis is the
    field to edit."""
    problem = first_problem(err, model)
    loc = problem.loc
    where = (*prefix, owner) if owner is not None else (*prefix, *loc)
    if owner is not None and loc and ".".join(loc) != owner:
        where = (*prefix, ".".join(loc))  # a field below the axis (an unknown one, say)
    return layers.problem(where, problem.text())


def _slug(value: GridValue) -> str:
    if isinstance(value, list):
        return "+".join(_slug(item) for item in value) or "none"
    return re.sub(r"[^A-Za-z0-9.]+", "-", str(value)).strip("-") or "empty"


def _absolute_paths(section: dict[str, Any]) -> dict[str, Any]:
    """A config section with relative file and folder options made absolute from the current
    folder: trials run elsewhere (their own folder, another node)."""
    resolved: dict[str, Any] = {}
    for key, value in section.items():
        if isinstance(value, dict):
            resolved[key] = _absolute_paths(value)
        elif key in _PATH_OPTIONS and isinstance(value, str) and value != "off":
            resolved[key] = str(_absolute(Path(value)))
        else:
            resolved[key] = value
    return resolved


def _absolute(path: Path) -> Path:
    """Ray needs an absolute storage path; a relative one means relative to the current folder."""
    try:
        return path.expanduser().resolve()
    except (RuntimeError, ValueError):  # ~user unknown here, a NUL: preflight names the field
        return path
