"""The Tune trainable: one (configuration, seed) is one call of ``emotrain.train``.

``train`` saves its state after every epoch; each report that follows such a save hands that
state to Tune as the trial's checkpoint. A retried trial (``max_failures``) gets it back and
continues from its last epoch, ending exactly as an uninterrupted run would.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ray import tune

import emotrain
from emotrain.train_state import LATEST
from orchestrator.tables import FINAL


def run_trial(config: dict[str, Any]) -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="emotrain-state-"))
    try:
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            checkpoint.to_directory(str(state_dir / LATEST))
        result = emotrain.train(config["train"], report=_reporter(state_dir), state_dir=state_dir)
        tune.report({**result.flat(), FINAL: 1.0})
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def _reporter(state_dir: Path) -> Callable[[dict[str, float]], None]:
    latest = state_dir / LATEST

    def report(metrics: dict[str, float]) -> None:
        if _saved_step(latest) == metrics.get("step"):
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(latest)))
        else:
            tune.report(metrics)

    return report


def _saved_step(latest: Path) -> int | None:
    progress = latest / "progress.json"
    if not progress.is_file():
        return None
    return json.loads(progress.read_text(encoding="utf-8"))["steps"]
