"""Trials packed per GPU, measured at the sweep: ``orchestrator.run`` with ``resources.gpus``
of 1, 1/2, 1/4, ... on one machine, the same trials each time.

``bench/gpu_throughput.py --share`` times N bare training processes sharing a GPU; this runs
whole sweeps through the local Ray instead, so Ray's fractional-GPU placement, each trial's
model building, data loading and dev evaluation, and Tune's scheduling are all in the figure.
Each sweep trains the same ``--trials`` trials (grid cells of ``loss.alpha``, seed 0) of Demux
on SemEval 2018 E-c English for ``--epochs`` epoch(s), workers reused, in a storage of its
own. Per packing level it reports the sweep's wall time, its start-up (to the first trial's
start, as in ``bench/orchestration_overhead.py``), trials per hour and training examples per
second over the trials' span, against one trial per GPU; and the spread of the trials' best
dev Jaccard across levels (the same trials: on a GPU, equal up to non-deterministic kernels).

    python bench/gpu_sweep.py --data <SemEval 2018 E-c root> [--share 1,4,8] [--trials 8] \
        [--encoder bert-base] [--device cuda] [--out gpu_sweep.json]

``--device cpu`` (with ``--encoder tiny``) runs the same plumbing without a GPU: ``gpus: 0``
and the machine's CPUs split between the packed trials. Each level's row is written to
``--out`` as soon as it is measured. ``--smoke``: that plumbing in seconds, 2 trials packed 2
to the machine, on 64 demo tweets (no ``--data``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from encoders import BERT_BASE, SMALL_BERT
from local_sweeps import driver_command, trial_start

ENCODERS = {"bert-base": BERT_BASE, "tiny": SMALL_BERT}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="SemEval 2018 E-c root (required)")
    parser.add_argument("--share", default="1,4,8", help="trials per GPU, one sweep each")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--encoder", choices=sorted(ENCODERS), default="bert-base")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs per trial on a GPU")
    parser.add_argument("--smoke", action="store_true", help="CPU plumbing, demo data, seconds")
    parser.add_argument("--out", type=Path, default=Path("gpu_sweep.json"))
    args = parser.parse_args()
    if args.smoke:
        args.device, args.encoder, args.share, args.trials = "cpu", "tiny", "2", 2
    elif args.data is None:
        parser.error("--data is required (or --smoke)")
    figures: dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()},
                               "machine": machine(args.device), "levels": []}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="emosweep-gpu-sweep-") as folder:
        for share in (int(value) for value in args.share.split(",")):
            spec = sweep_spec(Path(folder) / f"share{share}", args, share)
            figures["levels"].append(run_sweep(Path(folder) / f"share{share}", spec, share))
            compare(figures["levels"])
            args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
            print(render(figures["levels"][-1]), flush=True)
    return 0


def sweep_spec(folder: Path, args: argparse.Namespace, share: int) -> dict[str, Any]:
    on_gpu = args.device == "cuda"
    cpus = args.cpus if on_gpu else max(1, (os.cpu_count() or 1) // share)
    data = {"root": None, "train_limit": 64} if args.smoke else {"root": str(args.data.resolve())}
    return {
        "name": "packing",
        "base": {
            "data": data | {"language": "english"},
            "model": {"kind": "demux", "encoder": ENCODERS[args.encoder], "max_length": 64},
            "loss": {"local": "intra"},
            "optim": {"lr": 1e-4, "batch_size": 32, "max_epochs": args.epochs,
                      "precision": "bf16" if on_gpu else "fp32"},
            "device": args.device,
        },
        "grid": {"loss.alpha": [round(0.05 * (cell + 1), 2) for cell in range(args.trials)]},
        "seeds": [0],
        "resources": {"cpus": cpus, "gpus": round(1 / share, 6) if on_gpu else 0},
        "reuse_workers": True,
        "storage": str(folder / "results"),
    }  # fmt: skip


def run_sweep(folder: Path, spec: dict[str, Any], share: int) -> dict[str, Any]:
    folder.mkdir(parents=True)
    sweep = folder / "packing.yaml"
    sweep.write_text(yaml.safe_dump(spec), encoding="utf-8")
    log = folder / "driver.log"
    launched = time.time()
    with log.open("w") as output:
        done = subprocess.run(driver_command(sweep), stdout=output, stderr=subprocess.STDOUT,
                              check=False)  # fmt: skip
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"the sweep failed ({done.returncode}):\n{log.read_text()[-3000:]}")
    experiment = Path(spec["storage"]) / "packing"
    trials = pd.read_parquet(experiment / "trials.parquet")
    starts = [trial_start(path.parent) for path in experiment.glob("*/result.json")]
    steady = ended - min(starts)
    speeds = trials["train_examples_per_second"]
    examples = float((speeds * trials["train_seconds"]).sum())
    memory = pd.Series(trials.get("gpu_max_allocated_bytes", [0])).fillna(0)  # NaN on a CPU
    return {
        "trials_per_gpu": share,
        "resources": spec["resources"],
        "completed": int((trials["status"] == "completed").sum()),
        "wall_s": round(ended - launched, 1),
        "startup_s": round(min(starts) - launched, 1),
        "trials_per_hour": round(len(trials) / steady * 3600, 1),
        "train_examples_per_s": round(examples / steady, 1),
        "per_trial_train_examples_per_s": round(float(speeds.mean()), 1),
        "gpu_max_allocated_gib": round(float(memory.max()) / 2**30, 2),
        "best_dev_jaccard": dict(zip(trials["trial_key"], trials["best_dev_jaccard"], strict=True)),
    }  # fmt: skip


def compare(levels: list[dict[str, Any]]) -> None:
    """Each level against the first (one trial per GPU): throughput ratios and how far its
    trials' dev Jaccard lies from the same trials' there."""
    first, last = levels[0], levels[-1]
    last["vs_first_trials_per_hour"] = round(last["trials_per_hour"] / first["trials_per_hour"], 2)
    shared = set(first["best_dev_jaccard"]) & set(last["best_dev_jaccard"])
    last["max_dev_jaccard_difference"] = max(
        (abs(first["best_dev_jaccard"][k] - last["best_dev_jaccard"][k]) for k in shared),
        default=None,
    )


def machine(device: str) -> dict[str, Any]:
    import torch

    gpu = torch.cuda.get_device_name(0) if device == "cuda" else None
    return {"gpu": gpu, "cpus": os.cpu_count(), "torch": torch.__version__}


def render(level: dict[str, Any]) -> str:
    return (
        f"{level['trials_per_gpu']} per GPU ({level['resources']}): {level['completed']} "
        f"completed, wall {level['wall_s']} s (start-up {level['startup_s']} s), "
        f"{level['trials_per_hour']} trials/h ({level['vs_first_trials_per_hour']}x), "
        f"{level['train_examples_per_s']} ex/s in all, {level['per_trial_train_examples_per_s']} "
        f"per trial, dev Jaccard within {level['max_dev_jaccard_difference']}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
