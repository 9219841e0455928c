"""The Tune search algorithms. The dev stage: per grid cell, Optuna suggests; each suggestion
runs on every seed. The test stage (``TrialList``): a fixed list of trials, nothing to search.

Each cell has its own seeded Optuna study (``replay.CellStudy``), told the mean of the metric
over the seeds of a suggestion. Suggestions already in storage are replayed into their study
first and only their missing seeds run; the new ones are interleaved suggestion by suggestion
across cells so that all cells progress together on a cluster.

Under the seed-aware ASHA (rungs.py) the scheduler shares its pruned configurations: a pruned
suggestion's remaining seeds are never handed out, and its study is told it was pruned (also
when it is replayed from storage on a rerun).

A trial that Tune fails without the retry it is owed (lost_trials.py) is proposed again.
Both searchers therefore say FINISHED only once nothing they proposed is still running.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import Trial
from ray.tune.search import Searcher

from orchestrator.plan.plan import Plan, Suggestion, trial_config, trial_identity
from orchestrator.plan.stored import adopt
from orchestrator.trial.folder import Pruning
from orchestrator.tune.lost_trials import LostTrials
from orchestrator.tune.replay import CellStudy


@dataclass
class _Live:
    """A suggestion during the run: its Optuna trial and the metric of each finished seed."""

    suggestion: Suggestion
    params: dict[str, Any] | None
    trial: Trial | None = None
    values: dict[int, float | None] = field(default_factory=dict)
    config_key: str | None = None  # known once its params are
    told: bool = False  # Optuna knows how it ended


class CellSearcher(Searcher):
    def __init__(
        self,
        plan: Plan,
        pruned: Mapping[str, Pruning] | None = None,
        lost: LostTrials | None = None,
    ) -> None:
        """``pruned``: the scheduler's pruned configurations by config key, as they grow;
        ``lost``: the trials the scheduler saw Tune fail without a retry."""
        search = plan.sweep.spec.search
        super().__init__(metric=search.metric, mode=search.mode)
        self._plan = plan
        self._lost = lost or LostTrials(plan.sweep.spec.max_failures)
        self._pruned = pruned if pruned is not None else {}
        # Pruned in an earlier run: done even if the scheduler is fifo now.
        self._pruned_before = {t.config_key: t.pruned for t in plan.pruned.values() if t.pruned}
        self._seeds = plan.sweep.spec.seeds
        self._studies = {
            cell.name: CellStudy(search, cell) if search.space else None
            for cell in plan.sweep.cells
        }
        lives = [self._start(suggestion) for suggestion in plan.suggestions]
        self._slots = _slots(lives, self._seeds, [cell.name for cell in plan.sweep.cells])
        self._running: dict[str, tuple[_Live, int]] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:  # fmt: skip
        return True  # metric and mode come from the sweep file only

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        while self._slots:
            live, seed = self._slots.pop(0)
            if live.params is None:
                live.trial, live.params = self._ask(live.suggestion, None)
            config = trial_config(
                self._plan.sweep, live.suggestion.cell, live.suggestion.index, seed, live.params
            )
            live.config_key = config["config_key"]
            if self._pruning(live.config_key) is not None:
                self._tell_when_complete(live)
                continue  # pruned as a whole: its remaining seeds never start
            stored = self._plan.stored.get(config["trial_key"])
            if stored is None:
                self._running[trial_id] = (live, seed)
                return config
            # Optuna proposed a point that already ran (a categorical space, say): reuse it.
            cell, index = live.suggestion.cell, live.suggestion.index
            identity = trial_identity(self._plan.sweep, cell, index)
            adopt(stored, self._plan.sweep.experiment_dir, identity)
            self._record(live, seed, stored.metrics.get(self.metric))
        return _nothing_now(self._running)

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        live, seed = self._running.pop(trial_id)
        if error and self._lost.take(trial_id):
            self._slots.insert(0, (live, seed))
            return
        value = None if error or result is None else result.get(self.metric)
        self._record(live, seed, value)

    def _start(self, suggestion: Suggestion) -> _Live:
        """Replay a suggestion known from storage (in order: see replay.py)."""
        live = _Live(suggestion, suggestion.params)
        live.values = {s: t.metrics.get(self.metric) for s, t in suggestion.stored.items()}
        if suggestion.params is not None:
            live.trial, _ = self._ask(suggestion, suggestion.params)
            self._tell_when_complete(live)
        return live

    def _ask(
        self, suggestion: Suggestion, replay: dict[str, Any] | None
    ) -> tuple[Trial | None, dict[str, Any]]:
        study = self._studies[suggestion.cell.name]
        if study is None:
            return None, {}
        return study.ask(replay)

    def _record(self, live: _Live, seed: int, value: float | None) -> None:
        live.values[seed] = value
        self._tell_when_complete(live)

    def _tell_when_complete(self, live: _Live) -> None:
        study = self._studies[live.suggestion.cell.name]
        if study is None or live.trial is None or live.told:
            return
        pruned = live.suggestion.pruned or self._pruning(live.config_key)
        if pruned is not None:
            study.tell_pruned(live.trial, pruned.rung, pruned.value)
        elif set(self._seeds) <= set(live.values):
            study.tell(live.trial, [live.values[seed] for seed in self._seeds])
        else:
            return
        live.told = True

    def _pruning(self, config_key: str | None) -> Pruning | None:
        if config_key is None:
            return None
        return self._pruned.get(config_key) or self._pruned_before.get(config_key)

    def study(self, cell: str) -> CellStudy | None:
        """A cell's Optuna study (None without a search space)."""
        return self._studies[cell]


class TrialList(Searcher):
    """Hands Tune the given trial configs, in order; Optuna never sees them."""

    def __init__(self, configs: list[dict[str, Any]], lost: LostTrials) -> None:
        super().__init__()
        self._configs = list(configs)
        self._lost = lost
        self._running: dict[str, dict[str, Any]] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:  # fmt: skip
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if not self._configs:
            return _nothing_now(self._running)
        self._running[trial_id] = self._configs.pop(0)
        return self._running[trial_id]

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        config = self._running.pop(trial_id)  # nothing learns from the test stage
        if error and self._lost.take(trial_id):
            self._configs.insert(0, config)


def _nothing_now(running: Mapping[str, object]) -> str | None:
    """Out of trials to propose: FINISHED, or None (ask again) while a running one may still be
    lost and proposed again."""
    return None if running else Searcher.FINISHED


def _slots(lives: list[_Live], seeds: list[int], cells: list[str]) -> list[tuple[_Live, int]]:
    """Known suggestions' missing seeds first, then the new ones round by round over cells."""

    def turn(live: _Live) -> tuple[bool, int, int]:
        return live.params is None, live.suggestion.index, cells.index(live.suggestion.cell.name)

    return [
        (live, seed)
        for live in sorted(lives, key=turn)
        for seed in live.suggestion.seeds_to_run(seeds)
    ]


class OnePass(Searcher):
    """One Tuner run's share of a searcher: hands out at most ``limit`` of its trials, then says
    FINISHED once they have all ended, so that a long sweep runs as a series of bounded Tuner
    runs over the same searcher (tune_run.py). The searcher keeps its state across passes, so
    the trials, their order and what Optuna learns are those of one unbroken run."""

    def __init__(self, searcher: Searcher, limit: int) -> None:
        super().__init__(metric=searcher.metric, mode=searcher.mode)
        self._searcher = searcher
        self._left = limit
        self._running: set[str] = set()
        self.exhausted = False  # the searcher itself said FINISHED: no pass follows

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:  # fmt: skip
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self._left <= 0:
            return _nothing_now(self._running)
        config = self._searcher.suggest(trial_id)
        if config == Searcher.FINISHED:
            self.exhausted = True
        elif config is not None:
            self._left -= 1
            self._running.add(trial_id)
        return config

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self._searcher.on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        self._running.discard(trial_id)
        self._searcher.on_trial_complete(trial_id, result=result, error=error)
