"""``train`` on a small real subset with a tiny encoder: seeded, reported per epoch, and scored
on test with the best epoch's weights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from emotrain import TrainResult, train
from emotrain.cost import COST_FIELDS

# Facts of the run that differ between identical runs: timings and memory peaks.
RUN_FACTS = ("train_seconds", "train_examples_per_second", *COST_FIELDS)


def _config(semeval_root: Path, seed: int) -> dict[str, Any]:
    # Chosen so that seed 0 peaks at epoch 2 and then stops early: best != last weights.
    return {
        "data": {"root": str(semeval_root), "train_limit": 400, "eval_limit": 200},
        "model": {"encoder": {"tiny": "bert"}},
        "optim": {"max_epochs": 4, "lr": 3e-3, "patience": 2, "batch_size": 16},
        "loss": {"local": "intra", "weights": "rho", "alpha": 0.2},
        "seed": seed,
        "threads": 1,
    }


def _run(semeval_root: Path, seed: int) -> tuple[TrainResult, list[dict[str, float]]]:
    reports: list[dict[str, float]] = []
    return train(_config(semeval_root, seed), report=reports.append), reports


@pytest.fixture(scope="module")
def first(semeval_root: Path) -> tuple[TrainResult, list[dict[str, float]]]:
    return _run(semeval_root, seed=0)


def _measured(result: TrainResult) -> dict[str, float]:
    return {k: v for k, v in result.flat().items() if k not in RUN_FACTS}


def test_same_seed_gives_identical_metrics(first, semeval_root: Path) -> None:
    again, _ = _run(semeval_root, seed=0)
    assert _measured(again) == _measured(first[0])
    assert again.history == first[0].history


def test_different_seed_gives_different_metrics(first, semeval_root: Path) -> None:
    other, _ = _run(semeval_root, seed=1)
    assert other.history != first[0].history
    assert other.seed == 1 and other.trial_key != first[0].trial_key
    assert other.config_key == first[0].config_key  # the seed is not part of the config


def test_dev_metrics_are_reported_once_per_epoch(first) -> None:
    result, reports = first
    assert [r["epoch"] for r in reports] == list(range(1, result.epochs_run + 1))
    for report, epoch in zip(reports, result.history, strict=True):
        assert {k: report[k] for k in epoch} == epoch
        assert 0.0 <= report["dev_jaccard"] <= 1.0
    assert reports[-1]["best_dev_jaccard"] == result.best_dev["jaccard"]


def test_test_metrics_come_from_the_best_epochs_weights(first) -> None:
    result, _ = first
    assert result.best_epoch < result.epochs_run
    best = result.history[result.best_epoch - 1]
    last = result.history[-1]
    # The restored weights reproduce the best epoch's dev scores exactly, not the last epoch's.
    assert result.best_dev == {
        k.removeprefix("dev_"): v for k, v in best.items() if k.startswith("dev_")
    }
    assert last["dev_jaccard"] != best["dev_jaccard"]
    assert set(result.test) == set(result.best_dev)


def test_command_line_runs_one_training(tmp_path: Path, semeval_root: Path) -> None:
    config = _config(semeval_root, seed=0) | {"optim": {"max_epochs": 1, "lr": 3e-3}}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-m", "emotrain", "--config", str(path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    flat = json.loads(done.stdout)
    assert flat["epochs_run"] == 1 and 0.0 <= flat["test_jaccard"] <= 1.0
    assert "epoch 1:" in done.stderr and "RuntimeWarning" not in done.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("optim:\n  lr: fast\n", "run.yaml: optim.lr: Input should be a valid number"),
        ("loss:\n  locl: intra\n", "run.yaml: loss.locl: unknown field; did you mean local?"),
        ("data: [1, 2\n", "run.yaml: not valid YAML"),
    ],
)
def test_command_line_rejects_a_bad_config(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(content)
    done = subprocess.run(
        [sys.executable, "-m", "emotrain", "--config", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_dev_can_be_evaluated_every_k_steps(semeval_root: Path) -> None:
    reports: list[dict[str, float]] = []
    config = _config(semeval_root, seed=0) | {
        "optim": {"max_epochs": 2, "lr": 3e-3, "patience": 10, "batch_size": 16},
        "eval": {"every_steps": 10},
    }
    result = train(config, report=reports.append)
    # 400 examples / 16 = 25 steps an epoch: evaluations at steps 10, 20, 30, 40, 50.
    assert [r["step"] for r in reports] == [10, 20, 30, 40, 50]
    assert [r["epoch"] for r in reports] == [1, 1, 2, 2, 2]
    assert result.epochs_run == 2
    best = max(reports, key=lambda r: r["dev_jaccard"])
    assert result.best_dev["jaccard"] == best["dev_jaccard"]


def test_the_last_step_is_evaluated_when_the_interval_outlasts_the_run(semeval_root: Path) -> None:
    """A run shorter than eval.every_steps still gets its dev score (and its best weights) at
    the end of the last epoch."""
    reports: list[dict[str, float]] = []
    config = _config(semeval_root, seed=0) | {
        "optim": {"max_epochs": 1, "lr": 3e-3, "batch_size": 16},
        "eval": {"every_steps": 250},
    }
    result = train(config, report=reports.append)
    assert [r["step"] for r in reports] == [25]  # 400 examples / 16
    assert result.best_dev["jaccard"] == reports[0]["dev_jaccard"]
