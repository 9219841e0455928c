"""What the sweep benchmarks share: running ``orchestrator.run`` on a local Ray from a
benchmark, a sweep of tiny trials on the demo data, and reading a running or finished
experiment (trials finished, a trial's start, the driver's memory). Light on purpose: no torch,
so that a benchmark's own children (orchestration_overhead's loop) import only what they time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import yaml
from encoders import TINY_BERT

SEEDS = 10  # the soak's seeds per configuration


def driver_command(sweep: Path) -> list[str]:
    """The command a user runs: ``python -m orchestrator.run <sweep>``."""
    return [sys.executable, "-m", "orchestrator.run", str(sweep)]


def tiny_sweep_file(
    folder: Path, cells: int, name: str = "soak", seeds: int = SEEDS, **changes: Any
) -> Path:
    """A sweep of ``cells`` configurations x ``seeds`` seeds of a tiny random BERT on the demo
    data; ``changes`` replace top-level fields (bench/driver_footprint.py's shorter trials)."""
    spec = {
        "name": name,
        "base": {
            "data": {"root": None, "language": "english"},
            "model": {"kind": "demux", "max_length": 48, "encoder": TINY_BERT},
            "optim": {"lr": 3.0e-3, "batch_size": 32, "max_epochs": 2, "patience": 2},
            "loss": {"local": "intra"},
        },
        # Distinct values make distinct configurations; the sweep machinery is what is soaked.
        "grid": {"loss.alpha": [round(0.01 + 0.001 * i, 4) for i in range(cells)]},
        "seeds": list(range(seeds)),
        "resources": {"cpus": 0.5, "gpus": 0},
        "max_failures": 20,  # a trial may be hit more than once; each retry resumes
        # Trials of seconds: a fresh process per trial would mostly import torch. A killed
        # worker is replaced all the same, and its trial retried from its checkpoint.
        "reuse_workers": True,
        "storage": str(folder / "results"),
        **changes,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def sample_driver_memory(
    driver: subprocess.Popen[bytes], experiment: Path, interval: float = 1.0
) -> list[tuple[int, float]]:
    """(trials finished, driver RSS in MiB), every ``interval`` seconds until the driver
    exits."""
    samples = []
    process = psutil.Process(driver.pid)
    while driver.poll() is None:
        try:
            rss = process.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            break
        samples.append((finished_trials(experiment), rss))
        time.sleep(interval)
    driver.wait()
    return samples


def finished_trials(experiment: Path) -> int:
    return sum('"final": 1.0' in path.read_text(encoding="utf-8", errors="replace")
               for path in experiment.glob("*/result.json"))  # fmt: skip


def trial_start(trial_dir: Path) -> float:
    """When a trial started: its key file's mtime (written straight into the storage, the first
    thing the trainable does)."""
    from orchestrator.trial.folder import KEY_FILE  # here: orchestration_overhead's loop imports us

    return (trial_dir / KEY_FILE).stat().st_mtime
