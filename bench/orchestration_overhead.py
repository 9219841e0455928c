"""Orchestration overhead: a sweep through Ray Tune against the same trainings in a plain loop.

16 trials (8 grid cells of ``loss.alpha`` x 2 seeds, no search) of the smoke sweep's tiny
random BERT on the demo data, run three ways:

- ``python -m orchestrator.run`` on a local Ray, one variant per line of the table:
  ``cpus2-reuse`` (``resources.cpus: 2``, one 2-thread trial at a time, ``reuse_workers: true``
  so trials share a worker process), ``cpus2-fresh`` (the default ``reuse_workers: false``: a
  fresh worker process, which imports torch again, per trial) and ``cpus1-reuse``
  (``resources.cpus: 1``: two 1-thread trials at a time on 2 CPUs, workers reused);
- the baselines: the very training configs of the ``cpus2-reuse`` trials (read back from their
  ``params.json``, 2 threads each) passed to ``emotrain.train`` one after another in a single
  process; likewise those of ``cpus1-reuse`` (1 thread each), the sequential counterpart of
  the packed sweep. The metrics must come out the same as the sweep's (same seed, same
  threads).

Times, all wall clock:

- a sweep's **wall**: from launching ``orchestrator.run`` to its exit (Python and Ray start-up,
  planning, the trials, the tables, Ray's shutdown);
- its **start-up**: from the launch to the start of the first trial (the driver's imports,
  the plan, ``ray.init``, Tune's set-up, the first worker process). A trial starts when it
  writes its ``trial_key.json`` (straight into the storage, the first thing the trainable
  does; Tune's own ``timestamp`` is whole seconds, and the other files' mtimes are no use, as
  Tune copies the trial folders into the storage again and again) and ends ``time_total_s``
  (its last report's) after its trainable started. Its **teardown**: from the end of the last
  trial to the exit (Tune's wrap-up, Ray's shutdown, the tables, the interpreter's exit). The
  ratio "start-up excluded" is (wall - start-up) / the loop's trainings alone; the ratio
  "included" is wall / the loop process's whole wall (its imports included), each against
  the loop with the sweep's threads per trial;
- on a shared machine the loop and the sweep run minutes apart, under different loads; the
  ratio "own" compares a one-at-a-time sweep with its own trainings instead: (wall -
  start-up) / the sum of its ``train`` calls' wall times (``run_wall_seconds``), which is
  what the loop would have taken at the sweep's speed;
- the trainings themselves, side by side: the sweep's ``train`` calls against the loop's, in
  wall time and in the CPU time their processes used (``run_cpu_seconds``);
- for reference, a bare ``ray.init()`` + ``ray.shutdown()`` in a fresh process.

The tokenized-data cache is off everywhere (``cache_dir: off``), so that every training does
the same work. With ``--repeats N`` every sweep and loop runs N times, and each figure is the
median of its N values: on a small shared machine one run's trainings vary by 10-20% from the
next's, minutes later. So each loop runs right beside its own sweeps (those with its threads
per trial), after them in even rounds and before them in odd ones (on the configs of the round
before, the same trainings), and every ratio is taken within its round. Prints a table and
writes the figures (and every round's) as JSON:

    python bench/orchestration_overhead.py [--epochs 2] [--variants cpus2-reuse,...] \
        [--repeats 1] [--out F]

``--smoke``: one configuration (2 trials) of one epoch on 64 demo tweets, ``cpus2-reuse``
only, one round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from encoders import SMALL_BERT
from local_sweeps import driver_command, trial_start

CELLS = 8
SEEDS = [0, 1]


@dataclass(frozen=True)
class Scale:
    """How many trials, on how much data: the figures' 16 trials on the whole demo data, or
    ``--smoke``'s 2 on a few dozen tweets."""

    cells: int = CELLS
    data: tuple[tuple[str, int], ...] = ()  # data options on top of the demo data's

    @property
    def trials(self) -> int:
        return self.cells * len(SEEDS)


SMOKE = Scale(cells=1, data=(("train_limit", 64), ("eval_limit", 32)))


@dataclass(frozen=True)
class Variant:
    cpus: int
    reuse_workers: bool


VARIANTS = {
    "cpus2-reuse": Variant(cpus=2, reuse_workers=True),
    "cpus2-fresh": Variant(cpus=2, reuse_workers=False),
    "cpus1-reuse": Variant(cpus=1, reuse_workers=True),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="per trial (the smoke sweep's 2)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="sweeps to run")
    parser.add_argument("--repeats", type=int, default=1, help="rounds; medians are kept")
    parser.add_argument("--smoke", action="store_true", help="2 trials, one sweep, seconds")
    parser.add_argument("--out", type=Path, default=Path("orchestration_overhead.json"))
    parser.add_argument("--loop", type=Path, help=argparse.SUPPRESS)  # the baseline's child
    args = parser.parse_args()
    if args.loop is not None:
        print(json.dumps(train_in_a_loop(args.loop)))
        return 0
    scale = Scale()
    if args.smoke:
        args.epochs, args.variants, args.repeats, scale = 1, "cpus2-reuse", 1, SMOKE
    names = [name for name in args.variants.split(",") if name]
    if unknown := sorted(set(names) - set(VARIANTS)):
        parser.error(f"unknown variant {unknown[0]} (known: {', '.join(VARIANTS)})")
    with tempfile.TemporaryDirectory(prefix="emosweep-overhead-") as folder:
        figures = measure(Path(folder), names, args.epochs, args.repeats, scale)
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(render(figures))
    return 0


def measure(
    folder: Path, names: list[str], epochs: int, repeats: int, scale: Scale = Scale()
) -> dict[str, Any]:
    load_before = load_average()
    ray_alone = bare_ray()
    rounds: list[dict[str, Any]] = []
    for index in range(repeats):
        # Odd rounds run each loop before its sweeps, on the configs of the round before.
        previous = rounds[-1]["experiments"] if index % 2 else None
        rounds.append(one_round(folder / f"round{index}", names, epochs, previous, scale))
    packing = [r["cpus1_over_cpus2_startup_excluded"] for r in rounds]
    return {
        "trials": scale.trials,
        "epochs": epochs,
        "repeats": repeats,
        "bare_ray_init_shutdown": ray_alone,
        "loops": {key: medians([r["loops"][key] for r in rounds]) for key in rounds[0]["loops"]},
        "sweeps": {name: medians([r["sweeps"][name] for r in rounds]) for name in names},
        "cpus1_over_cpus2_startup_excluded": None if None in packing else median(packing),
        "rounds": [{key: r[key] for key in r if key != "experiments"} for r in rounds],
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


def one_round(
    folder: Path, names: list[str], epochs: int, previous: dict[int, Path] | None, scale: Scale
) -> dict[str, Any]:
    """For each thread count: its sweeps and, right beside them, the loop of their trainings
    (after them, or before them on ``previous``'s configs, the same trainings); the ratios of
    this round's sweeps to the loop beside them. Runs minutes apart on a shared machine differ
    by more than the overhead measured, so each sweep is compared with its neighbour, and
    alternating the order cancels a steady drift."""
    folder.mkdir(parents=True)
    sweeps, loops, experiments = {}, {}, {}
    for threads in sorted({VARIANTS[name].cpus for name in names}, reverse=True):
        group = [name for name in names if VARIANTS[name].cpus == threads]
        loop = None if previous is None else run_loop(folder, previous[threads], threads)
        for name in group:
            sweeps[name] = run_sweep(folder / name, VARIANTS[name], epochs, scale)
        # The configs of the group's first sweep (reuse or not, they are the same configs).
        experiments[threads] = folder / group[0] / "results" / "overhead"
        if loop is None:
            loop = run_loop(folder, experiments[threads], threads)
        source = experiments[threads] if previous is None else previous[threads]
        loop["metrics_equal_sweep"] = same_metrics(source, loop.pop("metrics"))
        loop["before_sweeps"] = previous is not None
        loops[f"threads{threads}"] = loop
    for figures in sweeps.values():
        loop = loops[f"threads{figures['cpus']}"]
        steady = figures["wall_s"] - figures["startup_s"]
        figures["ratio_startup_included"] = round(figures["wall_s"] / loop["wall_s"], 3)
        figures["ratio_startup_excluded"] = round(steady / loop["loop_s"], 3)
        one_at_a_time = figures["cpus"] == 2
        own = steady / figures["train_calls_sum_s"] if one_at_a_time else None
        figures["ratio_own_trainings"] = None if own is None else round(own, 3)
        # The same trainings' CPU time: more of it in the sweep means each training worked
        # harder (threads waiting on a preempted partner), not only that it got less CPU.
        figures["train_cpu_ratio"] = round(figures["train_calls_cpu_s"] / loop["loop_cpu_s"], 3)
        figures["train_wall_ratio"] = round(figures["train_calls_sum_s"] / loop["loop_s"], 3)
    packing = None
    if {"cpus1-reuse", "cpus2-reuse"} <= set(sweeps):
        steady = {n: sweeps[n]["wall_s"] - sweeps[n]["startup_s"] for n in sweeps}
        packing = round(steady["cpus1-reuse"] / steady["cpus2-reuse"], 3)
    return {"sweeps": sweeps, "loops": loops, "experiments": experiments,
            "cpus1_over_cpus2_startup_excluded": packing}  # fmt: skip


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each number over the rounds (a count the same in every round stays
    whole; other values: the first round's, or whether every round agreed for a yes/no)."""
    merged: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [run[key] for run in runs]
        if isinstance(first, bool):
            merged[key] = all(values)
        elif isinstance(first, int) and len(set(values)) == 1:  # counts, CPUs
            merged[key] = first
        elif isinstance(first, int | float):
            merged[key] = median(values)
        else:
            merged[key] = first
    return merged


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def sweep_spec(storage: Path, variant: Variant, epochs: int, scale: Scale) -> dict[str, Any]:
    return {
        "name": "overhead",
        "base": {
            "data": {"root": None, "language": "english", **dict(scale.data)},
            "model": {"kind": "demux", "encoder": SMALL_BERT, "max_length": 64},
            "loss": {"local": "intra"},
            "optim": {"lr": 3.0e-3, "batch_size": 16, "max_epochs": epochs, "patience": 2},
            "cache_dir": "off",
        },
        "grid": {"loss.alpha": [round(0.05 * (cell + 1), 2) for cell in range(scale.cells)]},
        "seeds": SEEDS,
        "resources": {"cpus": variant.cpus, "gpus": 0},
        "reuse_workers": variant.reuse_workers,
        "storage": str(storage),
    }


def run_sweep(folder: Path, variant: Variant, epochs: int, scale: Scale) -> dict[str, Any]:
    """One ``orchestrator.run`` of the trials in a storage of its own (else the trials of an
    earlier variant would be reused, not run)."""
    folder.mkdir(parents=True)
    sweep = folder / "overhead.yaml"
    sweep.write_text(yaml.safe_dump(sweep_spec(folder / "results", variant, epochs, scale)))
    log = folder / "driver.log"
    launched = time.time()
    with log.open("w") as output:
        done = subprocess.run(
            driver_command(sweep), stdout=output, stderr=subprocess.STDOUT, cwd=folder,
            check=False,
        )  # fmt: skip
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"the sweep failed ({done.returncode}): see\n{log.read_text()[-3000:]}")
    experiment = folder / "results" / "overhead"
    trials = pd.read_parquet(experiment / "trials.parquet")
    completed = int((trials["status"] == "completed").sum())
    if completed < scale.trials:
        raise SystemExit(f"{completed} of {scale.trials} trials completed: see {log}")
    # An empty result.json: a trial that never reported, such as one handed a dead cached
    # worker while PENDING, whose (configuration, seed) ran again as another trial (docs/sweeps.md,
    # Failures). It holds no span, and is counted.
    results = list(experiment.glob("*/result.json"))
    reported = [path for path in results if path.stat().st_size]
    spans = [trial_span(path.parent) for path in reported]
    starts, ends = [start for start, _ in spans], [end for _, end in spans]
    return {
        "cpus": variant.cpus,
        "reuse_workers": variant.reuse_workers,
        "completed": completed,
        "never_reported": len(results) - len(reported),
        "wall_s": round(ended - launched, 2),
        "startup_s": round(min(starts) - launched, 2),
        "trials_s": round(max(ends) - min(starts), 2),
        "teardown_s": round(ended - max(ends), 2),
        "train_calls_sum_s": round(float(trials["run_wall_seconds"].sum()), 2),
        "train_calls_cpu_s": round(float(trials["run_cpu_seconds"].sum()), 2),
        "load_average_after": load_average(),
    }


def trial_span(trial_dir: Path) -> tuple[float, float]:
    """When a trial started and when it ended (wall clock)."""
    lines = (trial_dir / "result.json").read_text(encoding="utf-8").splitlines()
    started = trial_start(trial_dir)
    return started, started + json.loads(lines[-1])["time_total_s"]


def run_loop(folder: Path, experiment: Path, threads: int) -> dict[str, Any]:
    """The baseline: the sweep's training configs, in one fresh process, one after another."""
    configs = [
        json.loads(path.read_text(encoding="utf-8"))["train"]
        for path in sorted(experiment.glob("*/params.json"))
    ]
    assert all(config["threads"] == threads for config in configs), experiment
    path = folder / f"loop_configs_threads{threads}.json"
    path.write_text(json.dumps(configs), encoding="utf-8")
    launched = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--loop", str(path)], capture_output=True,
                          text=True, check=True)  # fmt: skip
    wall = time.perf_counter() - launched
    child = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), **child, "load_average_after": load_average()}


def train_in_a_loop(configs_file: Path) -> dict[str, Any]:
    """In the child: import emotrain's training (torch, transformers), then train each
    config; the times and the metrics."""
    started = time.perf_counter()
    from emotrain.training import train  # emotrain itself imports it lazily

    imported = time.perf_counter()
    metrics, cpu = {}, 0.0
    for config in json.loads(configs_file.read_text(encoding="utf-8")):
        result = train(config)
        metrics[result.trial_key] = result.flat()["best_dev_jaccard"]
        cpu += result.cost.cpu_seconds
    ended = time.perf_counter()
    return {
        "import_s": round(imported - started, 2),
        "loop_s": round(ended - imported, 2),
        "loop_cpu_s": round(cpu, 2),
        "metrics": metrics,
    }


def same_metrics(experiment: Path, loop: dict[str, float]) -> bool:
    """The loop trained exactly what the sweep trained: the same best dev Jaccard per trial."""
    trials = pd.read_parquet(experiment / "trials.parquet").set_index("trial_key")
    return set(trials.index) == set(loop) and all(
        trials.loc[key, "best_dev_jaccard"] == value for key, value in loop.items()
    )


def bare_ray() -> dict[str, float]:
    """``ray.init`` and ``ray.shutdown`` of a local instance in a fresh process (the import of
    Ray measured apart)."""
    script = (
        "import json, time; t0 = time.perf_counter(); import ray; t1 = time.perf_counter(); "
        "ray.init(address='local', include_dashboard=False); t2 = time.perf_counter(); "
        "ray.shutdown(); t3 = time.perf_counter(); "
        "print(json.dumps({'import_s': round(t1 - t0, 2), 'init_s': round(t2 - t1, 2), "
        "'shutdown_s': round(t3 - t2, 2)}))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")  # fmt: skip
    return {"cpu_model": model, "cpus": os.cpu_count()}


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages: how busy the machine was besides this run."""
    return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]


def render(figures: dict[str, Any]) -> str:
    lines = [f"{figures['trials']} trials of {figures['epochs']} epoch(s) each"]
    for name, loop in figures["loops"].items():
        lines.append(
            f"loop, {name}: {loop['wall_s']} s in all, {loop['loop_s']} s training "
            f"({loop['loop_cpu_s']} CPU-s), "
            f"{loop['import_s']} s imports; metrics equal to the sweep's: "
            f"{loop['metrics_equal_sweep']}"
        )
    lines += [
        f"bare ray.init + shutdown: {figures['bare_ray_init_shutdown']}",
        f"load average before: {figures['load_average_before']}, after: "
        f"{figures['load_average_after']} ({figures['machine']['cpus']} CPUs)",
        f"{'sweep':<12} {'wall s':>7} {'start-up s':>10} {'trials s':>8} {'teardown s':>10} "
        f"{'train calls s':>13} {'x loop incl.':>12} {'x loop excl.':>12} {'x own':>6} "
        f"{'calls x loop':>12} {'calls CPU x loop':>16}",
    ]
    for name, sweep in figures["sweeps"].items():
        own = sweep["ratio_own_trainings"]
        lines.append(
            f"{name:<12} {sweep['wall_s']:>7.1f} {sweep['startup_s']:>10.1f} "
            f"{sweep['trials_s']:>8.1f} {sweep['teardown_s']:>10.1f} "
            f"{sweep['train_calls_sum_s']:>13.1f} {sweep['ratio_startup_included']:>12.3f} "
            f"{sweep['ratio_startup_excluded']:>12.3f} {'-' if own is None else f'{own:.3f}':>6} "
            f"{sweep['train_wall_ratio']:>12.3f} {sweep['train_cpu_ratio']:>16.3f}"
        )
    if figures["cpus1_over_cpus2_startup_excluded"] is not None:
        lines.append(
            "packing: cpus1-reuse / cpus2-reuse (start-up excluded) = "
            f"{figures['cpus1_over_cpus2_startup_excluded']}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
