"""The progress of a Tuner pass, as the driver shows it (console.py).

On a person's terminal, one live view: the trials done / running / failed / pending, the best
configuration so far with its mean ± std, the time elapsed and an estimate of the rest. Elsewhere
(a pipe, CI, ``--verbose``), one plain line per finished trial: ``[3/8] weights-one_q0_seed1:
best_dev_jaccard 0.4123 | 0:12 elapsed, about 0:20 left``.

Both print a line when a configuration's last seed finishes: ``config weights-one
loss.alpha=0.2376: best_dev_jaccard 0.4123 ± 0.0101 over 2 seeds``, and in the test stage
``config weights-one loss.alpha=0.2376 test stage (3 epochs): test_jaccard …``; a configuration
the seed-aware ASHA prunes, ``config weights-one loss.alpha=0.05: pruned at epoch 1``."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ray import tune
from ray.tune.experiment import Trial
from rich.console import Console
from rich.live import Live
from rich.text import Text

from orchestrator import console
from orchestrator.plan.plan import format_params
from orchestrator.plan.stored import StoredTrial
from orchestrator.trial.folder import FINAL, folder_prefix


@dataclass(frozen=True)
class ConfigResult:
    """A configuration whose seeds have all ended: its line, and its mean for the ranking."""

    line: str
    mean: float


class ConfigProgress(tune.Callback):
    """Counts the trials of this pass (``total`` of them to run) and the seeds per
    configuration key, starting from the seeds already in storage."""

    def __init__(
        self,
        metric: str,
        seeds: list[int],
        stored: dict[str, StoredTrial],
        total: int = 0,
        mode: str = "max",
    ) -> None:
        self._metric = metric
        self._seeds = seeds
        self._mode = mode
        self._values: dict[str, dict[int, float | None]] = {}
        self._pruned: set[str] = set()
        self._best: ConfigResult | None = None
        self.total, self.done, self.failed, self.running = total, 0, 0, 0
        self._start = time.monotonic()
        self._view: _View = _Lines(self)
        for trial in stored.values():
            if trial.seed in seeds:
                values = self._values.setdefault(trial.config_key, {})
                values[trial.seed] = trial.metrics.get(metric)

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the Tuner's state when a pass starts, while the live
        # view (which holds the terminal) is shown: the copy gets the plain lines instead.
        state = dict(self.__dict__)
        del state["_view"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._view = _Lines(self)

    @contextmanager
    def shown(self) -> Iterator[None]:
        """The live view on a person's terminal while the pass runs (else the plain lines)."""
        session = console.current()
        if not session.interactive or session.verbose:
            yield
            return
        self._start = time.monotonic()
        view = _LiveView(self, session)
        self._view = view
        try:
            with view.live:
                session.above = view.above
                yield
        finally:
            session.above = None
            self._view = _Lines(self)

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        self.running = sum(trial.status == Trial.RUNNING for trial in trials)

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.running = sum(t.status == Trial.RUNNING for t in trials)
        self._view.update()

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.done += 1
        self.running = max(0, self.running - 1)
        result = trial.last_result or {}
        if result.get(FINAL) or trial.config.get("stage") != "dev":
            value = result.get(self._metric)
            shown = f"{value:.4f}" if isinstance(value, float) else "none"
            self._view.trial(trial, f"{self._metric} {shown}")
            self._record(trial, value)
            return
        stopped = f"stopped at epoch {result['epoch']}" if "epoch" in result else "stopped"
        self._view.trial(trial, stopped)
        if "epoch" in result and trial.config["config_key"] not in self._pruned:
            # Stopped by the scheduler: the first seed to end so is the one judged at the rung
            # (the seeds still waiting then never started, and have no epoch).
            self._pruned.add(trial.config["config_key"])
            self._view.line(f"{_head(trial.config)}: pruned at epoch {result['epoch']}")

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.failed += 1
        self.running = max(0, self.running - 1)
        self._view.trial(trial, "failed (its reason is listed after the run)")
        self._record(trial, None)

    def _record(self, trial: Trial, value: float | None) -> None:
        config = trial.config
        values = self._values.setdefault(config["config_key"], {})
        values[config["seed"]] = value
        if set(self._seeds) <= set(values):
            ended = [values[seed] for seed in self._seeds]
            line = status_line(config, ended, self._metric)
            if done := _finite(ended):  # a configuration whose every seed failed ranks nowhere
                self._rank(ConfigResult(line, statistics.fmean(done)))
            self._view.line(line)

    def _rank(self, result: ConfigResult) -> None:
        best = self._best
        ahead = best is None or (result.mean - best.mean) * (1 if self._mode == "max" else -1) > 0
        if ahead:
            self._best = result

    @property
    def best(self) -> str | None:
        """The best configuration to end in this pass so far (its stored seeds count)."""
        return self._best.line if self._best else None

    def timing(self) -> str:
        """``0:12 elapsed, about 0:20 left`` (the rest from the mean time per ended trial)."""
        elapsed = time.monotonic() - self._start
        ended = self.done + self.failed
        text = f"{_clock(elapsed)} elapsed"
        if ended and self.total > ended:
            text += f", about {_clock(elapsed / ended * (self.total - ended))} left"
        return text

    def counts(self) -> str:
        pending = max(0, self.total - self.done - self.failed - self.running)
        return (
            f"trials: {self.done}/{self.total} done, {self.running} running, "
            f"{self.failed} failed, {pending} pending"
        )


class _View:
    def update(self) -> None: ...

    def trial(self, trial: Trial, outcome: str) -> None: ...

    def line(self, text: str) -> None: ...


class _Lines(_View):
    """One plain line per ended trial and per ended configuration."""

    def __init__(self, progress: ConfigProgress) -> None:
        self._progress = progress

    def trial(self, trial: Trial, outcome: str) -> None:
        progress = self._progress
        ended = f"[{progress.done + progress.failed}/{progress.total}]"
        console.say(f"{ended} {_name(trial.config)}: {outcome} | {progress.timing()}")

    def line(self, text: str) -> None:
        console.say(text)


class _LiveView(_View):
    """rich's live display, redrawn a few times a second (the clock moves); the configuration
    lines are printed above it. Every line also goes to the log."""

    def __init__(self, progress: ConfigProgress, session: console.Session) -> None:
        self._progress = progress
        self._session = session
        terminal = Console(file=session.out, highlight=False)
        self.live = Live(self, console=terminal, refresh_per_second=2,
                         redirect_stdout=False, redirect_stderr=False)  # fmt: skip

    def __rich__(self) -> Text:
        progress = self._progress
        text = Text(f"{progress.counts()} | {progress.timing()}")
        if progress.best:
            text.append(f"\nbest so far: {progress.best.removeprefix('config ')}")
        return text

    def update(self) -> None:
        self.live.refresh()

    def trial(self, trial: Trial, outcome: str) -> None:
        self._session.write_log(f"{_name(trial.config)}: {outcome}\n".encode())
        self.live.refresh()

    def line(self, text: str) -> None:
        self._session.say(text)

    def above(self, text: str) -> None:
        """A line printed above the view (Session.say while it is shown)."""
        self.live.console.print(text, markup=False, highlight=False)


def status_line(config: dict[str, Any], values: list[float | None], metric: str) -> str:
    """The line for one configuration; the std is the population std, as in the tables."""
    done = _finite(values)
    head = _head(config)
    if not done:
        return f"{head}: every seed failed"
    failed = f" ({len(values) - len(done)} failed)" if len(done) < len(values) else ""
    mean, std = statistics.fmean(done), statistics.pstdev(done)
    return f"{head}: {metric} {mean:.4f} ± {std:.4f} over {len(done)} seeds{failed}"


def _finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]  # NaN: a diverged seed


def _head(config: dict[str, Any]) -> str:
    """``config <cell> <searched values>``, and the test stage's epochs."""
    params = format_params(config["params"])
    head = f"config {config['cell']} {params}" if params else f"config {config['cell']}"
    if config.get("stage") == "test":
        head += f" test stage ({config['train']['optim']['max_epochs']} epochs)"
    return head


def _name(config: dict[str, Any]) -> str:
    """The trial as its folder is named, without Tune's id: ``weights-one_q0_seed1``."""
    return folder_prefix(config["cell"], config["suggestion"], config["stage"], config["seed"])


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
