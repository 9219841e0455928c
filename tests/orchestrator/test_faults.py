"""Faults during a sweep on a real local Ray: a trial whose loss diverges ends failed with the
reason while the sweep goes on; a trial that cannot use its input fails once and the sweep
exits 1; a trial that stops reporting (hangs) is killed and retried from its checkpoint, ending
as an undisturbed run would."""

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

pytestmark = pytest.mark.slow(minutes=3)  # on 2 CPUs: see conftest.py


def _sweep(tmp_path: Path, semeval_root: Path, **changes: object) -> Path:
    spec = {
        "name": "faults",
        "base": {
            "data": {"root": str(semeval_root), "train_limit": 120, "eval_limit": 40},
            "loss": {"local": "intra", "alpha": 0.5},
            "optim": {"max_epochs": 2, "lr": 3e-3, "batch_size": 16},
            "cache_dir": "off",
        },
        "seeds": [0],
        "resources": {"cpus": 1},
        "max_failures": 1,
        "storage": str(tmp_path / "results"),
        **changes,
    }
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _run(sweep: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orchestrator.run", str(sweep)]
    return subprocess.run(command, capture_output=True, text=True, cwd=sweep.parent, timeout=900)


def test_a_diverging_trial_fails_with_its_reason_and_the_sweep_goes_on(
    tmp_path: Path, semeval_root: Path
) -> None:
    sweep = _sweep(tmp_path, semeval_root, grid={"optim.lr": [3e-3, 1e4]})
    done = _run(sweep)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    experiment = tmp_path / "results" / "faults"
    trials = pd.read_parquet(experiment / "trials.parquet").set_index("cell")
    assert trials.loc["lr-0.003", "status"] == "completed"
    assert trials.loc["lr-10000.0", "status"] == "failed"
    assert trials.loc["lr-10000.0", "error"].startswith("loss is inf at epoch 1")
    failed_dir = experiment / trials.loc["lr-10000.0", "trial_dir"]
    assert not (failed_dir / "error.txt").exists()  # ended once, not retried: it would diverge
    assert "failed trials (1, not in the means above):" in done.stdout
    assert "lr-10000.0 seed 0: loss is inf" in done.stdout
    configs = pd.read_parquet(experiment / "configs.parquet")
    assert configs["cell"].tolist() == ["lr-0.003"] and configs["n_failed"].tolist() == [0]
    # A diverged trial is done: the same configuration and seed would diverge again.
    again = _run(sweep)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert "2 already completed (1 of them diverged), 0 to run" in again.stdout
    assert "nothing to run" in again.stdout
    assert len(list(experiment.glob("*/params.json"))) == 2


def test_input_a_trial_cannot_use_fails_it_once_and_the_sweep_exits_1(
    tmp_path: Path, semeval_root: Path
) -> None:
    """A problem only a trial finds (here a MEmo template longer than model.max_length, known
    once tokenized) ends that trial failed with its one-line reason, not retried; the other
    cell completes, the tables are written, and the exit status says results are missing."""
    long_template = "so " * 20 + "the feeling is {mask} in {text}"
    sweep = _sweep(
        tmp_path, semeval_root, grid={"model.template": ["emotion {mask} in {text}", long_template]}
    )
    spec = yaml.safe_load(sweep.read_text())
    spec["base"]["model"] = {"kind": "memo", "max_length": 16}
    sweep.write_text(yaml.safe_dump(spec))
    done = _run(sweep)
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-4000:]
    experiment = tmp_path / "results" / "faults"
    trials = pd.read_parquet(experiment / "trials.parquet")
    by_status = trials.set_index("status")
    assert sorted(trials["status"]) == ["completed", "failed"]
    assert by_status.loc["failed", "failure"] == "invalid"
    reason = "model.max_length: 16 tokens cannot hold the MEmo template"
    assert by_status.loc["failed", "error"].startswith(reason)
    failed_dir = experiment / by_status.loc["failed", "trial_dir"]
    assert not (failed_dir / "error.txt").exists()  # ended once, not retried
    record = json.loads((failed_dir / "failure.json").read_text())
    assert "Traceback" in record["traceback"] and reason in record["traceback"]
    assert f"seed 0: {reason}" in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {experiment}: 1 trial(s) of this run failed"), last
    again = _run(sweep)  # only the failed trial runs again, and fails again
    assert again.returncode == 1 and "1 already completed, 1 to run" in again.stdout


def test_a_silent_trial_is_killed_and_retried_from_its_checkpoint(
    tmp_path: Path, semeval_root: Path
) -> None:
    base = {
        "data": {"root": str(semeval_root), "train_limit": 300, "eval_limit": 60},
        "optim": {"max_epochs": 4, "lr": 3e-3, "batch_size": 16},
        "cache_dir": "off",
    }
    sweep = _sweep(tmp_path, semeval_root, base=base, hang_timeout_s=40, max_failures=2)
    experiment = tmp_path / "results" / "faults"
    driver = subprocess.Popen([sys.executable, "-m", "orchestrator.run", str(sweep)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=tmp_path)  # fmt: skip
    try:
        worker = _worker_after_checkpoint(experiment, driver, timeout=600)
        os.kill(worker.pid, signal.SIGSTOP)  # hung: alive, silent
        output, _ = driver.communicate(timeout=900)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, output[-4000:]
    assert "sent no report for" in output and "killed, to be retried" in output
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert trials["status"].tolist() == ["completed"]
    trial_dir = experiment / trials["trial_dir"].iloc[0]
    rows = [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]
    assert [row["epoch"] for row in rows if "epoch" in row] == [1, 2, 3, 4]  # no epoch redone
    undisturbed = train(json.loads((trial_dir / "params.json").read_text())["train"])
    assert trials["test_macro_f1"].iloc[0] == pytest.approx(undisturbed.test["macro_f1"], abs=1e-12)


def _worker_after_checkpoint(
    experiment: Path, driver: subprocess.Popen, timeout: float
) -> psutil.Process:
    """The trial's worker process (its pid from Tune's result rows) once it has a checkpoint."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert driver.poll() is None, "the sweep ended before a checkpoint was written"
        for checkpoint in experiment.glob("*/checkpoint_*/progress.json"):
            # Tune persists a checkpoint before it logs the result that came with it.
            results = checkpoint.parent.parent / "result.json"
            lines = results.read_text().splitlines() if results.exists() else []
            if lines:
                return psutil.Process(json.loads(lines[-1])["pid"])
        time.sleep(0.5)
    pytest.fail("no checkpoint appeared in time")


def test_a_second_driver_on_the_same_sweep_stops_at_once(
    tmp_path: Path, semeval_root: Path
) -> None:
    sweep = _sweep(tmp_path, semeval_root, seeds=[0, 1])
    experiment = tmp_path / "results" / "faults"
    command = [sys.executable, "-m", "orchestrator.run", str(sweep)]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             cwd=tmp_path)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (experiment / "sweep.json").exists() and time.monotonic() < deadline:
            assert first.poll() is None, "the first driver ended early"
            time.sleep(0.2)
        second = _run(sweep)
        output, _ = first.communicate(timeout=900)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 2
    (line,) = second.stderr.strip().splitlines()
    assert "another orchestrator.run (pid" in line and "is running this sweep" in line
    assert first.returncode == 0, output[-4000:]
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert sorted(trials["seed"]) == [0, 1] and set(trials["status"]) == {"completed"}
    assert len(list(experiment.glob("*/params.json"))) == 2  # each trial ran once
    again = _run(sweep)  # the lock went with the first driver
    assert again.returncode == 0 and "nothing to run" in again.stdout
