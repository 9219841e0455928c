"""The word embeddings' backward inside ``emotrain.train``: torch's dense gradient against the
kept one (emotrain/speed/embedding_grad.py), side by side in one process.

The same MiniLM Demux training as ``bench/trainer_throughput.py``'s ``emotrain, fast`` (all
four speed options, batch 32, 2 threads), on the first ``--examples`` SemEval English training
tweets for ``--epochs`` epochs, run with each gradient in turn, ``--rounds`` times, under
``torch.profiler``. Prints, per run, the milliseconds per training step spent in the
embedding tables' backward (autograd's nodes for the lookups, everything under them included:
the word table's, and the small position and token-type tables') and in ``aten::fill_``
(zeroing), and ``train``'s own seconds; writes them as JSON. The profiler
slows every operation a little, alike for both; the step times are what to compare, as the
wall times of whole runs on a small shared machine vary by more than the difference.

    python bench/embedding_grad.py --data ../shared/data/semeval2018-ec [--rounds 2]

``--smoke``: a tiny random BERT on 32 demo tweets, one epoch, one round, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path
from typing import Any

from data_path import add_data_argument, data_root
from encoders import MINILM, TINY_BERT
from torch.profiler import ProfilerActivity, profile

from emotrain import TrainHooks, train

BACKWARD_NODES = ("EmbeddingBackward0", "_LookupBackward")  # torch's, and the kept gradient's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--examples", type=int, default=320)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="tiny BERT, demo data, seconds")
    parser.add_argument("--out", type=Path, default=Path("embedding_grad.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.smoke:
        args.examples, args.epochs, args.rounds = 32, 1, 1
    runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        for gradient in ("kept", "torch's"):
            runs.append(profiled(args, gradient))
            print(json.dumps(runs[-1]), flush=True)
    keys = ("embedding_backward_ms_per_step", "fill_ms_per_step", "train_seconds")
    summary = {
        gradient: {key: statistics.median(run[key] for run in runs if run["gradient"] == gradient)
                   for key in keys}
        for gradient in ("kept", "torch's")
    }  # fmt: skip
    for gradient, row in summary.items():
        print(f"{gradient:<8} embeddings' backward "
              f"{row['embedding_backward_ms_per_step']:6.1f} ms/step, fill_ "
              f"{row['fill_ms_per_step']:6.1f} ms/step, "
              f"train {row['train_seconds']:5.1f} s")  # fmt: skip
    args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=2))
    print(f"written to {args.out}")


def profiled(args: argparse.Namespace, gradient: str) -> dict[str, Any]:
    config = {
        "data": {"root": data_root(args), "language": "english", "train_limit": args.examples,
                 "eval_limit": 32},
        "model": {"encoder": TINY_BERT if args.smoke else {"name": MINILM}, "max_length": 64,
                  "top_layer_on_prompt": True, "fast_dropout": True},
        "optim": {"lr": 2e-4, "batch_size": 32, "max_epochs": args.epochs, "weight_decay": 0.0,
                  "group_by_length": True, "fused": True},
        "threads": 2, "cache_dir": "off", "device": "cpu", "seed": 0,
    }  # fmt: skip
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        result = train(config, hooks=TrainHooks(torch_embedding_grad=gradient != "kept"))
    events = prof.key_averages()
    backward = [e for e in events if e.key.startswith("autograd::engine::evaluate_function")
                and e.key.endswith(BACKWARD_NODES)]  # fmt: skip
    steps = -(-args.examples // 32) * result.epochs_run
    # The position and token-type tables go through torch's backward either way (~0.2 ms).
    lookup_ms = sum(e.cpu_time_total for e in backward) / 1e3
    fill_ms = sum(e.cpu_time_total for e in events if e.key == "aten::fill_") / 1e3
    return {
        "gradient": gradient, "steps": steps, "train_seconds": result.train_seconds,
        "embedding_backward_ms_per_step": lookup_ms / steps, "fill_ms_per_step": fill_ms / steps,
    }  # fmt: skip


if __name__ == "__main__":
    main()
