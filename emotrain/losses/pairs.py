"""Batched pair masks and masked means shared by the pair losses. Everything works on
``[B, N, N]`` tensors so that no loss loops over the examples of a batch."""

from __future__ import annotations

import torch
from torch.nn import functional

COSINE_EPS = 1e-8


def cosine_matrix(states: torch.Tensor, eps: float = COSINE_EPS) -> torch.Tensor:
    """``cos(h_i, h_j)`` for every pair: [B, N, D] -> [B, N, N]; eps keeps zero vectors finite."""
    unit = functional.normalize(states, dim=-1, eps=eps)
    return unit @ unit.transpose(1, 2)


def cross_pairs(targets: torch.Tensor) -> torch.Tensor:
    """Mask [B, N, N] of the (present p, absent a) pairs, indexed ``[b, p, a]``."""
    present = targets > 0.5
    return present[:, :, None] & ~present[:, None, :]


def group_pairs(targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks [B, N, N] of the pairs i < j within the absent and within the present emotions."""
    size = targets.shape[1]
    upper = torch.ones(size, size, dtype=torch.bool, device=targets.device).triu(diagonal=1)
    present = targets > 0.5
    absent = ~present
    return (
        absent[:, :, None] & absent[:, None, :] & upper,
        present[:, :, None] & present[:, None, :] & upper,
    )


def members_pairs(rows: torch.Tensor) -> torch.Tensor:
    """Mask [B, N, N] of every ordered pair (i, j), diagonal included, of the emotions marked in
    ``rows`` [B, N]."""
    return rows[:, :, None] & rows[:, None, :]


def masked_exp(exponent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``exp`` of the masked entries and 1 elsewhere: an unused pair that overflows would
    otherwise turn the masked sum, and its gradient, into NaN."""
    return torch.exp(exponent.masked_fill(~mask, 0.0))


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example, the mean of ``values`` over the mask (0 with an empty mask), and whether the
    mask had any pair."""
    count = mask.sum(dim=(1, 2))
    total = torch.where(mask, values, 0.0).sum(dim=(1, 2))
    return total / count.clamp(min=1), count > 0


def mean_over_groups(*groups: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Per example, the average of the groups' masked means over the groups that have a pair
    (0 when none has); each group is ``(values, mask)``."""
    means, nonempty = zip(*(masked_mean(values, mask) for values, mask in groups), strict=True)
    present = torch.stack(nonempty).to(means[0].dtype)
    return (torch.stack(means) * present).sum(dim=0) / present.sum(dim=0).clamp(min=1.0)
