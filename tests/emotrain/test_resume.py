"""A run killed after an epoch continues from its saved state and ends exactly like a run that
was never interrupted."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from emotrain import train
from emotrain.train_state import LATEST, is_complete


class _Crash(RuntimeError):
    pass


def _config(semeval_root: Path) -> dict[str, Any]:
    return {
        "data": {"root": str(semeval_root), "train_limit": 300, "eval_limit": 100},
        "loss": {"local": "intra", "weights": "rho", "alpha": 0.2},
        "optim": {"max_epochs": 4, "lr": 3e-3, "patience": 4, "batch_size": 16},
        "seed": 7,
        "threads": 1,
        "cache_dir": "off",
        "device": "cpu",  # bit-identical resume is a CPU claim (tests/emotrain/test_gpu.py: GPU)
    }


def _crash_after(epoch: int):
    def report(metrics: dict[str, float]) -> None:
        if metrics["epoch"] == epoch:
            raise _Crash(f"killed after epoch {epoch}")

    return report


@pytest.mark.parametrize("stage", ["dev", "test"])
def test_resumed_run_equals_an_uninterrupted_one(
    semeval_root: Path, tmp_path: Path, stage: str
) -> None:
    config = _config(semeval_root) | {"stage": stage}
    undisturbed = train(config)
    with pytest.raises(_Crash):
        train(config, report=_crash_after(2), state_dir=tmp_path)
    assert (tmp_path / LATEST / "state.pt").is_file()
    assert not list(tmp_path.rglob("*.pkl"))
    reports: list[dict[str, float]] = []
    resumed = train(config, report=reports.append, state_dir=tmp_path)
    assert [r["epoch"] for r in reports] == [3, 4]  # epochs 1-2 were not trained again
    assert resumed.history == undisturbed.history
    assert resumed.best_epoch == undisturbed.best_epoch
    assert resumed.best_dev == undisturbed.best_dev
    assert resumed.test == undisturbed.test


def test_a_finished_state_trains_nothing_more(semeval_root: Path, tmp_path: Path) -> None:
    config = _config(semeval_root) | {"optim": {"max_epochs": 2, "lr": 3e-3}}
    first = train(config, state_dir=tmp_path)
    reports: list[dict[str, float]] = []
    again = train(config, report=reports.append, state_dir=tmp_path)
    assert reports == [] and again.test == first.test and again.history == first.history


def test_a_copy_of_the_state_cut_short_is_recognised(semeval_root: Path, tmp_path: Path) -> None:
    config = _config(semeval_root) | {"optim": {"max_epochs": 1, "lr": 3e-3}}
    train(config, state_dir=tmp_path / "run")
    saved = tmp_path / "run" / LATEST
    assert is_complete(saved)
    copy = tmp_path / "copy"
    shutil.copytree(saved, copy)
    assert is_complete(copy)
    state = copy / "state.pt"
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])  # the copy was cut here
    assert not is_complete(copy)
    (copy / "state.pt").unlink()
    assert not is_complete(copy)
    (copy / "progress.json").write_text('{"epoch"')  # cut inside progress.json itself
    assert not is_complete(copy)
