"""The second stage of the papers' protocol (``protocol: two_stage``), planned from storage.

Once every seed of a dev configuration has completed, the same configuration is trained again
on train+dev (``stage: test``) on the same seeds, for a fixed number of epochs, and scored on
test. The number of epochs is the median of the dev seeds' best epochs rounded up, and at least
1: best epochs 3 and 4 give 4; 2, 3 and 9 give 3. (Up, not down: the second stage trains on
more data, so erring towards more epochs is the safer side.)

A test-stage trial is an ordinary trial with its own trial key (its config differs in ``stage``
and ``optim.max_epochs``), so the storage lookup that keeps dev trials from running twice does
the same for it. Optuna never sees it. Nothing here imports Ray or Optuna.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.plan.plan import Plan, Suggestion, format_params, trial_config
from orchestrator.plan.stored import StoredTrial

RULE = "the median of its dev seeds' best epochs, rounded up"


@dataclass(frozen=True)
class StageConfig:
    """One dev configuration's test stage; ``epochs`` is None until its dev seeds completed."""

    dev: Suggestion
    epochs: int | None
    stored: dict[int, StoredTrial]  # seed -> its completed test-stage trial

    def missing_seeds(self, seeds: list[int]) -> list[int]:
        return [seed for seed in seeds if seed not in self.stored]


@dataclass(frozen=True)
class SecondStage:
    plan: Plan  # the dev plan it follows
    configs: list[StageConfig]

    @property
    def total(self) -> int:
        return len(self.configs) * len(self.plan.sweep.spec.seeds)

    @property
    def existing(self) -> int:
        return sum(len(config.stored) for config in self.configs)

    @property
    def ready(self) -> list[StageConfig]:
        """The configurations whose epochs are known and which have seeds left to run."""
        seeds = self.plan.sweep.spec.seeds
        return [c for c in self.configs if c.epochs is not None and c.missing_seeds(seeds)]

    @property
    def to_run(self) -> int:
        return self.total - self.existing

    @property
    def waiting(self) -> int:
        """Configurations still waiting for their dev stage."""
        return sum(config.epochs is None for config in self.configs)


def stage_epochs(best_epochs: Sequence[int]) -> int:
    """The second stage's epoch count (see the module docstring)."""
    return max(1, math.ceil(statistics.median(best_epochs)))


def plan_second_stage(plan: Plan) -> SecondStage:
    """The test stage of each of the plan's dev configurations; ``plan.stored`` holds the
    completed trials, test-stage ones included. A configuration pruned in the dev stage (by
    the seed-aware ASHA, tune/rungs.py), or with a dev seed whose loss diverged, has no test
    stage."""
    kept = [
        dev
        for dev in plan.suggestions
        if dev.pruned is None and not any(t.diverged for t in dev.stored.values())
    ]
    return SecondStage(plan, [_stage_config(plan, dev) for dev in kept])


def stage_trials(stage: SecondStage) -> list[dict[str, Any]]:
    """The configs of the test-stage trials that can run now, configuration by configuration."""
    sweep = stage.plan.sweep
    return [
        trial_config(sweep, c.dev.cell, c.dev.index, seed, c.dev.params or {}, c.epochs)
        for c in stage.ready
        for seed in c.missing_seeds(sweep.spec.seeds)
    ]


def headline(stage: SecondStage) -> str:
    waiting = f", {_count(stage.waiting)} waiting for the dev stage" if stage.waiting else ""
    return (
        f"test stage: {_count(len(stage.configs))} x {len(stage.plan.sweep.spec.seeds)} seeds = "
        f"{stage.total} trials, {stage.existing} already completed, {stage.to_run} to run{waiting}"
    )


def describe_second_stage(stage: SecondStage) -> str:
    """The dry-run text of the test stage, after the dev plan's."""
    seeds = stage.plan.sweep.spec.seeds
    lines = [
        f"  test stage: each configuration retrained on train+dev on the same seeds and scored "
        f"on test, for {RULE} (known once those seeds complete)",
        f"  test trials: {_count(len(stage.configs))} x {len(seeds)} seeds = "
        f"{stage.total}; {stage.existing} exist completed in storage, {stage.to_run} to run",
    ]
    lines += [f"    {_describe_config(config, seeds)}" for config in stage.configs]
    return "\n".join(lines)


def _stage_config(plan: Plan, dev: Suggestion) -> StageConfig:
    seeds = plan.sweep.spec.seeds
    best = [dev.stored[seed].best_epoch for seed in seeds if seed in dev.stored]
    if dev.params is None or dev.missing_seeds(seeds) or None in best:
        return StageConfig(dev, None, {})
    epochs = stage_epochs([int(epoch) for epoch in best if epoch is not None])
    stored = {}
    for seed in seeds:
        key = trial_config(plan.sweep, dev.cell, dev.index, seed, dev.params, epochs)["trial_key"]
        if key in plan.stored:
            stored[seed] = plan.stored[key]
    return StageConfig(dev, epochs, stored)


def _describe_config(config: StageConfig, seeds: list[int]) -> str:
    dev = config.dev
    params = format_params(dev.params) if dev.params else ""
    name = " ".join(part for part in (f"{dev.cell.name} q{dev.index}", params) if part)
    if config.epochs is None:
        return f"{name}: epochs decided after the dev stage  [to run: seeds {_join(seeds)}]"
    best = _join(dev.stored[seed].best_epoch for seed in seeds)
    done = [seed for seed in seeds if seed in config.stored]
    status = [f"done: seeds {_join(done)}"] if done else []
    status += [f"to run: seeds {_join(todo)}"] if (todo := config.missing_seeds(seeds)) else []
    return f"{name}: {config.epochs} epochs (best epochs {best})  [{'; '.join(status)}]"


def _count(configurations: int) -> str:
    return f"{configurations} configuration{'s' * (configurations != 1)}"


def _join(values: Any) -> str:
    return " ".join(str(value) for value in values)
