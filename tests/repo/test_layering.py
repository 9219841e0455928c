"""The table readers start without the training stack: ``python -m orchestrator.aggregate`` and
``orchestrator.report`` read Parquet tables only, so importing them loads no torch, no
transformers and no scikit-learn (lint-imports checks the import graph; this checks the
process)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["orchestrator.aggregate", "orchestrator.report"])
def test_the_table_readers_load_no_training_stack(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('torch', 'transformers', 'sklearn', 'ray') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
