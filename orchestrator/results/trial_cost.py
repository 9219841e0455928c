"""What a sweep cost, as table columns.

Per completed trial (``trials.parquet``): the resources it held (``cpus``, ``gpus``), its wall
time (``wall_seconds``: Tune's ``time_total_s``, the time the trial ran, carried over its
retries; ``run_wall_seconds`` is the last ``train`` call alone), ``cpu_hours`` and ``gpu_hours``
(resources times wall time), the CPU time the last ``train`` call's process used
(``run_cpu_seconds``: a rank 0's alone for a multi-worker trial), and the memory peaks the run
measured (``peak_rss_bytes``, and ``gpu_max_allocated_bytes`` when CUDA was used; see
emotrain/cost.py). Per configuration
(``configs.parquet``): the sums over its completed trials and the largest peaks. The sweep's
total is the sum over its configurations. Failed or incomplete trials have no final result and
are not counted.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

SECONDS_PER_HOUR = 3600.0
# By emotrain (its COST_FIELDS, named again here: emotrain/cost.py imports torch, the tables not).
MEASURED = ("run_wall_seconds", "run_cpu_seconds", "peak_rss_bytes", "gpu_max_allocated_bytes")
SUMMED = ("wall_seconds", "cpu_hours", "gpu_hours", "epochs_run")
PEAKS = ("peak_rss_bytes", "gpu_max_allocated_bytes")


def trial_cost(final: dict[str, Any], resources: dict[str, Any]) -> dict[str, float]:
    """The cost columns of a completed trial: ``final`` is its last result line, ``resources``
    what each trial of the sweep asked for (NaN hours when it is unknown)."""
    # ``cpus`` is per training process; a multi-worker trial has ``workers`` of them.
    processes = _number(resources.get("workers") or max(1.0, _number(resources.get("gpus"))))
    cpus, gpus = _number(resources.get("cpus")) * processes, _number(resources.get("gpus"))
    wall = _number(final.get("time_total_s", final.get("run_wall_seconds")))
    return {
        "cpus": cpus,
        "gpus": gpus,
        "wall_seconds": wall,
        "cpu_hours": cpus * wall / SECONDS_PER_HOUR,
        "gpu_hours": gpus * wall / SECONDS_PER_HOUR,
        **{name: _number(final.get(name)) for name in MEASURED},
    }


def config_cost(done: pd.DataFrame) -> pd.DataFrame:
    """Per ``config_key`` of the completed trials: ``<column>_sum`` and ``<peak>_max``."""
    groups = done.groupby("config_key", sort=False)
    parts = [
        groups[column].sum(min_count=1).rename(f"{column}_sum")
        for column in SUMMED
        if column in done
    ]
    parts += [groups[column].max().rename(f"{column}_max") for column in PEAKS if column in done]
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=groups.size().index)


def totals(configs: pd.DataFrame) -> dict[str, float]:
    """The sweep's totals over its configurations (both stages of a two-stage sweep)."""
    found = {f"{column}_sum": column for column in SUMMED if f"{column}_sum" in configs}
    found |= {f"{column}_max": column for column in PEAKS if f"{column}_max" in configs}
    return {
        column: float(configs[name].max() if name.endswith("_max") else configs[name].sum())
        for name, column in found.items()
    }


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)
