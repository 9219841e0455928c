"""Correlations rho between emotions, from the training labels or Plutchik's wheel, and the pair
weights derived from them (docs/design.md#losses)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from emotrain.losses.config import RhoSource

# The 16 slots of the wheel, pi/8 apart; opposite emotions are 8 slots (pi) apart.
PLUTCHIK_WHEEL: tuple[str, ...] = (
    "fear", "submission", "trust", "love", "joy", "optimism", "anticipation", "aggressiveness",
    "anger", "contempt", "disgust", "remorse", "sadness", "disapproval", "surprise", "awe",
)  # fmt: skip

PLUTCHIK_ANGLES: dict[str, float] = {
    **{emotion: math.pi * slot / 8 for slot, emotion in enumerate(PLUTCHIK_WHEEL)},
    # Not a slot of its own: the papers place it opposite optimism.
    "pessimism": math.pi * PLUTCHIK_WHEEL.index("optimism") / 8 + math.pi,
}


def label_correlation(labels: np.ndarray) -> np.ndarray:
    """Pearson correlation of the label columns; a constant column correlates 0 with all."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.corrcoef(labels, rowvar=False)
    return np.nan_to_num(np.atleast_2d(rho), nan=0.0)


def plutchik_correlation(emotions: Sequence[str]) -> np.ndarray:
    """``rho_ij = cos(theta_i - theta_j)`` with each emotion's angle on Plutchik's wheel."""
    missing = [emotion for emotion in emotions if emotion not in PLUTCHIK_ANGLES]
    if missing:
        raise ValueError(
            f"emotion {missing[0]!r} is not on Plutchik's wheel; "
            f"the wheel has: {', '.join(PLUTCHIK_ANGLES)}"
        )
    angles = np.array([PLUTCHIK_ANGLES[emotion] for emotion in emotions])
    return np.cos(angles[:, None] - angles[None, :])


def correlation(source: RhoSource, labels: np.ndarray, emotions: Sequence[str]) -> torch.Tensor:
    """rho in [-1, 1] as a float32 [N, N] tensor, from the configured source."""
    rho = plutchik_correlation(emotions) if source == "plutchik" else label_correlation(labels)
    return torch.as_tensor(rho, dtype=torch.float32)


def pull_weights(rho: np.ndarray | torch.Tensor) -> torch.Tensor:
    """rho in [-1, 1] mapped to a pull weight in [0, 1]; the push weight is 1 minus it."""
    return torch.as_tensor((rho + 1.0) / 2.0, dtype=torch.float32)
