"""``train(config, report) -> TrainResult``: one seeded Demux run, read top to bottom.

Seeds everything before the model is built, trains with AdamW and linear warm-up/decay,
evaluates dev after every epoch (``report`` gets those metrics), stops early on the dev metric,
restores the best weights and evaluates dev and test with them. No Ray here: the orchestrator
passes its own ``report``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel
from transformers import get_linear_schedule_with_warmup

from emotrain.config import EvalConfig, OptimConfig, TrainConfig
from emotrain.data.batches import EncodedSplit, batches, encode_pairs
from emotrain.data.loading import load_splits
from emotrain.emotions import emotion_word
from emotrain.losses import Objective
from emotrain.metrics import multilabel_metrics
from emotrain.models.demux import Demux
from emotrain.models.encoder import build_encoder
from emotrain.models.prompt import EmotionPrompt, pooling_matrix

Report = Callable[[dict[str, float]], None]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says when."""


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

    def flat(self) -> dict[str, float]:
        """One flat row: run facts, ``best_dev_<metric>`` and ``test_<metric>``."""
        return {
            "seed": self.seed,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "stopped_early": float(self.stopped_early),
            "train_seconds": self.train_seconds,
            "train_examples_per_second": self.train_examples_per_second,
            **_prefixed("best_dev_", self.best_dev),
            **_prefixed("test_", self.test),
        }


def train(config: TrainConfig | Mapping[str, Any], report: Report | None = None) -> TrainResult:
    cfg = TrainConfig.model_validate(config)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)

    data = load_splits(cfg.data)
    emotions = data["train"].emotions
    prompt = EmotionPrompt.build(
        [emotion_word(e, cfg.data.language) for e in emotions], cfg.data.language
    )
    encoder, tokenizer = build_encoder(
        cfg.model.encoder, [*data["train"].texts, prompt.text], cfg.model.max_length
    )
    model = Demux(encoder, cfg.model.dropout)
    encoded = {
        name: encode_pairs(tokenizer, prompt, split.texts, split.labels, cfg.model.max_length)
        for name, split in data.items()
    }
    pooling = pooling_matrix(encoded["train"].positions)
    objective = Objective.build(cfg.loss, data["train"].labels)
    steps_per_epoch = -(-len(encoded["train"]) // cfg.optim.batch_size)
    optimizer, scheduler = build_optimizer(model, cfg.optim, steps_per_epoch)
    shuffle = torch.Generator().manual_seed(cfg.seed)

    key = cfg.eval.early_stop_metric
    best: _Best | None = None
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(1, cfg.optim.max_epochs + 1):
        model.train()
        train_loss = 0.0
        for step, batch in enumerate(batches(encoded["train"], cfg.optim.batch_size, shuffle)):
            labels = batch.pop("labels")
            loss = objective(model(**batch, pooling=pooling).logits, labels)
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"loss is {loss.item()} at epoch {epoch}, step {step + 1}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            train_loss += loss.detach() * len(labels)
        dev = evaluate(model, encoded["dev"], pooling, cfg.eval, emotions)
        record = {"epoch": epoch, "train_loss": float(train_loss) / len(encoded["train"])}
        record |= _prefixed("dev_", dev)
        history.append(record)
        if best is None or dev[key] > best.score:
            best = _Best(epoch, dev[key], dev, _copy_state(model))
        if report is not None:
            report({**record, "best_epoch": best.epoch, **_prefixed("best_dev_", best.dev)})
        if epoch - best.epoch >= cfg.optim.patience:
            break
    seconds = time.perf_counter() - started

    assert best is not None  # max_epochs >= 1
    model.load_state_dict(best.state)
    return TrainResult(
        seed=cfg.seed,
        config_key=cfg.config_key(),
        trial_key=cfg.trial_key(),
        best_epoch=best.epoch,
        epochs_run=len(history),
        stopped_early=len(history) < cfg.optim.max_epochs,
        best_dev=evaluate(model, encoded["dev"], pooling, cfg.eval, emotions),
        test=evaluate(model, encoded["test"], pooling, cfg.eval, emotions),
        history=history,
        train_seconds=seconds,
        train_examples_per_second=len(history) * len(encoded["train"]) / seconds,
    )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_optimizer(
    model: Demux, optim: OptimConfig, steps_per_epoch: int
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with the head on its own learning rate; linear warm-up then linear decay."""
    groups = [
        {"params": list(model.encoder.parameters()), "lr": optim.lr},
        {"params": list(model.head.parameters()), "lr": optim.head_lr or optim.lr},
    ]
    optimizer = torch.optim.AdamW(groups, weight_decay=optim.weight_decay)
    total = steps_per_epoch * optim.max_epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(optim.warmup_ratio * total), total)
    return optimizer, scheduler


def evaluate(
    model: Demux,
    split: EncodedSplit,
    pooling: torch.Tensor,
    config: EvalConfig,
    emotions: tuple[str, ...],
) -> dict[str, float]:
    model.eval()
    predicted = []
    with torch.inference_mode():
        for batch in batches(split, config.batch_size):
            batch.pop("labels")
            logits = model(**batch, pooling=pooling).logits
            predicted.append(torch.sigmoid(logits) >= config.threshold)
    matrix = torch.cat(predicted).numpy()
    return multilabel_metrics(split.labels.numpy(), matrix, emotions, config.zero_division)


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
