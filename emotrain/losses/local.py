"""The local label-correlation losses: per example, on the predictions or on the Demux emotion
representations, then averaged over the batch (docs/design.md#losses).

``push`` and ``pull`` are [N, N] pair weights: all ones, or ``1 - rho~`` and ``rho~``.

Two reductions of the same pair terms exist:

- ``paper``: the original implementation's arithmetic, so that alpha means what the papers'
  tables mean. intra divides each group's sum by the squared group size and counts its unused
  pairs (the diagonal and the lower triangle) as ``exp(0) = 1`` times their weight, adds the
  two groups and halves when both are present; inter on representations compares
  ``sigmoid(h)``; complete is intra alone where inter is exactly 0.
- ``pair_mean``: the mean over the pairs a loss is defined on; an example averages the groups
  that have a pair.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from emotrain.losses.config import LocalKind, LocalOn, Reduction
from emotrain.losses.pairs import (
    cosine_matrix,
    cross_pairs,
    group_pairs,
    masked_exp,
    masked_mean,
    mean_over_groups,
    members_pairs,
)

# Per example [B]: (outputs, targets, weights, reduction) -> loss of each example.
PairLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, Reduction], torch.Tensor]


def _inter_predictions(
    logits: torch.Tensor, targets: torch.Tensor, push: torch.Tensor, reduction: Reduction
) -> torch.Tensor:
    # Both reductions take the plain mean over the (present, absent) pairs.
    probs = torch.sigmoid(logits)
    gaps = probs[:, None, :] - probs[:, :, None]  # [b, p, a] = s_a - s_p, within [-1, 1]
    mean, _ = masked_mean(push * torch.exp(gaps), cross_pairs(targets))
    return mean


def _intra_predictions(
    logits: torch.Tensor, targets: torch.Tensor, pull: torch.Tensor, reduction: Reduction
) -> torch.Tensor:
    sums = logits[:, :, None] + logits[:, None, :]
    absent, present = group_pairs(targets)
    if reduction == "pair_mean":
        return mean_over_groups(
            (pull * masked_exp(sums, absent), absent),
            (pull * masked_exp(-sums, present), present),
        )
    present_rows = targets > 0.5
    terms = [
        _paper_group(pull * masked_exp(exponent, upper), rows)
        for exponent, upper, rows in ((sums, absent, ~present_rows), (-sums, present, present_rows))
    ]
    return _paper_halving(terms[0] + terms[1], present_rows)


def _inter_representations(
    states: torch.Tensor, targets: torch.Tensor, push: torch.Tensor, reduction: Reduction
) -> torch.Tensor:
    if reduction == "paper":
        states = torch.sigmoid(states)
    mean, _ = masked_mean(push * cosine_matrix(states), cross_pairs(targets))
    return mean


def _intra_representations(
    states: torch.Tensor, targets: torch.Tensor, pull: torch.Tensor, reduction: Reduction
) -> torch.Tensor:
    weighted = pull * cosine_matrix(states)
    absent, present = group_pairs(targets)
    if reduction == "pair_mean":
        return -mean_over_groups((weighted, absent), (weighted, present))
    present_rows = targets > 0.5
    # Unused pairs count 0 here: the original masks the cosines themselves, not an exponent.
    terms = [
        _paper_group(torch.where(upper, weighted, 0.0), rows)
        for upper, rows in ((absent, ~present_rows), (present, present_rows))
    ]
    return -_paper_halving(terms[0] + terms[1], present_rows)


def _paper_group(values: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Per example, the sum of ``values`` over every ordered pair (diagonal included) of the
    group ``rows`` [B, N], divided by the squared group size: the original's ``.mean()`` of the
    group's [G, G] matrix. An empty group gives 0."""
    size = rows.sum(dim=1).to(values.dtype)
    total = torch.where(members_pairs(rows), values, 0.0).sum(dim=(1, 2))
    return total / size.clamp(min=1.0) ** 2


def _paper_halving(total: torch.Tensor, present_rows: torch.Tensor) -> torch.Tensor:
    """The original halves the sum of the two groups when both are non-empty."""
    both = present_rows.any(dim=1) & (~present_rows).any(dim=1)
    return torch.where(both, total / 2, total)


_INTER: dict[LocalOn, PairLoss] = {
    "predictions": _inter_predictions,
    "representations": _inter_representations,
}
_INTRA: dict[LocalOn, PairLoss] = {
    "predictions": _intra_predictions,
    "representations": _intra_representations,
}


def local_loss_per_example(
    kind: LocalKind,
    on: LocalOn,
    outputs: torch.Tensor,
    targets: torch.Tensor,
    pull: torch.Tensor,
    push: torch.Tensor,
    reduction: Reduction,
) -> torch.Tensor:
    """The configured local loss of each example [B]; ``outputs`` are the logits [B, N] or the
    states [B, N, D]."""
    if kind == "inter":
        return _INTER[on](outputs, targets, push, reduction)
    if kind == "intra":
        return _INTRA[on](outputs, targets, pull, reduction)
    if kind == "complete":
        inter = _INTER[on](outputs, targets, push, reduction)
        intra = _INTRA[on](outputs, targets, pull, reduction)
        if reduction == "paper":
            # The original returns intra alone where inter is exactly 0 (no present or no
            # absent emotion), rather than averaging it with that 0.
            return torch.where(inter == 0, intra, (inter + intra) / 2)
        return (inter + intra) / 2
    raise ValueError(f"no local loss {kind!r}")


def local_loss(
    kind: LocalKind,
    on: LocalOn,
    outputs: torch.Tensor,
    targets: torch.Tensor,
    pull: torch.Tensor,
    push: torch.Tensor,
    reduction: Reduction,
) -> torch.Tensor:
    """The configured local loss, averaged over the batch."""
    return local_loss_per_example(kind, on, outputs, targets, pull, push, reduction).mean()


def inter_on_predictions(
    logits: torch.Tensor, targets: torch.Tensor, push: torch.Tensor, *, reduction: Reduction
) -> torch.Tensor:
    """Mean over (present p, absent a) of ``push_pa * exp(s_a - s_p)``; 0 without such a pair.
    SpanEmo's label-correlation loss when the weights are ones. Both reductions agree."""
    return local_loss("inter", "predictions", logits, targets, push, push, reduction)


def intra_on_predictions(
    logits: torch.Tensor, targets: torch.Tensor, pull: torch.Tensor, *, reduction: Reduction
) -> torch.Tensor:
    """Absent pairs: ``pull_ij * exp(z_i + z_j)`` (lowers them together); present pairs:
    ``pull_ij * exp(-(z_i + z_j))`` (raises them together); reduced as the module says."""
    return local_loss("intra", "predictions", logits, targets, pull, pull, reduction)


def inter_on_representations(
    states: torch.Tensor, targets: torch.Tensor, push: torch.Tensor, *, reduction: Reduction
) -> torch.Tensor:
    """Mean over (present p, absent a) of ``push_pa * cos(h_p, h_a)``: pushes the groups apart
    (``paper`` compares ``sigmoid(h)``, as the original did)."""
    return local_loss("inter", "representations", states, targets, push, push, reduction)


def intra_on_representations(
    states: torch.Tensor, targets: torch.Tensor, pull: torch.Tensor, *, reduction: Reduction
) -> torch.Tensor:
    """Minus ``pull_ij * cos(h_i, h_j)`` over the pairs within a group: pulls each group
    together; reduced as the module says."""
    return local_loss("intra", "representations", states, targets, pull, pull, reduction)
