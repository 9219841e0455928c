"""A trial of 2 data-parallel workers (Ray Train's TorchTrainer inside the Tune trial, gloo on
the CPU) ends with the metrics of a single-process run of the same config and seed, also when
the driver was killed mid-trial and the sweep resumed from Ray Train's checkpoint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from driver_kill import kill_driver_when, resume, resumed_trial

from emotrain import train

pytestmark = pytest.mark.slow(minutes=4.5)  # on 2 CPUs: see conftest.py


def _sweep(tmp_path: Path, semeval_root: Path, epochs: int = 2, **changes: object) -> Path:
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
        **changes,
    }
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _run(sweep: Path) -> tuple[subprocess.CompletedProcess[str], Path, pd.DataFrame]:
    """The sweep run to its end: the driver's run, the experiment folder, its trials table."""
    command = [sys.executable, "-m", "orchestrator.run", str(sweep)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=sweep.parent, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    experiment = sweep.parent / "results" / "ddp"
    return done, experiment, pd.read_parquet(experiment / "trials.parquet")


def test_a_two_worker_trial_matches_one_process(tmp_path: Path, semeval_root: Path) -> None:
    _, experiment, trials = _run(_sweep(tmp_path, semeval_root))
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
    # Ray Train's checkpoints sit in train/ inside the trial folder (trial/ddp.py).
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


def test_a_diverging_two_worker_trial_fails_once_with_its_reason(
    tmp_path: Path, semeval_root: Path
) -> None:
    """Both ranks stop at the same step (the check is collective); the trial is not retried, by
    Ray Train or by Tune: it would diverge again."""
    sweep = _sweep(tmp_path, semeval_root, grid={"optim.lr": [1e6]}, max_failures=1)
    done, experiment, trials = _run(sweep)
    assert trials["status"].tolist() == ["failed"]
    assert re.fullmatch(r"loss is (inf|nan) at epoch 1, step \d+", trials["error"].iloc[0])
    trial_dir = experiment / trials["trial_dir"].iloc[0]
    assert not (trial_dir / "error.txt").exists()  # Tune did not retry it
    assert len(list(experiment.glob("*/params.json"))) == 1
    log = (experiment / "run.log").read_text(encoding="utf-8")  # Ray's output (console.py)
    assert "TrainingFailedError" not in done.stdout + done.stderr + log  # nor did Ray Train
