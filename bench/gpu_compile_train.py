"""``emotrain.train`` end to end on one CUDA GPU, eager against ``optim.compile``.

The same bert-base-sized Demux as ``bench/gpu_throughput.py`` (randomly initialised, bf16
autocast, batch 32, at most 64 tokens) trained on all of SemEval English train with dev
evaluated after every epoch, once per compile mode, one after the other in one process. The
timed part is ``train``'s own: the epochs with their evaluations, compilation included, so the
figure says after how many epochs compiling pays. A mode named twice trains twice, the second
time with the first's compiled code, as a reused Ray worker's next trial does. Prints one row
per mode and writes JSON.

    python bench/gpu_compile_train.py --data ../shared/data/semeval2018-ec --epochs 2
    python bench/gpu_compile_train.py --modes reduce-overhead,reduce-overhead
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from data_path import add_data_argument
from encoders import BERT_BASE

from emotrain import train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--modes", default="reduce-overhead,off", help="optim.compile values")
    parser.add_argument("--out", type=Path, default=Path("gpu_compile_train.json"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("error: bench/gpu_compile_train.py needs a CUDA GPU, and torch sees none",
              file=sys.stderr)  # fmt: skip
        return 2
    rows = []
    for mode in args.modes.split(","):
        rows.append(run(args, mode))
        args.out.write_text(json.dumps(rows, indent=2))  # what is done survives a timeout
    print(f"{'compile':<17}{'train s':>9}{'ex/s':>8}{'wall s':>8}{'dev jaccard':>13}")
    for row in rows:
        print(f"{row['compile']:<17}{row['train_seconds']:>9.1f}{row['train_ex_per_s']:>8.1f}"
              f"{row['wall_s']:>8.1f}{row['dev_jaccard']:>13.4f}")  # fmt: skip
    print(f"written to {args.out}")
    return 0


def run(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    config = {
        "data": {"root": str(args.data), "language": "english"},
        "model": {"encoder": BERT_BASE, "max_length": 64},
        "optim": {"batch_size": 32, "lr": 1e-4, "max_epochs": args.epochs, "precision": "bf16",
                  "compile": mode},
        "device": "cuda", "cache_dir": "off", "seed": 0,
    }  # fmt: skip
    started = time.perf_counter()
    result = train(config)
    return {
        "compile": mode, "gpu": torch.cuda.get_device_name(),
        "wall_s": time.perf_counter() - started, "train_seconds": result.train_seconds,
        "train_ex_per_s": result.train_examples_per_second, "history": result.history,
        "dev_macro_f1": result.best_dev.get("macro_f1"),
        "dev_jaccard": result.best_dev.get("jaccard"),
        "gpu_max_allocated_bytes": result.cost.gpu_max_allocated_bytes,
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
