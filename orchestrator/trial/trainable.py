"""The Tune trainable: one (configuration, seed) is one call of ``emotrain.train``.

``train`` saves its state after every epoch but the last (``save_last_epoch=False``); each
report that follows such a save (``epoch_reporter``) hands that state to Tune as the trial's
checkpoint. A retried trial (``max_failures``) gets it back and continues from its last
checkpointed epoch, ending exactly as an uninterrupted run would. A trial started again after
the driver was lost (a rerun of the sweep) continues from the newest checkpoint of an
unfinished earlier attempt with the same ``trial_key``.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.fs as pafs
import ray
from ray import tune

from emotrain.divergence import TrainingDiverged
from emotrain.train_state import LATEST, holds_every_file

# emotrain.train itself, not the package's lazy attribute: torch and transformers then load
# with the trainable, in the worker's start-up, rather than in its first trial.
from emotrain.training import train
from orchestrator.store.cloud_storage import join, open_location, read_text, subfolders, write_text
from orchestrator.trial.folder import (
    DIVERGED,
    FAILURE,
    FINAL,
    INVALID,
    KEY_FILE,
    PARAMS,
    RESULTS,
    TRAIN_RUN,
    attempt_folders,
)

# Deterministic for a configuration and seed, so a retry would fail the same way: the trial
# ends failed with the reason, not retried, and the sweep goes on. A ValueError is what
# emotrain raises for input it cannot use (ConfigError and DataFileError are ValueErrors), found
# only when a trial reads it (a file changed since the preflight, a model that cannot hold the
# prompt); a diverged loss is the configuration's own outcome.
FINAL_FAILURES = (TrainingDiverged, ValueError)


def run_trial(config: dict[str, Any]) -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="emotrain-state-"))
    try:
        mark_trial(config)
        checkpoint = tune.get_checkpoint()
        if checkpoint is None and (earlier := earlier_attempt(config)) is not None:
            checkpoint = tune.Checkpoint(earlier)
        if checkpoint is not None:
            checkpoint.to_directory(str(state_dir / LATEST))
        report = epoch_reporter(state_dir, _to_tune)
        try:
            result = train(config["train"], report, state_dir, save_last_epoch=False)
        except FINAL_FAILURES as err:
            record_failure(stored_trial_dir(config), err)
            tune.report({config["metric"]: math.nan})  # Tune wants the metric; Optuna: failed
            return
        tune.report({**result.flat(), **where_it_ran(), FINAL: 1.0})
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def stored_trial_dir(config: dict[str, Any]) -> str:
    """The trial's folder in the sweep's storage (a path, or a URI). Not ``get_trial_dir()``:
    that is a staging folder on the node running the trial, which Tune copies to the storage
    only from time to time (and, for a cloud storage, only from the driver's node)."""
    return join(config["experiment_dir"], Path(tune.get_context().get_trial_dir()).name)


def mark_trial(config: dict[str, Any]) -> None:
    """Write the trial's key into its folder in the storage (see KEY_FILE)."""
    key = json.dumps({"trial_key": config["trial_key"]})
    write_text(*open_location(join(stored_trial_dir(config), KEY_FILE)), key)


def record_failure(trial_dir: str, error: Exception) -> None:
    """Why the trial failed without raising (the tables read it as the trial's error), the kind
    of failure, and where it was raised."""
    lines = str(error).strip().splitlines()
    record = {
        "error": lines[0] if lines else type(error).__name__,
        "kind": DIVERGED if isinstance(error, TrainingDiverged) else INVALID,
        "traceback": "".join(traceback.format_exception(error)),
    }
    write_text(*open_location(join(trial_dir, FAILURE)), json.dumps(record))


def where_it_ran() -> dict[str, str]:
    """The Ray node that ran the trial (rank 0's for a multi-worker trial)."""
    return {"node_id": ray.get_runtime_context().get_node_id()}


def _to_tune(metrics: dict[str, float], checkpoint: tune.Checkpoint | None) -> None:
    tune.report(metrics, checkpoint=checkpoint)


def earlier_attempt(config: dict[str, Any]) -> str | None:
    """The newest complete checkpoint (a path, or a URI) of an unfinished trial folder with this
    trial's key, if any (a machine lost while Ray copied a checkpoint leaves an incomplete one)."""
    experiment = config.get("experiment_dir")
    if experiment is None:
        return None
    fs, root = open_location(experiment)
    found: list[tuple[int, str]] = []
    for trial_dir in attempts(fs, root, config):
        if _finished(read_text(fs, join(trial_dir, RESULTS))):
            continue
        for checkpoint in checkpoint_folders(fs, trial_dir):
            if (saved := _complete_since(fs, checkpoint)) is not None:
                found.append((saved, checkpoint))
    if not found:
        return None
    newest = max(found)[1]
    return experiment.rstrip("/") + newest[len(root.rstrip("/")) :]


def attempts(fs: pafs.FileSystem, experiment: str, config: dict[str, Any]) -> list[str]:
    """The folders of ``experiment`` that hold an attempt of this trial: named for it, with its
    key. Only folders so named are read: a trial costs one listing of the experiment, not a read
    of every folder in it (every GET, in a bucket)."""
    named = attempt_folders(config["cell"], config["stage"], config["seed"])
    return [
        folder
        for folder in subfolders(fs, experiment)
        if named.fullmatch(PurePosixPath(folder).name)
        and trial_key(fs, folder) == config["trial_key"]
    ]


def trial_key(fs: pafs.FileSystem, trial_dir: str) -> str | None:
    """The key of the trial a folder belongs to (None when it holds none)."""
    marked = read_text(fs, join(trial_dir, KEY_FILE))
    marked = marked or read_text(fs, join(trial_dir, PARAMS))
    try:
        key = json.loads(marked or "{}").get("trial_key")
    except (ValueError, AttributeError):
        return None
    return key if isinstance(key, str) else None


def checkpoint_folders(fs: pafs.FileSystem, trial_dir: str) -> list[str]:
    """A trial folder's checkpoints: Tune's, and a multi-worker trial's (Ray Train's, under
    train/: ddp.py)."""
    return [
        folder
        for parent in (trial_dir, join(trial_dir, TRAIN_RUN))
        for folder in subfolders(fs, parent)
        if PurePosixPath(folder).name.startswith("checkpoint_")
    ]


def _complete_since(fs: pafs.FileSystem, checkpoint: str) -> int | None:
    """When a whole saved state was written to ``checkpoint`` (its progress.json, written
    last), or None when the folder holds less than that."""
    files = fs.get_file_info(pafs.FileSelector(checkpoint))
    found = {PurePosixPath(f.path).name: f for f in files if f.type == pafs.FileType.File}
    progress = found.get("progress.json")
    text = read_text(fs, join(checkpoint, "progress.json")) if progress else None
    if progress is None or text is None:
        return None
    if not holds_every_file(text, lambda name: found[name].size if name in found else None):
        return None
    return progress.mtime_ns or 0


def _finished(results: str | None) -> bool:
    lines = (results or "").splitlines()
    return any(FINAL in line and json.loads(line).get(FINAL) for line in lines if line.strip())


Send = Callable[[dict[str, float], "tune.Checkpoint | None"], None]


def epoch_reporter(state_dir: Path, send: Send) -> Callable[[dict[str, float]], None]:
    """``train``'s report: each report that follows a save of the state carries it as the
    checkpoint (the state is saved by rank 0 only, so only rank 0 sends a checkpoint).

    The last epoch sends none, as trials train with ``save_last_epoch=False``: a trial's
    completion, moments later, deletes its checkpoints (``DropFinishedCheckpoints``), and that
    one would have cost a write of the whole state, a copy into the storage and, in Tune, a
    snapshot of the whole experiment. A trial lost in between trains its
    last epoch again."""
    latest = state_dir / LATEST

    def send_epoch(metrics: dict[str, float]) -> None:
        saved = _saved_step(latest) == metrics.get("step")
        send(metrics, tune.Checkpoint.from_directory(str(latest)) if saved else None)

    return send_epoch


def _saved_step(latest: Path) -> int | None:
    progress = latest / "progress.json"
    if not progress.is_file():
        return None
    return json.loads(progress.read_text(encoding="utf-8"))["steps"]
