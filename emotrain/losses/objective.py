"""The configured training loss ``(1 - alpha) * BCE + alpha * L_local + beta * L_global``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch.nn import functional

from emotrain.losses.config import LossConfig
from emotrain.losses.correlation import correlation, pull_weights
from emotrain.losses.embedding import global_loss
from emotrain.losses.local import local_loss

# The original's weight functions add this to every weight they read from a correlation (its
# guard for the log function, kept in its identity function): the paper reduction does too.
PAPER_WEIGHT_OFFSET = 1e-5


@dataclass(frozen=True)
class Objective:
    """``pull`` and ``push`` are the [N, N] local pair weights (ones, or rho~ and 1 - rho~);
    ``rho`` is what the global loss reads (the raw correlation for cossim, rho~ for sq_diff),
    present only when the config reads a correlation. Under the paper reduction every weight
    read from rho carries the original's offset."""

    config: LossConfig
    emotions: tuple[str, ...]
    pull: torch.Tensor
    push: torch.Tensor
    rho: torch.Tensor | None

    @classmethod
    def build(
        cls, config: LossConfig, train_labels: np.ndarray, emotions: Sequence[str]
    ) -> Objective:
        emotions = tuple(emotions)
        if train_labels.ndim != 2 or train_labels.shape[1] != len(emotions):
            raise ValueError(
                f"train labels of shape {train_labels.shape} do not match "
                f"{len(emotions)} emotions {emotions}"
            )
        # Computed only when read, so rho: plutchik never rejects an emotion set it does not use.
        rho = correlation(config.rho, train_labels, emotions) if config.uses_rho else None
        offset = PAPER_WEIGHT_OFFSET if config.reduction == "paper" else 0.0
        if config.weights == "rho" and rho is not None:
            pull = pull_weights(rho) + offset
            push = 1.0 - pull
        else:
            pull = push = torch.ones(len(emotions), len(emotions))
        if rho is not None:
            rho = (pull_weights(rho) if config.global_loss == "sq_diff" else rho) + offset
        return cls(config, emotions, pull, push, rho)

    def to(self, device: torch.device) -> Objective:
        """The same objective with its pair weights and rho on ``device`` (once, not per step)."""
        rho = None if self.rho is None else self.rho.to(device)
        return replace(self, pull=self.pull.to(device), push=self.push.to(device), rho=rho)

    def __call__(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        states: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The scalar loss of a batch: logits and 0/1 targets [B, N], states [B, N, D]."""
        self._check(logits, states)
        # The loss in fp32 whatever the forward's precision (a no-op in fp32 runs).
        logits = logits.float()
        states = None if states is None else states.float()
        config = self.config
        targets = targets.to(logits.dtype)
        loss = functional.binary_cross_entropy_with_logits(logits, targets)
        # A zero coefficient skips its term: 0 * an overflowed term would be NaN, not 0.
        if config.local != "none" and config.alpha > 0:
            outputs = logits if config.local_on == "predictions" else states
            pull, push = self._on(self.pull, logits), self._on(self.push, logits)
            local = local_loss(
                config.local, config.local_on, outputs, targets, pull, push, config.reduction
            )
            loss = (1.0 - config.alpha) * loss + config.alpha * local
        if config.global_loss != "none" and config.beta > 0:
            assert self.rho is not None and states is not None  # uses_rho, _check
            rho = self._on(self.rho, states)
            shaped = global_loss(config.global_loss, states, rho, config.reduction)
            loss = loss + config.beta * shaped
        return loss

    def _check(self, logits: torch.Tensor, states: torch.Tensor | None) -> None:
        if logits.ndim != 2 or logits.shape[1] != len(self.emotions):
            raise ValueError(
                f"logits of shape {tuple(logits.shape)} do not match the {len(self.emotions)} "
                f"emotions the objective was built for"
            )
        if self.config.uses_representations and states is None:
            raise ValueError(
                f"the loss (local={self.config.local} on {self.config.local_on}, "
                f"global_loss={self.config.global_loss}) needs the per-emotion representations, "
                "but none were given (only Demux has them)"
            )
        if states is not None and states.shape[:2] != logits.shape:
            raise ValueError(
                f"states of shape {tuple(states.shape)} do not match logits {tuple(logits.shape)}"
            )

    @staticmethod
    def _on(weights: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return weights.to(device=like.device, dtype=like.dtype)
