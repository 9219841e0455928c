"""Dropout whose masks come from 16 random bits per element (``model.fast_dropout``).

torch draws a CPU dropout mask with its Bernoulli sampler, one element at a time on one
thread, a sizeable part of a small encoder's training step (docs/performance.md). Four
16-bit draws from each 64-bit word of the same seeded generator make a mask at once. The
probability is rounded to a multiple of 1/65536 (0.1 becomes 0.1000061) and the kept values
are scaled by the rounded probability's inverse, so every unit keeps its expected value: the
mask becomes a multiplier per element, 0 or that inverse.
Every dropout of the model takes these masks: the ``nn.Dropout`` modules and, through an
attention function registered with transformers, the attention probabilities. Evaluation is
untouched (transformers' own SDPA attention), and so is any tensor off the CPU, where torch's
dropout is already fast.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AttentionInterface, PreTrainedModel
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

ATTENTION = "emotrain_fast_dropout"
_LEVELS = 1 << 16


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """A boolean mask of ``shape``, each element False with probability ``dropped(p)``."""
    count = math.prod(shape)
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=device)
    draws = words.random_(-(2**63), None).view(torch.int16)[:count]  # the full 64-bit range
    return (draws >= round(p * _LEVELS) - _LEVELS // 2).view(shape)


def dropped(p: float) -> float:
    """The probability the masks actually drop with: ``p`` rounded to 1/65536."""
    return round(p * _LEVELS) / _LEVELS


def fast_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, training=True)
    # A multiplier per element (the scale or 0): one multiply forward and one backward, where
    # a boolean mask costs a select and a scaling each way.
    scale = keep_mask(x.shape, p, x.device).to(x.dtype).mul_(1.0 / (1.0 - dropped(p)))
    return x * scale


class FastDropout(nn.Dropout):
    """``nn.Dropout`` with the fast masks; a subclass, so code reading ``.p`` still works."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fast_dropout(x, self.p, self.training)


def attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: object,
) -> tuple[torch.Tensor, None]:
    """transformers' SDPA attention, except that training-time dropout on the CPU uses the
    fast masks (SDPA then falls back to the same unfused math anyway)."""
    if dropout == 0.0 or query.device.type != "cpu":
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    if key.shape[1] != query.shape[1]:  # grouped-query heads
        key = key.repeat_interleave(query.shape[1] // key.shape[1], dim=1)
        value = value.repeat_interleave(query.shape[1] // value.shape[1], dim=1)
    # In place: the product's backward needs its inputs, not its output.
    scores = torch.matmul(query, key.transpose(2, 3)).mul_(scaling or query.shape[-1] ** -0.5)
    if attention_mask is not None and attention_mask.dtype == torch.bool:
        scores = scores.masked_fill_(~attention_mask, float("-inf"))
    elif attention_mask is not None:
        scores = scores.add_(attention_mask)
    weights = fast_dropout(torch.softmax(scores, dim=-1), dropout)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), None


AttentionInterface.register(ATTENTION, attention)
AttentionMaskInterface.register(ATTENTION, sdpa_mask)


def unsupported(encoder: PreTrainedModel) -> str | None:
    """Why the encoder's dropout cannot be swapped (None: it can)."""
    if not encoder._can_set_attn_implementation():
        return (
            "the encoder's attention cannot be swapped "
            f"({type(encoder).__name__} does not use transformers' attention interface)"
        )
    return None


def use_fast_dropout(model: nn.Module, encoder: PreTrainedModel) -> None:
    """Every ``nn.Dropout`` of ``model`` becomes a ``FastDropout``; ``encoder`` (inside it)
    attends with ``attention``. An encoder whose attention transformers cannot swap is refused."""
    if reason := unsupported(encoder):
        raise ValueError(f"model.fast_dropout: {reason}")
    encoder.set_attn_implementation(ATTENTION)
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                setattr(parent, name, FastDropout(child.p, child.inplace))
