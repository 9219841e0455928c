"""Stop and retry a trial that stopped reporting: a hung data loader, a dead NCCL peer, a
machine swapping. ``train`` reports after every evaluation, so a trial silent for longer than
the sweep's ``hang_timeout_s`` is killed; Tune then retries it from its last checkpoint like
any failed trial (``max_failures``)."""

from __future__ import annotations

import time
from typing import Any

import ray
from ray import tune
from ray.tune.experiment import Trial

from orchestrator import console


class HangWatch(tune.Callback):
    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._last: dict[str, float] = {}  # trial id -> when it last started or reported

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial,
                       **info: Any) -> None:  # fmt: skip
        self._last[trial.trial_id] = time.monotonic()

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial,
                        result: dict, **info: Any) -> None:  # fmt: skip
        self._last[trial.trial_id] = time.monotonic()

    def on_step_begin(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        now = time.monotonic()
        for trial in trials:
            since = self._last.get(trial.trial_id)
            if trial.status != Trial.RUNNING or since is None or now - since < self._timeout_s:
                continue
            actor = trial.temporary_state.ray_actor
            if actor is None:
                continue
            silent = f"sent no report for {now - since:.0f} s (hang_timeout_s {self._timeout_s:g})"
            console.say(f"trial {trial} {silent}: killed, to be retried")
            del self._last[trial.trial_id]  # the retry starts the clock again
            ray.kill(actor)
