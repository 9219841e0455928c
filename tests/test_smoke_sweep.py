"""The smoke sweep end to end on a real local Ray: Parquet tables with the right rows,
aggregates that match their trials, and TensorBoard event files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("smoke")
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec["storage"] = str(workdir / "results")
    sweep = workdir / "smoke.yaml"
    sweep.write_text(yaml.safe_dump(spec))
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.run", str(sweep)],
        capture_output=True, text=True, timeout=900, cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return workdir / "results" / "smoke", done.stdout


def test_tables_have_one_row_per_trial_and_configuration(finished) -> None:
    experiment, _ = finished
    trials = pd.read_parquet(experiment / "trials.parquet")
    configs = pd.read_parquet(experiment / "configs.parquet")
    assert len(trials) == 2 * 2 * 2  # cells x suggestions x seeds
    assert (trials["status"] == "completed").all()
    assert sorted(trials["seed"].unique()) == [0, 1]
    assert trials["trial_key"].is_unique
    assert len(configs) == 2 * 2 and configs["config_key"].is_unique
    assert (configs["n_seeds"] == 2).all() and (configs["test_jaccard_count"] == 2).all()
    assert trials["param.loss.alpha"].between(0.05, 0.5).all()
    assert set(trials["cfg.loss.weights"]) == {"one", "rho"}


def test_aggregates_are_the_mean_and_std_of_their_trials(finished) -> None:
    experiment, _ = finished
    trials = pd.read_parquet(experiment / "trials.parquet")
    configs = pd.read_parquet(experiment / "configs.parquet").set_index("config_key")
    for metric in ("best_dev_jaccard", "test_jaccard", "test_macro_f1", "test_joy_f1"):
        assert configs[f"{metric}_mean"].dtype.kind == "f"
        for key, group in trials.groupby("config_key"):
            assert configs.loc[key, f"{metric}_mean"] == pytest.approx(group[metric].mean())
            assert configs.loc[key, f"{metric}_std"] == pytest.approx(group[metric].std(ddof=0))


def test_epoch_table_and_tensorboard_files(finished) -> None:
    experiment, stdout = finished
    trials = pd.read_parquet(experiment / "trials.parquet")
    epochs = pd.read_parquet(experiment / "epochs.parquet")
    assert len(epochs) == trials["epochs_run"].sum()
    assert epochs.groupby("trial_key")["epoch"].max().sort_index().tolist() == (
        trials.set_index("trial_key")["epochs_run"].sort_index().tolist()
    )
    assert epochs["dev_jaccard"].between(0, 1).all()
    for name in trials["trial_dir"]:
        assert name.startswith(("weights-one_q", "weights-rho_q"))  # readable folder names
        assert list((experiment / name).glob("events.out.tfevents.*")), name
    assert "best_dev_jaccard" in stdout and "tensorboard --logdir" in stdout
