"""A write that fails part way (the disk fills up) leaves the previous files intact and readable.

The failure is real, not mocked: the writing process runs under a file-size limit
(RLIMIT_FSIZE), so the operating system refuses every write past it with EFBIG, as it refuses
one on a full disk with ENOSPC."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import torch

from emotrain.train_state import LATEST, RETIRED, TrainingState, load_state, save_state
from orchestrator.results.tables import write_tables

pytestmark = pytest.mark.slow(minutes=1)  # on 2 CPUs: see conftest.py


def _file_size_limit(limit: int) -> Callable[[], None]:
    # Python ignores SIGXFSZ itself, so a write past the limit fails with an OSError.
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _run_limited(limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_file_size_limit(limit),
    )


def _contents(folder: Path, pattern: str) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob(pattern))}


def test_a_failed_table_write_leaves_the_previous_tables(
    smoke_experiment: Path, tmp_path: Path
) -> None:
    experiment = tmp_path / "smoke"
    shutil.copytree(smoke_experiment, experiment)
    write_tables(experiment)
    before = _contents(experiment, "*.parquet")
    # New tables would differ: one trial fewer.
    shutil.rmtree(next(experiment.glob("*/params.json")).parent)
    sizes = sorted(len(content) for content in before.values())
    limit = sizes[len(sizes) // 2]  # some tables fit, others do not: no mix of old and new

    done = _run_limited(limit, "-m", "orchestrator.aggregate", str(experiment))

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"error: {experiment}: the tables were not written ")
    assert "previous ones are unchanged" in done.stderr
    assert _contents(experiment, "*.parquet") == before
    assert not list(experiment.glob(".*.tmp"))
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert len(trials) == len(pd.read_parquet(smoke_experiment / "trials.parquet"))


SAVE_BIGGER_STATE = """
import sys
from pathlib import Path
import torch
from emotrain.train_state import TrainingState, save_state
weights = {"w": torch.full((4096, 64), 2.0)}
save_state(Path(sys.argv[1]), TrainingState(weights, {}, {}, torch.zeros(2), {"epoch": 2}, weights))
"""


def _state(value: float, epoch: int) -> TrainingState:
    weights = {"w": torch.full((16, 4), value)}
    return TrainingState(weights, {}, {}, torch.zeros(2), {"epoch": epoch}, dict(weights))


def test_a_failed_checkpoint_write_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    save_state(tmp_path, _state(1.0, epoch=1))
    before = _contents(tmp_path / LATEST, "*")

    done = _run_limited(64 * 1024, "-c", SAVE_BIGGER_STATE, str(tmp_path))

    # torch.save reports the short write as a RuntimeError ("unexpected pos"), not an OSError.
    assert done.returncode != 0 and "in save_state" in done.stderr, done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [LATEST]  # no staging left
    assert _contents(tmp_path / LATEST, "*") == before
    state = load_state(tmp_path)
    assert state is not None and state.progress["epoch"] == 1
    assert torch.equal(state.model["w"], torch.full((16, 4), 1.0))


def test_a_crash_between_the_two_renames_still_resumes(tmp_path: Path) -> None:
    save_state(tmp_path, _state(1.0, epoch=3))
    (tmp_path / LATEST).rename(tmp_path / RETIRED)  # the old state retired, the new not yet in

    state = load_state(tmp_path)

    assert state is not None and state.progress["epoch"] == 3
    save_state(tmp_path, _state(2.0, epoch=4))
    assert sorted(path.name for path in tmp_path.iterdir()) == [LATEST]
