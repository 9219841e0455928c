"""emotrain: multi-label emotion recognition (Demux) with label-correlation regularizers.

The whole library is one call: ``train(config, report=None) -> TrainResult``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emotrain.config import TrainConfig
    from emotrain.hooks import TrainHooks
    from emotrain.training import TrainResult, train

__all__ = ["TrainConfig", "TrainHooks", "TrainResult", "train"]

# Lazy so that torch-free parts (config errors, YAML reading) stay importable by
# the report, which reads tables only and must not load torch.
_HOMES = {
    "TrainConfig": "emotrain.config",
    "TrainHooks": "emotrain.hooks",
    "TrainResult": "emotrain.training",
    "train": "emotrain.training",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'emotrain' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
