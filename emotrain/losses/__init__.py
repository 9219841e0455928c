"""BCE and the label-correlation losses of both papers (the design document, "Losses"):
``L = (1 - alpha) * BCE + alpha * L_local + beta * L_global``.

The names load lazily, so that ``emotrain.losses.config`` (the configuration section) is
importable without torch."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emotrain.losses.config import LossConfig
    from emotrain.losses.correlation import (
        PLUTCHIK_WHEEL,
        label_correlation,
        plutchik_correlation,
        pull_weights,
    )
    from emotrain.losses.embedding import cossim_global, global_loss, sq_diff_global
    from emotrain.losses.local import (
        inter_on_predictions,
        inter_on_representations,
        intra_on_predictions,
        intra_on_representations,
        local_loss,
    )
    from emotrain.losses.objective import Objective

_HOMES = {
    "LossConfig": "config",
    "PLUTCHIK_WHEEL": "correlation",
    "label_correlation": "correlation",
    "plutchik_correlation": "correlation",
    "pull_weights": "correlation",
    "cossim_global": "embedding",
    "global_loss": "embedding",
    "sq_diff_global": "embedding",
    "inter_on_predictions": "local",
    "inter_on_representations": "local",
    "intra_on_predictions": "local",
    "intra_on_representations": "local",
    "local_loss": "local",
    "Objective": "objective",
}
__all__ = [
    "PLUTCHIK_WHEEL",
    "LossConfig",
    "Objective",
    "cossim_global",
    "global_loss",
    "inter_on_predictions",
    "inter_on_representations",
    "intra_on_predictions",
    "intra_on_representations",
    "label_correlation",
    "local_loss",
    "plutchik_correlation",
    "pull_weights",
    "sq_diff_global",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'emotrain.losses' has no attribute {name!r}")
    return getattr(import_module(f"emotrain.losses.{_HOMES[name]}"), name)
