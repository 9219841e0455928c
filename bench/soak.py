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

``--smoke``: 2 trials (one configuration, 2 seeds) and one kill (``--max-kills 1``), a few
seconds after the first trial worker starts.
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
from local_sweeps import SEEDS, driver_command, sample_driver_memory, tiny_sweep_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=300, help="a multiple of 10 (seeds)")
    parser.add_argument(
        "--mean-kill-interval", type=float, default=8.0, help="seconds; 0 kills nothing"
    )
    parser.add_argument("--seed", type=int, default=0, help="of the killer's choices")
    parser.add_argument("--max-kills", type=int, help="stop killing after this many")
    parser.add_argument("--smoke", action="store_true", help="2 short trials, seconds")
    parser.add_argument("--out", type=Path, default=Path("soak.json"))
    args = parser.parse_args()
    cells, seeds = args.trials // SEEDS, SEEDS
    if args.smoke:
        # One kill: a worker starts in tens of seconds on a busy machine, so a steady rate
        # of kills could leave no trial the time to finish.
        cells, seeds, args.mean_kill_interval, args.max_kills = 1, 2, 4.0, 1
    with tempfile.TemporaryDirectory(prefix="emosweep-soak-") as folder:
        figures = soak(Path(folder), cells, seeds, args.mean_kill_interval, args.seed,
                       args.max_kills)  # fmt: skip
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    for name, value in figures.items():
        print(f"{name:>32}: {value}")
    return 0 if figures["complete"] else 1


def soak(
    folder: Path, cells: int, seeds: int, mean_kill_interval: float, seed: int,
    max_kills: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    sweep = tiny_sweep_file(folder, cells, seeds=seeds)
    log = (folder / "driver.log").open("w")
    started = time.monotonic()
    driver = subprocess.Popen(
        driver_command(sweep),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        start_new_session=True,
    )
    stop = threading.Event()
    kills: list[float] = []
    killer = threading.Thread(
        target=_kill_at_random,
        args=(driver.pid, mean_kill_interval, seed, stop, kills, max_kills),
    )
    if mean_kill_interval > 0:
        killer.start()
    memory = sample_driver_memory(driver, folder / "results" / "soak")
    stop.set()
    if killer.is_alive():
        killer.join()
    wall = time.monotonic() - started
    return _figures(folder, driver.returncode, cells * seeds, wall, kills, memory)


def _kill_at_random(
    driver: int, mean_interval: float, seed: int, stop: threading.Event, kills: list[float],
    max_kills: int | None = None,
) -> None:  # fmt: skip
    chooser = random.Random(seed)
    while not stop.wait(chooser.expovariate(1 / mean_interval)):
        if max_kills is not None and len(kills) >= max_kills:
            return
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


def _figures(
    folder: Path, returncode: int | None, total: int, wall: float, kills: list[float],
    memory: list[tuple[int, float]],
) -> dict[str, Any]:  # fmt: skip
    trials = pd.read_parquet(folder / "results" / "soak" / "trials.parquet")
    done = trials[trials["status"] == "completed"]
    pairs = done.groupby(["config_key", "seed"]).size()
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
