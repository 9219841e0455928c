"""``train(config, report) -> TrainResult``: one seeded run (Demux or MEmo), top to bottom.

Seeds everything before the model is built, trains with AdamW and linear warm-up/decay,
evaluates dev after every epoch (``report`` gets those metrics), stops early on the dev metric,
restores the best weights and evaluates dev and test with them. No Ray here: the orchestrator
passes its own ``report``.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel
from transformers import PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from emotrain.checkpoint import save_model
from emotrain.config import EvalConfig, OptimConfig, TrainConfig
from emotrain.cost import CostMeter, RunCost
from emotrain.data.batches import batch_rows, collate
from emotrain.data.loading import load_splits
from emotrain.data.sampling import epoch_order, length_grouped
from emotrain.data.token_cache import default_cache_dir
from emotrain.data.types import EmotionData
from emotrain.device import Precision, check_precision, forward_precision, to_device
from emotrain.distributed import Workers
from emotrain.divergence import DivergenceWatch
from emotrain.emotion_sets import EmotionSet, ScoredSplit, freeze_rows, scored_split
from emotrain.eval_targets import EvalTarget, emotion_words, eval_targets
from emotrain.hooks import TrainHooks
from emotrain.inference import probabilities
from emotrain.losses import Objective
from emotrain.metrics import multilabel_metrics
from emotrain.models.factory import build_model
from emotrain.models.memo import memo_template
from emotrain.speed.compile import begin_step, check_compile, compiled, padded_length
from emotrain.speed.embedding_grad import keep_embedding_grad
from emotrain.train_state import TrainingState, load_state, save_state

log = logging.getLogger("emotrain")

Report = Callable[[dict[str, float]], None]


class TrainResult(BaseModel):
    """What one run produced. ``best_dev`` and ``test`` come from the restored best weights."""

    seed: int
    config_key: str
    trial_key: str
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    best_dev: dict[str, float]
    test: dict[str, float]
    history: list[dict[str, float]]
    train_seconds: float
    train_examples_per_second: float
    cost: RunCost  # the whole call's wall time, CPU time and peak memory

    def flat(self) -> dict[str, float]:
        """One flat row: run facts, cost (emotrain/cost.py), ``best_dev_<metric>`` and
        ``test_<metric>``."""
        return {
            "seed": self.seed,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "stopped_early": float(self.stopped_early),
            "train_seconds": self.train_seconds,
            "train_examples_per_second": self.train_examples_per_second,
            **self.cost.flat(),
            **_prefixed("best_dev_", self.best_dev),
            **_prefixed("test_", self.test),
        }


def train(
    config: TrainConfig | Mapping[str, Any],
    report: Report | None = None,
    state_dir: Path | None = None,
    *,
    save_last_epoch: bool = True,
    hooks: TrainHooks | None = None,
) -> TrainResult:
    """Train and evaluate one configuration. With ``state_dir`` the training state is saved
    after every epoch, and a run that finds a state there continues from it. A caller with no
    use for the finished state (the orchestrator's trial, which ends moments later) passes
    ``save_last_epoch=False``: no save after epoch ``max_epochs`` (for a bert-base, model,
    optimizer and best weights are 1.75 GB), so a rerun on that ``state_dir`` trains the last
    epoch again. ``hooks`` (emotrain/hooks.py) let a benchmark time or profile the run; the
    numbers are the same with them or without."""
    cfg = TrainConfig.model_validate(config)
    hooks = hooks or TrainHooks()
    meter = CostMeter()
    workers = start_run(cfg)

    # The data: what training scores, and what dev and test are scored on.
    data = load_data(cfg)
    train_set = training_set(cfg, data["train"].emotions)
    train_data = data["train"].select(train_set.names)
    targets = eval_targets(cfg, data)

    # The model, seeded, and the splits tokenized for it.
    model, tokenizer = build_run_model(cfg, workers, hooks, train_data, targets)
    cache = _cache_dir(cfg, "splits")
    train_split = scored_split(cfg, tokenizer, train_set, train_data, cache)
    eval_splits = {
        name: scored_split(cfg, tokenizer, target.emotions, target.data, cache, target.language)
        for name, target in targets.items()
    }
    # The training step, the scorer, the generator of the batch order, the evaluation records
    # (best weights, patience) and when the state is saved; a saved state resumes them.
    step = TrainStep.build(cfg, model, workers, train_data, train_split, [*eval_splits.values()])
    scores = Scorer(model, cfg, hooks)
    shuffle = torch.Generator().manual_seed(cfg.seed)
    tracker = _Tracker(cfg, workers)
    saver = StateSaver(state_dir, save_last_epoch, workers.main, cfg.optim.max_epochs)
    resume(state_dir, model, step, shuffle, tracker)

    # The epochs: a step per batch, and at each evaluation point dev scored, the state saved and
    # the metrics reported, until the epochs run out or dev stops improving.
    hooks.loop_started()
    started = time.perf_counter()
    for epoch in range(tracker.epochs_run + 1, cfg.optim.max_epochs + 1):
        step.net.train()
        batches = epoch_batches(cfg, train_split, train_data.languages, shuffle)
        for number, rows in enumerate(batches, 1):
            tracker.add_loss(*step(rows, epoch, number))
            epoch_end = number == step.steps_per_epoch
            if tracker.due(epoch_end, last=epoch_end and epoch == cfg.optim.max_epochs):
                step.divergence.check()  # before the diverged weights are evaluated or saved
                dev = scores("dev", eval_splits["dev"]) if cfg.stage == "dev" else {}
                metrics = tracker.record(epoch, dev, model)
                if saver.due(epoch, epoch_end):
                    saver.save(tracker.state(model, step.optimizer, step.scheduler, shuffle))
                if report is not None:  # on every rank: Ray Train's report is a barrier
                    report(metrics)
                step.net.train()
            if tracker.should_stop():
                break
        tracker.epochs_run = epoch
        if tracker.should_stop():
            break
    step.divergence.check()  # steps after the last evaluation
    seconds = time.perf_counter() - started

    # The best weights: restored, saved, and scored on dev and test.
    best = tracker.best
    if best is not None:
        model.load_state_dict(best.state)
    if cfg.output_dir is not None and workers.main:
        save_model(cfg.output_dir, model, tokenizer, cfg, train_set.names)
    best_dev = scores("best_dev", eval_splits["dev"]) if best is not None else {}
    test = scores("test", eval_splits["test"])
    return TrainResult(
        seed=cfg.seed,
        config_key=cfg.config_key(),
        trial_key=cfg.trial_key(),
        best_epoch=best.epoch if best is not None else tracker.epochs_run,
        epochs_run=tracker.epochs_run,
        stopped_early=tracker.epochs_run < cfg.optim.max_epochs,
        best_dev=best_dev,
        test=test,
        history=tracker.history,
        train_seconds=seconds,
        train_examples_per_second=tracker.examples_seen / seconds,
        cost=meter.measure(),  # after the final evaluations: they belong to the run's cost
    )


def start_run(cfg: TrainConfig) -> Workers:
    """This process's device and rank, checked first (a wrong device, precision or compile
    mode fails before any work), its thread count, and every random generator seeded."""
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    workers = Workers.current(cfg.device)
    check_precision(cfg.optim.precision, workers.device)
    check_compile(cfg.optim.compile, workers.device)
    seed_everything(cfg.seed)
    return workers


def load_data(cfg: TrainConfig) -> dict[str, EmotionData]:
    """Train, dev and test; in the protocol's second stage dev becomes training data."""
    data = load_splits(cfg.data, cache_dir=_cache_dir(cfg, "data"))
    if cfg.stage == "test":
        data["train"] = data["train"].concat(data["dev"])
    return data


def build_run_model(
    cfg: TrainConfig,
    workers: Workers,
    hooks: TrainHooks,
    train_data: EmotionData,
    targets: Mapping[str, EvalTarget],
) -> tuple[torch.nn.Module, PreTrainedTokenizerBase]:
    """The model and its tokenizer (a tiny encoder's is built from every text and prompt word
    the run will see), initialised on the CPU, so every device starts from the same weights,
    then moved to the run's device. Alone on the CPU and eager, the word embeddings' gradient
    is kept in one buffer (emotrain/speed/embedding_grad.py): the same numbers, faster."""
    template = memo_template(cfg.data.prompt_language, cfg.model.template)
    prompts = (word for target in targets.values() for word in target.prompt_words)
    corpus = [*train_data.texts, template, *prompts]
    model, tokenizer = build_model(cfg.model, corpus, len(train_data.emotions))
    model.to(workers.device)
    if cfg.optim.compile != "off" and getattr(model, "padding_free", False):
        # Compiled kernels need fixed shapes; the real tokens' count changes every batch.
        log.info("model.padding_free: not applied (optim.compile); the padded encoder runs")
        model.padding_free = False
    cpu_alone = workers.device.type == "cpu" and not workers.parallel
    if cpu_alone and cfg.optim.compile == "off" and not hooks.torch_embedding_grad:
        keep_embedding_grad(model, model.encoder.get_input_embeddings())
    return model, tokenizer


@dataclass
class TrainStep:
    """One optimiser step on this process's share of a global batch: the forward compiled or
    eager, under the configured precision, the loss watched for divergence, AdamW and its
    schedule, and the frozen embedding rows put back."""

    cfg: TrainConfig
    workers: Workers
    split: ScoredSplit
    inputs: dict[str, Any]  # what every forward pass reads beside the batch (the prompt)
    net: torch.nn.Module  # the model, or its DDP wrapper
    fast: Callable[..., Any]  # ``net`` compiled (or ``net`` itself)
    length: int | None  # what every batch is padded to (None: its longest row)
    objective: Objective
    optimizer: torch.optim.AdamW
    scheduler: torch.optim.lr_scheduler.LambdaLR
    restore_frozen: Callable[[], None]
    divergence: DivergenceWatch
    steps_per_epoch: int

    @classmethod
    def build(
        cls,
        cfg: TrainConfig,
        model: torch.nn.Module,
        workers: Workers,
        data: EmotionData,
        split: ScoredSplit,
        eval_splits: list[ScoredSplit],
    ) -> TrainStep:
        """The step training ``split`` (``data`` encoded); ``eval_splits`` only tell which
        emotion embeddings are frozen (``transfer.freeze_emotion_embeddings``)."""
        device = workers.device
        inputs = to_device(split.model_inputs, device)
        restore_frozen = _frozen_embeddings(cfg, model, [split, *eval_splits])
        objective = Objective.build(cfg.loss, data.labels, data.emotions).to(device)
        steps_per_epoch = -(-len(split.split) // cfg.optim.batch_size)
        fused = device.type == "cuda" or cfg.optim.fused
        optimizer, scheduler = build_optimizer(model, cfg.optim, steps_per_epoch, fused=fused)
        net = workers.wrap(model)  # DDP when torch.distributed is initialised, else the model
        return cls(
            cfg, workers, split, inputs, net,
            fast=compiled(net, cfg.optim.compile, _graph_key(cfg)),
            length=padded_length(cfg.optim.compile, cfg.model.max_length),
            objective=objective, optimizer=optimizer, scheduler=scheduler,
            restore_frozen=restore_frozen,
            divergence=DivergenceWatch(device, workers.parallel),
            steps_per_epoch=steps_per_epoch,
        )  # fmt: skip

    def __call__(self, rows: list[int], epoch: int, step: int) -> tuple[torch.Tensor, int]:
        """Train on the global batch ``rows``; this rank's loss and its number of examples."""
        mine, weight = self.workers.shard(rows)
        compile_mode, precision = self.cfg.optim.compile, self.cfg.optim.precision
        begin_step(compile_mode)
        batch = to_device(collate(self.split.split, mine, self.length), self.workers.device)
        labels = batch.pop("labels")
        # An epoch's short last batch runs eager: one more shape would mean one more compilation.
        forward = self.fast if len(rows) == self.cfg.optim.batch_size else self.net
        with forward_precision(self.workers.device, precision):
            output = forward(**batch, **self.inputs)
        loss = self.objective(output.logits, labels, output.emotion_states)
        self.divergence.watch(loss, epoch, step)
        self.optimizer.zero_grad(set_to_none=True)
        (loss * weight).backward()
        self.optimizer.step()
        self.scheduler.step()
        self.restore_frozen()
        return loss.detach(), len(labels) if weight else 0


def epoch_batches(
    cfg: TrainConfig, split: ScoredSplit, languages: list[str] | None, shuffle: torch.Generator
) -> Iterator[list[int]]:
    """An epoch's global batches of rows: shuffled (per language with multilingual data), and
    grouped by length if asked."""
    size = len(split.split)
    order = epoch_order(size, shuffle, languages, cfg.data.language_alpha)
    if cfg.optim.group_by_length:
        order = length_grouped(order, split.split.lengths, cfg.optim.batch_size, shuffle)
    return iter(batch_rows(size, cfg.optim.batch_size, order))


@dataclass(frozen=True)
class Scorer:
    """A split's metrics with the model as it is now, inside the ``evaluation`` hook."""

    model: torch.nn.Module
    cfg: TrainConfig
    hooks: TrainHooks

    def __call__(self, name: str, split: ScoredSplit) -> dict[str, float]:
        with self.hooks.evaluation(name, len(split.split)):
            return evaluate(self.model, split, self.cfg.eval, self.cfg.optim.precision)


@dataclass(frozen=True)
class StateSaver:
    """The training state saved at each epoch's end, by the main process only, into ``folder``
    if there is one; after the last epoch only if ``last_epoch``."""

    folder: Path | None
    last_epoch: bool
    main: bool
    max_epochs: int

    def due(self, epoch: int, epoch_end: bool) -> bool:
        wanted = self.last_epoch or epoch < self.max_epochs
        return epoch_end and self.folder is not None and self.main and wanted

    def save(self, state: TrainingState) -> None:
        assert self.folder is not None  # due() said so
        save_state(self.folder, state)


def resume(
    folder: Path | None,
    model: torch.nn.Module,
    step: TrainStep,
    shuffle: torch.Generator,
    tracker: _Tracker,
) -> None:
    """Continue from the state saved in ``folder``, if there is one: the weights, the optimizer,
    the schedule, the shuffling generator and the evaluation records."""
    resumed = load_state(folder)
    if resumed is None:
        return
    model.load_state_dict(resumed.model)
    step.optimizer.load_state_dict(resumed.optimizer)
    step.scheduler.load_state_dict(resumed.scheduler)
    shuffle.set_state(resumed.shuffle)
    tracker.restore(resumed.progress, resumed.best)


def training_set(cfg: TrainConfig, emotions: tuple[str, ...]) -> EmotionSet:
    """What training scores: the emotions without the held-out ones (evaluation scores every
    emotion, or clusters: eval_targets.py)."""
    excluded = cfg.transfer.exclude_emotions
    unknown = sorted(set(excluded) - set(emotions))
    if unknown:
        raise ValueError(f"transfer.exclude_emotions: unknown emotion {', '.join(unknown)}")
    kept = tuple(e for e in emotions if e not in excluded)
    if not kept:
        raise ValueError("transfer.exclude_emotions: every emotion is excluded")
    return EmotionSet.of_emotions(kept, prompt_words(cfg, kept))


def prompt_words(cfg: TrainConfig, emotions: tuple[str, ...]) -> list[str]:
    """SemEval's English names in the prompt language; other datasets' names are their words."""
    return emotion_words(cfg.data, emotions)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_optimizer(
    model: torch.nn.Module, optim: OptimConfig, steps_per_epoch: int, fused: bool = False
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with the head on its own learning rate; linear warm-up then linear decay.
    ``fused``: one kernel for the whole update (the model must already be on its device)."""
    groups = [
        {"params": list(model.encoder.parameters()), "lr": optim.lr},
        {"params": list(model.head.parameters()), "lr": optim.head_lr or optim.lr},
    ]
    # None, not False, without fused: torch's own choice, as before GPU support.
    optimizer = torch.optim.AdamW(groups, weight_decay=optim.weight_decay, fused=fused or None)
    total = steps_per_epoch * optim.max_epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(optim.warmup_ratio * total), total)
    return optimizer, scheduler


def evaluate(
    model: torch.nn.Module, scored: ScoredSplit, config: EvalConfig, precision: Precision = "fp32"
) -> dict[str, float]:
    """Metrics over the whole split and, for multilingual data, per language
    (``<language>_<metric>``), scored on the model's device. Under DDP each rank scores its
    share and all ranks get all."""
    workers = Workers.current()
    size = len(scored.split)
    mine = scored.split.subset(list(range(workers.rank, size, workers.world)))
    local = probabilities(model, mine, scored.model_inputs, config.batch_size, precision)
    predicted = workers.gather_rows(local, size) >= config.threshold
    gold = scored.split.labels.numpy()
    metrics = multilabel_metrics(gold, predicted, scored.names, config.zero_division)
    languages = np.asarray(scored.languages) if scored.languages is not None else None
    for language in dict.fromkeys(scored.languages or []):
        rows = languages == language
        scores = multilabel_metrics(gold[rows], predicted[rows], scored.names, config.zero_division)
        metrics |= {f"{language}_{name}": value for name, value in scores.items()}
    return metrics


def _cache_dir(cfg: TrainConfig, kind: str) -> Path | None:
    """Where the cache keeps ``kind``: ``data`` (loaded splits) or ``splits`` (tokenized)."""
    if cfg.cache_dir == "off":
        return None
    return (cfg.cache_dir or default_cache_dir()) / kind


def _graph_key(cfg: TrainConfig) -> str:
    """What shapes the compiled training step: the model, the data and emotions it reads, the
    precision and the compile mode (not the seed, the losses or the learning rates)."""
    shaping = [part.model_dump(mode="json") for part in (cfg.model, cfg.data, cfg.transfer)]
    return json.dumps([*shaping, cfg.optim.precision, cfg.optim.compile, cfg.stage])


def _frozen_embeddings(
    cfg: TrainConfig, model: torch.nn.Module, splits: list[ScoredSplit]
) -> Callable[[], None]:
    if not cfg.transfer.freeze_emotion_embeddings:
        return lambda: None
    token_ids = set().union(*(split.emotion_token_ids() for split in splits))
    return freeze_rows(model.encoder.get_input_embeddings(), token_ids)


class _Tracker:
    """Evaluation points, the per-evaluation records, the best weights and patience.

    Dev is evaluated after every epoch, or every ``eval.every_steps`` optimiser steps; patience
    counts evaluations. In the protocol's second stage there is no dev: records carry the
    training loss only and the last weights are kept."""

    def __init__(self, cfg: TrainConfig, workers: Workers) -> None:
        self.cfg, self.workers = cfg, workers
        self.history: list[dict[str, float]] = []
        self.best: _Best | None = None
        self.steps = self.since_best = self.epochs_run = self.examples_seen = 0
        self._loss, self._count = 0.0, 0

    def state(self, model: torch.nn.Module, optimizer: Any, scheduler: Any,
              shuffle: torch.Generator) -> TrainingState:  # fmt: skip
        progress = {
            "history": self.history, "steps": self.steps, "since_best": self.since_best,
            "epochs_run": self.epochs_run, "examples_seen": self.examples_seen,
            "loss": float(self._loss), "count": self._count,
            "best": None if self.best is None else
            {"epoch": self.best.epoch, "score": self.best.score, "dev": self.best.dev},
        }  # fmt: skip
        best = None if self.best is None else self.best.state
        return TrainingState(model.state_dict(), optimizer.state_dict(), scheduler.state_dict(),
                             shuffle.get_state(), progress, best)  # fmt: skip

    def restore(self, progress: dict[str, Any], best: dict[str, torch.Tensor] | None) -> None:
        self.history = progress["history"]
        self.steps, self.since_best = progress["steps"], progress["since_best"]
        self.epochs_run, self.examples_seen = progress["epochs_run"], progress["examples_seen"]
        self._loss, self._count = progress["loss"], progress["count"]
        if progress["best"] is not None and best is not None:
            self.best = _Best(**progress["best"], state=best)

    def add_loss(self, loss: torch.Tensor, size: int) -> None:
        self._loss, self._count = self._loss + loss * size, self._count + size
        self.steps += 1
        self.examples_seen += size

    def due(self, epoch_end: bool, last: bool = False) -> bool:
        """Whether dev is evaluated after this step: every ``eval.every_steps`` steps, and at
        the end of the last epoch whatever the count (a run shorter than the interval, or its
        last steps, would otherwise go unscored); else at every epoch's end."""
        every = self.cfg.eval.every_steps
        return (self.steps % every == 0 or last) if every else epoch_end

    def record(self, epoch: int, dev: dict[str, float], model: torch.nn.Module) -> dict[str, float]:
        """Add an evaluation; returns what to report."""
        self.epochs_run = epoch
        record = {"epoch": epoch, "step": self.steps, "train_loss": self._mean_loss()}
        self._loss, self._count = 0.0, 0
        record |= _prefixed("dev_", dev)
        self.history.append(record)
        if not dev:
            return record
        key = self.cfg.eval.early_stop_metric
        if self.best is None or dev[key] > self.best.score:
            self.best = _Best(epoch, dev[key], dev, _copy_state(model))
            self.since_best = 0
        else:
            self.since_best += 1
        best = _prefixed("best_dev_", self.best.dev)
        return {**record, "best_epoch": self.best.epoch, **best}

    def _mean_loss(self) -> float:
        """The mean training loss since the last record, over every rank's examples."""
        # On the device: NCCL reduces GPU tensors only.
        totals = torch.tensor([float(self._loss), float(self._count)], dtype=torch.float64,
                              device=self.workers.device)  # fmt: skip
        if self.workers.parallel:
            torch.distributed.all_reduce(totals)
        return float(totals[0] / totals[1])

    def should_stop(self) -> bool:
        return self.best is not None and self.since_best >= self.cfg.optim.patience


@dataclass
class _Best:
    epoch: int
    score: float
    dev: dict[str, float]
    state: dict[str, torch.Tensor]


def _copy_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def _prefixed(prefix: str, metrics: Mapping[str, float]) -> dict[str, float]:
    return {f"{prefix}{name}": value for name, value in metrics.items()}
