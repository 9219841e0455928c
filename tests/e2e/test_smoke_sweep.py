"""The smoke sweep end to end on a real local Ray: Parquet tables with the right rows,
aggregates that match their trials, and TensorBoard event files. Then work is never repeated:
a rerun runs nothing (without Ray), an added seed runs only its trials on the same Optuna
suggestions, another experiment reuses the trials, and the aggregate command rebuilds the same
tables. One sweep is shared by all (and with the report tests): the later runs work on copies of
its storage, or rewrite identical tables in place. The console: a short output by default (one
line per trial on a pipe, a live view on a terminal), Ray's own with --verbose, all in run.log."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import plugin_data_pb2

from orchestrator import aggregate, run

pytestmark = pytest.mark.slow(minutes=1.2)  # on 2 CPUs: see conftest.py

REPO = Path(__file__).resolve().parents[2]
TABLES = ("trials", "epochs", "configs")
# Runs orchestrator.run and fails if it imported Ray: a finished sweep must not start Ray.
WITHOUT_RAY = (
    "import sys; from orchestrator.run import main; code = main(sys.argv[1:]); "
    "assert 'ray' not in sys.modules, 'Ray was imported'; sys.exit(code)"
)
PROGRESS = re.compile(
    r"^config (weights-one|weights-rho) loss\.alpha=[0-9.]+: "
    r"best_dev_jaccard [0-9.]+ ± [0-9.]+ over (\d) seeds$",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def finished(smoke_run: tuple[Path, str]) -> tuple[Path, str]:
    """The session's smoke sweep (conftest.py): its experiment folder and the driver's output."""
    return smoke_run


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


def test_completed_trials_leave_no_checkpoint(finished) -> None:
    experiment, _ = finished
    trial_dirs = [path.parent for path in experiment.glob("*/result.json")]
    assert len(trial_dirs) == 2 * 2 * 2
    assert not [folder for trial in trial_dirs for folder in trial.glob("checkpoint_*")]


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


def test_a_line_per_configuration_when_its_last_seed_finishes(finished) -> None:
    _, stdout = finished
    assert [seeds for _, seeds in PROGRESS.findall(stdout)] == ["2"] * 4, stdout[-3000:]


def test_the_console_is_short_and_ends_with_the_summary_and_the_tables(finished) -> None:
    experiment, stdout = finished
    lines = stdout.splitlines()
    assert len(lines) <= 40, stdout
    assert lines[0].startswith("sweep smoke: 2 cells x 2 suggestions x 2 seeds = 8 trials")
    ended = [line for line in lines if re.match(r"\[\d/8\] weights-(one|rho)_q\d_seed\d: ", line)]
    assert len(ended) == 8 and ended[-1].startswith("[8/8] "), stdout  # one line per trial
    assert "best_dev_jaccard" in lines[-8] and "test_macro_f1" in lines[-8]  # the table's head
    tables = ", ".join(str(experiment / f"{name}.parquet") for name in TABLES)
    assert lines[-2:] == [f"tables: {tables}", f"tensorboard --logdir {experiment}"]
    log = (experiment / "run.log").read_text(encoding="utf-8")
    assert all(line in log for line in lines)  # the log has the console's lines, and Ray's:
    assert "Started a local Ray instance" in log and "Started a local Ray" not in stdout


def test_on_a_terminal_one_live_view_shows_the_progress(finished, tmp_path: Path) -> None:
    experiment, _ = finished
    flags = ["--seeds", "0", "--set", "search.budget=1", "--storage", str(tmp_path / "results")]
    command = [sys.executable, "-m", "orchestrator.run", str(_sweep_file(experiment)), *flags]
    code, output = _on_a_terminal(command, tmp_path)
    assert code == 0, output[-3000:]
    assert "trials: 2/2 done, 0 running, 0 failed, 0 pending | " in output, output[-3000:]
    assert re.search(
        r"best so far: weights-(one|rho) loss\.alpha=[0-9.]+: best_dev_jaccard", output
    )
    assert not re.search(r"^\[\d/2\] ", output, re.MULTILINE)  # no plain lines on a terminal
    assert "Trial status" not in output  # nor Tune's tables
    assert output.rstrip().endswith(f"tensorboard --logdir {tmp_path / 'results' / 'smoke'}")


def _on_a_terminal(command: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``command`` with its stdout and stderr on a pseudo-terminal, 200 columns wide."""
    leader, follower = pty.openpty()
    env = os.environ | {"COLUMNS": "200", "LINES": "50", "TERM": "xterm"}
    process = subprocess.Popen(command, stdout=follower, stderr=follower, cwd=cwd, env=env)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 1.0)
        try:
            data = os.read(leader, 65536) if ready else b""
        except OSError:  # the terminal's other end is closed: the process has ended
            break
        if ready and not data:
            break
        chunks.append(data)
        if not ready and process.poll() is not None:
            break
    os.close(leader)
    code = process.wait(timeout=300)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return code, text


def test_tensorboard_has_the_searched_and_grid_values_as_hparams(finished) -> None:
    experiment, _ = finished
    trial = pd.read_parquet(experiment / "trials.parquet").iloc[0]
    hparams = _hparams(experiment / trial["trial_dir"])
    assert hparams["params/loss.alpha"].number_value == pytest.approx(trial["param.loss.alpha"])
    assert hparams["grid/loss.weights"].string_value == trial["cfg.loss.weights"]
    assert hparams["seed"].number_value == trial["seed"]


@pytest.fixture(scope="module")
def rerun(finished) -> tuple[subprocess.CompletedProcess[str], dict[str, pd.DataFrame]]:
    experiment, _ = finished
    before = _tables(experiment)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_RAY, str(_sweep_file(experiment))],
        capture_output=True, text=True, timeout=300, cwd=experiment.parents[1],
    )  # fmt: skip
    return done, before


def test_a_rerun_runs_nothing_without_ray_and_rewrites_the_same_tables(finished, rerun) -> None:
    experiment, _ = finished
    done, before = rerun
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "8 trials, 8 already completed, 0 to run" in done.stdout
    assert "nothing to run" in done.stdout and "best_dev_jaccard" in done.stdout
    for name, table in _tables(experiment).items():
        pd.testing.assert_frame_equal(table, before[name])


def test_a_dry_run_counts_what_storage_holds(finished, capsys) -> None:
    experiment, _ = finished
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert run.main([str(_sweep_file(experiment)), "--dry-run", "--seeds", "0,1,2"]) == 0
    out = capsys.readouterr().out
    assert "= 12; 8 exist completed in storage, 4 to run" in out
    for alpha in trials["param.loss.alpha"].unique():
        assert f"loss.alpha={alpha:.4g}  [done: seeds 0 1; to run: seeds 2]" in out, out
    # a raised budget keeps the known suggestions and leaves only the new ones to Optuna
    assert run.main([str(_sweep_file(experiment)), "--dry-run", "--set", "search.budget=3"]) == 0
    out = capsys.readouterr().out
    assert "= 12; 8 exist completed in storage, 4 to run" in out
    assert out.count("q2  new (Optuna suggests it during the run)  [to run: seeds 0 1]") == 2


@pytest.fixture(scope="module")
def third_seed(finished, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The smoke sweep with a third seed, run with --verbose."""
    experiment, _ = finished
    storage = tmp_path_factory.mktemp("third_seed") / "results"
    shutil.copytree(experiment.parent, storage)
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.run", str(_sweep_file(experiment)),
         "--seeds", "0,1,2", "--storage", str(storage), "--verbose"],
        capture_output=True, text=True, timeout=900, cwd=storage.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return storage / "smoke", done.stdout


def test_an_added_seed_runs_only_its_trials_on_the_same_suggestions(finished, third_seed) -> None:
    experiment, _ = finished
    extended, stdout = third_seed
    assert "12 trials, 8 already completed, 4 to run" in stdout
    assert [seeds for _, seeds in PROGRESS.findall(stdout)] == ["3"] * 4, stdout[-3000:]
    old = pd.read_parquet(experiment / "trials.parquet")
    trials = pd.read_parquet(extended / "trials.parquet")
    configs = pd.read_parquet(extended / "configs.parquet")
    assert len(trials) == 12 and (trials["status"] == "completed").all()
    assert set(old["trial_dir"]) < set(trials["trial_dir"])  # the old folders, untouched
    assert len(configs) == 4 and (configs["n_seeds"] == 3).all()
    assert set(configs["config_key"]) == set(old["config_key"])  # no new Optuna suggestion
    by_config = trials.groupby("config_key")
    assert (by_config["param.loss.alpha"].nunique() == 1).all()
    assert (by_config["suggestion"].nunique() == 1).all()
    named = trials["trial_dir"].str.extract(r"^(.+_q\d+)_seed(\d+)_", expand=True)
    assert sorted(named.loc[named[1] == "2", 0]) == sorted(named.loc[named[1] == "0", 0])


def test_verbose_shows_rays_output_too(third_seed) -> None:
    extended, stdout = third_seed
    assert "Trial status: " in stdout and "Started a local Ray instance" in stdout
    assert len(re.findall(r"^\[\d+/4\] weights-(?:one|rho)_q\d_seed2: ", stdout, re.MULTILINE)) == 4
    assert stdout.rstrip().endswith(f"tensorboard --logdir {extended}")
    assert "Trial status: " in (extended / "run.log").read_text(encoding="utf-8")


def test_another_experiment_reuses_the_trials(finished, tmp_path: Path, capsys) -> None:
    experiment, _ = finished
    storage = tmp_path / "results"
    shutil.copytree(experiment.parent, storage)
    argv = [str(_sweep_file(experiment)), "--storage", str(storage), "--set", "name=smoke-again"]
    assert run.main(argv) == 0
    assert "8 trials, 8 already completed, 0 to run" in capsys.readouterr().out
    again = pd.read_parquet(storage / "smoke-again" / "trials.parquet")
    original = pd.read_parquet(experiment / "trials.parquet")
    assert sorted(again["trial_key"]) == sorted(original["trial_key"])
    for name in again["trial_dir"]:
        params = json.loads((storage / "smoke-again" / name / "params.json").read_text())
        assert params["sweep"] == "smoke-again"
        assert Path(params["reused_from"]).parent == storage / "smoke"
    columns = ["trial_key", "best_dev_jaccard", "test_jaccard"]
    pd.testing.assert_frame_equal(
        again[columns].sort_values("trial_key", ignore_index=True),
        original[columns].sort_values("trial_key", ignore_index=True),
    )


def test_aggregate_rebuilds_identical_tables(finished, tmp_path: Path, capsys) -> None:
    experiment, _ = finished
    copy = tmp_path / "results" / "smoke"
    shutil.copytree(experiment, copy)
    for name in TABLES:
        (copy / f"{name}.parquet").unlink()
    assert aggregate.main([str(copy.parent)]) == 0  # a storage folder: every experiment in it
    assert "best_dev_jaccard" in capsys.readouterr().out
    rebuilt, original = _tables(copy), _tables(experiment)
    for name in TABLES:
        pd.testing.assert_frame_equal(rebuilt[name], original[name])
    count = duckdb.sql(f"select count(*) from '{copy / 'trials.parquet'}'").fetchone()
    assert count == (len(original["trials"]),)


def test_aggregate_of_a_folder_without_trials_exits_2(tmp_path: Path, capsys) -> None:
    assert aggregate.main([str(tmp_path)]) == 2
    assert "no trial folders" in capsys.readouterr().err


def _sweep_file(experiment: Path) -> Path:
    return experiment.parents[1] / "smoke.yaml"


def _tables(experiment: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(experiment / f"{name}.parquet") for name in TABLES}


def _hparams(trial_dir: Path) -> dict:
    """The hparams TensorBoard shows for a trial (its session start info)."""
    for events in trial_dir.glob("events.out.tfevents.*"):
        for event in EventFileLoader(str(events)).Load():
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name != "hparams":
                    continue
                content = value.metadata.plugin_data.content
                data = plugin_data_pb2.HParamsPluginData.FromString(content)
                if data.HasField("session_start_info"):
                    return dict(data.session_start_info.hparams)
    raise AssertionError(f"no hparams in {trial_dir}")
