"""The trials already completed in a storage folder, so that no run repeats them.

A trial is known by its ``trial_key`` (the hash of its defaults-filled training config and seed),
so a completed trial counts wherever it ran: in this experiment's folder or in another one
under the same storage. One from another experiment is copied into this one before it is used,
because the tables of an experiment are built from its own folders.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.files import write_text_atomically
from orchestrator.tables import read_trial


@dataclass(frozen=True)
class StoredTrial:
    """A completed trial folder: its keys, searched params, seed and final metrics."""

    trial_dir: Path
    trial_key: str
    config_key: str
    search_key: str | None  # the search that proposed it (None: an older trial)
    suggestion: int
    seed: int
    params: dict[str, Any]
    metrics: dict[str, float]  # best_dev_* and test_*
    timestamp: float
    stage: str = "dev"  # "test": the protocol's second stage (see second_stage.py)
    best_epoch: int | None = None


def completed_trials(storage: Path, experiment_dir: Path) -> dict[str, StoredTrial]:
    """Completed trials under ``storage/*/*/``, one per trial key: one in ``experiment_dir``
    wins (it needs no copy), then the newest."""
    found: dict[str, StoredTrial] = {}
    for params_file in sorted(storage.glob("*/*/params.json")):
        trial = _read_completed(params_file.parent)
        if trial is None:
            continue
        known = found.get(trial.trial_key)
        if known is None or _rank(trial, experiment_dir) > _rank(known, experiment_dir):
            found[trial.trial_key] = trial
    return found


def adopt(trial: StoredTrial, experiment_dir: Path, identity: dict[str, Any]) -> Path:
    """Make a completed trial of another experiment part of this one: copy its folder, with
    ``identity`` (sweep, cell, suggestion, grid) rewritten in params.json. Returns the folder."""
    if trial.trial_dir.parent == experiment_dir:
        return trial.trial_dir
    name = folder_prefix(identity["cell"], identity["suggestion"], trial.stage, trial.seed)
    target = experiment_dir / f"{name}_{trial.trial_dir.name.rsplit('_', 1)[-1]}"
    if (target / "params.json").exists():
        return target
    # params.json goes last: a scan only sees a folder once it has one, so never half a copy.
    shutil.copytree(trial.trial_dir, target, ignore=shutil.ignore_patterns("params.json"))
    params = json.loads((trial.trial_dir / "params.json").read_text(encoding="utf-8"))
    params |= identity | {"reused_from": str(trial.trial_dir)}
    write_text_atomically(target / "params.json", json.dumps(params, indent=2, sort_keys=True))
    return target


def folder_prefix(cell: str, suggestion: int, stage: str, seed: int) -> str:
    """A trial folder's readable name before Tune's id: ``<cell>_q<n>_seed<s>``, with
    ``_test`` before the seed for a test-stage trial."""
    return f"{cell}_q{suggestion}{'_test' if stage == 'test' else ''}_seed{seed}"


def _read_completed(trial_dir: Path) -> StoredTrial | None:
    try:
        row, _ = read_trial(trial_dir)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # not a trial folder of ours: not reusable, and not our business
    if row["status"] != "completed" or not row.get("trial_key"):
        return None
    return StoredTrial(
        trial_dir=trial_dir,
        trial_key=row["trial_key"],
        config_key=row["config_key"],
        search_key=row.get("search_key"),
        suggestion=int(row.get("suggestion") or 0),
        seed=int(row["seed"]),
        params={k.removeprefix("param."): v for k, v in row.items() if k.startswith("param.")},
        metrics={k: v for k, v in row.items() if k.startswith(("best_dev_", "test_"))},
        timestamp=row["timestamp"],
        stage=row["stage"],
        best_epoch=None if row.get("best_epoch") is None else int(row["best_epoch"]),
    )


def _rank(trial: StoredTrial, experiment_dir: Path) -> tuple[bool, float]:
    return trial.trial_dir.parent == experiment_dir, trial.timestamp
