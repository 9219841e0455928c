"""The resolved sweep of the last run, saved as ``sweep.json`` in its experiment folder so that
the folder describes itself (``python -m orchestrator.aggregate`` reads the metric from it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.files import write_text_atomically
from orchestrator.sweep import SearchSpec, Sweep

RECORD = "sweep.json"


def write_record(sweep: Sweep, flags: list[str]) -> Path:
    """The sweep after ``extends`` and the command-line overrides (``flags``), atomically."""
    sweep.experiment_dir.mkdir(parents=True, exist_ok=True)
    path = sweep.experiment_dir / RECORD
    record = {
        "source": str(sweep.source),
        "overrides": flags,
        "spec": sweep.spec.model_dump(mode="json"),
    }
    write_text_atomically(path, json.dumps(record, indent=2))
    return path


def read_metric(experiment_dir: Path) -> tuple[str, str]:
    """The searched metric and its mode; the defaults when the folder has no readable record."""
    default = SearchSpec()
    try:
        search: dict[str, Any] = json.loads((experiment_dir / RECORD).read_text())["spec"]["search"]
        return str(search["metric"]), str(search["mode"])
    except (OSError, ValueError, KeyError, TypeError):
        return default.metric, default.mode
