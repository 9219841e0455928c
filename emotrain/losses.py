"""BCE and the label-correlation regularizers (DESIGN.md §3):
``L = (1 - alpha) * BCE + alpha * L_local``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional

from emotrain.losses_config import LossConfig


def label_correlation(labels: np.ndarray) -> np.ndarray:
    """Pearson correlation of the label columns; a constant column correlates 0 with all."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.corrcoef(labels, rowvar=False)
    return np.nan_to_num(np.atleast_2d(rho), nan=0.0)


def pull_weights(rho: np.ndarray) -> torch.Tensor:
    """rho in [-1, 1] mapped to a pull weight in [0, 1]; the push weight is 1 minus it."""
    return torch.as_tensor((rho + 1.0) / 2.0, dtype=torch.float32)


def intra_loss(logits: torch.Tensor, targets: torch.Tensor, pull: torch.Tensor) -> torch.Tensor:
    """Local intra loss on predictions, averaged over the batch.

    Within the absent emotions, the mean over pairs i<j of ``w_ij * exp(z_i + z_j)``; within the
    present ones, the mean over pairs of ``w_ij * exp(-(z_i + z_j))``; per example the average of
    the groups that have a pair (0 when neither has).
    """
    upper = torch.ones_like(pull).triu(diagonal=1)
    pair_sums = logits[:, :, None] + logits[:, None, :]
    group_terms = []
    for in_group, sign in ((1.0 - targets, 1.0), (targets, -1.0)):
        pairs = in_group[:, :, None] * in_group[:, None, :] * upper
        count = pairs.sum(dim=(1, 2))
        total = (pairs * pull * torch.exp(sign * pair_sums)).sum(dim=(1, 2))
        group_terms.append((total / count.clamp(min=1.0), (count > 0).float()))
    value = sum(term * present for term, present in group_terms)
    groups = sum(present for _, present in group_terms)
    return (value / groups.clamp(min=1.0)).mean()


@dataclass
class Objective:
    """The configured loss; ``pull`` holds the pair weights (ones, or from rho)."""

    config: LossConfig
    pull: torch.Tensor

    @classmethod
    def build(cls, config: LossConfig, train_labels: np.ndarray) -> Objective:
        size = train_labels.shape[1]
        if config.weights == "rho":
            pull = pull_weights(label_correlation(train_labels))
        else:
            pull = torch.ones(size, size)
        return cls(config, pull)

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        bce = functional.binary_cross_entropy_with_logits(logits, targets)
        if self.config.local == "none":
            return bce
        local = intra_loss(logits, targets, self.pull.to(logits.device))
        return (1.0 - self.config.alpha) * bce + self.config.alpha * local
