"""A long plan runs as bounded Tuner passes over one searcher (``trials_per_pass``): the driver
frees Tune's per-trial bookkeeping between passes. The passes must change nothing else: the
same trials in the same order with the same Optuna suggestions as one unbroken run, every
trial exactly once, a lost trial still proposed again, and a resumed sweep planned from what
the passes stored. First the searchers driven as Tune drives them, then a real local Ray."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from ray.tune.experiment import Trial
from ray.tune.search import Searcher
from tiny_encoder import TINY_BERT

from orchestrator.plan.plan import make_plan
from orchestrator.spec.sweep import load_sweep
from orchestrator.tune.lost_trials import LostTrials
from orchestrator.tune.search import CellSearcher, OnePass

pytestmark = pytest.mark.slow(minutes=2)  # on 2 CPUs: see conftest.py

REPO = Path(__file__).resolve().parents[2]


def _sweep(tmp_path: Path, **changes: object) -> Path:
    spec = {
        "name": "passes",
        "base": {
            "model": {"encoder": TINY_BERT},
            "loss": {"local": "intra"},
            "optim": {"max_epochs": 1, "batch_size": 32, "lr": 3e-3},
            "cache_dir": "off",
        },
        "grid": {"loss.weights": ["one", "rho"]},
        "search": _search(budget=3),
        "seeds": [0, 1],
        # Every CPU for one trial: one at a time, so that the order of completions, and with it
        # what Optuna is told before each suggestion, is the same in every run.
        "resources": {"cpus": os.cpu_count() or 1},
        "reuse_workers": True,
        "storage": str(tmp_path / "results"),
        **changes,
    }
    path = tmp_path / "passes.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _search(budget: int) -> dict[str, Any]:
    space = {"loss.alpha": {"type": "float", "low": 0.05, "high": 0.5}}
    return {"space": space, "budget": budget, "sampler": "tpe", "seed": 0}


def _score(config: dict[str, Any]) -> float:
    """A metric that depends on the suggestion and the seed, so Optuna's history matters."""
    return 0.5 - (config["params"]["loss.alpha"] - 0.3) ** 2 + 0.01 * config["seed"]


def _drive(searcher: Searcher, concurrent: int) -> list[dict[str, Any]]:
    """Tune's calls: keep ``concurrent`` trials running, complete the oldest, until FINISHED."""
    handed, running, count = [], [], 0
    while True:
        while len(running) < concurrent:
            count += 1
            config = searcher.suggest(f"t{count}")
            if config is None or config == Searcher.FINISHED:
                break
            handed.append(config)
            running.append((f"t{count}", config))
        if not running:
            assert config == Searcher.FINISHED
            return handed
        trial_id, config = running.pop(0)
        searcher.on_trial_complete(trial_id, result={"best_dev_jaccard": _score(config)})


def _in_passes(searcher: Searcher, limit: int, concurrent: int) -> list[list[dict[str, Any]]]:
    passes = []
    while True:
        one_pass = OnePass(searcher, limit)
        passes.append(_drive(one_pass, concurrent))
        if one_pass.exhausted:
            return passes


def _keys(configs: list[dict[str, Any]]) -> list[str]:
    return [config["trial_key"] for config in configs]


@pytest.mark.parametrize("limit", [1, 2, 5, 12, 100])
def test_passes_hand_out_the_trials_and_suggestions_of_one_unbroken_run(
    tmp_path: Path, limit: int
) -> None:
    sweep = load_sweep(_sweep(tmp_path))
    unbroken = _drive(CellSearcher(make_plan(sweep, {})), concurrent=1)
    passes = _in_passes(CellSearcher(make_plan(sweep, {})), limit, concurrent=1)
    assert len(unbroken) == 12  # 2 cells x 3 suggestions x 2 seeds
    assert all(len(trials) <= limit for trials in passes)
    assert [config for trials in passes for config in trials] == unbroken


def test_concurrent_passes_run_every_trial_once(tmp_path: Path) -> None:
    sweep = load_sweep(_sweep(tmp_path))
    passes = _in_passes(CellSearcher(make_plan(sweep, {})), limit=5, concurrent=3)
    keys = _keys([config for trials in passes for config in trials])
    assert [len(trials) for trials in passes] == [5, 5, 2]
    assert len(keys) == len(set(keys)) == 12


def test_a_trial_lost_at_the_end_of_a_pass_runs_in_the_next(tmp_path: Path) -> None:
    lost = LostTrials(max_failures=1)
    searcher = CellSearcher(make_plan(load_sweep(_sweep(tmp_path, seeds=[0])), {}), lost=lost)
    first = OnePass(searcher, limit=1)
    config = first.suggest("t1")
    assert config is not None and config != Searcher.FINISHED
    assert first.suggest("t2") is None  # the pass is full, and t1 may yet come back
    trial = Trial("run_trial", config=config, trial_id="t1", stub=True, max_failures=1)
    trial.status, trial.run_metadata.num_failures = Trial.PENDING, 1
    lost.note_error(trial)
    first.on_trial_complete("t1", error=True)
    assert first.suggest("t3") == Searcher.FINISHED and not first.exhausted
    second = OnePass(searcher, limit=1)
    assert second.suggest("t4") == config


def test_a_sweep_in_passes_of_three_runs_what_one_pass_runs(tmp_path: Path) -> None:
    """8 real trials in passes of 3 and in one pass: the same trial keys (the same Optuna
    suggestions), each run once, and a resumed driver finds nothing left to run."""
    tables = {}
    for name, per_pass in (("one-pass", 200), ("passes-of-3", 3)):
        folder = tmp_path / name
        folder.mkdir()
        sweep = _sweep(folder, trials_per_pass=per_pass, search=_search(budget=2))
        run = subprocess.run(
            [sys.executable, "-m", "orchestrator.run", str(sweep)],
            capture_output=True, text=True, timeout=900, cwd=REPO,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        experiment = folder / "results" / "passes"
        tables[name] = pd.read_parquet(experiment / "trials.parquet")
        passes = len(list(experiment.glob("experiment_state-*.json")))
        assert passes == (1 if per_pass == 200 else 3), sorted(experiment.iterdir())
        again = subprocess.run(
            [sys.executable, "-m", "orchestrator.run", str(sweep), "--resume", "--dry-run"],
            capture_output=True, text=True, timeout=300, cwd=REPO,
        )  # fmt: skip
        assert "0 to run" in again.stdout, again.stdout + again.stderr
    one, passes = tables["one-pass"], tables["passes-of-3"]
    assert len(passes) == passes["trial_key"].nunique() == 8
    assert set(passes["status"]) == {"completed"}
    assert sorted(passes["trial_key"]) == sorted(one["trial_key"])
