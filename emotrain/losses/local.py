"""The local label-correlation losses (DESIGN.md §3): per example, on the predictions or on the
Demux emotion representations, then averaged over the batch.

``push`` and ``pull`` are [N, N] pair weights: all ones, or ``1 - rho~`` and ``rho~``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from emotrain.losses.config import LocalKind, LocalOn
from emotrain.losses.pairs import (
    cosine_matrix,
    cross_pairs,
    group_pairs,
    masked_exp,
    masked_mean,
    mean_over_groups,
)

PairLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def inter_on_predictions(
    logits: torch.Tensor, targets: torch.Tensor, push: torch.Tensor
) -> torch.Tensor:
    """Mean over (present p, absent a) of ``push_pa * exp(s_a - s_p)``; 0 without such a pair.
    SpanEmo's label-correlation loss when the weights are ones."""
    probs = torch.sigmoid(logits)
    gaps = probs[:, None, :] - probs[:, :, None]  # [b, p, a] = s_a - s_p, within [-1, 1]
    mean, _ = masked_mean(push * torch.exp(gaps), cross_pairs(targets))
    return mean.mean()


def intra_on_predictions(
    logits: torch.Tensor, targets: torch.Tensor, pull: torch.Tensor
) -> torch.Tensor:
    """Absent pairs: mean of ``pull_ij * exp(z_i + z_j)`` (lowers them together); present pairs:
    mean of ``pull_ij * exp(-(z_i + z_j))`` (raises them together); per example the average of
    the groups that have a pair."""
    sums = logits[:, :, None] + logits[:, None, :]
    absent, present = group_pairs(targets)
    return mean_over_groups(
        (pull * masked_exp(sums, absent), absent),
        (pull * masked_exp(-sums, present), present),
    ).mean()


def inter_on_representations(
    states: torch.Tensor, targets: torch.Tensor, push: torch.Tensor
) -> torch.Tensor:
    """Mean over (present p, absent a) of ``push_pa * cos(h_p, h_a)``: pushes the groups apart.
    No sigmoid on h (the original's quirk)."""
    mean, _ = masked_mean(push * cosine_matrix(states), cross_pairs(targets))
    return mean.mean()


def intra_on_representations(
    states: torch.Tensor, targets: torch.Tensor, pull: torch.Tensor
) -> torch.Tensor:
    """Minus the mean over pairs within a group of ``pull_ij * cos(h_i, h_j)``: pulls each group
    together; per example the average of the groups that have a pair."""
    weighted = pull * cosine_matrix(states)
    absent, present = group_pairs(targets)
    return -mean_over_groups((weighted, absent), (weighted, present)).mean()


_INTER: dict[LocalOn, PairLoss] = {
    "predictions": inter_on_predictions,
    "representations": inter_on_representations,
}
_INTRA: dict[LocalOn, PairLoss] = {
    "predictions": intra_on_predictions,
    "representations": intra_on_representations,
}


def local_loss(
    kind: LocalKind,
    on: LocalOn,
    outputs: torch.Tensor,
    targets: torch.Tensor,
    pull: torch.Tensor,
    push: torch.Tensor,
) -> torch.Tensor:
    """The configured local loss; ``outputs`` are the logits [B, N] or the states [B, N, D]."""
    if kind == "inter":
        return _INTER[on](outputs, targets, push)
    if kind == "intra":
        return _INTRA[on](outputs, targets, pull)
    if kind == "complete":
        return (_INTER[on](outputs, targets, push) + _INTRA[on](outputs, targets, pull)) / 2
    raise ValueError(f"no local loss {kind!r}")
