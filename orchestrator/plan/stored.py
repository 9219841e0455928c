"""The trials already completed in a storage folder, so that no run repeats them.

A trial is known by its ``trial_key`` (the hash of its defaults-filled training config and seed),
so a completed trial counts wherever it ran: in this experiment's folder or in another one
under the same storage. One from another experiment is copied into this one before it is used,
because the tables of an experiment are built from its own folders.

A trial the seed-aware ASHA pruned (tune/rungs.py) is done too, but only in its own experiment:
whether a configuration is pruned depends on the other configurations it ran beside. So is a
trial whose loss diverged: a run of the same configuration and seed would diverge again.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.results.tables import read_trial
from orchestrator.store.files import write_text_atomically
from orchestrator.trial.folder import DIVERGED, PARAMS, Pruning, folder_prefix, read_pruning


@dataclass(frozen=True)
class StoredTrial:
    """A completed (or pruned, or diverged) trial folder: its keys, searched params, seed and
    final metrics."""

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
    pruned: Pruning | None = None  # its configuration was pruned: it has no final metrics
    diverged: bool = False  # its loss diverged: it has no final metrics either


def completed_trials(storage: Path, experiment_dir: Path) -> dict[str, StoredTrial]:
    """Completed trials under ``storage/*/*/``, and the pruned ones of ``experiment_dir``, one
    per trial key: one in ``experiment_dir`` wins (it needs no copy), then the newest."""
    found: dict[str, StoredTrial] = {}
    for params_file in sorted(storage.glob(f"*/*/{PARAMS}")):
        trial = _read_done(params_file.parent, experiment_dir)
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
    if (target / PARAMS).exists():
        return target
    # params.json goes last: a scan only sees a folder once it has one, so never half a copy.
    shutil.copytree(trial.trial_dir, target, ignore=shutil.ignore_patterns(PARAMS))
    params = json.loads((trial.trial_dir / PARAMS).read_text(encoding="utf-8"))
    params |= identity | {"reused_from": str(trial.trial_dir)}
    write_text_atomically(target / PARAMS, json.dumps(params, indent=2, sort_keys=True))
    return target


def _read_done(trial_dir: Path, experiment_dir: Path) -> StoredTrial | None:
    try:
        row, _ = read_trial(trial_dir)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # not a trial folder of ours: not reusable, and not our business
    pruned = read_pruning(trial_dir) if row["status"] == "pruned" else None
    if pruned is not None and trial_dir.parent != experiment_dir:
        return None  # another experiment's pruning says nothing about this one
    diverged = row["status"] == "failed" and row.get("failure") == DIVERGED
    done = row["status"] == "completed" or pruned is not None or diverged
    if not done or not row.get("trial_key"):
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
        pruned=pruned,
        diverged=diverged,
    )


def _rank(trial: StoredTrial, experiment_dir: Path) -> tuple[bool, bool, float]:
    """A completed trial before a diverged one (a GPU's kernels need not repeat bit for bit),
    then one in ``experiment_dir``, then the newest."""
    return not trial.diverged, trial.trial_dir.parent == experiment_dir, trial.timestamp or 0.0
