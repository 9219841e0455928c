"""Hand a validated sweep to Ray Tune: resources, the seeded Optuna searcher, readable trial
folders, and Tune's own JSON and TensorBoard loggers under the experiment dir."""

from __future__ import annotations

import os

import ray
from ray import tune

from orchestrator.search import CellSearcher
from orchestrator.sweep import Sweep
from orchestrator.trial import run_trial


def run_sweep(sweep: Sweep, address: str | None = None) -> tune.ResultGrid:
    # With a search algorithm Tune keeps one trial pending by default, which runs the trials one
    # at a time; one suggestion round (every cell on every seed) may wait for resources at once.
    os.environ.setdefault(
        "TUNE_MAX_PENDING_TRIALS_PG", str(len(sweep.cells) * len(sweep.spec.seeds))
    )
    started_here = not ray.is_initialized()
    if started_here:
        # Local Ray when no cluster is named; the dashboard is left off (TensorBoard reads the
        # results), which also keeps every port on this machine closed.
        ray.init(address=address, include_dashboard=False if address is None else None)
    try:
        resources = {"cpu": sweep.spec.resources.cpus, "gpu": sweep.spec.resources.gpus}
        tuner = tune.Tuner(
            tune.with_resources(run_trial, resources),
            tune_config=tune.TuneConfig(
                search_alg=CellSearcher(sweep),
                num_samples=sweep.total_trials,
                trial_name_creator=_trial_name,
                trial_dirname_creator=_trial_name,
            ),
            run_config=tune.RunConfig(
                name=sweep.spec.name,
                storage_path=str(sweep.spec.storage),
                failure_config=tune.FailureConfig(max_failures=0),
                verbose=1,
            ),
        )
        return tuner.fit()
    finally:
        if started_here:
            ray.shutdown()


def _trial_name(trial: tune.experiment.Trial) -> str:
    config = trial.config
    return f"{config['cell']}_q{config['suggestion']}_seed{config['seed']}_{trial.trial_id}"
