"""Soak run: 300 tiny trials on a local Ray while trial workers are killed at random.

A real ``python -m orchestrator.run`` on a generated sweep (30 grid cells x 10 seeds, a tiny
random BERT on the demo data, 2 epochs each, four trials at a time on half a CPU each, worker
processes reused from trial to trial). While it runs, a killer sends SIGKILL to a randomly
chosen running trial worker (``ray::ImplicitFunc``, a descendant of the driver) at
exponentially distributed intervals, and the driver's resident memory is sampled every second.
At the end the tables must hold every (configuration, seed) exactly once, all completed.

``--mean-kill-interval 0`` kills nothing: the same sweep as a plain run (bench/driver_footprint.py
uses that to measure the driver alone).

Prints the figures docs/performance.md quotes and writes them as JSON:

    python bench/soak.py [--trials 300] [--mean-kill-interval 8] [--out soak.json]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import yaml

SEEDS = 10
TINY = {"tiny": "bert", "hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=300, help="a multiple of 10 (seeds)")
    parser.add_argument(
        "--mean-kill-interval", type=float, default=8.0, help="seconds; 0 kills nothing"
    )
    parser.add_argument("--seed", type=int, default=0, help="of the killer's choices")
    parser.add_argument("--out", type=Path, default=Path("soak.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="emosweep-soak-") as folder:
        figures = soak(Path(folder), args.trials // SEEDS, args.mean_kill_interval, args.seed)
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    for name, value in figures.items():
        print(f"{name:>32}: {value}")
    return 0 if figures["complete"] else 1


def sweep_file(folder: Path, cells: int, name: str = "soak", **changes: Any) -> Path:
    """A sweep of ``cells`` configurations x 10 seeds of a tiny random BERT on the demo data;
    ``changes`` replace top-level fields (bench/driver_footprint.py's shorter trials)."""
    spec = {
        "name": name,
        "base": {
            "data": {"root": None, "language": "english"},
            "model": {"kind": "demux", "max_length": 48, "encoder": TINY},
            "optim": {"lr": 3.0e-3, "batch_size": 32, "max_epochs": 2, "patience": 2},
            "loss": {"local": "intra"},
        },
        # Distinct values make distinct configurations; the sweep machinery is what is soaked.
        "grid": {"loss.alpha": [round(0.01 + 0.001 * i, 4) for i in range(cells)]},
        "seeds": list(range(SEEDS)),
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


def soak(folder: Path, cells: int, mean_kill_interval: float, seed: int) -> dict[str, Any]:
    sweep = sweep_file(folder, cells)
    log = (folder / "driver.log").open("w")
    started = time.monotonic()
    driver = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.run", str(sweep)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        start_new_session=True,
    )
    stop = threading.Event()
    kills: list[float] = []
    killer = threading.Thread(
        target=_kill_at_random, args=(driver.pid, mean_kill_interval, seed, stop, kills)
    )
    if mean_kill_interval > 0:
        killer.start()
    memory = sample_driver_memory(driver, folder / "results" / "soak")
    stop.set()
    if killer.is_alive():
        killer.join()
    wall = time.monotonic() - started
    return _figures(folder, driver.returncode, cells, wall, kills, memory)


def _kill_at_random(
    driver: int, mean_interval: float, seed: int, stop: threading.Event, kills: list[float]
) -> None:
    chooser = random.Random(seed)
    while not stop.wait(chooser.expovariate(1 / mean_interval)):
        workers = _trial_workers(driver)
        if workers:
            victim = chooser.choice(workers)
            try:
                victim.send_signal(signal.SIGKILL)
                kills.append(time.time())
            except psutil.NoSuchProcess:
                pass


def _trial_workers(driver: int) -> list[psutil.Process]:
    try:
        family = psutil.Process(driver).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for process in family:
        try:
            if "ray::ImplicitFunc" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:
            continue
    return found


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


def _figures(
    folder: Path, returncode: int | None, cells: int, wall: float, kills: list[float],
    memory: list[tuple[int, float]],
) -> dict[str, Any]:  # fmt: skip
    trials = pd.read_parquet(folder / "results" / "soak" / "trials.parquet")
    done = trials[trials["status"] == "completed"]
    pairs = done.groupby(["config_key", "seed"]).size()
    total = cells * SEEDS
    rss = [mib for _, mib in memory]
    quarter = [max((mib for n, mib in memory if n <= total * q / 4), default=0.0)
               for q in (1, 2, 3, 4)]  # fmt: skip
    return {
        "driver_exit_status": returncode,
        "trials_planned": total,
        "trials_completed": len(done),
        "config_seed_pairs_once": int((pairs == 1).sum()),
        "config_seed_pairs_twice_or_more": int((pairs > 1).sum()),
        "trial_workers_killed": len(kills),
        # Why any trial did not complete (status: error), so that a failed soak says what broke.
        "not_completed": [
            f"{row.trial_dir}: {row.status}: {row.error}"
            for row in trials[trials["status"] != "completed"].itertuples()
        ],
        # The failures Tune retried (each trial's error.txt): the killer's should be all.
        "errors_retried": _errors_retried(folder / "results" / "soak"),
        "wall_seconds": round(wall, 1),
        "driver_rss_mib_peak": round(max(rss, default=0.0), 1),
        "driver_rss_mib_peak_by_quarter": [round(mib, 1) for mib in quarter],
        "driver_rss_last_over_first_quarter": round(quarter[3] / quarter[0], 3)
        if quarter[0]
        else None,
        "complete": returncode == 0 and len(done) == total and bool((pairs == 1).all()),
    }


def _errors_retried(experiment: Path) -> dict[str, int]:
    """Each failure's exception type, counted: the last line of each ``Failure #`` record."""
    kinds: Counter[str] = Counter()
    for path in experiment.glob("*/error.txt"):
        for record in path.read_text(encoding="utf-8", errors="replace").split("Failure # ")[1:]:
            lines = [line for line in record.splitlines() if line.strip()]
            kinds[lines[-1].split(":")[0].strip() if len(lines) > 1 else "?"] += 1
    return dict(kinds.most_common())


if __name__ == "__main__":
    sys.exit(main())
