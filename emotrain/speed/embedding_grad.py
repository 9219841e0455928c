"""The word embeddings' gradient kept in one buffer, rewritten only where a step's tokens are.

torch's embedding backward on the CPU allocates a vocabulary-sized gradient every step, zeroes
it and adds the step's rows into it: 30,522 x 384 floats (47 MB) for MiniLM, where a batch of
32 tweets touches a few hundred rows. Fresh from the allocator, the pages fault in as they are
zeroed (bench/embedding_grad.py measures it; docs/performance.md). Kept instead, the buffer
is zeroed once; each
step then zeroes only the rows the previous step wrote and adds its own rows, in the same order
as torch's kernel (position by position), so the gradient, and training, are bit for bit the
same (tests/emotrain/test_embedding_grad.py).

The buffer becomes the weight's ``.grad`` when the step's backward reaches the lookup. Any
other write into it (a gradient clipped in place, say) is seen from its version counter and
the next step zeroes all of it. ``emotrain.train`` keeps the gradient only where that is all
there is to it: on the CPU (CUDA zeroes its cached memory at full speed, and its index_add
adds in no fixed order), in one process (DDP reduces gradients from autograd's hooks, which
this gradient bypasses), eager (inductor compiles its own backward), and for word embeddings
that no other layer shares (a tied MLM decoder writes a gradient into every row each step
anyway).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


def keep_embedding_grad(model: nn.Module, embedding: nn.Embedding) -> bool:
    """Make ``embedding`` (inside ``model``) a ``KeptGradEmbedding``; False, and nothing
    changed, where its gradient is not torch's plain dense one or another layer shares it."""
    if type(embedding) is not nn.Embedding:
        return False
    if embedding.sparse or embedding.scale_grad_by_freq or embedding.max_norm is not None:
        return False
    named = model.named_parameters(remove_duplicate=False)
    shared = sum(p is embedding.weight for _, p in named)
    if shared != 1:
        return False
    embedding.__class__ = KeptGradEmbedding  # same parameters and state-dict names
    return True


class KeptGradEmbedding(nn.Embedding):
    """``nn.Embedding`` whose training-time gradient goes into one kept buffer."""

    _buffer: torch.Tensor | None = None
    _written: list[torch.Tensor]  # the rows the buffer may hold non-zero values in
    _clean_at: int | None = None  # the buffer's version when ``_written`` was last right

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if not (self.training and torch.is_grad_enabled() and self.weight.requires_grad):
            return super().forward(ids)
        return _Lookup.apply(ids, self.weight, self)

    def add_grad(self, ids: torch.Tensor, grad: torch.Tensor) -> None:
        """Add the lookup's gradient (``grad``, one row per id) into the weight's ``.grad``."""
        if self.padding_idx is not None:
            keep = ids != self.padding_idx
            ids, grad = ids[keep], grad[keep]
        if self.weight.grad is None:
            self.weight.grad = self._zeroed_buffer()
        else:  # accumulating: torch sums this pass's rows first, then adds them to the gradient
            ids, inverse = ids.unique(return_inverse=True)
            grad = grad.new_zeros(len(ids), grad.shape[1]).index_add_(0, inverse, grad)
        target = self.weight.grad
        if target is not self._buffer:  # another's gradient: add into it, the buffer untouched
            target.index_add_(0, ids, grad)
            return
        clean = target._version == self._clean_at
        target.index_add_(0, ids, grad)
        self._written.append(ids)
        self._clean_at = target._version if clean else None

    def _zeroed_buffer(self) -> torch.Tensor:
        if self._buffer is None:
            self._buffer = torch.zeros_like(self.weight)
        elif self._buffer._version != self._clean_at:
            self._buffer.zero_()
        elif self._written:
            self._buffer.index_fill_(0, torch.cat(self._written), 0.0)
        self._written, self._clean_at = [], self._buffer._version
        return self._buffer


class _Lookup(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, ids: torch.Tensor, weight: torch.Tensor, module: KeptGradEmbedding
    ) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.module = module
        return F.embedding(ids, weight, module.padding_idx)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, None, None]:
        (ids,) = ctx.saved_tensors
        ctx.module.add_grad(ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        return None, None, None  # the weight's gradient is already in its .grad
