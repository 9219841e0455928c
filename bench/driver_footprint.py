"""Driver footprint: the resident memory of ``orchestrator.run`` as a sweep of tiny trials
goes on, and its growth per 100 trials once warm.

One real sweep of ``--trials`` tiny trials (``--trials``/10 grid cells x 10 seeds) on a local
Ray, nothing killed: a one-layer random BERT of width 32, one epoch on the first 64 demo
tweets (32 for dev and test), two 1-CPU trials at a time, worker processes reused from trial to
trial. The trials are short so that the driver's bookkeeping (Tune's trial objects, results,
the searcher, the progress lines) is what grows with their number. The driver's RSS is sampled
every second with the number of finished trials (bench/local_sweeps.py's sampler); reported
are the RSS at the first sample with 50 trials finished, with 500 (where the sweep is that
long) and with all finished, the peak, and the growth per 100 trials from 500 trials on (from
50 in a shorter sweep): the least-squares slope of every sample from then on, the figure the
target of at most +2 MiB per 100 trials is read from. The RSS rises within a Tuner pass
(``trials_per_pass``) and falls back when the next begins, so the difference of two single
readings depends on where in their passes they fall; the slope does not.

``--trials-per-pass N`` sets the sweep's ``trials_per_pass`` (the driver's Tuner runs of at
most N trials; default: the sweep file's default), to compare one long Tuner run with passes.

    python bench/driver_footprint.py [--trials 2000] [--trials-per-pass N] \
        [--out driver_footprint.json]

``--smoke``: 2 trials (one configuration, 2 seeds), the whole code path in seconds.
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

import numpy as np
import pandas as pd
from encoders import TINY_BERT
from local_sweeps import SEEDS, driver_command, sample_driver_memory, tiny_sweep_file

EARLY = 50  # trials finished at the first reading
WARM = 500  # trials finished when the growth is measured from, in a sweep that long


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=2000, help="a multiple of 10 (seeds)")
    parser.add_argument("--trials-per-pass", type=int, help="the sweep's trials_per_pass")
    parser.add_argument("--smoke", action="store_true", help="2 trials, seconds")
    parser.add_argument("--out", type=Path, default=Path("driver_footprint.json"))
    parser.add_argument("--plot", type=Path, help="also draw the RSS against trials (a PNG)")
    args = parser.parse_args()
    if args.trials % SEEDS or args.trials < SEEDS:
        parser.error(f"--trials must be a positive multiple of {SEEDS}")
    cells, seeds = (1, 2) if args.smoke else (args.trials // SEEDS, SEEDS)
    with tempfile.TemporaryDirectory(prefix="emosweep-footprint-") as folder:
        figures = run(Path(folder), cells, seeds, args.trials_per_pass)
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    if args.plot is not None:
        plot(figures["driver_rss_mib_by_trials"], args.plot)
    for name, value in figures.items():
        print(f"{name:>36}: {value}")
    return 0 if figures["complete"] else 1


def sweep_file(folder: Path, cells: int, seeds: int, per_pass: int | None) -> Path:
    base = {
        "data": {"root": None, "language": "english", "train_limit": 64, "eval_limit": 32},
        "model": {"kind": "demux", "max_length": 32, "encoder": TINY_BERT},
        "optim": {"lr": 3.0e-3, "batch_size": 32, "max_epochs": 1, "patience": 1},
        "loss": {"local": "intra"},
    }
    passes = {} if per_pass is None else {"trials_per_pass": per_pass}
    return tiny_sweep_file(folder, cells, "footprint", seeds, base=base,
                           resources={"cpus": 1, "gpus": 0}, max_failures=0,
                           **passes)  # fmt: skip


def run(folder: Path, cells: int, seeds: int, per_pass: int | None) -> dict[str, Any]:
    sweep = sweep_file(folder, cells, seeds, per_pass)
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

    def rss_at(done: int) -> float | None:
        return next((mib for finished, mib in memory if finished >= done), None)

    early = min(EARLY, total)
    start = WARM if total > WARM else early
    later = [(done, mib) for done, mib in memory if done >= start]
    growth = None
    if total > start and len({done for done, _ in later}) > 1:
        slope = np.polyfit([done for done, _ in later], [mib for _, mib in later], 1)[0]
        growth = round(100 * float(slope), 2)
    readings = {done: _rounded(rss_at(done)) for done in sorted({early, start, total})}
    curve = sorted({*range(early, total + 1, 50), total})
    return {
        "driver_exit_status": returncode,
        "trials_planned": total,
        "trials_completed": completed,
        "wall_seconds": round(wall, 1),
        **{f"driver_rss_mib_after_{done}_trials": mib for done, mib in readings.items()},
        f"driver_rss_mib_growth_per_100_trials_from_{start}": growth,
        "driver_rss_mib_peak": round(max((mib for _, mib in memory), default=0.0), 1),
        "samples": len(memory),
        # The first sample at every 50 trials finished: the curve of the figure.
        "driver_rss_mib_by_trials": [[done, _rounded(rss_at(done))] for done in curve],
        "complete": returncode == 0 and completed == total,
    }


def plot(curve: list[list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.2))
    axes.plot([done for done, _ in curve], [mib for _, mib in curve], marker=".")
    axes.set_xlabel("trials finished")
    axes.set_ylabel("driver RSS (MiB)")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


if __name__ == "__main__":
    sys.exit(main())
