"""A trial of 2 data-parallel workers (Ray Train's TorchTrainer inside the Tune trial, gloo on
the CPU) ends with the metrics of a single-process run of the same config and seed, also when
the driver was killed mid-trial and the sweep resumed from Ray Train's checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from driver_kill import kill_driver_when, resume, resumed_trial

from emotrain import train

pytestmark = pytest.mark.slow(minutes=3.5)  # on 2 CPUs: see conftest.py


def _sweep(tmp_path: Path, semeval_root: Path, epochs: int = 2) -> Path:
    spec = {
        "name": "ddp",
        "base": {
            "data": {"root": str(semeval_root), "train_limit": 151, "eval_limit": 61},
            # Dropout 0: with dropout each rank draws its own masks (emotrain/distributed.py).
            "model": {"encoder": {"tiny": "bert", "dropout": 0.0}, "dropout": 0.0},
            "loss": {"local": "intra", "weights": "rho", "alpha": 0.2},
            "optim": {"max_epochs": epochs, "patience": epochs, "lr": 3e-3, "batch_size": 15},
            "cache_dir": "off",
        },
        "seeds": [5],
        "resources": {"cpus": 1, "workers": 2},
        "storage": str(tmp_path / "results"),
    }
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_two_worker_trial_matches_one_process(tmp_path: Path, semeval_root: Path) -> None:
    sweep = _sweep(tmp_path, semeval_root)
    done = subprocess.run([sys.executable, "-m", "orchestrator.run", str(sweep)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    experiment = tmp_path / "results" / "ddp"
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert trials["status"].tolist() == ["completed"]
    trial_dir = experiment / trials["trial_dir"].iloc[0]
    assert (trial_dir / "train").is_dir()  # Ray Train's run, inside the trial folder
    assert not [p for p in trial_dir.glob("train/checkpoint_*") if p.is_dir()]  # deleted at the end
    config = json.loads((trial_dir / "params.json").read_text())
    assert config["workers"]["count"] == 2
    single = train(config["train"])
    row = trials.iloc[0]
    assert row["best_epoch"] == single.best_epoch
    for name, value in single.test.items():
        assert row[f"test_{name}"] == pytest.approx(value, abs=1e-6), name
    for name, value in single.best_dev.items():
        assert row[f"best_dev_{name}"] == pytest.approx(value, abs=1e-6), name
    epochs = pd.read_parquet(experiment / "epochs.parquet")
    assert epochs["epoch"].tolist() == [1, 2]


def test_after_the_driver_is_killed_a_two_worker_trial_resumes_from_its_checkpoint(
    tmp_path: Path, semeval_root: Path
) -> None:
    sweep = _sweep(tmp_path, semeval_root, epochs=4)
    experiment = tmp_path / "results" / "ddp"
    command = [sys.executable, "-m", "orchestrator.run", str(sweep)]
    # Ray Train's checkpoints sit in train/ inside the trial folder (ddp_trial.py).
    checkpoints = "*/train/checkpoint_*/progress.json"
    kill_driver_when(command, tmp_path, lambda: list(experiment.glob(checkpoints)))
    output, before = resume(command, tmp_path, experiment)
    assert "0 already completed, 1 to run" in output
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert trials["status"].tolist() == ["completed"]  # the (config, seed) once
    new, epochs = resumed_trial(experiment, before)
    assert epochs[0] > 1 and epochs[-1] == 4  # continued from the checkpoint, not restarted
    single = train(json.loads((experiment / new / "params.json").read_text())["train"])
    row = trials.iloc[0]
    assert row["best_epoch"] == single.best_epoch
    for name, value in single.test.items():
        assert row[f"test_{name}"] == pytest.approx(value, abs=1e-6), name
