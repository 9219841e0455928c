"""Hand a planned sweep to Ray Tune: the seeded Optuna searcher, readable trial folders, the
progress lines, and Tune's own JSON and TensorBoard loggers under the experiment dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import ray
from ray import tune
from ray.tune.search import Searcher

from orchestrator.plan import Plan
from orchestrator.preflight import Capacity
from orchestrator.progress import ConfigProgress
from orchestrator.search import CellSearcher, TrialList
from orchestrator.second_stage import SecondStage, stage_trials
from orchestrator.storage import folder_prefix
from orchestrator.sweep import Sweep
from orchestrator.trial import run_trial


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Connected to the cluster at ``address``, else to a local Ray started here (and shut
    down on exit); an existing connection is used as it is."""
    if ray.is_initialized():
        yield
        return
    # The dashboard is left off for a local Ray (TensorBoard reads the results), which also
    # keeps every port on this machine closed.
    ray.init(address=address, include_dashboard=False if address is None else None)
    try:
        yield
    finally:
        ray.shutdown()


def cluster_capacity() -> list[Capacity]:
    """The alive nodes of the connected cluster."""
    return [
        Capacity(node["Resources"].get("CPU", 0.0), node["Resources"].get("GPU", 0.0))
        for node in ray.nodes()
        if node.get("Alive")
    ]


def run_plan(plan: Plan) -> tune.ResultGrid:
    """Run the plan's missing trials on the connected cluster."""
    sweep = plan.sweep
    progress = ConfigProgress(sweep.spec.search.metric, sweep.spec.seeds, plan.stored)
    return _fit(sweep, CellSearcher(plan), plan.to_run, progress)


def run_second_stage(stage: SecondStage) -> tune.ResultGrid:
    """Run the test-stage trials whose dev stage has completed (nothing for Optuna to learn)."""
    sweep = stage.plan.sweep
    trials = stage_trials(stage)
    metric = "test_" + sweep.spec.search.metric.removeprefix("best_dev_")
    progress = ConfigProgress(metric, sweep.spec.seeds, stage.plan.stored)
    return _fit(sweep, TrialList(trials), len(trials), progress)


def _fit(
    sweep: Sweep, searcher: Searcher, trials: int, progress: ConfigProgress
) -> tune.ResultGrid:
    """One Tuner pass over ``trials`` trials handed out by ``searcher``."""
    # With a search algorithm Tune keeps one trial pending by default, which runs the trials one
    # at a time; one suggestion round (every cell on every seed) may wait for resources at once.
    os.environ.setdefault(
        "TUNE_MAX_PENDING_TRIALS_PG", str(len(sweep.cells) * len(sweep.spec.seeds))
    )
    resources = {"cpu": sweep.spec.resources.cpus, "gpu": sweep.spec.resources.gpus}
    tuner = tune.Tuner(
        tune.with_resources(run_trial, resources),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            num_samples=trials,
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name=sweep.spec.name,
            storage_path=str(sweep.spec.storage),
            failure_config=tune.FailureConfig(max_failures=sweep.spec.max_failures),
            # One checkpoint per trial: its latest state, which also holds the best weights.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            callbacks=[progress],
            verbose=1,
        ),
    )
    return tuner.fit()


def _trial_name(trial: tune.experiment.Trial) -> str:
    config = trial.config
    prefix = folder_prefix(config["cell"], config["suggestion"], config["stage"], config["seed"])
    return f"{prefix}_{trial.trial_id}"
