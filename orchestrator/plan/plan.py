"""What a run will do: per cell, the suggestions already known from storage and the new ones,
and which (suggestion, seed) trials must run. Nothing here imports Ray or Optuna.

A stored completed trial is a known suggestion of a cell when the same search proposed it (same
sampler, cell seed and space: its ``search_key``) and its params, put into this cell, give its
configuration key. Known suggestions are replayed in their original order (the searcher tells
Optuna about them, so later suggestions follow from the same history) and only their missing
seeds run. The rest of the budget is left to Optuna during the run. A completed trial that is
not a known suggestion is still never run again: if Optuna proposes it, its result is reused.
Test-stage trials (``second_stage.py``) are never suggestions: Optuna only sees the dev stage.
A suggestion the seed-aware ASHA pruned in this experiment (tune/rungs.py) is done: none of its
seeds runs again, and the searcher tells Optuna it was pruned.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from emotrain.config import stable_hash
from emotrain.config_errors import ConfigError
from orchestrator.plan.stored import StoredTrial
from orchestrator.spec.sweep import Cell, GridValue, Scalar, SearchParam, SearchSpec, Sweep
from orchestrator.trial.folder import Pruning


@dataclass(frozen=True)
class Suggestion:
    """One point of a cell's search; ``params`` is None until Optuna proposes it."""

    cell: Cell
    index: int
    params: dict[str, Scalar] | None
    stored: dict[int, StoredTrial]  # seed -> the completed trial already in storage
    pruned: Pruning | None = None  # pruned as a whole in this experiment

    def missing_seeds(self, seeds: list[int]) -> list[int]:
        """The seeds without a completed trial."""
        return [seed for seed in seeds if seed not in self.stored]

    def seeds_to_run(self, seeds: list[int]) -> list[int]:
        """The missing seeds, none once the suggestion is pruned."""
        return [] if self.pruned else self.missing_seeds(seeds)


@dataclass(frozen=True)
class Plan:
    sweep: Sweep
    suggestions: list[Suggestion]  # cell by cell, each cell's in index order
    stored: dict[str, StoredTrial]  # every completed trial under the storage, by trial key
    pruned: dict[str, StoredTrial] = field(default_factory=dict)  # this experiment's, by key

    @property
    def existing(self) -> int:
        return sum(len(s.stored) for s in self.suggestions)

    @property
    def diverged(self) -> int:
        """Of the existing trials, those whose loss diverged (done: they would diverge again)."""
        return sum(t.diverged for s in self.suggestions for t in s.stored.values())

    @property
    def skipped(self) -> int:
        """The trials of pruned suggestions that did not complete (pruned, or never started)."""
        seeds = self.sweep.spec.seeds
        return sum(len(s.missing_seeds(seeds)) for s in self.suggestions if s.pruned)

    @property
    def to_run(self) -> int:
        return sum(len(s.seeds_to_run(self.sweep.spec.seeds)) for s in self.suggestions)


def make_plan(sweep: Sweep, stored: dict[str, StoredTrial]) -> Plan:
    """Match the stored trials to the sweep's cells; ``stored`` empty means start afresh."""
    pruned = {key: trial for key, trial in stored.items() if trial.pruned is not None}
    by_config: dict[str, list[StoredTrial]] = defaultdict(list)
    for trial in stored.values():
        if trial.stage == "dev" and _fits(trial.params, sweep.spec.search.space):
            by_config[trial.config_key].append(trial)
    suggestions = []
    for cell in sweep.cells:
        known = _known_suggestions(sweep, cell, by_config)[: sweep.spec.search.budget]
        for index in range(sweep.spec.search.budget):
            trials = known[index] if index < len(known) else []
            params = dict(trials[0].params) if trials else None
            if not sweep.spec.search.space:
                params = {}  # one point per cell, known before the run
            seeds = {t.seed: t for t in trials if t.seed in sweep.spec.seeds and not t.pruned}
            pruning = next((t.pruned for t in trials if t.pruned), None)
            suggestions.append(Suggestion(cell, index, params, seeds, pruning))
    completed = {key: trial for key, trial in stored.items() if key not in pruned}
    return Plan(sweep, suggestions, completed, pruned)


def trial_config(
    sweep: Sweep,
    cell: Cell,
    suggestion: int,
    seed: int,
    params: dict[str, Any],
    epochs: int | None = None,
) -> dict[str, Any]:
    """What a trial receives (and Ray stores as params.json): self-describing, JSON only.
    ``grid`` and ``params`` are flat scalars, so TensorBoard's HParams view shows them as
    ``grid/<option>`` and ``params/<option>`` columns. With ``epochs`` it is the configuration's
    test-stage trial, linked to its dev configuration by ``dev_config_key``."""
    dev = sweep.train_config(cell, params, seed)
    train = dev if epochs is None else sweep.test_config(cell, params, seed, epochs)
    return trial_identity(sweep, cell, suggestion) | {
        "seed": seed,
        "stage": train.stage,
        "search_key": search_key(sweep.spec.search, cell),
        "params": params,
        "config_key": train.config_key(),
        "dev_config_key": dev.config_key(),
        "trial_key": train.trial_key(),
        "train": train.model_dump(mode="json"),
        "metric": sweep.spec.search.metric,
        "workers": _workers(sweep),
        "max_failures": sweep.spec.max_failures,
    }


def _workers(sweep: Sweep) -> dict[str, float]:
    """The training processes of a trial (trial/ddp.py when more than one)."""
    resources = sweep.spec.resources
    return {
        "count": resources.processes,
        "cpus": resources.cpus,
        "gpus": resources.gpus_per_process,
    }


def trial_identity(sweep: Sweep, cell: Cell, suggestion: int) -> dict[str, Any]:
    """Where a trial stands in this sweep (rewritten when a trial is reused by another)."""
    return {
        "sweep": sweep.spec.name,
        "experiment_dir": sweep.experiment_location,
        "cell": cell.name,
        "suggestion": suggestion,
        "grid": {key: _flat(value) for key, value in cell.overrides.items()},
    }


def cell_seed(search: SearchSpec, cell: Cell) -> int:
    """A per-cell sampler seed from the sweep's seed and the cell's grid values (not its
    position), so adding a grid value leaves the other cells' suggestions unchanged."""
    return int(stable_hash({"seed": search.seed, "grid": cell.overrides})[:8], 16)


def search_key(search: SearchSpec, cell: Cell) -> str:
    """What decides a cell's sequence of suggestions: the sampler, its seed and the space."""
    space = {key: param.model_dump(mode="json") for key, param in search.space.items()}
    return stable_hash({"sampler": search.sampler, "seed": cell_seed(search, cell), "space": space})


def describe_plan(plan: Plan) -> str:
    """The dry-run text: the whole plan, cell by cell."""
    sweep, spec = plan.sweep, plan.sweep.spec
    search = spec.search
    seeds = spec.seeds
    space = ", ".join(search.space) or "nothing (one point per cell)"
    lines = [
        f"sweep {spec.name} ({sweep.source})",
        f"  storage:   {sweep.experiment_location}"
        + (f" (mirrored in {sweep.experiment_dir})" if spec.storage_uri else ""),
        f"  seeds:     {', '.join(map(str, seeds))}",
        f"  resources: {spec.resources.cpus:g} CPU, {spec.resources.gpus:g} GPU per trial",
        f"  search:    {search.sampler} (seed {search.seed}) over {space}; "
        f"{search.budget} suggestion(s) per cell; {search.mode} {search.metric}",
        f"  trials:    {len(sweep.cells)} cells x {search.budget} suggestions x {len(seeds)} "
        f"seeds = {sweep.total_trials}; {plan.existing} exist completed in storage, "
        f"{f'{plan.skipped} pruned, ' if plan.skipped else ''}{plan.to_run} to run",
    ]
    for cell in sweep.cells:
        overrides = " ".join(f"{k}={v}" for k, v in cell.overrides.items()) or "(base)"
        lines.append(f"  cell {cell.name}: {overrides}")
        for suggestion in (s for s in plan.suggestions if s.cell == cell):
            lines.append(f"    {_describe_suggestion(suggestion, seeds)}")
    return "\n".join(lines)


def format_params(params: dict[str, Scalar]) -> str:
    return " ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def _describe_suggestion(suggestion: Suggestion, seeds: list[int]) -> str:
    if suggestion.params is None:
        what = "new (Optuna suggests it during the run)"
    else:
        what = format_params(suggestion.params) or "(no search)"
    done = " ".join(str(seed) for seed in seeds if seed in suggestion.stored)
    todo = " ".join(str(seed) for seed in suggestion.seeds_to_run(seeds))
    status = [f"done: seeds {done}"] if done else []
    status += [f"to run: seeds {todo}"] if todo else []
    if (cut := suggestion.pruned) is not None:
        status += [f"pruned at epoch {cut.rung} ({cut.value:.4f}, cutoff {cut.cutoff:.4f})"]
    return f"q{suggestion.index}  {what}  [{'; '.join(status)}]"


def _known_suggestions(
    sweep: Sweep, cell: Cell, by_config: dict[str, list[StoredTrial]]
) -> list[list[StoredTrial]]:
    """The stored configurations this cell's search proposed, oldest suggestion first."""
    key = search_key(sweep.spec.search, cell)
    found = []
    for config_key, trials in by_config.items():
        if not any(t.search_key == key for t in trials) and sweep.spec.search.space:
            continue  # another search proposed it: reused if proposed again, never replayed
        if _config_key(sweep, cell, trials[0].params) == config_key:
            found.append(sorted(trials, key=lambda t: t.seed))
    return sorted(
        found, key=lambda ts: (min(t.suggestion for t in ts), min(t.timestamp for t in ts))
    )


def _config_key(sweep: Sweep, cell: Cell, params: dict[str, Any]) -> str | None:
    try:
        return sweep.train_config(cell, params, 0).config_key()
    except (ValidationError, ConfigError):
        return None  # a stored point this cell cannot take is simply not one of its points


def _fits(params: dict[str, Any], space: dict[str, SearchParam]) -> bool:
    """Stored params that are a point of the current search space (same options, in range)."""
    if set(params) != set(space):
        return False
    return all(_inside(params[key], param) for key, param in space.items())


def _inside(value: Any, param: SearchParam) -> bool:
    if param.choices is not None:
        return value in param.choices
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return False
    if param.type == "int" and value != int(value):
        return False
    return (param.low or 0) <= value <= (param.high or 0)


def _flat(value: GridValue) -> Scalar:
    """A list value as one string: TensorBoard's HParams view takes scalars only."""
    return ",".join(str(item) for item in value) if isinstance(value, list) else value
