"""The Tune search algorithm: per grid cell, Optuna suggests; each suggestion runs on every seed.

Each cell has its own ``OptunaSearch`` wrapped in Ray's ``Repeater``, so Optuna is told the mean
of the metric over the seeds of a suggestion. Cells are interleaved suggestion by suggestion so
that all of them progress together on a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from ray.tune.search import Repeater, Searcher
from ray.tune.search.optuna import OptunaSearch
from ray.tune.search.repeater import TRIAL_INDEX

from orchestrator.sweep import Cell, SearchParam, Sweep

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True)
class _Slot:
    cell_index: int
    suggestion: int
    seed_index: int


class CellSearcher(Searcher):
    def __init__(self, sweep: Sweep) -> None:
        search = sweep.spec.search
        super().__init__(metric=search.metric, mode=search.mode)
        self._sweep = sweep
        seeds = len(sweep.spec.seeds)
        self._slots = [
            _Slot(cell, suggestion, seed)
            for suggestion in range(search.budget)
            for cell in range(len(sweep.cells))
            for seed in range(seeds)
        ]
        self._searchers: list[Repeater | None] = [
            Repeater(self._optuna(index), repeat=seeds, set_index=True) if search.space else None
            for index in range(len(sweep.cells))
        ]
        self._owner: dict[str, int] = {}

    def _optuna(self, cell_index: int) -> OptunaSearch:
        search = self._sweep.spec.search
        seed = search.seed + cell_index  # distinct but reproducible streams per cell
        if search.sampler == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
        else:
            sampler = optuna.samplers.RandomSampler(seed=seed)
        space = {key: _distribution(param) for key, param in search.space.items()}
        return OptunaSearch(space=space, metric=search.metric, mode=search.mode, sampler=sampler)

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:  # fmt: skip
        return True  # metric and mode come from the sweep file only

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if not self._slots:
            return Searcher.FINISHED
        slot = self._slots.pop(0)
        cell = self._sweep.cells[slot.cell_index]
        searcher = self._searchers[slot.cell_index]
        params: dict[str, Any] = {}
        if searcher is not None:
            params = dict(searcher.suggest(trial_id) or {})
            if params.pop(TRIAL_INDEX, slot.seed_index) != slot.seed_index:
                raise RuntimeError("seed groups of a cell were interleaved")
        self._owner[trial_id] = slot.cell_index
        return trial_config(
            self._sweep, cell, slot.suggestion, self._sweep.spec.seeds[slot.seed_index], params
        )

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        searcher = self._searchers[self._owner.pop(trial_id)]
        if searcher is not None:
            searcher.on_trial_complete(trial_id, result=result, error=error)


def trial_config(
    sweep: Sweep, cell: Cell, suggestion: int, seed: int, params: dict[str, Any]
) -> dict[str, Any]:
    """What a trial receives (and Ray stores as params.json): self-describing, JSON only."""
    train = sweep.train_config(cell, params, seed)
    return {
        "sweep": sweep.spec.name,
        "cell": cell.name,
        "suggestion": suggestion,
        "seed": seed,
        "params": params,
        "config_key": train.config_key(),
        "trial_key": train.trial_key(),
        "train": train.model_dump(mode="json"),
    }


def _distribution(param: SearchParam) -> optuna.distributions.BaseDistribution:
    if param.type == "categorical":
        return optuna.distributions.CategoricalDistribution(param.choices or [])
    if param.type == "int":
        return optuna.distributions.IntDistribution(
            int(param.low or 0), int(param.high or 0), log=param.log
        )
    return optuna.distributions.FloatDistribution(
        param.low or 0.0, param.high or 0.0, log=param.log
    )
