"""The global losses on the Demux emotion representations (docs/design.md#losses):
label-independent, they shape the geometry of h so that it follows a correlation rho between
emotions. ``paper`` divides the sum over the pairs i < j by the batch size times N^2, as the
original's ``.triu(diagonal=1).mean()`` over [B, N, N] does; ``pair_mean`` divides by the
batch size times the number of pairs, N (N - 1) / 2."""

from __future__ import annotations

import torch

from emotrain.losses.config import GlobalKind, Reduction
from emotrain.losses.pairs import cosine_matrix


def _upper_pairs(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    rows, cols = torch.triu_indices(size, size, offset=1, device=device)
    return rows, cols


def _reduce(terms: torch.Tensor, size: int, reduction: Reduction) -> torch.Tensor:
    """``terms`` [B, pairs] reduced to a scalar: the mean, or the paper's sum over B * N^2."""
    mean = terms.mean()
    return mean * (terms.shape[1] / size**2) if reduction == "paper" else mean


def cossim_global(states: torch.Tensor, rho: torch.Tensor, *, reduction: Reduction) -> torch.Tensor:
    """``(cos(h_i, h_j) - rho_ij)^2`` over the pairs i < j and the batch, rho in [-1, 1]."""
    rows, cols = _upper_pairs(states.shape[1], states.device)
    if rows.numel() == 0:  # one emotion: no pair, nothing to shape
        return states.sum() * 0.0
    cosines = cosine_matrix(states)[:, rows, cols]
    return _reduce((cosines - rho[rows, cols]) ** 2, states.shape[1], reduction)


def sq_diff_global(
    states: torch.Tensor, pull: torch.Tensor, *, reduction: Reduction
) -> torch.Tensor:
    """``pull_ij * ||h_i - h_j||`` over the pairs i < j and the batch, with the pull weights
    rho~ = (rho + 1) / 2: correlated emotions are pulled together, opposite ones (rho~ = 0) are
    left alone."""
    rows, cols = _upper_pairs(states.shape[1], states.device)
    if rows.numel() == 0:
        return states.sum() * 0.0
    # vector_norm has a zero (not NaN) gradient where h_i == h_j.
    distances = torch.linalg.vector_norm(states[:, rows] - states[:, cols], dim=-1)
    return _reduce(pull[rows, cols] * distances, states.shape[1], reduction)


def global_loss(
    kind: GlobalKind, states: torch.Tensor, rho: torch.Tensor, reduction: Reduction
) -> torch.Tensor:
    """``rho`` is the raw correlation for cossim and the pull weights rho~ for sq_diff."""
    if kind == "cossim":
        return cossim_global(states, rho, reduction=reduction)
    if kind == "sq_diff":
        return sq_diff_global(states, rho, reduction=reduction)
    raise ValueError(f"no global loss {kind!r}")
