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

from emotrain import train


def _sweep(tmp_path: Path, semeval_root: Path) -> Path:
    spec = {
        "name": "retry",
        "base": {
            "data": {"root": str(semeval_root), "train_limit": 600, "eval_limit": 150},
            "loss": {"local": "intra", "alpha": 0.2},
            "optim": {"max_epochs": 5, "lr": 3e-3, "batch_size": 16, "patience": 5},
            "cache_dir": "off",
        },
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
        for worker in _trial_workers():
            os.kill(worker.pid, signal.SIGKILL)
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
