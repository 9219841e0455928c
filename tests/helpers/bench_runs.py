"""Running a benchmark script of bench/ as a user runs it, for tests/e2e/test_benches.py and
tests/e2e/test_bench_sweeps.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"
# What the scripts import; not benchmarks themselves.
SHARED = {"contenders", "data_path", "encoders", "local_sweeps"}
# The benchmarks that run sweeps on a local Ray (tests/e2e/test_bench_sweeps.py): the top-level
# keys their --smoke run's JSON must hold.
SWEEPS: dict[str, set[str]] = {
    "driver_footprint": {"complete", "trials_completed", "driver_rss_mib_peak", "samples"},
    "gpu_sweep": {"settings", "machine", "levels"},
    "orchestration_overhead": {"trials", "loops", "sweeps", "rounds", "bare_ray_init_shutdown"},
    "soak": {"complete", "trials_completed", "trial_workers_killed", "errors_retried"},
}


def run_bench(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python bench/<name>.py <args>`` in ``cwd``, offline."""
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(BENCH / f"{name}.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=cwd, env=env)


def smoke_figures(name: str, folder: Path, *args: str) -> Any:
    """``name``'s ``--smoke`` run, which must exit 0: the JSON it wrote."""
    out = folder / f"{name}.json"
    done = run_bench(name, "--smoke", "--out", str(out), *args, cwd=folder)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def has_keys(figures: Any, keys: set[str]) -> bool:
    """The JSON holds ``keys`` at the top (in every row, for a list of rows)."""
    rows = figures if isinstance(figures, list) else [figures]
    return bool(rows) and all(keys <= row.keys() for row in rows)
