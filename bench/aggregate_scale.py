"""Aggregation at scale: the time and peak memory of writing the tables of a large experiment.

For each size (1,000, 2,500, 5,000 and 10,000 trials by default) a synthetic experiment folder
is generated in the exact formats a real sweep leaves (Tune's ``params.json`` with the full
training config, ``result.json`` with one line per epoch and a final line with the test
metrics and Tune's own fields, and the experiment's ``sweep.json``; the training is not run,
the metric values are random). 4 grid cells x N/8 suggestions x 2 seeds. Then, each in a fresh
process so that its peak resident memory (``ru_maxrss``) is its own:

- **cold**: ``write_tables`` with no row cache: every trial folder is read (the files are in the
  page cache: this is the parsing and table cost, not the disk's);
- **+100**: 100 new trial folders are added, and ``write_tables`` runs again: the incremental
  path, which reads the 100 new folders and takes the others' rows from the cache.

Prints a table (time per trial and its ratio to the smallest size, to show linear growth) and
writes the figures as JSON:

    python bench/aggregate_scale.py [--sizes 1000,2500,5000,10000] [--out aggregate_scale.json]

``--smoke``: 20 trials, then 10 more, in seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NEW_TRIALS = 100
SEEDS = (0, 1)
CELLS = ("local-inter_weights-one", "local-inter_weights-rho", "local-intra_weights-one",
         "local-intra_weights-rho")  # fmt: skip
EMOTIONS = ("anger", "anticipation", "disgust", "fear", "joy", "love", "optimism", "pessimism",
            "sadness", "surprise", "trust")  # fmt: skip
METRICS = ("jaccard", "micro_f1", "macro_f1", *(f"{emotion}_f1" for emotion in EMOTIONS))
EPOCHS = 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,2500,5000,10000", help="trial counts")
    parser.add_argument("--smoke", action="store_true", help="20 trials + 10, seconds")
    parser.add_argument("--out", type=Path, default=Path("aggregate_scale.json"))
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's folder
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.cold)))
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    new = NEW_TRIALS
    if args.smoke:
        sizes, new = [20], 10
    rows = []
    with tempfile.TemporaryDirectory(prefix="emosweep-aggregate-") as folder:
        for size in sizes:
            rows.append(run_size(Path(folder) / f"scale{size}", size, new))
    figures = {"new_trials": new, "sizes": rows, "machine": machine()}
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(render(rows))
    return 0


def run_size(experiment: Path, size: int, new: int = NEW_TRIALS) -> dict[str, Any]:
    started = time.perf_counter()
    generate(experiment, size, first=0)
    generated = time.perf_counter() - started
    cold = _child(experiment, cold=True)
    generate(experiment, new, first=size)
    incremental = _child(experiment, cold=False)
    cache = (experiment / ".trial_rows.parquet").stat().st_size
    shutil.rmtree(experiment)
    return {
        "trials": size,
        "generate_seconds": round(generated, 2),
        "cold_seconds": cold["seconds"],
        "cold_cpu_seconds": cold["cpu_seconds"],
        "cold_ms_per_trial": round(1000 * cold["seconds"] / size, 3),
        "cold_cpu_ms_per_trial": round(1000 * cold["cpu_seconds"] / size, 3),
        "cold_peak_rss_mib": cold["peak_rss_mib"],
        "cold_rss_growth_mib": cold["rss_growth_mib"],
        "incremental_seconds": incremental["seconds"],
        "incremental_cpu_seconds": incremental["cpu_seconds"],
        "incremental_peak_rss_mib": incremental["peak_rss_mib"],
        "incremental_over_cold": round(incremental["seconds"] / cold["seconds"], 3),
        "cache_mib": round(cache / 2**20, 2),
    }


def _child(experiment: Path, cold: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--measure", str(experiment), *(["--cold"] * cold)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(experiment: Path, cold: bool) -> dict[str, float]:
    """In a fresh process: one write_tables, its wall time and the memory it added."""
    from orchestrator.results.tables import write_tables

    if cold:
        (experiment / ".trial_rows.parquet").unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    write_tables(experiment)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    # CPU time as well as wall time: on a shared machine the wall time also counts the
    # time other processes held the CPUs.
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_rss_mib": round(after.ru_maxrss / 1024, 1),  # KiB on Linux
        "rss_growth_mib": round((after.ru_maxrss - before.ru_maxrss) / 1024, 1),
    }


def generate(experiment: Path, count: int, first: int) -> None:
    """``count`` trial folders, numbered from ``first``, and the experiment's sweep.json."""
    experiment.mkdir(parents=True, exist_ok=True)
    (experiment / "sweep.json").write_text(json.dumps(sweep_record(experiment), indent=2))
    chooser = random.Random(first)
    for number in range(first, first + count):
        seed = SEEDS[number % len(SEEDS)]
        config = number // len(SEEDS)
        cell = CELLS[config % len(CELLS)]
        suggestion = config // len(CELLS)
        params = trial_params(experiment, cell, suggestion, seed, config, chooser)
        trial_id = f"{number:08x}"
        trial_dir = experiment / f"{cell}_q{suggestion}_seed{seed}_{trial_id}"
        trial_dir.mkdir()
        # Tune writes params.json with indent 2 and sorted keys, result.json as JSON lines.
        text = json.dumps(params, indent=2, sort_keys=True)
        (trial_dir / "params.json").write_text(text, encoding="utf-8")
        lines = result_lines(params, trial_id, chooser)
        (trial_dir / "result.json").write_text("".join(json.dumps(line) + "\n" for line in lines))


def trial_params(
    experiment: Path, cell: str, suggestion: int, seed: int, config: int, chooser: random.Random
) -> dict[str, Any]:
    local, weights = (part.split("-", 1)[1] for part in cell.split("_"))
    alpha = 0.05 + 0.45 * random.Random(config).random()  # the same for both seeds
    config_key = f"{config:016x}"
    train = train_config(local, weights, alpha, seed)
    return {
        "cell": cell,
        "config_key": config_key,
        "dev_config_key": config_key,
        "experiment_dir": str(experiment),
        "grid": {"loss.local": local, "loss.weights": weights},
        "max_failures": 2,
        "metric": "best_dev_jaccard",
        "params": {"loss.alpha": alpha},
        "search_key": f"{config // 7:016x}",
        "seed": seed,
        "stage": "dev",
        "suggestion": suggestion,
        "sweep": "scale",
        "train": train,
        "trial_key": f"{config:012x}{seed:04x}",
        "workers": {"count": 1, "cpus": 1.0, "gpus": 0.0},
    }


def train_config(local: str, weights: str, alpha: float, seed: int) -> dict[str, Any]:
    """emotrain's full training config as a trial's params.json holds it (defaults and all)."""
    preprocess = dict.fromkeys(("collapse_whitespace", "demojize", "emails", "hashtags",
                                "lowercase", "phones", "urls", "users"), True)  # fmt: skip
    data = dict.fromkeys(("delimiter", "dev_file", "emotions", "eval_languages", "eval_limit",
                          "labels_column", "languages", "root", "test_file", "train_file",
                          "train_limit"))  # fmt: skip
    data |= {"dataset": "semeval", "id_column": "id", "language": "english",
             "language_alpha": 1.0, "preprocess": preprocess | {"reddit": False},
             "text_column": "text"}  # fmt: skip
    encoder = {"dropout": None, "hidden_size": 64, "intermediate_size": 256, "name": None,
               "num_heads": 2, "num_layers": 2, "tiny": "bert", "vocab_size": 4000}  # fmt: skip
    return {
        "cache_dir": None,
        "data": data,
        "device": "auto",
        "eval": {
            "batch_size": 128,
            "early_stop_metric": "jaccard",
            "every_steps": None,
            "threshold": 0.5,
            "zero_division": 0,
        },
        "loss": {
            "alpha": alpha,
            "beta": 0.0,
            "global_loss": "none",
            "local": local,
            "local_on": "predictions",
            "rho": "data",
            "weights": weights,
        },
        "model": {
            "dropout": 0.1,
            "encoder": encoder,
            "kind": "demux",
            "max_length": 64,
            "memo_head": "classifier",
            "template": None,
        },
        "optim": {
            "batch_size": 16,
            "head_lr": None,
            "lr": 0.003,
            "max_epochs": EPOCHS,
            "patience": 2,
            "precision": "fp32",
            "warmup_ratio": 0.1,
            "weight_decay": 0.0,
        },
        "output_dir": None,
        "seed": seed,
        "stage": "dev",
        "threads": 1,
        "transfer": {
            "cluster_pooling": "mean",
            "eval_clusters": None,
            "eval_data": None,
            "exclude_emotions": [],
            "freeze_emotion_embeddings": False,
        },
    }


def result_lines(
    params: dict[str, Any], trial_id: str, chooser: random.Random
) -> list[dict[str, Any]]:
    """Tune's result.json of a completed trial: one report per epoch, then the final one."""
    started = 1_795_660_000 + int(params["trial_key"][:12], 16) % 100_000
    tune_fields = {"checkpoint_dir_name": None, "done": False, "trial_id": trial_id,
                   "date": "2026-11-26_02-40-24", "pid": 18234, "hostname": "vm",
                   "node_ip": "192.0.2.2", "config": params}  # fmt: skip
    best: dict[str, float] = {}
    lines = []
    for epoch in range(1, EPOCHS + 1):
        dev = {f"dev_{name}": chooser.random() for name in METRICS}
        if not best or dev["dev_jaccard"] > best["best_dev_jaccard"]:
            best = {f"best_{key}": value for key, value in dev.items()} | {"best_epoch": epoch}
        lines.append({
            "epoch": epoch, "step": 34 * epoch, "train_loss": chooser.random(), **dev, **best,
            "should_checkpoint": True, "timestamp": started + 6 * epoch,
            "training_iteration": epoch, "time_this_iter_s": 6.0 + chooser.random(),
            "time_total_s": 6.0 * epoch, "time_since_restore": 6.0 * epoch,
            "iterations_since_restore": epoch, **tune_fields,
        })  # fmt: skip
    final = {
        "seed": params["seed"], "best_epoch": best["best_epoch"], "epochs_run": EPOCHS,
        "stopped_early": 0.0, "train_seconds": 12.0 + chooser.random(),
        "train_examples_per_second": 60.0 + chooser.random(),
        "run_wall_seconds": 14.0 + chooser.random(), "peak_rss_bytes": 7.0e8,
        **{key: value for key, value in best.items() if key != "best_epoch"},
        **{f"test_{name}": chooser.random() for name in METRICS},
        "node_id": "c624428cb9262f7a1e8471a2a2a68ad7c3b38c1d26163c72d954c475", "final": 1.0,
        "timestamp": started + 6 * EPOCHS + 1, "training_iteration": EPOCHS + 1,
        "time_this_iter_s": 0.75, "time_total_s": 6.0 * EPOCHS + 0.75,
        "time_since_restore": 6.0 * EPOCHS + 0.75, "iterations_since_restore": EPOCHS + 1,
        **tune_fields,
    }  # fmt: skip
    return [*lines, final]


def sweep_record(experiment: Path) -> dict[str, Any]:
    """sweep.json as orchestrator.spec.record writes it (the fields the tables read are real)."""
    spec = {
        "name": "scale",
        "base": {"model": {"encoder": {"tiny": "bert", "hidden_size": 64}}},
        "grid": {"loss.local": ["inter", "intra"], "loss.weights": ["one", "rho"]},
        "search": {
            "space": {
                "loss.alpha": {
                    "type": "float",
                    "low": 0.05,
                    "high": 0.5,
                    "log": False,
                    "choices": None,
                }
            },
            "budget": 1000,
            "sampler": "tpe",
            "seed": 0,
            "metric": "best_dev_jaccard",
            "mode": "max",
        },
        "seeds": list(SEEDS),
        "protocol": "dev",
        "resources": {"cpus": 1.0, "gpus": 0.0, "workers": None},
        "reuse_workers": False,
        "max_failures": 2,
        "hang_timeout_s": None,
        "storage": str(experiment.parent),
        "scheduler": {"type": "fifo", "grace_epochs": 1, "reduction_factor": 3},
        "analysis": {"baseline": None, "reference": None},
    }
    return {"source": "scale.yaml", "overrides": [], "spec": spec}


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")  # fmt: skip
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": sys.version.split()[0]}


def render(rows: list[dict[str, Any]]) -> str:
    """One line per size; "x smallest" is the CPU time per trial over the smallest size's."""
    first = rows[0]["cold_cpu_ms_per_trial"]
    names = [("cold s", 7), ("cold cpu", 8), ("ms/trial", 8), ("cpu ms/trial", 12)]
    names += [("x smallest", 10)]
    names += [("peak MiB", 8), ("+MiB", 6), ("MiB/1k", 6), ("+100 s", 6), ("+100 cpu", 8)]
    names += [("+100/cold", 9), ("marginal MiB/1k", 15)]
    lines = [f"{'trials':>6} " + " ".join(f"{name:>{width}}" for name, width in names)]
    previous: dict[str, Any] | None = None
    for row in rows:
        # The memory added per 1,000 trials since the previous size: the fixed part (imports
        # warming up, Parquet writers) cancels out.
        marginal = math.nan
        if previous is not None:
            added = row["cold_rss_growth_mib"] - previous["cold_rss_growth_mib"]
            marginal = 1000 * added / (row["trials"] - previous["trials"])
        previous = row
        values = [
            row["trials"],
            row["cold_seconds"],
            row["cold_cpu_seconds"],
            row["cold_ms_per_trial"],
            row["cold_cpu_ms_per_trial"],
            row["cold_cpu_ms_per_trial"] / first,
            row["cold_peak_rss_mib"],
            row["cold_rss_growth_mib"],
            1000 * row["cold_rss_growth_mib"] / row["trials"],
            row["incremental_seconds"],
            row["incremental_cpu_seconds"],
            row["incremental_over_cold"],
            marginal,
        ]
        widths = [6, *(width for _, width in names)]
        formats = ["d", ".2f", ".2f", ".3f", ".3f", ".2f", ".1f", ".1f", ".1f", ".2f", ".2f"]
        formats += [".3f", ".1f"]
        cells = [f"{v:>{w}{f}}" for v, w, f in zip(values, widths, formats, strict=True)]
        lines.append(" ".join(cells))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
