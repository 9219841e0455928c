"""A trial folder: the name of every file in it, what its results say about how the trial
ended, and the folder's own name. The trainable writes these files (trainable.py), Tune writes
its own (``params.json``, ``result.json``, ``error.txt``), the seed-aware ASHA writes
``pruned.json`` (tune/rungs.py), and the planner and the tables read them back (plan/stored.py,
results/tables.py).

A folder's name is ``<cell>_q<n>_seed<s>_<Tune's id>``, with ``_test`` before the seed for a
test-stage trial; nothing reads a trial's identity from the name (params.json has it), but a
resumed trial finds its earlier attempts by it.

Nothing here imports Ray, torch or the tables.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.fs as pafs

from orchestrator.store.cloud_storage import join, write_text

PARAMS = "params.json"  # Tune's: the trial's config; it makes a folder a trial folder
RESULTS = "result.json"  # Tune's: one JSON object per report of the trial
ERROR = "error.txt"  # Tune's record of a trial that raised
# Written by the trial when it starts: Tune's params.json reaches the storage only when the
# driver copies its files there, and a driver lost before that would hide whose checkpoints
# these are.
KEY_FILE = "trial_key.json"
FAILURE = "failure.json"  # written by a trial that ends failed without raising (trainable.py)
PRUNED = "pruned.json"  # the scheduler stopped the trial's configuration (tune/rungs.py)
TRAIN_RUN = "train"  # the Ray Train run of a multi-worker trial, inside its trial folder

FINAL = "final"  # marks the last report of a trial, which carries the test metrics
# A failed trial's ``failure``: its loss diverged, it could not use its input (failure.json), or
# it raised until its retries ran out (error.txt).
DIVERGED, INVALID, RAISED = "diverged", "invalid", "error"

_CELL_CHARS = 48  # of a trial folder's name (the rest: _q<n>_test_seed<s>_<Tune's id>)


@dataclass(frozen=True)
class Pruning:
    """Why a configuration was pruned: its value at the rung (an epoch) and the cutoff."""

    config_key: str
    rung: int
    value: float
    cutoff: float


def write_pruning(fs: pafs.FileSystem, trial_dir: str, pruning: Pruning, epoch: int) -> None:
    """Mark a stopped trial (``epoch``: its last) as pruned, atomically, in its folder of the
    storage (``fs``: a local or a cloud file system)."""
    record = asdict(pruning) | {"stopped_after_epoch": epoch}
    write_text(fs, join(trial_dir, PRUNED), json.dumps(record, indent=2, sort_keys=True))


def read_pruning(trial_dir: Path) -> Pruning | None:
    """The pruning of a trial folder, or None when it has none (or an unreadable one)."""
    try:
        record = json.loads((trial_dir / PRUNED).read_text(encoding="utf-8"))
        return Pruning(
            str(record["config_key"]),
            int(record["rung"]),
            float(record["value"]),
            float(record["cutoff"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def folder_prefix(cell: str, suggestion: int, stage: str, seed: int) -> str:
    """A trial folder's readable name before Tune's id: ``<cell>_q<n>_seed<s>``, with
    ``_test`` before the seed for a test-stage trial. A long cell name is cut and ends with a
    hash of the whole, so that paths stay short and distinct (params.json has the full name)."""
    return f"{_short(cell)}_q{suggestion}{_stage_part(stage)}_seed{seed}"


def attempt_folders(cell: str, stage: str, seed: int) -> re.Pattern[str]:
    """The names of the folders of a trial (``folder_prefix``, then Tune's id) under any
    suggestion number: a resumed search may number its suggestions anew."""
    named = rf"{re.escape(_short(cell))}_q\d+{re.escape(_stage_part(stage))}_seed{seed}_.+"
    return re.compile(named)


def _short(cell: str) -> str:
    if len(cell) <= _CELL_CHARS:
        return cell
    return f"{cell[: _CELL_CHARS - 9]}~{hashlib.sha256(cell.encode()).hexdigest()[:8]}"


def _stage_part(stage: str) -> str:
    return "_test" if stage == "test" else ""
