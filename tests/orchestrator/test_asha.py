"""The seed-aware ASHA (``scheduler: {type: asha}``): the rung decisions on synthetic results,
the scheduler's verdicts, the plan and the searcher around pruned configurations, then one small
sweep on a real local Ray on real SemEval data. A configuration is always pruned as a whole:
never one seed completed and another pruned, and a rerun runs nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pyarrow.fs as pafs
import pytest
import yaml
from optuna.trial import TrialState

from emotrain.config_errors import ConfigError
from orchestrator import run
from orchestrator.plan.plan import make_plan, trial_config
from orchestrator.plan.second_stage import plan_second_stage
from orchestrator.plan.stored import StoredTrial, completed_trials
from orchestrator.spec.sweep import load_sweep
from orchestrator.trial.folder import PRUNED, Pruning, read_pruning, write_pruning
from orchestrator.tune.asha import SeedAwareASHA, seed_aware_scheduler
from orchestrator.tune.rungs import Rungs, RungValue, rung_values
from orchestrator.tune.search import CellSearcher

pytestmark = pytest.mark.slow(minutes=1.2)  # on 2 CPUs: see conftest.py

REPO = Path(__file__).resolve().parents[2]
WITHOUT_RAY = (
    "import sys; from orchestrator.run import main; code = main(sys.argv[1:]); "
    "assert 'ray' not in sys.modules, 'Ray was imported'; sys.exit(code)"
)


# --- the rung decisions ---------------------------------------------------------------------


def test_rungs_sit_at_grace_times_powers_of_eta_below_the_last_epoch() -> None:
    assert Rungs(1, 3, "max").milestones(10) == [1, 3, 9]
    assert Rungs(1, 2, "max").milestones(3) == [1, 2]
    assert Rungs(2, 2, "max").milestones(8) == [2, 4]
    assert Rungs(3, 3, "max").milestones(3) == []  # the last epoch is never a rung


def test_fewer_than_eta_values_continue_then_the_top_one_over_eta() -> None:
    rungs = Rungs(1, 3, "max")
    assert rungs.observe("a0", "a", 1, 0.5, 3) is None
    assert rungs.observe("b0", "b", 1, 0.1, 3) is None  # 2 values < η = 3
    assert rungs.observe("c0", "c", 1, 0.3, 3) == _cut("c", 1, 0.3, 0.3667)
    assert rungs.observe("d0", "d", 1, 0.9, 3) is None
    assert set(rungs.pruned) == {"c"} and rungs.records[1] == {"a": 0.5, "b": 0.1, "c": 0.3,
                                                                "d": 0.9}  # fmt: skip


def test_min_mode_keeps_the_lowest() -> None:
    rungs = Rungs(1, 2, "min")
    assert rungs.observe("a0", "a", 1, 0.5, 3) is None
    assert rungs.observe("b0", "b", 1, 0.9, 3) == _cut("b", 1, 0.9, 0.7)
    assert rungs.observe("c0", "c", 1, 0.1, 3) is None


def test_a_configuration_is_judged_once_per_rung_by_its_first_seed() -> None:
    rungs = Rungs(1, 2, "max")
    assert rungs.observe("a0", "a", 1, 0.5, 4) is None
    assert rungs.observe("b0", "b", 1, 0.6, 4) is None
    assert rungs.observe("b1", "b", 1, 0.0, 4) is None  # b passed rung 1 with its seed 0
    assert rungs.records[1]["b"] == 0.6
    # at rung 2 b's first seed there is b1: judged by its value
    assert rungs.observe("a0", "a", 2, 0.7, 4) is None
    assert rungs.observe("b1", "b", 2, 0.1, 4) == _cut("b", 2, 0.1, 0.4)


def test_a_pruned_configuration_stops_every_seed_even_before_its_rung() -> None:
    rungs = Rungs(1, 2, "max")
    rungs.observe("a0", "a", 1, 0.5, 3)
    pruning = rungs.observe("b0", "b", 1, 0.1, 3)
    assert pruning is not None
    assert rungs.observe("b1", "b", 1, 0.9, 3) is pruning  # a better seed does not save it
    assert rungs.observe("b2", "b", 0, 0.9, 3) is pruning  # a mid-epoch evaluation


def test_a_configuration_with_a_completed_seed_is_never_pruned() -> None:
    rungs = Rungs(1, 2, "max")
    rungs.observe("a0", "a", 2, 0.9, 5)  # a passes rungs 1 and 2
    rungs.observe("b0", "b", 1, 0.95, 5)  # b's seed 0 stops early (patience) and completes
    rungs.complete("b")
    assert rungs.observe("b1", "b", 2, 0.1, 5) is None  # rung 2: b would be below the cutoff
    assert rungs.pruned == {}


def test_a_resumed_trial_judges_each_rung_it_skipped() -> None:
    rungs = Rungs(1, 2, "max")
    rungs.observe("a0", "a", 4, 0.9, 9)
    assert rungs.observe("b0", "b", 4, 0.1, 9) == _cut("b", 1, 0.1, 0.5)  # the lowest rung


def test_restore_rebuilds_the_first_values_the_prunings_and_the_completed() -> None:
    rungs = Rungs(1, 2, "max")
    rungs.restore(
        [RungValue("a", 1, 0.4, at=20.0), RungValue("a", 1, 0.9, at=10.0),
         RungValue("c", 1, 0.2, at=30.0), RungValue("c", 2, 0.2, at=40.0)],
        [Pruning("b", 1, 0.1, 0.65)],
        {"c"},
    )  # fmt: skip
    assert rungs.records == {1: {"a": 0.9, "b": 0.1, "c": 0.2}, 2: {"c": 0.2}}
    assert rungs.observe("b1", "b", 1, 0.95, 3) == Pruning("b", 1, 0.1, 0.65)
    assert rungs.observe("a1", "a", 1, 0.0, 3) is None  # judged before
    assert rungs.observe("d0", "d", 1, 0.3, 3) is None  # cutoff 0.2 over a, b, c, d
    assert rungs.observe("c1", "c", 2, 0.0, 3) is None  # completed


def test_rung_values_are_the_first_evaluation_at_or_after_each_rung() -> None:
    rows = [{"epoch": 1, "best_dev_jaccard": 0.1, "timestamp": 5},
            {"epoch": 2, "best_dev_jaccard": 0.3, "timestamp": 9},
            {"epoch": 4, "best_dev_jaccard": 0.4, "timestamp": 12}]  # fmt: skip
    assert rung_values("k", rows, "best_dev_jaccard", [1, 3, 9]) == [
        RungValue("k", 1, 0.1, 5),
        RungValue("k", 3, 0.4, 12),
    ]


def test_pruned_json_round_trips(tmp_path: Path) -> None:
    pruning = Pruning("k", 2, 0.25, 0.5)
    write_pruning(pafs.LocalFileSystem(), str(tmp_path / "trial"), pruning, epoch=3)
    assert read_pruning(tmp_path / "trial") == pruning
    assert json.loads((tmp_path / "trial" / PRUNED).read_text())["stopped_after_epoch"] == 3
    assert read_pruning(tmp_path) is None


# --- the sweep field ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheduler", "expected"),
    [
        ({"type": "hyperband"}, "scheduler.type: Input should be 'fifo' or 'asha'"),
        ({"type": "asha", "reduction_factor": 1}, "scheduler.reduction_factor: Input should be"),
        ({"type": "asha", "grace_epochs": 0}, "scheduler.grace_epochs: Input should be"),
        ({"type": "asha", "grace": 1}, "scheduler.grace: unknown field"),
        ({"grace_epochs": 2}, "scheduler: Value error, grace_epochs and reduction_factor apply"),
    ],
)
def test_bad_scheduler_fields_are_named(tmp_path: Path, scheduler: dict, expected: str) -> None:
    path = _smoke_file(tmp_path, scheduler=scheduler)
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_fifo_is_the_default(tmp_path: Path) -> None:
    assert load_sweep(_smoke_file(tmp_path)).spec.scheduler.type == "fifo"


# --- the scheduler, the plan and the searcher -----------------------------------------------


def test_the_scheduler_stops_the_configuration_and_marks_its_trials(tmp_path: Path) -> None:
    sweep = load_sweep(_smoke_file(tmp_path, scheduler={"type": "asha", "reduction_factor": 2}))
    scheduler = seed_aware_scheduler(make_plan(sweep, {}))
    assert isinstance(scheduler, SeedAwareASHA)
    a0, a1 = (_fake_trial(sweep, tmp_path, 0.1, seed) for seed in (0, 1))
    b0, b1, b_waiting = (_fake_trial(sweep, tmp_path, 0.4, seed) for seed in (0, 1, 2))
    b_waiting.status = "PENDING"
    controller = _FakeController([a0, a1, b0, b1, b_waiting])
    assert scheduler.on_trial_result(controller, a0, _result(1, 0.5)) == "CONTINUE"
    assert scheduler.on_trial_result(controller, b0, _result(1, 0.2)) == "STOP"
    assert controller.stopped == [b_waiting]  # waiting seeds never start
    assert scheduler.on_trial_result(controller, b1, _result(1, 0.9)) == "STOP"
    assert scheduler.on_trial_result(controller, a1, _result(2, 0.0)) == "CONTINUE"
    assert read_pruning(Path(b0.path)) == _cut(b0.config["config_key"], 1, 0.2, 0.35)
    assert read_pruning(Path(b1.path)) == read_pruning(Path(b0.path))
    assert read_pruning(Path(a0.path)) is None
    assert scheduler.on_trial_result(controller, a0, _result(1, 0.5) | {"final": 1.0}) == (
        "CONTINUE"
    )


def test_fifo_has_no_scheduler(tmp_path: Path) -> None:
    assert seed_aware_scheduler(make_plan(load_sweep(_smoke_file(tmp_path)), {})) is None


def test_a_pruned_suggestion_is_done_and_told_pruned(tmp_path: Path) -> None:
    sweep = load_sweep(_smoke_file(tmp_path, scheduler={"type": "asha"}, protocol="two_stage"))
    one, rho = sweep.cells
    pruning = _pruning(sweep, rho, 0.2)
    stored = [
        _stored(sweep, one, 0.3, 0, tmp_path),
        _stored(sweep, one, 0.3, 1, tmp_path),
        _stored(sweep, rho, 0.2, 0, tmp_path, pruning),  # seed 1 never ran
    ]
    plan = make_plan(sweep, {trial.trial_key: trial for trial in stored})
    pruned = [s for s in plan.suggestions if s.pruned]
    assert [(s.cell, s.params, s.stored, s.seeds_to_run([0, 1])) for s in pruned] == [
        (rho, {"loss.alpha": 0.2}, {}, [])
    ]
    assert plan.existing == 2 and plan.skipped == 2 and plan.to_run == 8 - 4
    assert set(plan.stored) == {t.trial_key for t in stored[:2]}  # never reused elsewhere
    assert [c.dev.cell for c in plan_second_stage(plan).configs] == [one, one, rho]
    searcher = CellSearcher(plan)
    [trial] = searcher.study(rho.name).trials[:1]
    assert trial.state == TrialState.PRUNED and trial.intermediate_values == {1: 0.2}
    assert searcher.study(one.name).trials[0].state == TrialState.COMPLETE


def test_the_searcher_skips_the_seeds_of_a_configuration_pruned_during_the_run(
    tmp_path: Path,
) -> None:
    sweep = load_sweep(_smoke_file(tmp_path, scheduler={"type": "asha"}, grid={"loss.weights":
                                   ["rho"]}, budget=2))  # fmt: skip
    pruned: dict[str, Pruning] = {}
    searcher = CellSearcher(make_plan(sweep, {}), pruned)
    first = searcher.suggest("t0")
    assert first is not None and first["seed"] == 0
    pruned[first["config_key"]] = Pruning(first["config_key"], 1, 0.1, 0.3)
    searcher.on_trial_complete("t0", {"epoch": 1})  # stopped by the scheduler
    following = searcher.suggest("t1")
    assert following is not None and following["suggestion"] == 1  # seed 1 of q0 skipped
    [told, asked] = searcher.study("weights-rho").trials
    assert told.state == TrialState.PRUNED and asked.state == TrialState.RUNNING


def test_a_pruned_trial_is_done_only_in_its_own_experiment(tmp_path: Path) -> None:
    sweep = load_sweep(_smoke_file(tmp_path, scheduler={"type": "asha"}))
    trial_dir = sweep.experiment_dir / "weights-rho_q0_seed0_x"
    config = trial_config(sweep, sweep.cells[1], 0, 0, {"loss.alpha": 0.2})
    trial_dir.mkdir(parents=True)
    (trial_dir / "params.json").write_text(json.dumps(config))
    (trial_dir / "result.json").write_text(json.dumps({"epoch": 1, "timestamp": 3}) + "\n")
    write_pruning(
        pafs.LocalFileSystem(), str(trial_dir), Pruning(config["config_key"], 1, 0.1, 0.2), 1
    )
    mine = completed_trials(sweep.spec.storage, sweep.experiment_dir)
    assert [t.pruned for t in mine.values()] == [Pruning(config["config_key"], 1, 0.1, 0.2)]
    assert completed_trials(sweep.spec.storage, sweep.spec.storage / "another") == {}


# --- end to end -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(semeval_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """3 configurations (the third's threshold of 0.99 predicts no emotion, so it scores 0
    whatever the training did) x 1 Optuna suggestion x 2 seeds of 3 epochs on real SemEval
    data, rungs at epochs 1 and 2, top half on. Half a CPU per trial: the first two
    configurations run together and are both at rung 1 before the third starts, which is then
    judged against them."""
    workdir = tmp_path_factory.mktemp("asha")
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec |= {"name": "asha", "storage": str(workdir / "results")}
    spec["base"]["data"] = {"root": str(semeval_root), "train_limit": 151, "eval_limit": 61}
    spec["base"]["cache_dir"] = "off"
    spec["base"]["optim"] |= {"max_epochs": 3, "patience": 3}
    spec["grid"] = [{"optim.lr": [1e-7, 3e-3]}, {"optim.lr": [3e-3], "eval.threshold": [0.99]}]
    spec["search"]["budget"] = 1
    spec["scheduler"] = {"type": "asha", "grace_epochs": 1, "reduction_factor": 2}
    spec["resources"] = {"cpus": 0.5, "gpus": 0}
    path = workdir / "asha.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = _run([str(path)], workdir)
    return workdir / "results" / "asha", done.stdout


def test_configurations_are_pruned_as_a_whole(finished) -> None:
    experiment, stdout = finished
    trials = pd.read_parquet(experiment / "trials.parquet")
    statuses = trials.groupby("config_key")["status"].agg(set)
    assert {"pruned"} in list(statuses), trials[["cell", "seed", "status"]]
    assert all(s in ({"completed"}, {"pruned"}) for s in statuses), statuses
    completed = statuses[statuses == {"completed"}].index
    assert (trials[trials["config_key"].isin(completed)].groupby("config_key").size() == 2).all()
    for name in trials.loc[trials["status"] == "pruned", "trial_dir"]:
        assert read_pruning(experiment / name) is not None
    configs = pd.read_parquet(experiment / "configs.parquet")
    assert set(configs["config_key"]) == set(completed)  # pruned trials are in no mean
    assert ": pruned at epoch 1" in stdout or ": pruned at epoch 2" in stdout, stdout[-3000:]


def test_optuna_sees_the_pruned_configurations_on_a_replay(finished) -> None:
    experiment, _ = finished
    sweep = load_sweep(experiment.parents[1] / "asha.yaml")
    plan = make_plan(sweep, completed_trials(sweep.spec.storage, sweep.experiment_dir))
    searcher = CellSearcher(plan)
    trials = pd.read_parquet(experiment / "trials.parquet")
    for cell, status in trials.groupby("cell")["status"].first().items():
        study = searcher.study(str(cell))
        assert study is not None
        expected = TrialState.PRUNED if status == "pruned" else TrialState.COMPLETE
        assert [t.state for t in study.trials] == [expected], cell


def test_a_rerun_runs_nothing_and_keeps_the_decisions(finished) -> None:
    experiment, _ = finished
    trials = pd.read_parquet(experiment / "trials.parquet")
    pruned = trials.groupby("config_key")["status"].first().eq("pruned").sum()
    done = _run([str(experiment.parents[1] / "asha.yaml")], experiment.parents[1], WITHOUT_RAY)
    assert f"{2 * pruned} pruned, 0 to run" in done.stdout, done.stdout[-3000:]
    assert "nothing to run" in done.stdout
    again = pd.read_parquet(experiment / "trials.parquet")
    pd.testing.assert_frame_equal(again, trials)
    sweep = load_sweep(experiment.parents[1] / "asha.yaml")
    scheduler = seed_aware_scheduler(
        make_plan(sweep, completed_trials(experiment.parent, experiment))
    )
    assert scheduler is not None and len(scheduler.pruned) == pruned


def test_another_experiment_runs_the_pruned_configurations_again(finished, capsys) -> None:
    experiment, _ = finished
    trials = pd.read_parquet(experiment / "trials.parquet")
    completed = int((trials["status"] == "completed").sum())
    argv = [str(experiment.parents[1] / "asha.yaml"), "--dry-run", "--set", "name=asha-again"]
    assert run.main(argv) == 0
    assert f"{completed} exist completed in storage, {6 - completed} to run" in (
        capsys.readouterr().out
    )


# --- helpers --------------------------------------------------------------------------------


def _run(argv: list[str], cwd: Path, code: str | None = None) -> subprocess.CompletedProcess:
    command = ["-c", code] if code else ["-m", "orchestrator.run"]
    done = subprocess.run(
        [sys.executable, *command, *argv], capture_output=True, text=True, timeout=600, cwd=cwd
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _smoke_file(tmp_path: Path, **changes: Any) -> Path:
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec["storage"] = str(tmp_path / "results")
    if "budget" in changes:
        spec["search"]["budget"] = changes.pop("budget")
    spec |= changes
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _cut(config_key: str, rung: int, value: float, cutoff: float) -> Pruning:
    """A pruning with its cutoff compared approximately (an interpolated percentile)."""
    return Pruning(config_key, rung, value, pytest.approx(cutoff, abs=1e-3))


def _pruning(sweep: Any, cell: Any, alpha: float) -> Pruning:
    key = trial_config(sweep, cell, 0, 0, {"loss.alpha": alpha})["config_key"]
    return Pruning(key, 1, alpha, 0.5)


def _stored(
    sweep: Any, cell: Any, alpha: float, seed: int, folder: Path, pruned: Pruning | None = None
) -> StoredTrial:
    config = trial_config(sweep, cell, 0, seed, {"loss.alpha": alpha})
    return StoredTrial(
        trial_dir=folder / f"{cell.name}_{seed}",
        trial_key=config["trial_key"],
        config_key=config["config_key"],
        search_key=config["search_key"],
        suggestion=0,
        seed=seed,
        params={"loss.alpha": alpha},
        metrics={} if pruned else {"best_dev_jaccard": 0.5},
        timestamp=float(seed),
        best_epoch=None if pruned else 2,
        pruned=pruned,
    )


def _fake_trial(sweep: Any, folder: Path, alpha: float, seed: int) -> SimpleNamespace:
    config = trial_config(sweep, sweep.cells[0], 0, seed, {"loss.alpha": alpha})
    name = f"a{alpha}_s{seed}"
    storage = SimpleNamespace(storage_filesystem=pafs.LocalFileSystem())  # as Ray's Trial has
    return SimpleNamespace(
        trial_id=name, config=config, path=str(folder / name), status="RUNNING", storage=storage
    )


def _result(epoch: int, value: float) -> dict[str, float]:
    return {"epoch": epoch, "best_dev_jaccard": value, "dev_jaccard": value}


class _FakeController:
    def __init__(self, trials: list[SimpleNamespace]) -> None:
        self._trials = trials
        self.stopped: list[SimpleNamespace] = []

    def get_trials(self) -> list[SimpleNamespace]:
        return self._trials

    def stop_trial(self, trial: SimpleNamespace) -> None:
        self.stopped.append(trial)
        trial.status = "TERMINATED"
