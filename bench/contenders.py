"""What the training benchmarks share: the tiny checkpoint that stands in for MiniLM in their
``--smoke`` runs, a timer, and the two sides of bench/trainer_throughput.py (also profiled by
bench/epoch_profile.py): emotrain's MiniLM configuration and the Hugging Face ``Trainer`` built
on exactly the inputs Demux sees."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from data_path import data_root
from encoders import MINILM, TINY_BERT
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EvalPrediction,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    default_data_collator,
    set_seed,
)

from emotrain.config import TrainConfig
from emotrain.data.config import DataConfig
from emotrain.data.loading import load_splits
from emotrain.metrics import multilabel_metrics
from emotrain.models.config import EncoderConfig
from emotrain.models.encoder import build_encoder, resolve_encoder_name
from emotrain.models.prompt import EmotionPrompt
from emotrain.training import training_set

# trainer_throughput's setting, every contender alike.
TRAIN_LIMIT = 1024
BATCH_SIZE = 32
EVAL_BATCH_SIZE = 128
LR = 5e-5
MAX_LENGTH = 64
WARMUP_RATIO = 0.1
SEED = 0
SMOKE_TRAIN_LIMIT = 32  # one batch: the whole code path, in seconds


def tiny_checkpoint(folder: Path) -> str:
    """A randomly initialised one-layer BERT saved as a Hugging Face checkpoint in ``folder``,
    with a WordPiece vocabulary of the demo data: what ``--smoke`` loads by name in place of
    MiniLM, through the same ``from_pretrained`` calls (no download, seconds to train)."""
    train = load_splits(DataConfig(root=None), ("train",))["train"]
    corpus = [*train.texts, " ".join(train.emotions)]
    model, tokenizer = build_encoder(EncoderConfig(**TINY_BERT), corpus, MAX_LENGTH)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def add_contender_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=2, help="torch threads, every contender")
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate, every contender")
    smoke = "a tiny checkpoint on the demo data: the whole code path in seconds"
    parser.add_argument("--smoke", action="store_true", help=smoke)
    parser.set_defaults(encoder=MINILM, train_limit=TRAIN_LIMIT)


@contextmanager
def minilm_or_tiny(smoke: bool) -> Iterator[str]:
    """The encoder's name: MiniLM's, or with ``--smoke`` the tiny checkpoint's folder (removed
    afterwards)."""
    if not smoke:
        yield MINILM
        return
    with tempfile.TemporaryDirectory(prefix="emosweep-smoke-") as folder:
        yield tiny_checkpoint(Path(folder))


@contextmanager
def smoke_setup(args: argparse.Namespace) -> Iterator[None]:
    """With ``--smoke``: the tiny checkpoint and one batch of demo data."""
    with minilm_or_tiny(args.smoke) as encoder:
        args.encoder = encoder
        if args.smoke:
            args.train_limit = SMOKE_TRAIN_LIMIT
        yield


class Timer:
    """Wall and process CPU time of a ``with`` block."""

    def __enter__(self) -> Timer:
        self.started, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds = time.process_time() - self._cpu


def emotrain_config(
    args: argparse.Namespace, dev_size: int | None, fast: bool, padded: bool = False
) -> dict[str, Any]:
    """``fast``: every speed option set on, group_by_length too; ``padded``: the defaults but
    model.padding_free off (the encoder computes the padding too)."""
    optim: dict[str, Any] = {
        "lr": args.lr, "batch_size": BATCH_SIZE, "max_epochs": args.epochs, "patience": args.epochs,
        "warmup_ratio": WARMUP_RATIO, "weight_decay": 0.0,
    }  # fmt: skip
    model: dict[str, Any] = {"encoder": {"name": args.encoder}, "max_length": MAX_LENGTH}
    if fast:  # only when asked: the defaults contender sets no option
        optim |= {"group_by_length": True, "fused": True}
        model |= {"top_layer_on_prompt": True, "fast_dropout": True, "padding_free": True}
    if padded:
        model |= {"padding_free": False}
    data = {"root": data_root(args), "language": "english", "train_limit": args.train_limit}
    return {
        # eval_limit = dev's size: dev whole, test (not compared) no longer than dev
        "data": data | {"eval_limit": dev_size},
        "model": model,
        "optim": optim,
        "eval": {"threshold": 0.5, "batch_size": EVAL_BATCH_SIZE},
        "seed": SEED,
        "threads": args.threads,
        "cache_dir": "off",  # tokenization is not timed; "off" keeps the user's cache untouched
        "device": "cpu",
    }


class TrainerData:
    """emotrain's own texts, labels and prompt for the Trainer, tokenized as Demux does."""

    def __init__(self, cfg: TrainConfig, names: tuple[str, ...], prompt: str,
                 splits: dict[str, tuple[list[str], np.ndarray]]) -> None:  # fmt: skip
        self.cfg, self.names, self.prompt, self.splits = cfg, names, prompt, splits
        self.source = resolve_encoder_name(cfg.model.encoder.name or "")
        self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(self.source)

    @classmethod
    def build(cls, cfg: TrainConfig) -> TrainerData:
        data = load_splits(cfg.data, ("train", "dev"))
        emotions = training_set(cfg, data["train"].emotions)
        words = [word for group in emotions.words for word in group]
        prompt = EmotionPrompt.build(words, cfg.data.prompt_language).text
        splits = {}
        for name, split in data.items():
            chosen = split.select(emotions.names)
            splits[name] = (chosen.texts, chosen.labels)
        return cls(cfg, emotions.names, prompt, splits)

    def rows(self, split: str, pad_to_max: bool) -> list[dict[str, Any]]:
        texts, labels = self.splits[split]
        encoding = self.tokenizer(
            [self.prompt] * len(texts), texts, truncation="only_second", max_length=MAX_LENGTH,
            padding="max_length" if pad_to_max else False,
        )  # fmt: skip
        return [
            {**{key: values[i] for key, values in encoding.items()},
             "labels": labels[i].astype(np.float32).tolist()}
            for i in range(len(texts))
        ]  # fmt: skip


@contextmanager
def trainer_for(args: argparse.Namespace, data: TrainerData, dynamic: bool) -> Iterator[Trainer]:
    """The Trainer contender (``dynamic``: its best setting, else padded to 64), built as
    described above, its output folder removed afterwards."""
    train_rows = data.rows("train", pad_to_max=not dynamic)
    dev_rows = data.rows("dev", pad_to_max=not dynamic)
    set_seed(SEED)  # before the model: the classifier's initial weights
    model = AutoModelForSequenceClassification.from_pretrained(
        data.source, num_labels=len(data.names), problem_type="multi_label_classification",
        trust_remote_code=False,
    )  # fmt: skip
    names = data.names

    def compute_metrics(prediction: EvalPrediction) -> dict[str, float]:
        logits = torch.as_tensor(np.asarray(prediction.predictions))
        predicted = (torch.sigmoid(logits) >= 0.5).numpy()
        gold = np.asarray(prediction.label_ids)
        return multilabel_metrics(gold, predicted, names, zero_division=0)

    with tempfile.TemporaryDirectory() as output_dir:
        arguments = TrainingArguments(
            output_dir=output_dir, use_cpu=True, seed=SEED, num_train_epochs=args.epochs,
            per_device_train_batch_size=BATCH_SIZE, per_device_eval_batch_size=EVAL_BATCH_SIZE,
            learning_rate=args.lr, weight_decay=0.0, lr_scheduler_type="linear",
            # transformers 5: a float below 1 is a ratio of the total steps.
            warmup_steps=WARMUP_RATIO, max_grad_norm=0.0,
            train_sampling_strategy="group_by_length" if dynamic else "random",
            eval_strategy="no", save_strategy="no", report_to="none", disable_tqdm=True,
            logging_strategy="no", dataloader_num_workers=0,
        )  # fmt: skip
        collator = DataCollatorWithPadding(data.tokenizer) if dynamic else default_data_collator
        yield Trainer(
            model=model, args=arguments, train_dataset=train_rows, eval_dataset=dev_rows,
            data_collator=collator, compute_metrics=compute_metrics,
        )  # fmt: skip
