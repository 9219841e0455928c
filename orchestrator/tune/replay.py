"""One grid cell's Optuna study, able to replay points proposed by an earlier run.

A rerun must not repeat work, yet Optuna must end up where a single uninterrupted run would be.
Stored points are therefore asked again, in their original order, from a sampler seeded as in
the first run: the seeded sampler proposes as usual (so its random state advances exactly as it
did then) and the stored values are substituted for its proposal. Told the stored mean, the study
then holds the same history, and the next new point is the one the first run would have
proposed given that history. Adding a seed or raising the budget therefore extends a sweep
instead of starting a different one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, Trial, TrialState

from orchestrator.plan.plan import cell_seed
from orchestrator.spec.sweep import Cell, SearchParam, SearchSpec

optuna.logging.set_verbosity(optuna.logging.WARNING)


class ReplaySampler(BaseSampler):
    """A sampler that asks its inner sampler every time, but returns the values in ``replaying``
    when set, so that replaying a point consumes the inner sampler's randomness."""

    def __init__(self, inner: BaseSampler) -> None:
        self._inner = inner
        self.replaying: dict[str, Any] | None = None

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._inner.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        sampled = self._inner.sample_relative(study, trial, search_space)
        if self.replaying is None:
            return sampled
        return {name: self.replaying[name] for name in sampled}

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: Any
    ) -> Any:
        sampled = self._inner.sample_independent(study, trial, param_name, param_distribution)
        return sampled if self.replaying is None else self.replaying[param_name]

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._inner.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._inner.reseed_rng()


class CellStudy:
    """Ask and tell for one cell; each point's value is the mean of its seeds' metric."""

    def __init__(self, search: SearchSpec, cell: Cell) -> None:
        self._space = {key: distribution(param) for key, param in search.space.items()}
        self._sampler = ReplaySampler(_seeded_sampler(search, cell))
        direction = "maximize" if search.mode == "max" else "minimize"
        self._study = optuna.create_study(direction=direction, sampler=self._sampler)

    def ask(self, replay: dict[str, Any] | None = None) -> tuple[Trial, dict[str, Any]]:
        """A new point, or the stored point ``replay`` asked in its turn."""
        self._sampler.replaying = replay
        try:
            trial = self._study.ask(self._space)
        finally:
            self._sampler.replaying = None
        return trial, dict(trial.params)

    def tell(self, trial: Trial, values: Sequence[float | None]) -> None:
        """The mean over the seeds; a point with a failed seed is a failed Optuna trial."""
        if values and all(v is not None and math.isfinite(v) for v in values):
            self._study.tell(trial, sum(values) / len(values))  # type: ignore[arg-type]
        else:
            self._study.tell(trial, state=TrialState.FAIL)

    def tell_pruned(self, trial: Trial, epoch: int, value: float) -> None:
        """A point the seed-aware ASHA pruned at ``epoch`` with ``value``: Optuna's samplers
        rank a pruned trial by its last intermediate value, so that is reported first."""
        if math.isfinite(value):
            trial.report(value, epoch)
        self._study.tell(trial, state=TrialState.PRUNED)

    @property
    def trials(self) -> list[FrozenTrial]:
        """The study's trials so far, oldest first."""
        return self._study.trials


def distribution(param: SearchParam) -> BaseDistribution:
    if param.type == "categorical":
        return optuna.distributions.CategoricalDistribution(param.choices or [])
    if param.type == "int":
        return optuna.distributions.IntDistribution(
            int(param.low or 0), int(param.high or 0), log=param.log
        )
    return optuna.distributions.FloatDistribution(
        param.low or 0.0, param.high or 0.0, log=param.log
    )


def _seeded_sampler(search: SearchSpec, cell: Cell) -> BaseSampler:
    seed = cell_seed(search, cell)
    if search.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)
