"""Losing a sweep's driver as a lost machine would (kill -9 of it and its local Ray), and reading
back the trial that ``--resume`` then ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest


def kill_driver_when(
    command: list[str],
    cwd: Path,
    ready: Callable[[], object],
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> None:
    """Start the sweep, wait until ``ready()``, then kill the driver's whole session and wait
    for every process of it (trial workers included) to be gone."""
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              cwd=cwd, env=env, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert driver.poll() is None, "the sweep ended before the moment to kill it"
            if time.monotonic() > deadline:
                pytest.fail("the sweep did not reach the moment to kill it in time")
            time.sleep(0.5)
    finally:
        family = psutil.Process(driver.pid).children(recursive=True)
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
        psutil.wait_procs(family, timeout=60)


def resume(command: list[str], cwd: Path, experiment: Path) -> tuple[str, set[str]]:
    """Run the sweep again with ``--resume``; its output, and the trial folders from before."""
    before = {p.parent.name for p in experiment.glob("*/params.json")}
    done = subprocess.run([*command, "--resume"], capture_output=True, text=True, cwd=cwd,
                          timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, before


def resumed_trial(experiment: Path, before: set[str]) -> tuple[str, list[int]]:
    """The one trial folder not in ``before``, and the epochs its result rows report."""
    (new,) = {p.parent.name for p in experiment.glob("*/params.json")} - before
    lines = (experiment / new / "result.json").read_text().splitlines()
    return new, [row["epoch"] for row in map(json.loads, lines) if "epoch" in row]
