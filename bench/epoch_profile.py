"""Where the time of a training epoch goes: ``emotrain.train`` (Demux with its four speed
options, ``emotrain, fast``) and the Hugging Face ``Trainer`` at its best, each under
``torch.profiler``, one after the other in one process.

The contenders, data and settings are those of bench/trainer_throughput.py: all-MiniLM-L6-v2,
the first 1,024 SemEval 2018 E-c English training tweets as (emotion prompt, tweet) pairs,
batch 32, 2 torch threads. Only training steps are profiled: emotrain's from its first batch
order to its first report, less the dev evaluation in between; the Trainer's
``trainer.train()``. Each operator's own time (self CPU time, on the thread that called it:
an operator's worker threads count as its own) goes to one group by its name, and the table
gives each group's milliseconds per step and share of the profiled time; "outside operators"
is the profiled wall time that no operator accounts for (Python, the data loader, the
dispatcher). The profiler slows small operators more than large ones, so the shares, not
the times, are the figure. From the profiler's FLOP counts it also gives the matrix products'
work per step and the speed they ran at: the work is the contenders' own, the speed the
machine's at that moment (it moves by several percent from one run to the next here).

    python bench/epoch_profile.py --data ../shared/data/semeval2018-ec [--repeats 3] \
        [--out epoch_profile.json]

With ``--repeats N`` the contenders alternate N times and each one's run with the median time
per step is shown (all runs are in the JSON). ``--smoke``: a tiny checkpoint in place of
MiniLM, one batch of the demo data (bench/contenders.py), in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from contenders import (
    BATCH_SIZE,
    TrainerData,
    add_contender_arguments,
    emotrain_config,
    smoke_setup,
    trainer_for,
)
from data_path import add_data_argument
from torch.autograd.profiler_util import FunctionEvent
from torch.profiler import ProfilerActivity, profile, record_function

from emotrain import TrainHooks, train
from emotrain.config import TrainConfig

EVALUATION = "bench: dev evaluation"  # the range that marks what is left out
EVAL_LIMIT = 128
PRODUCTS = "matrix products"
# aten operators by group, space separated; anything else is "other operators".
GROUPS: dict[str, str] = {
    PRODUCTS: "mm addmm bmm baddbmm _addmm_activation",
    "attention softmax": "_softmax _softmax_backward_data _safe_softmax",
    "GELU": "gelu gelu_backward",
    "LayerNorm": "native_layer_norm native_layer_norm_backward",
    "dropout draws": "bernoulli_ uniform_ random_ native_dropout rand",
    "AdamW": "_fused_adamw_ _foreach_add_ _foreach_mul_ _foreach_addcmul_",
    "embeddings": "embedding embedding_dense_backward embedding_backward index_select "
    "index_add_ index_put_ _index_put_impl_",
    "copies": "copy_ clone _to_copy contiguous cat",
    "zeroing": "fill_ zero_ zeros zeros_like empty empty_like",
    "element-wise": "add add_ mul mul_ div div_ sub rsub where masked_fill masked_fill_ sum "
    "mean neg pow sigmoid binary_cross_entropy_with_logits threshold_backward tanh "
    "tanh_backward exp lt ge gt le eq ne abs clamp clamp_min maximum minimum logical_and "
    "bitwise_and bitwise_right_shift to",
}
GROUP_OF = {f"aten::{name}": group for group, names in GROUPS.items() for name in names.split()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    add_contender_arguments(parser)
    parser.add_argument("--repeats", type=int, default=1, help="profiles per contender")
    parser.add_argument("--out", type=Path, default=Path("epoch_profile.json"))
    parser.set_defaults(epochs=1)  # one epoch each (the contenders' configs read it)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    with smoke_setup(args):
        profile_contenders(args)


def profile_contenders(args: argparse.Namespace) -> None:
    steps = -(-args.train_limit // BATCH_SIZE)
    contenders = {"emotrain, fast": emotrain_epoch, "Trainer, best": trainer_epoch}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    for _ in range(args.repeats):  # interleaved: a slower moment of the machine hits both
        for name, profiled in contenders.items():
            runs[name].append(summary(*profiled(args), steps))
            print(f"{name}: {runs[name][-1]['ms_per_step']:.1f} ms per step", flush=True)
    report = {name: runs[name][_median_run(runs[name])] for name in contenders}
    print(table(report))
    setup = {"steps": steps, "threads": args.threads, "torch": torch.__version__}
    shown = "each contender's run of median ms per step"
    args.out.write_text(json.dumps(setup | {"shown": shown, "profiles": report, "runs": runs},
                                   indent=2))  # fmt: skip
    print(f"written to {args.out}")


def _median_run(runs: list[dict[str, Any]]) -> int:
    """The index of the run with the median time per step (the lower middle of an even count)."""
    order = sorted(range(len(runs)), key=lambda i: runs[i]["ms_per_step"])
    return order[(len(order) - 1) // 2]


Profiled = tuple[list[FunctionEvent], float]  # the events left in, and their wall seconds


def emotrain_epoch(args: argparse.Namespace) -> Profiled:
    """``train``'s first epoch, through its hooks (emotrain/hooks.py): the profiler starts
    when the loop does and stops at the first report; the dev evaluation in between runs inside
    the EVALUATION range."""
    prof = profile(activities=[ProfilerActivity.CPU], with_flops=True)
    span: list[float] = []

    def loop_started() -> None:
        prof.start()
        span.append(time.perf_counter())

    def report(_: dict[str, float]) -> None:
        if len(span) == 1:
            prof.stop()
            span.append(time.perf_counter())

    def evaluation(split: str, examples: int) -> AbstractContextManager[object]:
        return record_function(EVALUATION) if len(span) == 1 else nullcontext()

    hooks = TrainHooks(loop_started=loop_started, evaluation=evaluation)
    # eval_limit: dev cut short, as its evaluation is left out anyway
    train(emotrain_config(args, EVAL_LIMIT, fast=True), report=report, hooks=hooks)
    events = [e for e in prof.events() if not _under(e, EVALUATION)]
    evaluation_us = sum(e.time_range.elapsed_us() for e in prof.events() if e.name == EVALUATION)
    return events, span[1] - span[0] - evaluation_us / 1e6


def trainer_epoch(args: argparse.Namespace) -> Profiled:
    config = emotrain_config(args, dev_size=None, fast=False)
    data = TrainerData.build(TrainConfig.model_validate(config))
    with (
        trainer_for(args, data, dynamic=True) as trainer,
        profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof,
    ):
        started = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - started
    return list(prof.events()), wall


def _under(event: FunctionEvent, name: str) -> bool:
    while event is not None:
        if event.name == name:
            return True
        event = event.cpu_parent
    return False


def summary(events: list[FunctionEvent], wall_s: float, steps: int) -> dict[str, Any]:
    """Milliseconds per step and share of the profiled wall time, by group."""
    spent: dict[str, float] = defaultdict(float)
    for event in events:
        if event.name.startswith("aten::"):
            spent[GROUP_OF.get(event.name, "other operators")] += event.self_cpu_time_total
    # Autograd's nodes and Python-level ranges hold the aten operators they call: only
    # operators' own time is counted above, and the rest of the wall time is outside them.
    spent["outside operators"] = max(0.0, wall_s * 1e6 - sum(spent.values()))
    total = sum(spent.values())
    groups = sorted(spent.items(), key=lambda item: -item[1])
    products = [e for e in events if GROUP_OF.get(e.name) == PRODUCTS]
    flops = sum(e.flops or 0 for e in products)
    return {
        "wall_s": wall_s,
        "ms_per_step": wall_s * 1e3 / steps,
        # The work the products do, and their speed: the same speed makes the same time.
        "product_gflop_per_step": flops / 1e9 / steps,
        "product_gflop_per_s": flops / 1e3 / max(spent[PRODUCTS], 1.0),
        "groups": {
            group: {"ms_per_step": us / 1e3 / steps, "share": us / total} for group, us in groups
        },
        "top_operators": _top_operators(events, steps),
    }


def _top_operators(events: list[FunctionEvent], steps: int, count: int = 12) -> dict[str, Any]:
    """The operators with the most own time: milliseconds and calls per step."""
    spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for event in events:
        if event.name.startswith("aten::"):
            spent[event.name][0] += event.self_cpu_time_total / 1e3 / steps
            spent[event.name][1] += 1 / steps
    ranked = sorted(spent.items(), key=lambda item: -item[1][0])[:count]
    return {name: {"ms_per_step": ms, "calls_per_step": calls} for name, (ms, calls) in ranked}


def table(report: dict[str, dict[str, Any]]) -> str:
    names = list(report)
    groups = list(dict.fromkeys(g for row in report.values() for g in row["groups"]))
    lines = [f"{'':<22}" + "".join(f"{name:>28}" for name in names)]
    for label, key, digits in (("ms per step (profiled)", "ms_per_step", 1),
                               ("product GFLOP per step", "product_gflop_per_step", 2),
                               ("product GFLOP/s", "product_gflop_per_s", 1)):  # fmt: skip
        lines.append(f"{label:<22}" + "".join(f"{report[n][key]:>28.{digits}f}" for n in names))
    for group in groups:
        cells = []
        for name in names:
            row = report[name]["groups"].get(group, {"ms_per_step": 0.0, "share": 0.0})
            cells.append(f"{row['ms_per_step']:>14.1f} ms {row['share']:>8.1%}  ")
        lines.append(f"{group:<22}" + "".join(cells))
    for name in names:
        lines.append(f"\n{name}, the operators with the most own time (ms and calls per step):")
        lines += [
            f"  {op:<36}{row['ms_per_step']:>9.1f}{row['calls_per_step']:>9.1f}"
            for op, row in report[name]["top_operators"].items()
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
