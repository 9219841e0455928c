"""Driver footprint: the resident memory of ``orchestrator.run`` after 50 trials and after 500.

One real sweep of ``--trials`` tiny trials (``--trials``/10 grid cells x 10 seeds) on a local
Ray, nothing killed: a one-layer random BERT of width 32, one epoch on the first 64 demo
tweets (32 for dev and test), two 1-CPU trials at a time, worker processes reused from trial to
trial. The trials are short so that the driver's bookkeeping (Tune's trial objects, results,
the searcher, the progress lines) is what grows with their number. The driver's RSS is sampled
every second with the number of finished trials (bench/local_sweeps.py's sampler); reported
are the RSS at the first sample with 50 trials finished, at the first with all finished, the
peak (the tables are written at the end), and the growth per 100 trials in between.

    python bench/driver_footprint.py [--trials 500] [--out driver_footprint.json]

``--smoke``: 2 trials (one configuration, 2 seeds), the whole code path in seconds.

What was run for the figures of docs/performance.md: ``--trials 500`` (17 minutes on 2 CPUs
that a test suite and another sweep kept busy, load average 12-15), and ``--trials 20`` and
``--trials 100`` (1.5 and 2 minutes) to check the script.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from encoders import TINY_BERT
from local_sweeps import SEEDS, driver_command, sample_driver_memory, tiny_sweep_file

EARLY = 50  # trials finished at the first reading


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=500, help="a multiple of 10 (seeds)")
    parser.add_argument("--smoke", action="store_true", help="2 trials, seconds")
    parser.add_argument("--out", type=Path, default=Path("driver_footprint.json"))
    args = parser.parse_args()
    if args.trials % SEEDS or args.trials < SEEDS:
        parser.error(f"--trials must be a positive multiple of {SEEDS}")
    cells, seeds = (1, 2) if args.smoke else (args.trials // SEEDS, SEEDS)
    with tempfile.TemporaryDirectory(prefix="emosweep-footprint-") as folder:
        figures = run(Path(folder), cells, seeds)
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    for name, value in figures.items():
        print(f"{name:>36}: {value}")
    return 0 if figures["complete"] else 1


def sweep_file(folder: Path, cells: int, seeds: int) -> Path:
    base = {
        "data": {"root": None, "language": "english", "train_limit": 64, "eval_limit": 32},
        "model": {"kind": "demux", "max_length": 32, "encoder": TINY_BERT},
        "optim": {"lr": 3.0e-3, "batch_size": 32, "max_epochs": 1, "patience": 1},
        "loss": {"local": "intra"},
    }
    return tiny_sweep_file(folder, cells, "footprint", seeds, base=base,
                           resources={"cpus": 1, "gpus": 0}, max_failures=0)  # fmt: skip


def run(folder: Path, cells: int, seeds: int) -> dict[str, Any]:
    sweep = sweep_file(folder, cells, seeds)
    started = time.monotonic()
    with (folder / "driver.log").open("w") as log:
        driver = subprocess.Popen(
            driver_command(sweep), stdout=log, stderr=subprocess.STDOUT, cwd=folder,
        )  # fmt: skip
        memory = sample_driver_memory(driver, folder / "results" / "footprint")
    wall = time.monotonic() - started
    if driver.returncode != 0:
        tail = (folder / "driver.log").read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"the sweep failed (exit status {driver.returncode}):\n{tail}")
    return figures(folder, driver.returncode, cells * seeds, wall, memory)


def figures(
    folder: Path, returncode: int | None, total: int, wall: float,
    memory: list[tuple[int, float]],
) -> dict[str, Any]:  # fmt: skip
    trials = pd.read_parquet(folder / "results" / "footprint" / "trials.parquet")
    completed = int((trials["status"] == "completed").sum())
    early = min(EARLY, total)
    at_early = next((mib for done, mib in memory if done >= early), None)
    at_end = next((mib for done, mib in memory if done >= total), None)
    growth = None
    if at_early is not None and at_end is not None and total > early:
        growth = round(100 * (at_end - at_early) / (total - early), 2)
    return {
        "driver_exit_status": returncode,
        "trials_planned": total,
        "trials_completed": completed,
        "wall_seconds": round(wall, 1),
        f"driver_rss_mib_after_{early}_trials": _rounded(at_early),
        f"driver_rss_mib_after_{total}_trials": _rounded(at_end),
        "driver_rss_mib_growth_per_100_trials": growth,
        "driver_rss_mib_peak": round(max((mib for _, mib in memory), default=0.0), 1),
        "samples": len(memory),
        "complete": returncode == 0 and completed == total,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


if __name__ == "__main__":
    sys.exit(main())
