"""A trial of several data-parallel workers: Ray Train's TorchTrainer inside the Tune trial.

The Tune trial itself holds no CPU or GPU: it starts ``resources.processes`` Train workers
(gloo on CPUs, NCCL with one GPU each), which each call ``emotrain.train`` under
``torch.distributed``; ``train`` shards the data and gathers the evaluation, so the result
equals a single-process run with the same seed. Rank 0's reports reach Tune through Ray
Train's ``TuneReportCallback``. Checkpoints are Ray Train's, in ``train/`` inside the trial
folder of the storage: a failed worker group restarts from the latest (``max_failures``), and
a rerun after the driver was lost starts from an unfinished earlier attempt's (see trainable.py).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import ray.train
from ray.train.torch import TorchConfig, TorchTrainer
from ray.tune.integration.ray_train import TuneReportCallback

import emotrain
from emotrain.divergence import TrainingDiverged
from emotrain.train_state import LATEST
from orchestrator.trial.folder import FINAL, TRAIN_RUN
from orchestrator.trial.trainable import (
    earlier_attempt,
    epoch_reporter,
    mark_trial,
    record_failure,
    stored_trial_dir,
    where_it_ran,
)


def run_ddp_trial(config: dict[str, Any]) -> None:
    """The Tune trainable of a trial with ``config["workers"]`` > 1."""
    workers = config["workers"]
    mark_trial(config)
    earlier = earlier_attempt(config)
    trainer = TorchTrainer(
        _worker,
        train_loop_config={
            "train": config["train"],
            "earlier": earlier,
            "trial_dir": stored_trial_dir(config),
            "metric": config["metric"],
        },
        torch_config=TorchConfig(backend="nccl" if workers["gpus"] else "gloo"),
        scaling_config=ray.train.ScalingConfig(
            num_workers=workers["count"],
            use_gpu=bool(workers["gpus"]),
            resources_per_worker={"CPU": workers["cpus"], "GPU": workers["gpus"]},
        ),
        run_config=ray.train.RunConfig(
            name=TRAIN_RUN,
            # In the storage itself, where a retry on any node finds the checkpoints.
            storage_path=stored_trial_dir(config),
            failure_config=ray.train.FailureConfig(max_failures=config["max_failures"]),
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=1),
            callbacks=[TuneReportCallback()],
        ),
    )
    trainer.fit()


def _worker(loop_config: dict[str, Any]) -> None:
    """One rank: ``train`` from the latest checkpoint (this run's, else an earlier attempt's)."""
    state_dir = Path(tempfile.mkdtemp(prefix="emotrain-state-"))
    try:
        checkpoint = ray.train.get_checkpoint()
        if checkpoint is None and loop_config["earlier"] is not None:
            checkpoint = ray.train.Checkpoint(loop_config["earlier"])
        if checkpoint is not None:
            checkpoint.to_directory(str(state_dir / LATEST))
        report = epoch_reporter(state_dir, _to_train)
        try:
            result = emotrain.train(loop_config["train"], report, state_dir, save_last_epoch=False)
        except TrainingDiverged as err:
            # Every rank raises it at the same step (the check is collective), and a retry would
            # diverge again: the trial ends failed with the reason, as a one-process trial does.
            # (Not a ValueError, as a one-process trial: one rank alone may raise it while the
            # others wait on it in a collective; Ray Train ends the group instead.)
            if ray.train.get_context().get_world_rank() == 0:
                record_failure(loop_config["trial_dir"], err)
            ray.train.report({loop_config["metric"]: math.nan})
            return
        ray.train.report({**result.flat(), **where_it_ran(), FINAL: 1.0})
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def _to_train(metrics: dict[str, float], checkpoint: ray.train.Checkpoint | None) -> None:
    ray.train.report(metrics, checkpoint=checkpoint)
