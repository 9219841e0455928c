"""A one-line status when a configuration's last seed finishes, besides Tune's live table:
``config weights-one loss.alpha=0.2376: best_dev_jaccard 0.4123 ± 0.0101 over 2 seeds``, and
in the test stage ``config weights-one loss.alpha=0.2376 test stage (3 epochs): test_jaccard
…``; a configuration the seed-aware ASHA prunes, ``config weights-one loss.alpha=0.05: pruned
at epoch 1``."""

from __future__ import annotations

import math
import statistics
from typing import Any

from ray import tune
from ray.tune.experiment import Trial

from orchestrator.plan import format_params
from orchestrator.storage import StoredTrial
from orchestrator.tables import FINAL


class ConfigProgress(tune.Callback):
    """Counts seeds per configuration key, starting from the seeds already in storage."""

    def __init__(self, metric: str, seeds: list[int], stored: dict[str, StoredTrial]) -> None:
        self._metric = metric
        self._seeds = seeds
        self._values: dict[str, dict[int, float | None]] = {}
        self._pruned: set[str] = set()
        for trial in stored.values():
            if trial.seed in seeds:
                values = self._values.setdefault(trial.config_key, {})
                values[trial.seed] = trial.metrics.get(metric)

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        result = trial.last_result or {}
        if result.get(FINAL) or trial.config.get("stage") != "dev":
            self._record(trial, result.get(self._metric))
        elif "epoch" in result and trial.config["config_key"] not in self._pruned:
            # Stopped by the scheduler: the first seed to end so is the one judged at the rung
            # (the seeds still waiting then never started, and have no epoch).
            self._pruned.add(trial.config["config_key"])
            print(f"{_head(trial.config)}: pruned at epoch {result['epoch']}", flush=True)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._record(trial, None)

    def _record(self, trial: Trial, value: float | None) -> None:
        config = trial.config
        values = self._values.setdefault(config["config_key"], {})
        values[config["seed"]] = value
        if set(self._seeds) <= set(values):
            line = status_line(config, [values[seed] for seed in self._seeds], self._metric)
            print(line, flush=True)


def status_line(config: dict[str, Any], values: list[float | None], metric: str) -> str:
    """The line for one configuration; the std is the population std, as in the tables."""
    done = [v for v in values if v is not None and math.isfinite(v)]  # NaN: a diverged seed
    head = _head(config)
    if not done:
        return f"{head}: every seed failed"
    failed = f" ({len(values) - len(done)} failed)" if len(done) < len(values) else ""
    mean, std = statistics.fmean(done), statistics.pstdev(done)
    return f"{head}: {metric} {mean:.4f} ± {std:.4f} over {len(done)} seeds{failed}"


def _head(config: dict[str, Any]) -> str:
    """``config <cell> <searched values>``, and the test stage's epochs."""
    params = format_params(config["params"])
    head = f"config {config['cell']} {params}" if params else f"config {config['cell']}"
    if config.get("stage") == "test":
        head += f" test stage ({config['train']['optim']['max_epochs']} epochs)"
    return head
