"""The table readers start without the training stack: ``python -m orchestrator.aggregate`` and
``orchestrator.report`` read Parquet tables only, so importing them loads no torch, no
transformers and no scikit-learn; nor do the layers below them that hold no training code (the
sweep model, the tables, their analysis, the trial folder's names). lint-imports checks the
import graph (pyproject.toml: the orchestrator's layers and what each may import); this checks
the process."""

from __future__ import annotations

import subprocess
import sys

import pytest

LIGHT = [
    "orchestrator.aggregate",
    "orchestrator.report",
    "orchestrator.report.command",
    "orchestrator.spec.sweep",
    "orchestrator.results.tables",
    "orchestrator.analysis.reference",
    "orchestrator.trial.folder",
]


@pytest.mark.parametrize("module", LIGHT)
def test_the_table_readers_load_no_training_stack(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('torch', 'transformers', 'sklearn', 'ray') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
