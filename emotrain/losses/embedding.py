"""The global losses on the Demux emotion representations (DESIGN.md §3): label-independent,
they shape the geometry of h so that it follows a correlation rho between emotions."""

from __future__ import annotations

import torch

from emotrain.losses.config import GlobalKind
from emotrain.losses.pairs import cosine_matrix


def _upper_pairs(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    rows, cols = torch.triu_indices(size, size, offset=1, device=device)
    return rows, cols


def cossim_global(states: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """Mean over pairs i < j and the batch of ``(cos(h_i, h_j) - rho_ij)^2``, rho in [-1, 1]."""
    rows, cols = _upper_pairs(states.shape[1], states.device)
    if rows.numel() == 0:  # one emotion: no pair, nothing to shape
        return states.sum() * 0.0
    cosines = cosine_matrix(states)[:, rows, cols]
    return ((cosines - rho[rows, cols]) ** 2).mean()


def sq_diff_global(states: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """Mean over pairs i < j and the batch of ``rho~_ij * ||h_i - h_j||``, rho~ = (rho + 1) / 2:
    correlated emotions are pulled together, opposite ones (rho~ = 0) are left alone."""
    rows, cols = _upper_pairs(states.shape[1], states.device)
    if rows.numel() == 0:
        return states.sum() * 0.0
    # vector_norm has a zero (not NaN) gradient where h_i == h_j.
    distances = torch.linalg.vector_norm(states[:, rows] - states[:, cols], dim=-1)
    return ((rho[rows, cols] + 1.0) / 2.0 * distances).mean()


def global_loss(kind: GlobalKind, states: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    if kind == "cossim":
        return cossim_global(states, rho)
    if kind == "sq_diff":
        return sq_diff_global(states, rho)
    raise ValueError(f"no global loss {kind!r}")
