"""Trials that Ray Tune ends without the retry they are owed, handed back to the searcher.

With ``reuse_workers: true`` Tune hands a waiting (PENDING) trial a cached worker through a
``reset`` task. If that worker has died meanwhile (killed, its node lost) the reset fails, and
Tune 2.60 ends the trial as an error whatever ``max_failures`` allows: it retries only RUNNING
trials (``TuneController._process_trial_failure``). The scheduler hears of the failure first
(``on_trial_error``, before the searcher's ``on_trial_complete``) and notes the trial here; the
searcher then proposes the same (configuration, seed) again, and the new trial resumes from the
lost attempt's checkpoint, if it has one (``trial.earlier_attempt``).

Seen on a real local Ray: the dead worker fails two of the trial's tasks. Tune counts the first
as a failure of a RUNNING trial, retries it and sets it PENDING; the second then ends it. That
second failure is the same death, so it is not counted again; the lost trial's earlier failures
and its earlier losses count against ``max_failures`` as Tune's own retries do.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler


class LostTrials:
    def __init__(self, max_failures: int) -> None:
        self._max_failures = max_failures  # negative: retry without limit, as Tune reads it
        self._retries: Counter[str] = Counter()
        self._lost: set[str] = set()

    def note_error(self, trial: Trial) -> None:
        """Called as Tune fails a trial; a RUNNING one is Tune's own to retry or to end."""
        if trial.status != Trial.PENDING:
            return
        key = trial.config["trial_key"]
        failures = self._retries[key] + trial.run_metadata.num_failures - 1  # not this echo
        if self._max_failures < 0 or failures <= self._max_failures:
            self._retries[key] += 1
            self._lost.add(trial.trial_id)

    def take(self, trial_id: str) -> bool:
        """Whether this ending trial was lost and is to be proposed again (asked once)."""
        if trial_id not in self._lost:
            return False
        self._lost.remove(trial_id)
        return True


class LostTrialScheduler(FIFOScheduler):
    """First in, first out, noting the trials that Tune fails without a retry (the base of the
    seed-aware ASHA too)."""

    def __init__(self, lost: LostTrials) -> None:
        super().__init__()
        self.lost = lost

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self.lost.note_error(trial)
