"""Hand a planned sweep to Ray Tune: the seeded Optuna searcher, readable trial folders, the
progress view, and Tune's own JSON and TensorBoard loggers under the experiment dir."""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import psutil
import ray
from ray import tune
from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from orchestrator import console
from orchestrator.plan.plan import Plan
from orchestrator.plan.preflight import Capacity
from orchestrator.plan.second_stage import SecondStage, stage_trials
from orchestrator.spec.sweep import Sweep
from orchestrator.trial.ddp import run_ddp_trial
from orchestrator.trial.folder import folder_prefix
from orchestrator.trial.trainable import attempts, checkpoint_folders, run_trial
from orchestrator.tune.asha import seed_aware_scheduler
from orchestrator.tune.hang_watch import HangWatch
from orchestrator.tune.lost_trials import LostTrials, LostTrialScheduler
from orchestrator.tune.progress import ConfigProgress
from orchestrator.tune.search import CellSearcher, OnePass, TrialList


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Connected to the cluster at ``address``, else to a local Ray started here (and shut
    down on exit); an existing connection is used as it is."""
    if ray.is_initialized():
        yield
        return
    # The dashboard is left off for a local Ray (TensorBoard reads the results), which also
    # keeps every port on this machine closed.
    # "local": a new instance even when another Ray runs on this machine (address=None would
    # join that one, and die with it).
    ray.init(address=address or "local", include_dashboard=False if address is None else None)
    try:
        yield
    finally:
        if address is None:
            stop_autoscaler_monitor()
        ray.shutdown()


# Ray's autoscaler monitor, started by ray.init for a local Ray, as a child of this process.
MONITOR_SCRIPT = os.path.join("ray", "autoscaler", "_private", "monitor.py")


def stop_autoscaler_monitor() -> None:
    """Kill the local Ray's autoscaler monitor.

    ray.shutdown stops the GCS before the monitor, whose SIGTERM handler then reports its end to
    the dead GCS until Ray kills it a second later, which every sweep's teardown would wait
    for. A local Ray has nothing to scale, and the monitor holds nothing of the sweep's, so it
    is killed at once (a SIGTERM would have it publish "The autoscaler failed" to the GCS
    first, which takes longer).
    """
    for child in psutil.Process().children():
        if is_autoscaler_monitor(child):
            try:
                child.kill()
                child.wait(timeout=10)
            except psutil.NoSuchProcess:
                pass
            return


def is_autoscaler_monitor(process: psutil.Process) -> bool:
    try:
        return any(part.endswith(MONITOR_SCRIPT) for part in process.cmdline())
    except psutil.Error:  # gone meanwhile, or not ours to read
        return False


def cluster_capacity() -> list[Capacity]:
    """The alive nodes of the connected cluster."""
    return [
        Capacity(node["Resources"].get("CPU", 0.0), node["Resources"].get("GPU", 0.0))
        for node in ray.nodes()
        if node.get("Alive")
    ]


def unshared_storage(sweep: Sweep) -> list[str]:
    """On a cluster of several nodes every node must see the storage folder (the trials write
    there, the driver reads it): a probe file written here is looked for from every node."""
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    if len(nodes) < 2 or sweep.spec.storage_uri is not None:  # a cloud storage is shared
        return []
    sweep.spec.storage.mkdir(parents=True, exist_ok=True)
    probe = sweep.spec.storage / f".emosweep-probe-{uuid.uuid4().hex}"
    probe.write_text("shared?", encoding="utf-8")
    try:
        seen = ray.get([_sees.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
            node["NodeID"], soft=False)).remote(str(probe)) for node in nodes])  # fmt: skip
    finally:
        probe.unlink()
    blind = [node["NodeManagerAddress"] for node, ok in zip(nodes, seen, strict=True) if not ok]
    if not blind:
        return []
    message = (
        f"{sweep.spec.storage} is not shared: the node(s) at {', '.join(blind)} cannot see "
        "it; use a shared file system mounted at the same path on every node"
    )
    return [str(sweep.layers.problem(("storage",), message))]


@ray.remote(num_cpus=0)
def _sees(path: str) -> bool:
    return Path(path).is_file()


def run_plan(plan: Plan) -> set[str]:
    """Run the plan's missing trials on the connected cluster; the folders of the trials run."""
    sweep = plan.sweep
    search, seeds = sweep.spec.search, sweep.spec.seeds
    progress = ConfigProgress(search.metric, seeds, plan.stored, plan.to_run, search.mode)
    lost = LostTrials(sweep.spec.max_failures)
    # The searcher shares the scheduler's pruned set: a pruned configuration's seeds never start.
    asha = seed_aware_scheduler(plan, lost)
    searcher = CellSearcher(plan, asha.pruned if asha else None, lost)
    return _fit_in_passes(sweep, searcher, progress, asha or LostTrialScheduler(lost))


def run_second_stage(stage: SecondStage) -> set[str]:
    """Run the test-stage trials whose dev stage has completed (nothing for Optuna to learn);
    the folders of the trials run."""
    sweep = stage.plan.sweep
    trials = stage_trials(stage)
    metric = "test_" + sweep.spec.search.metric.removeprefix("best_dev_")
    mode = sweep.spec.search.mode
    progress = ConfigProgress(metric, sweep.spec.seeds, stage.plan.stored, len(trials), mode)
    lost = LostTrials(sweep.spec.max_failures)
    return _fit_in_passes(sweep, TrialList(trials, lost), progress, LostTrialScheduler(lost))


def _fit_in_passes(
    sweep: Sweep, searcher: Searcher, progress: ConfigProgress, scheduler: TrialScheduler
) -> set[str]:
    """Tuner runs of at most ``trials_per_pass`` trials each until ``searcher`` says FINISHED;
    the folders of the trials run.

    Tune keeps every trial of a run in the driver (its config, last result and bookkeeping)
    until the run ends, so one run over a long plan grows the driver by the plan's length. A
    pass ends when its trials have, and its Tuner with them; the searcher, the scheduler and
    the progress view carry over, so the sweep runs the trials one unbroken run would."""
    folders: set[str] = set()
    with progress.shown():
        while True:
            one_pass = OnePass(searcher, sweep.spec.trials_per_pass)
            folders |= trial_folders(_fit(sweep, one_pass, progress, scheduler))
            gc.collect()  # Tune's trials hold reference cycles: free them before the next pass
            if one_pass.exhausted:
                return folders


def _fit(
    sweep: Sweep, searcher: Searcher, progress: ConfigProgress, scheduler: TrialScheduler
) -> tune.ResultGrid:
    """One Tuner run over the trials ``searcher`` hands out until it says FINISHED."""
    # With a search algorithm Tune keeps one trial pending by default, which runs the trials one
    # at a time; one suggestion round (every cell on every seed) may wait for resources at once.
    os.environ.setdefault(
        "TUNE_MAX_PENDING_TRIALS_PG", str(len(sweep.cells) * len(sweep.spec.seeds))
    )
    tuner = tune.Tuner(
        _trainable(sweep),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=-1,  # the searcher knows the count, retries of lost trials too
            # Off by default: a fresh process per trial, whose GPU memory ends with it.
            reuse_actors=sweep.spec.reuse_workers,
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name=sweep.spec.name,
            storage_path=sweep.storage_location,
            failure_config=tune.FailureConfig(max_failures=sweep.spec.max_failures),
            # One checkpoint per trial: its latest state, which also holds the best weights.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            callbacks=[progress, DropFinishedCheckpoints(), *_watch(sweep)],
            # Tune's own tables and trial reports only with --verbose (console.py); the driver
            # shows its progress view instead.
            verbose=1 if console.current().verbose else 0,
        ),
    )
    return tuner.fit()


def trial_folders(results: tune.ResultGrid) -> set[str]:
    """The folder names of the trials a Tuner pass ran."""
    return {PurePosixPath(result.path).name for result in results if result.path}


class DropFinishedCheckpoints(tune.Callback):
    """A completed trial's checkpoints are of no further use (its results are in result.json),
    nor are those of its unfinished earlier attempts (a lost driver's): deleting them keeps the
    disk a sweep needs to its running trials (plan/disk.py)."""

    def on_trial_complete(self, iteration: int, trials: list, trial: tune.experiment.Trial,
                          **info: object) -> None:  # fmt: skip
        fs, folder = trial.storage.storage_filesystem, trial.path or ""
        # Its own folder, and its earlier attempts' (whose folders hold the same key).
        experiment = str(PurePosixPath(folder).parent)
        for attempt in {folder, *attempts(fs, experiment, trial.config)}:
            for checkpoint in checkpoint_folders(fs, attempt):
                try:
                    fs.delete_dir(checkpoint)
                except OSError:  # gone already, or the storage briefly out of reach: disk only
                    continue


def _watch(sweep: Sweep) -> list[tune.Callback]:
    timeout = sweep.spec.hang_timeout_s
    return [] if timeout is None else [HangWatch(timeout)]


def _trainable(sweep: Sweep) -> tune.Trainable:
    """One process with the trial's resources, or a Ray Train run whose workers hold them. The
    trial itself then holds no CPU, so that its workers fit beside it; Tune needs it to hold
    something, and memory (bytes) is the one resource that costs no worker a place."""
    resources = sweep.spec.resources
    if resources.processes > 1:
        return tune.with_resources(run_ddp_trial, {"cpu": 0, "memory": 2**26})
    return tune.with_resources(run_trial, {"cpu": resources.cpus, "gpu": resources.gpus})


def _trial_name(trial: tune.experiment.Trial) -> str:
    config = trial.config
    prefix = folder_prefix(config["cell"], config["suggestion"], config["stage"], config["seed"])
    return f"{prefix}_{trial.trial_id}"
