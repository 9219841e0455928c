"""``protocol: two_stage`` end to end on a real local Ray: after the dev stage, each
configuration is retrained on train+dev for the median of its seeds' best epochs (rounded up)
and scored on test. Both stages land in the tables, a rerun runs nothing, and a sweep killed in
both stages continues both. One sweep is shared: the later runs work on copies of its storage."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from orchestrator import run
from orchestrator.plan.plan import make_plan
from orchestrator.plan.second_stage import plan_second_stage, stage_epochs
from orchestrator.plan.stored import completed_trials
from orchestrator.spec.layers import storage_override
from orchestrator.spec.sweep import load_sweep

pytestmark = pytest.mark.slow(minutes=2)  # on 2 CPUs: see conftest.py

REPO = Path(__file__).resolve().parents[2]
TABLES = ("trials", "epochs", "configs", "test_stage")
# Runs orchestrator.run and fails if it imported Ray: a finished sweep must not start Ray.
WITHOUT_RAY = (
    "import sys; from orchestrator.run import main; code = main(sys.argv[1:]); "
    "assert 'ray' not in sys.modules, 'Ray was imported'; sys.exit(code)"
)
TEST_PROGRESS = re.compile(
    r"^config weights-rho loss\.alpha=[0-9.]+ test stage \((\d+) epochs\): "
    r"test_jaccard [0-9.]+ ± [0-9.]+ over 2 seeds$",
    re.MULTILINE,
)


def _write_sweep(workdir: Path) -> Path:
    """The smoke sweep cut to 1 cell x 1 suggestion x 2 seeds of 2 epochs, two-stage."""
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec |= {"name": "two-stage", "protocol": "two_stage", "storage": str(workdir / "results")}
    spec["grid"] = {"loss.weights": ["rho"]}
    spec["search"]["budget"] = 1
    path = workdir / "two_stage.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _run(argv: list[str], cwd: Path, code: str | None = None) -> subprocess.CompletedProcess:
    command = ["-c", code] if code else ["-m", "orchestrator.run"]
    done = subprocess.run(
        [sys.executable, *command, *argv], capture_output=True, text=True, timeout=900, cwd=cwd
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("two_stage")
    done = _run([str(_write_sweep(workdir))], workdir)
    return workdir / "results" / "two-stage", done.stdout


def _trials(experiment: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials = pd.read_parquet(experiment / "trials.parquet")
    return trials[trials["stage"] == "dev"], trials[trials["stage"] == "test"]


def _expected_epochs(dev: pd.DataFrame) -> int:
    """The rule, computed here from its definition for two seeds: the mean of the two best
    epochs (their median), rounded up."""
    first, second = dev["best_epoch"].astype(int)
    return -(-(first + second) // 2)


def test_both_stages_land_in_the_tables(finished) -> None:
    experiment, _ = finished
    dev, test = _trials(experiment)
    assert len(dev) == 2 and len(test) == 2
    assert (dev["status"] == "completed").all() and (test["status"] == "completed").all()
    assert sorted(test["seed"]) == sorted(dev["seed"]) == [0, 1]
    assert dev["config_key"].nunique() == 1 and test["config_key"].nunique() == 1
    assert (test["dev_config_key"] == dev["config_key"].iloc[0]).all()
    assert (dev["dev_config_key"] == dev["config_key"]).all()
    assert (test["cfg.stage"] == "test").all() and (dev["cfg.stage"] == "dev").all()
    assert (test["param.loss.alpha"] == dev["param.loss.alpha"].iloc[0]).all()
    assert test["trial_dir"].str.match(r"^weights-rho_q0_test_seed[01]_").all()
    assert dev["trial_dir"].str.match(r"^weights-rho_q0_seed[01]_").all()


def test_the_test_stage_trains_the_median_best_epoch_and_scores_test(finished) -> None:
    experiment, stdout = finished
    dev, test = _trials(experiment)
    epochs = _expected_epochs(dev)
    assert (test["cfg.optim.max_epochs"] == epochs).all()
    assert (test["epochs_run"] == epochs).all()
    assert test[["test_jaccard", "test_macro_f1", "test_joy_f1"]].notna().all().all()
    assert test.filter(like="best_dev_").isna().all().all()  # no dev in the second stage
    assert TEST_PROGRESS.findall(stdout) == [str(epochs)], stdout[-3000:]
    assert "test stage: 1 configuration x 2 seeds = 2 trials, 0 already completed, 2 to run" in (
        stdout
    )


def test_configs_aggregate_each_stage_separately(finished) -> None:
    experiment, _ = finished
    dev, test = _trials(experiment)
    configs = pd.read_parquet(experiment / "configs.parquet").set_index("stage")
    assert sorted(configs.index) == ["dev", "test"]
    for stage, trials in (("dev", dev), ("test", test)):
        row = configs.loc[stage]
        assert row["config_key"] == trials["config_key"].iloc[0]
        assert row["n_seeds"] == 2 and row["test_jaccard_count"] == 2
        assert row["test_jaccard_mean"] == pytest.approx(trials["test_jaccard"].mean())


def test_the_test_stage_table_holds_the_final_numbers(finished) -> None:
    experiment, stdout = finished
    dev, test = _trials(experiment)
    table = pd.read_parquet(experiment / "test_stage.parquet")
    assert len(table) == 1
    row = table.iloc[0]
    assert row["dev_config_key"] == dev["config_key"].iloc[0]
    assert row["epochs"] == _expected_epochs(dev) and row["n_seeds"] == 2
    metrics = [c for c in test.columns if c.startswith("test_")]
    assert {"test_jaccard", "test_micro_f1", "test_macro_f1", "test_anger_f1"} <= set(metrics)
    for metric in metrics:
        assert row[f"{metric}_mean"] == pytest.approx(test[metric].mean())
        assert row[f"{metric}_std"] == pytest.approx(test[metric].std(ddof=0))
        assert row[f"{metric}_count"] == 2
    assert row["best_dev_jaccard_mean"] == pytest.approx(dev["best_dev_jaccard"].mean())
    summary = stdout[stdout.index("test stage (retrained on train+dev") :]
    assert f"{row['test_jaccard_mean']:.4f} ± {row['test_jaccard_std']:.4f}" in summary


def test_a_rerun_runs_nothing_without_ray(finished) -> None:
    experiment, _ = finished
    before = {name: pd.read_parquet(experiment / f"{name}.parquet") for name in TABLES}
    done = _run([str(experiment.parents[1] / "two_stage.yaml")], experiment.parents[1], WITHOUT_RAY)
    assert "2 trials, 2 already completed, 0 to run" in done.stdout
    assert "test stage: 1 configuration x 2 seeds = 2 trials, 2 already completed, 0 to run" in (
        done.stdout
    )
    assert "nothing to run" in done.stdout and "test stage (retrained" in done.stdout
    for name, table in before.items():
        pd.testing.assert_frame_equal(pd.read_parquet(experiment / f"{name}.parquet"), table)


def test_a_dry_run_shows_the_test_stage_plan(finished, capsys) -> None:
    experiment, _ = finished
    dev, _ = _trials(experiment)
    sweep = str(experiment.parents[1] / "two_stage.yaml")
    assert run.main([sweep, "--dry-run"]) == 0
    out = capsys.readouterr().out
    best = " ".join(str(epoch) for epoch in dev.sort_values("seed")["best_epoch"])
    assert f": {_expected_epochs(dev)} epochs (best epochs {best})  [done: seeds 0 1]" in out
    assert (
        "test trials: 1 configuration x 2 seeds = 2; 2 exist completed in storage, 0 to run" in out
    )
    # a new seed reopens the dev stage, and with it the test stage's epoch count
    assert run.main([sweep, "--dry-run", "--seeds", "0,1,2"]) == 0
    out = capsys.readouterr().out
    alpha = f"loss.alpha={dev['param.loss.alpha'].iloc[0]:.4g}"
    assert f"q0 {alpha}: epochs decided after the dev stage  [to run: seeds 0 1 2]" in out
    # Optuna only knows the dev stage: the test-stage trials are not suggestions of their own
    assert run.main([sweep, "--dry-run", "--set", "search.budget=2"]) == 0
    out = capsys.readouterr().out
    assert out.count("q1  new (Optuna suggests it during the run)  [to run: seeds 0 1]") == 1
    assert "1 cells x 2 suggestions x 2 seeds = 4; 2 exist completed in storage, 2 to run" in out


@pytest.fixture(scope="module")
def continued(finished, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the sweep as if killed while seed 1 trained in each stage (its result.json
    without the final line): the rerun must run just those two trials."""
    experiment, _ = finished
    workdir = tmp_path_factory.mktemp("continued")
    shutil.copytree(experiment.parents[1], workdir, dirs_exist_ok=True)
    copy = workdir / "results" / "two-stage"
    for name in ("weights-rho_q0_seed1_*", "weights-rho_q0_test_seed1_*"):
        (folder,) = copy.glob(name)
        results = (folder / "result.json").read_text().splitlines()
        unfinished = [line for line in results if not json.loads(line).get("final")]
        (folder / "result.json").write_text("\n".join(unfinished) + "\n")
    sweep = str(workdir / "two_stage.yaml")
    done = _run([sweep, "--storage", str(workdir / "results")], workdir)
    return copy, done.stdout


def test_a_killed_sweep_continues_both_stages(finished, continued) -> None:
    experiment, _ = finished
    copy, stdout = continued
    assert "2 trials, 1 already completed, 1 to run" in stdout
    assert "test stage: 1 configuration x 2 seeds = 2 trials, 1 already completed, 1 to run" in (
        stdout
    )
    dev, test = _trials(copy)
    assert len(dev) == 2 and len(test) == 2
    assert (dev["status"] == "completed").all() and (test["status"] == "completed").all()
    assert (test["epochs_run"] == _expected_epochs(dev)).all()
    original = pd.read_parquet(experiment / "test_stage.parquet")
    again = pd.read_parquet(copy / "test_stage.parquet")
    assert again["test_jaccard_mean"].iloc[0] == pytest.approx(original["test_jaccard_mean"][0])


def test_two_stage_leaves_stage_to_the_protocol(tmp_path: Path, capsys) -> None:
    sweep = str(_write_sweep(tmp_path))
    assert run.main([sweep, "--dry-run", "--set", "base.stage=test"]) == 2
    assert capsys.readouterr().err == (
        "error: --set base.stage: protocol two_stage runs the test stage itself: "
        "leave stage at dev\n"
    )


@pytest.mark.parametrize(
    ("best", "epochs"), [([3, 4], 4), ([2, 3, 9], 3), ([1], 1), ([2, 2], 2), ([5, 1, 2, 8], 4)]
)
def test_the_epoch_rule_is_the_median_rounded_up(best: list[int], epochs: int) -> None:
    assert stage_epochs(best) == epochs


def test_a_diverged_dev_seed_is_done_and_leaves_its_configuration_no_test_stage(
    finished, tmp_path: Path
) -> None:
    experiment, _ = finished
    copy = tmp_path / "results" / "two-stage"
    shutil.copytree(experiment, copy, ignore=shutil.ignore_patterns("*_test_seed*"))
    (seed_1,) = copy.glob("*_q0_seed1_*")
    results = seed_1 / "result.json"
    rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    results.write_text("".join(json.dumps(r) + "\n" for r in rows if not r.get("final")), "utf-8")
    failure = {"error": "loss is nan at epoch 2, step 40", "kind": "diverged"}
    (seed_1 / "failure.json").write_text(json.dumps(failure), encoding="utf-8")
    sweep = load_sweep(
        experiment.parents[1] / "two_stage.yaml", [storage_override(str(tmp_path / "results"))]
    )
    plan = make_plan(sweep, completed_trials(sweep.spec.storage, sweep.experiment_dir))
    assert (plan.existing, plan.diverged, plan.to_run) == (2, 1, 0)  # not run again
    assert plan_second_stage(plan).configs == []  # its dev stage did not complete on every seed
