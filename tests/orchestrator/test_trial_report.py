"""What a trial hands Tune after each epoch: its saved state as the checkpoint, except after the
last epoch, whose state the trial does not save (``save_last_epoch=False``): its completion
would delete it moments later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ray import tune
from tiny_encoder import TINY_BERT

from emotrain import train
from emotrain.train_state import LATEST
from orchestrator.trial.trainable import epoch_reporter


def _config(epochs: int, patience: int) -> dict[str, Any]:
    return {
        "data": {"root": None, "language": "english"},  # the demo data inside emotrain
        "model": {"kind": "demux", "encoder": TINY_BERT, "max_length": 32},
        "optim": {"max_epochs": epochs, "patience": patience, "lr": 3e-3, "batch_size": 16},
        "seed": 0,
        "threads": 1,
        "cache_dir": "off",
    }


def _sent(config: dict[str, Any], state_dir: Path) -> list[tuple[int, bool]]:
    sent: list[tuple[int, bool]] = []

    def send(metrics: dict[str, float], checkpoint: tune.Checkpoint | None) -> None:
        if checkpoint is not None:  # a whole saved state (progress.json is written last)
            assert (Path(checkpoint.path) / "progress.json").is_file()
        sent.append((int(metrics["epoch"]), checkpoint is not None))

    report = epoch_reporter(state_dir, send)
    train(config, report, state_dir, save_last_epoch=False)
    return sent


def _saved_epoch(state_dir: Path) -> int:
    return json.loads((state_dir / LATEST / "progress.json").read_text())["history"][-1]["epoch"]


def test_every_epoch_but_the_last_sends_its_saved_state(tmp_path: Path) -> None:
    assert _sent(_config(epochs=3, patience=3), tmp_path) == [(1, True), (2, True), (3, False)]
    assert _saved_epoch(tmp_path) == 2  # the last epoch's state was not written


def test_a_one_epoch_trial_sends_no_checkpoint(tmp_path: Path) -> None:
    assert _sent(_config(epochs=1, patience=1), tmp_path) == [(1, False)]
    assert not (tmp_path / LATEST).exists()


def test_train_saves_the_last_epoch_by_default(tmp_path: Path) -> None:
    train(_config(epochs=2, patience=2), state_dir=tmp_path)
    assert _saved_epoch(tmp_path) == 2  # so a rerun of the finished state trains nothing
