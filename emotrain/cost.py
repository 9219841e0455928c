"""What one run cost: its wall time, the CPU time its process used meanwhile, and its peak
memory (host RSS, and GPU memory when CUDA was used), measured by the run itself so that any
caller (the orchestrator, the command line) gets it.

The CPU time is the whole process's (every thread: torch's, and a Ray worker's own), over the
run: against the wall time and the CPUs the run held, it says how busy the run kept them.

The host peak is the process's ``ru_maxrss``: the high-water mark of the whole process, which is
the trial's own peak when the process runs one trial (as a Tune actor does). It cannot be reset,
so a process that trained before reports the larger of the two peaks.
"""

from __future__ import annotations

import resource
import sys
import time

import torch
from pydantic import BaseModel

# The flat keys a run reports (see ``RunCost.flat``): they differ from run to run, unlike metrics.
COST_FIELDS = ("run_wall_seconds", "run_cpu_seconds", "peak_rss_bytes", "gpu_max_allocated_bytes")


class RunCost(BaseModel):
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    gpu_max_allocated_bytes: int | None = None  # None: CUDA was not used

    def flat(self) -> dict[str, float]:
        flat = {
            "run_wall_seconds": self.wall_seconds,
            "run_cpu_seconds": self.cpu_seconds,
            "peak_rss_bytes": float(self.peak_rss_bytes),
        }
        if self.gpu_max_allocated_bytes is not None:
            flat["gpu_max_allocated_bytes"] = float(self.gpu_max_allocated_bytes)
        return flat


class CostMeter:
    """Started when a run starts; ``measure`` when it ends."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._cpu_started = time.process_time()
        if _cuda_in_use():
            torch.cuda.reset_peak_memory_stats()  # the peak of this run, not of earlier ones

    def measure(self) -> RunCost:
        gpu = int(torch.cuda.max_memory_allocated()) if _cuda_in_use() else None
        return RunCost(
            wall_seconds=time.perf_counter() - self._started,
            cpu_seconds=time.process_time() - self._cpu_started,
            peak_rss_bytes=peak_rss_bytes(),
            gpu_max_allocated_bytes=gpu,
        )


def peak_rss_bytes() -> int:
    """The process's peak resident set size; Linux reports KiB, macOS bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _cuda_in_use() -> bool:
    # is_initialized: never start a CUDA context just to read a counter that is then zero
    return torch.cuda.is_available() and torch.cuda.is_initialized()
