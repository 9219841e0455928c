"""The Tune trainable: one (configuration, seed) is one call of ``emotrain.train``.

``train`` saves its state after every epoch; each report that follows such a save hands that
state to Tune as the trial's checkpoint. A retried trial (``max_failures``) gets it back and
continues from its last epoch, ending exactly as an uninterrupted run would. A trial started
again after the driver was lost (a rerun of the sweep) continues from the newest checkpoint of
an unfinished earlier attempt with the same ``trial_key``.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
from ray import tune

import emotrain
from emotrain.train_state import LATEST, is_complete
from emotrain.training import TrainingDiverged
from orchestrator.files import write_text_atomically
from orchestrator.tables import FAILURE, FINAL

TRAIN_RUN = "train"  # the Ray Train run of a multi-worker trial, inside its trial folder


def run_trial(config: dict[str, Any]) -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="emotrain-state-"))
    try:
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            checkpoint.to_directory(str(state_dir / LATEST))
        elif (earlier := earlier_attempt(config)) is not None:
            shutil.copytree(earlier, state_dir / LATEST)
        report = epoch_reporter(state_dir, _to_tune)
        try:
            result = emotrain.train(config["train"], report=report, state_dir=state_dir)
        except TrainingDiverged as err:
            # Deterministic for this config and seed: a retry would diverge again. The trial
            # ends failed, with the reason, and the sweep goes on.
            record_failure(Path(tune.get_context().get_trial_dir()), str(err))
            tune.report({config["metric"]: math.nan})  # Tune wants the metric; Optuna: failed
            return
        tune.report({**result.flat(), **where_it_ran(), FINAL: 1.0})
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def record_failure(trial_dir: Path, reason: str) -> None:
    """Why the trial failed without raising (tables.py reads it as the trial's error)."""
    write_text_atomically(trial_dir / FAILURE, json.dumps({"error": reason}))


def where_it_ran() -> dict[str, str]:
    """The Ray node that ran the trial (rank 0's for a multi-worker trial)."""
    return {"node_id": ray.get_runtime_context().get_node_id()}


def _to_tune(metrics: dict[str, float], checkpoint: tune.Checkpoint | None) -> None:
    tune.report(metrics, checkpoint=checkpoint)


def earlier_attempt(config: dict[str, Any]) -> Path | None:
    """The newest complete checkpoint of an unfinished trial folder with this trial's key, if
    any (a machine lost while Ray copied a checkpoint leaves an incomplete one)."""
    experiment = config.get("experiment_dir")
    if experiment is None:
        return None
    found: list[Path] = []
    for params in Path(experiment).glob("*/params.json"):
        trial_dir = params.parent
        try:
            stored = json.loads(params.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if stored.get("trial_key") != config["trial_key"] or _finished(trial_dir):
            continue
        # A multi-worker trial's checkpoints are Ray Train's, under train/ (ddp_trial.py).
        for pattern in ("checkpoint_*", f"{TRAIN_RUN}/checkpoint_*"):
            found += [c for c in trial_dir.glob(pattern) if is_complete(c)]
    return max(found, key=lambda c: c.stat().st_mtime, default=None)


def _finished(trial_dir: Path) -> bool:
    results = trial_dir / "result.json"
    if not results.is_file():
        return False
    lines = results.read_text(encoding="utf-8").splitlines()
    return any(FINAL in line and json.loads(line).get(FINAL) for line in lines if line.strip())


Send = Callable[[dict[str, float], "tune.Checkpoint | None"], None]


def epoch_reporter(state_dir: Path, send: Send) -> Callable[[dict[str, float]], None]:
    """``train``'s report: each report that follows a save of the state carries it as the
    checkpoint (the state is saved by rank 0 only, so only rank 0 sends a checkpoint)."""
    latest = state_dir / LATEST

    def report(metrics: dict[str, float]) -> None:
        saved = _saved_step(latest) == metrics.get("step")
        send(metrics, tune.Checkpoint.from_directory(str(latest)) if saved else None)

    return report


def _saved_step(latest: Path) -> int | None:
    progress = latest / "progress.json"
    if not progress.is_file():
        return None
    return json.loads(progress.read_text(encoding="utf-8"))["steps"]
