"""An experiment's ``sweep.json`` read as plain JSON.

``orchestrator.record`` reads it through the sweep schema, which imports torch: the tables and
the report only need a few fields, and a folder rebuilt by hand may have none of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORD = "sweep.json"
# The defaults of orchestrator.sweep.SearchSpec, for a folder without a readable sweep.json.
DEFAULT_METRIC, DEFAULT_MODE = "best_dev_jaccard", "max"


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
