"""A trial that Ray Tune fails without the retry it is owed: with reused workers, a waiting trial
whose cached worker died is failed by the reset and never retried by Tune (lost_trials.py). The
searchers propose it again, within ``max_failures``. First the bookkeeping on Tune's own Trial
objects, then a real local Ray where the first trial's worker is killed as it completes, before
Tune hands it to the next trial."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from ray.tune.experiment import Trial
from ray.tune.search import Searcher
from tiny_encoder import TINY_BERT

from orchestrator.plan.plan import make_plan
from orchestrator.spec.sweep import load_sweep
from orchestrator.tune.lost_trials import LostTrials
from orchestrator.tune.search import CellSearcher, TrialList

pytestmark = pytest.mark.slow(minutes=1)  # on 2 CPUs: see conftest.py


# The driver with one more Tune callback: it SIGKILLs the worker of the first trial to complete
# from inside Tune's on_trial_complete, which runs before Tune caches that worker for reuse.
KILL_FIRST_FINISHED_WORKER = """
import os, signal, sys
from ray import tune
from orchestrator.tune import tuner
from orchestrator.run import main

class KillFirstFinishedWorker(tune.Callback):
    done = False

    def on_trial_complete(self, iteration, trials, trial, **info):
        if not self.done:
            self.done = True
            os.kill(trial.last_result["pid"], signal.SIGKILL)
            print("killed the worker of", trial.trial_id, flush=True)

watch = tuner._watch
tuner._watch = lambda sweep: [*watch(sweep), KillFirstFinishedWorker()]
sys.exit(main(sys.argv[1:]))
"""


def _sweep(tmp_path: Path, **changes: object) -> Path:
    spec = {
        "name": "lost",
        "base": {
            "model": {"encoder": TINY_BERT},
            "optim": {"max_epochs": 1, "batch_size": 32, "lr": 3e-3},
            "cache_dir": "off",
        },
        "seeds": [0, 1],
        # Every CPU for one trial: one at a time, each next one waiting for the last's worker.
        "resources": {"cpus": os.cpu_count() or 1},
        "reuse_workers": True,
        "max_failures": 1,
        "storage": str(tmp_path / "results"),
        **changes,
    }
    path = tmp_path / "lost.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _trial(config: dict, status: str, failures: int, trial_id: str | None = None) -> Trial:
    trial = Trial("run_trial", config=config, trial_id=trial_id, stub=True, max_failures=1)
    trial.status = status
    trial.run_metadata.num_failures = failures
    return trial


def test_only_a_waiting_trial_with_failures_left_is_lost() -> None:
    lost = LostTrials(max_failures=1)
    # One worker death as Tune counts it: a retried failure, then its echo on the PENDING trial.
    waiting = _trial({"trial_key": "a"}, Trial.PENDING, failures=2)
    running = _trial({"trial_key": "b"}, Trial.RUNNING, failures=1)
    lost.note_error(waiting)
    lost.note_error(running)  # Tune's own to retry
    assert lost.take(waiting.trial_id)
    assert not lost.take(waiting.trial_id)  # asked once
    assert not lost.take(running.trial_id)
    # Its retry counts: a second loss of the same (configuration, seed) is one too many.
    again = _trial({"trial_key": "a"}, Trial.PENDING, failures=2)
    lost.note_error(again)
    assert not lost.take(again.trial_id)
    # As do the failures the trial had before.
    worn = _trial({"trial_key": "c"}, Trial.PENDING, failures=3)
    lost.note_error(worn)
    assert not lost.take(worn.trial_id)


def test_unlimited_failures_retry_every_lost_trial() -> None:
    lost = LostTrials(max_failures=-1)
    trials = [_trial({"trial_key": "a"}, Trial.PENDING, failures=1) for _ in range(5)]
    for trial in trials:
        lost.note_error(trial)
    assert all(lost.take(trial.trial_id) for trial in trials)


def test_the_searcher_proposes_a_lost_trial_again_and_finishes_after_it(tmp_path: Path) -> None:
    lost = LostTrials(max_failures=1)
    searcher = CellSearcher(make_plan(load_sweep(_sweep(tmp_path, seeds=[0])), {}), lost=lost)
    first = searcher.suggest("t1")
    assert first is not None and first != Searcher.FINISHED
    assert searcher.suggest("t2") is None  # nothing more now, but t1 may yet come back
    lost.note_error(_trial(first, Trial.PENDING, failures=1, trial_id="t1"))
    searcher.on_trial_complete("t1", error=True)
    again = searcher.suggest("t3")
    assert again == first
    searcher.on_trial_complete("t3", result={"best_dev_jaccard": 0.5})
    assert searcher.suggest("t4") == Searcher.FINISHED


def test_the_test_stage_list_proposes_a_lost_trial_again() -> None:
    lost = LostTrials(max_failures=1)
    trials = TrialList([{"trial_key": "a"}, {"trial_key": "b"}], lost)
    assert trials.suggest("t1") == {"trial_key": "a"}
    assert trials.suggest("t2") == {"trial_key": "b"}
    assert trials.suggest("t3") is None
    lost.note_error(_trial({"trial_key": "a"}, Trial.PENDING, failures=1, trial_id="t1"))
    trials.on_trial_complete("t1", error=True)
    trials.on_trial_complete("t2", result={})
    assert trials.suggest("t4") == {"trial_key": "a"}
    trials.on_trial_complete("t4", result={})
    assert trials.suggest("t5") == Searcher.FINISHED


def test_a_trial_whose_reused_worker_died_runs_again_and_the_sweep_completes(
    tmp_path: Path,
) -> None:
    sweep = _sweep(tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", KILL_FIRST_FINISHED_WORKER, str(sweep)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    experiment = tmp_path / "results" / "lost"
    # The callback prints while the driver's own output goes to the experiment's run.log.
    said = run.stdout + (experiment / "run.log").read_text(encoding="utf-8")
    assert "killed the worker of" in said, said[-3000:] + run.stderr[-3000:]
    # The reset on the dead worker failed the next trial: Tune recorded it and did not retry it.
    errors = [p.read_text() for p in experiment.glob("*/error.txt")]
    assert any("actor died" in text for text in errors), errors
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert sorted(trials["seed"]) == [0, 1], trials[["seed", "status", "error"]]
    assert set(trials["status"]) == {"completed"}, trials[["seed", "status", "error"]]
