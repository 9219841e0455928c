"""kill -9 of a trial's worker mid-training: Tune retries the trial from its last checkpoint and
it ends with the same metrics as an undisturbed run of the same config and seed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml
from driver_kill import kill_driver_when, resume, resumed_trial

from emotrain import train
from orchestrator.trial.folder import FINAL

pytestmark = pytest.mark.slow(minutes=2.5)  # on 2 CPUs: see conftest.py


def _sweep(tmp_path: Path, semeval_root: Path, grid: dict | None = None) -> Path:
    spec = {
        "name": "retry",
        "base": {
            "data": {"root": str(semeval_root), "train_limit": 600, "eval_limit": 150},
            "loss": {"local": "intra", "alpha": 0.2},
            "optim": {"max_epochs": 5, "lr": 3e-3, "batch_size": 16, "patience": 5},
            "cache_dir": "off",
        },
        "grid": grid or {},
        "seeds": [3],
        "resources": {"cpus": 1},
        "max_failures": 1,
        "storage": str(tmp_path / "results"),
    }
    path = tmp_path / "retry.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _trial_workers() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "ray::ImplicitFunc" in cmdline or "ray::run_trial" in cmdline:
            found.append(process)
    return found


def _wait_for_checkpoint(experiment: Path, driver: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert driver.poll() is None, "the sweep ended before a checkpoint was written"
        checkpoints = list(experiment.glob("*/checkpoint_*/progress.json"))
        if checkpoints and _trial_workers():
            return
        time.sleep(0.5)
    pytest.fail("no checkpoint appeared in time")


def test_a_killed_trial_resumes_and_matches_an_undisturbed_run(
    tmp_path: Path, semeval_root: Path
) -> None:
    sweep = _sweep(tmp_path, semeval_root)
    experiment = tmp_path / "results" / "retry"
    driver = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.run", str(sweep)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        _wait_for_checkpoint(experiment, driver, timeout=600)
        os.kill(_worker_pid(experiment, timeout=120), signal.SIGKILL)
        output, _ = driver.communicate(timeout=900)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, output[-4000:]
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert len(trials) == 1 and trials["status"].tolist() == ["completed"]
    (trial_dir,) = [p.parent for p in experiment.glob("*/params.json")]
    assert "worker process has died" in (trial_dir / "error.txt").read_text()  # it was killed
    rows = [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]
    epochs = [row["epoch"] for row in rows if "epoch" in row]
    assert epochs == [1, 2, 3, 4, 5]  # restored from a checkpoint, not restarted from epoch 1
    assert any(row["iterations_since_restore"] < row["training_iteration"] for row in rows)
    config = json.loads((trial_dir / "params.json").read_text())["train"]
    undisturbed = train(config)
    row = trials.iloc[0]
    for name, value in undisturbed.test.items():
        assert row[f"test_{name}"] == pytest.approx(value, abs=1e-12), name
    assert row["best_epoch"] == undisturbed.best_epoch
    assert row["best_dev_jaccard"] == pytest.approx(undisturbed.best_dev["jaccard"], abs=1e-12)


def test_after_the_driver_is_killed_resume_finishes_each_trial_once(
    tmp_path: Path, semeval_root: Path
) -> None:
    # Two trials at once: a 1-epoch one that finishes, a 5-epoch one killed after a checkpoint.
    sweep = _sweep(tmp_path, semeval_root, grid={"optim.max_epochs": [1, 5]})
    experiment = tmp_path / "results" / "retry"
    command = [sys.executable, "-m", "orchestrator.run", str(sweep)]

    def ready() -> object:  # one trial finished, the other checkpointed and still training
        return (
            _finished_dirs(experiment)
            and _checkpoints(experiment, "max_epochs-5")
            and (_trial_workers())
        )

    kill_driver_when(command, tmp_path, ready)
    (finished,) = _finished_dirs(experiment)
    output, before = resume(command, tmp_path, experiment)
    assert "1 already completed, 1 to run" in output
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert sorted(trials["cell"]) == ["max_epochs-1", "max_epochs-5"]  # each exactly once
    assert trials["status"].tolist() == ["completed", "completed"]
    assert finished.name in set(trials["trial_dir"])  # the finished trial was not run again
    new, epochs = resumed_trial(experiment, before)
    assert epochs[0] > 1 and epochs[-1] == 5  # continued from the checkpoint, not restarted
    row = trials.set_index("cell").loc["max_epochs-5"]
    undisturbed = train(json.loads((experiment / new / "params.json").read_text())["train"])
    assert row["test_macro_f1"] == pytest.approx(undisturbed.test["macro_f1"], abs=1e-12)
    assert row["best_epoch"] == undisturbed.best_epoch


def test_resume_needs_an_earlier_run(tmp_path: Path, semeval_root: Path) -> None:
    sweep = _sweep(tmp_path, semeval_root)
    done = subprocess.run([sys.executable, "-m", "orchestrator.run", str(sweep), "--resume"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert "--resume:" in done.stderr and "holds no earlier run of sweep retry" in done.stderr
    assert not (tmp_path / "results").exists()


def _worker_pid(experiment: Path, timeout: float) -> int:
    """The checkpointed trial's worker, from Tune's result rows (logged after the checkpoint)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for checkpoint in experiment.glob("*/checkpoint_*/progress.json"):
            trial_dir = checkpoint.parent.parent
            if (trial_dir / "result.json").exists() and (rows := _rows(trial_dir)):
                return rows[-1]["pid"]
        time.sleep(0.2)
    pytest.fail("no result row came with the checkpoint")


def _rows(trial_dir: Path) -> list[dict]:
    lines = (trial_dir / "result.json").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _finished_dirs(experiment: Path) -> list[Path]:
    trial_dirs = [p.parent for p in experiment.glob("*/result.json")]
    return [d for d in trial_dirs if any(row.get(FINAL) for row in _rows(d))]


def _checkpoints(experiment: Path, cell: str) -> list[Path]:
    return list(experiment.glob(f"{cell}_*/checkpoint_*/progress.json"))
