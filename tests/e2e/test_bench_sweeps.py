"""The benchmarks that run sweeps through ``orchestrator.run`` on a local Ray: each one's
``--smoke`` run (a couple of tiny trials) exits 0, writes its JSON, and every trial completed.
Apart from tests/e2e/test_benches.py so that the two files run on the suite's two workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_runs import SWEEPS, has_keys, smoke_figures

pytestmark = pytest.mark.slow(minutes=5)  # on 2 CPUs: see conftest.py


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_sweep_smoke_run_completes_every_trial(name: str, tmp_path: Path) -> None:
    figures = smoke_figures(name, tmp_path)
    assert has_keys(figures, SWEEPS[name])
    if "complete" in figures:  # every (configuration, seed) completed, exactly once
        assert figures["complete"], figures
    if name == "gpu_sweep":
        assert all(level["completed"] == 2 for level in figures["levels"]), figures
    if name == "orchestration_overhead":  # the loop trained exactly what the sweep trained
        assert all(loop["metrics_equal_sweep"] for loop in figures["loops"].values())
