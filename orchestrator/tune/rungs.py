"""The decisions of a seed-aware ASHA (``scheduler: {type: asha}``) and their record on disk.

Rungs sit at ``grace * η^k`` epochs below a trial's ``optim.max_epochs``. A configuration (a
``config_key``: the training config without the seed) is judged once per rung, by the value of
the first of its seeds to reach it, against the values the other configurations recorded there:
the top 1/η continue, and fewer than η recorded values always continue. A pruned configuration
is pruned as a whole: its running seeds stop and its other seeds never start, so a
configuration's mean over seeds is always over complete runs. A configuration with a completed
seed is never pruned for the same reason (a seed that stopped early by ``patience`` may have
skipped a rung that a later seed reaches).

Every trial the decision stops gets a ``pruned.json`` in its folder: the tables show it as
``pruned``, and a rerun of the experiment neither runs it nor the configuration's other seeds.
Nothing here imports Ray.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from orchestrator.trial.folder import Pruning


@dataclass(frozen=True)
class RungValue:
    """A configuration's value at a rung, read back from a trial folder (``at``: when)."""

    config_key: str
    rung: int
    value: float
    at: float


@dataclass
class Rungs:
    """The rung records of one experiment's dev stage and the configurations pruned so far."""

    grace: int
    reduction_factor: int
    mode: Literal["max", "min"]
    records: dict[int, dict[str, float]] = field(default_factory=dict)  # rung -> config -> value
    pruned: dict[str, Pruning] = field(default_factory=dict)  # shared with the searcher
    _completed: set[str] = field(default_factory=set, init=False, repr=False)
    _passed: dict[str, set[int]] = field(default_factory=dict, init=False, repr=False)  # by trial

    def milestones(self, max_epochs: int) -> list[int]:
        rungs, rung = [], self.grace
        while rung < max_epochs:
            rungs.append(rung)
            rung *= self.reduction_factor
        return rungs

    def observe(
        self, trial: str, config_key: str, epoch: int, value: float, max_epochs: int
    ) -> Pruning | None:
        """A trial's evaluation in ``epoch``; the pruning that stops it, if any. The first
        evaluation at or after a rung's epoch stands for the rung (after the epoch ends, unless
        the trial evaluates every few steps)."""
        if config_key in self.pruned:
            return self.pruned[config_key]
        passed = self._passed.setdefault(trial, set())
        for rung in self.milestones(max_epochs):
            if rung > epoch or rung in passed:
                continue
            passed.add(rung)
            if (pruning := self._judge(config_key, rung, value)) is not None:
                return pruning
        return None

    def complete(self, config_key: str) -> None:
        """A seed of the configuration completed: the configuration is no longer pruned."""
        self._completed.add(config_key)

    def restore(
        self, values: Iterable[RungValue], pruned: Iterable[Pruning], completed: Iterable[str]
    ) -> None:
        """The state of an earlier run of the experiment: the first value at each rung of each
        configuration, its prunings (with their exact values) and its completed configurations."""
        for item in sorted(values, key=lambda v: v.at):
            self.records.setdefault(item.rung, {}).setdefault(item.config_key, item.value)
        for pruning in pruned:
            self.pruned[pruning.config_key] = pruning
            self.records.setdefault(pruning.rung, {})[pruning.config_key] = pruning.value
        self._completed.update(completed)

    def _judge(self, config_key: str, rung: int, value: float) -> Pruning | None:
        recorded = self.records.setdefault(rung, {})
        if config_key in recorded or not math.isfinite(value):
            return None  # judged by an earlier seed; a non-finite value is not comparable
        recorded[config_key] = value
        if config_key in self._completed or len(recorded) < self.reduction_factor:
            return None
        cutoff = self._cutoff(list(recorded.values()))
        if value < cutoff if self.mode == "max" else value > cutoff:
            self.pruned[config_key] = Pruning(config_key, rung, value, cutoff)
            return self.pruned[config_key]
        return None

    def _cutoff(self, values: list[float]) -> float:
        """The value a configuration must reach to be among the top 1/η."""
        top = 1 / self.reduction_factor
        return float(np.percentile(values, 100 * (1 - top if self.mode == "max" else top)))


def rung_values(
    config_key: str, rows: list[dict[str, float]], metric: str, milestones: list[int]
) -> list[RungValue]:
    """The values a trial's per-epoch results (result.json rows) gave at each rung it reached."""
    found = []
    for rung in milestones:
        row = next((r for r in rows if r.get("epoch", 0) >= rung and metric in r), None)
        if row is not None:
            found.append(RungValue(config_key, rung, row[metric], row.get("timestamp", 0.0)))
    return found
