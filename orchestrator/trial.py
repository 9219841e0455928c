"""The Tune trainable: one (configuration, seed) is one call of ``emotrain.train``."""

from __future__ import annotations

from typing import Any

from ray import tune

import emotrain
from orchestrator.tables import FINAL


def run_trial(config: dict[str, Any]) -> None:
    result = emotrain.train(config["train"], report=tune.report)
    tune.report({**result.flat(), FINAL: 1.0})
