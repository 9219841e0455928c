"""The seed-aware ASHA as a Tune scheduler (``scheduler: {type: asha}``; decisions: rungs.py).

Tune's own ASHA judges trials, that is single seeds: it could stop one seed of a configuration
and let another finish, and the mean over seeds would then mix complete and cut runs. Here a
configuration is judged once per rung by its first seed there and pruned as a whole. Its other
running seeds stop at their next result, its waiting seeds are removed, and the searcher, which
shares the pruned set, never starts the rest. The value judged is the reported ``search.metric``
(``best_dev_<metric>``): what Optuna would be told if the trial ended at that evaluation.

On a rerun the rung records are rebuilt from the experiment's completed and pruned trials
(their result.json rows and pruned.json), so earlier decisions hold.
"""

from __future__ import annotations

import json
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

from orchestrator.plan.plan import Plan
from orchestrator.plan.stored import StoredTrial
from orchestrator.trial.folder import FINAL, PARAMS, RESULTS, Pruning, write_pruning
from orchestrator.tune.lost_trials import LostTrials, LostTrialScheduler
from orchestrator.tune.rungs import Rungs, RungValue, rung_values

_WAITING = (Trial.PENDING, Trial.PAUSED)


class SeedAwareASHA(LostTrialScheduler):
    def __init__(self, rungs: Rungs, metric: str, lost: LostTrials) -> None:
        super().__init__(lost)
        self.rungs = rungs
        self._metric = metric

    @property
    def pruned(self) -> dict[str, Pruning]:
        """The pruned configurations by config key (the searcher reads it as it grows)."""
        return self.rungs.pruned

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        config = trial.config
        epoch, value = result.get("epoch"), result.get(self._metric)
        if config.get("stage") != "dev" or result.get(FINAL) or epoch is None or value is None:
            return TrialScheduler.CONTINUE
        max_epochs = config["train"]["optim"]["max_epochs"]
        pruning = self.rungs.observe(
            trial.trial_id, config["config_key"], int(epoch), float(value), max_epochs
        )
        if pruning is None:
            return TrialScheduler.CONTINUE
        write_pruning(trial.storage.storage_filesystem, trial.path, pruning, int(epoch))
        for waiting in tune_controller.get_trials():
            if waiting.status in _WAITING and waiting.config["config_key"] == pruning.config_key:
                tune_controller.stop_trial(waiting)  # never started: nothing to mark
        return TrialScheduler.STOP

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        if result and result.get(FINAL):
            self.rungs.complete(trial.config["config_key"])

    def debug_string(self) -> str:
        return "Using a seed-aware ASHA: configurations are pruned as a whole."


def seed_aware_scheduler(plan: Plan, lost: LostTrials | None = None) -> SeedAwareASHA | None:
    """The sweep's scheduler for its dev pass, with the state of the experiment's earlier
    runs; None for fifo."""
    spec = plan.sweep.spec
    if spec.scheduler.type != "asha":
        return None
    rungs = Rungs(spec.scheduler.grace_epochs, spec.scheduler.reduction_factor, spec.search.mode)
    stored = [t for s in plan.suggestions for t in s.stored.values() if t.stage == "dev"]
    completed = [t for t in stored if not t.diverged]
    pruned = [t for t in plan.pruned.values() if t.stage == "dev"]
    values = [v for t in [*completed, *pruned] for v in _rung_values(t, rungs, spec.search.metric)]
    prunings = [t.pruned for t in pruned if t.pruned is not None]
    rungs.restore(values, prunings, {t.config_key for t in completed})
    return SeedAwareASHA(rungs, spec.search.metric, lost or LostTrials(spec.max_failures))


def _rung_values(trial: StoredTrial, rungs: Rungs, metric: str) -> list[RungValue]:
    """What a stored trial's results gave at the rungs it reached (none if unreadable)."""
    try:
        params = json.loads((trial.trial_dir / PARAMS).read_text(encoding="utf-8"))
        max_epochs = int(params["train"]["optim"]["max_epochs"])
        lines = (trial.trial_dir / RESULTS).read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError, KeyError, TypeError):
        return []
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line
    rows = [row for row in rows if not row.get(FINAL)]
    return rung_values(trial.config_key, rows, metric, rungs.milestones(max_epochs))
