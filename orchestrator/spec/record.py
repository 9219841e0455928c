"""An experiment's ``sweep.json``: the resolved sweep of its last run, written into its folder so
that the folder describes itself, and read back as plain JSON.

Writing takes the sweep model (sweep.py); reading does not: the tables, ``python -m
orchestrator.aggregate`` and the report only need a few fields, and a folder rebuilt by hand may
have none of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.store.files import write_text_atomically

if TYPE_CHECKING:
    from orchestrator.spec.sweep import Sweep

RECORD = "sweep.json"
# The defaults of the sweep's search (sweep.SearchSpec), for a folder without a readable record.
DEFAULT_METRIC, DEFAULT_MODE = "best_dev_jaccard", "max"


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
    try:
        search: dict[str, Any] = json.loads((experiment_dir / RECORD).read_text())["spec"]["search"]
        return str(search["metric"]), str(search["mode"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_METRIC, DEFAULT_MODE


def read_record(experiment_dir: Path) -> dict[str, Any]:
    """The whole record (``source``, ``overrides``, ``spec``), or {} when it is missing or
    unreadable."""
    try:
        record = json.loads((experiment_dir / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def read_spec(experiment_dir: Path) -> dict[str, Any]:
    """The recorded sweep (its ``spec``), or {} when the record is missing or unreadable."""
    return section(read_record(experiment_dir), "spec")


def section(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A mapping field of the spec, or {} when it is absent or not a mapping."""
    value = spec.get(name)
    return value if isinstance(value, dict) else {}


def search_metric(spec: dict[str, Any]) -> tuple[str, str]:
    """The metric the search optimised and its mode (``max`` or ``min``)."""
    search = section(spec, "search")
    return str(search.get("metric", DEFAULT_METRIC)), str(search.get("mode", DEFAULT_MODE))
