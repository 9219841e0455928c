"""BCE and the label-correlation losses of both papers (docs/design.md#losses):
``L = (1 - alpha) * BCE + alpha * L_local + beta * L_global``."""

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
