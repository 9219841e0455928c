"""A BERT- or RoBERTa-style encoder that trains on its batch's real tokens only.

A batch padded to its longest example is about a third padding on SemEval English (random
batches of 32, MiniLM's tokenizer), and every layer's projections, feed-forward passes, layer
norms and dropouts, nearly all of an encoder's work at tweet length, would spend that third on
positions nobody reads. Here the token-wise parts of every layer run on the real tokens
gathered into one [N, D] matrix. Attention, which mixes the positions of one sequence, runs on
groups of the batch's sequences of similar length (the sequences sorted by length, cut into
groups of ``GROUP`` sequences, each padded to its own longest and masked as before), so it too
spends little on padding. The batches are the same, so what is learned is the same: the states
equal the padded encoder's at every real position up to float rounding, and in training only
the dropout masks differ (they cover the real tokens alone, so other random numbers are drawn).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel
from transformers.masking_utils import create_bidirectional_mask

from emotrain.speed.prompt_top import attention_function
from emotrain.speed.prompt_top import unsupported as unsupported

Attend = Callable[..., tuple[torch.Tensor, None]]
# Sequences per attention group: fewer means less padding and more, smaller products.
GROUP = 8


def encode(
    encoder: PreTrainedModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    top_rows: int | None = None,
) -> torch.Tensor:
    """The last hidden states, [B, T, D] with zeros at the padding; with ``top_rows`` only the
    first ``top_rows`` positions, [B, top_rows, D], whose last layer alone is computed (the
    prompt, always real tokens: ``model.top_layer_on_prompt``)."""
    hidden = encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
    layout = _Layout.of(encoder, attention_mask, hidden)
    tokens = hidden.reshape(-1, hidden.shape[-1]).index_select(0, layout.real)
    attend = attention_function(encoder)
    *lower, top = encoder.encoder.layer
    for layer in lower:
        tokens = _layer(layer, tokens, layout, attend)
    if top_rows is None:
        return layout.padded(_layer(top, tokens, layout, attend))
    return layout.unsorted(_layer(top, tokens, layout, attend, top_rows), top_rows)


class _Group(NamedTuple):
    """Consecutive sequences of the layout's ``order``, attended together."""

    count: int  # sequences
    span: int  # the longest one's length: the group is padded to it
    places: torch.Tensor  # the group's token rows' places in a [count * span] layout
    mask: torch.Tensor | None  # the group's attention mask


@dataclass(frozen=True)
class _Layout:
    """Where a [B, T] batch's real tokens are. The sequences are taken longest first
    (``order``); row ``i`` of the token matrix is flat position ``real[i]`` (``b * T + t``), so
    each group's tokens are consecutive rows."""

    real: torch.Tensor
    order: torch.Tensor
    shape: tuple[int, int]
    groups: list[_Group]

    @classmethod
    def of(
        cls, encoder: PreTrainedModel, attention_mask: torch.Tensor, hidden: torch.Tensor
    ) -> _Layout:
        batch, length = attention_mask.shape
        present = attention_mask.bool()
        # A sequence's span: up to its last real token (padding on the right: its length).
        positions = torch.arange(1, length + 1, device=present.device)
        spans = (present * positions).amax(dim=1)
        order = torch.argsort(spans, descending=True, stable=True)
        flat = order[:, None] * length + torch.arange(length, device=present.device)
        real = flat[present[order]]
        groups, spans_sorted = [], spans[order].tolist()
        for first in range(0, batch, GROUP):
            count = min(GROUP, batch - first)
            span = spans_sorted[first]
            mask = attention_mask[order[first : first + count], :span]
            places = (torch.arange(count, device=present.device)[:, None] * span
                      + torch.arange(span, device=present.device))[mask.bool()]  # fmt: skip
            attend_mask = create_bidirectional_mask(
                config=encoder.config, inputs_embeds=hidden[:count, :span], attention_mask=mask
            )
            groups.append(_Group(count, span, places, attend_mask))
        return cls(real, order, (batch, length), groups)

    def padded(self, tokens: torch.Tensor) -> torch.Tensor:
        """[N, D] token rows laid out as [B, T, D], zeros at the padding."""
        blank = tokens.new_zeros(self.shape[0] * self.shape[1], tokens.shape[-1])
        return blank.index_copy(0, self.real, tokens).view(*self.shape, -1)

    def first_rows(self, count: int) -> torch.Tensor:
        """The token rows of each sequence's first ``count`` positions, in ``order``."""
        batch, length = self.shape
        row_of = torch.zeros(batch * length, dtype=torch.long, device=self.real.device)
        row_of[self.real] = torch.arange(len(self.real), device=self.real.device)
        return row_of.view(batch, length)[self.order, :count].reshape(-1)

    def unsorted(self, rows: torch.Tensor, count: int) -> torch.Tensor:
        """[B * count, D] rows in ``order`` as [B, count, D] in the batch's order."""
        states = rows.view(self.shape[0], count, -1)
        return states.index_select(0, torch.argsort(self.order))


def _layer(
    layer: torch.nn.Module,
    tokens: torch.Tensor,
    layout: _Layout,
    attend: Attend,
    top_rows: int | None = None,
) -> torch.Tensor:
    """One encoder layer on token rows [N, D]: the new states of every row, or with
    ``top_rows`` those of each sequence's first ``top_rows`` positions ([B * top_rows, D], in
    the layout's order). Everything but attention is token-wise and runs on the rows."""
    attention = layer.attention.self
    width = tokens.shape[-1]
    projections = [attention.query, attention.key, attention.value]
    if top_rows is not None:
        queries = tokens.index_select(0, layout.first_rows(top_rows))
        projections = projections[1:]
    # One product for the projections a row needs, as one [D, k * D] weight.
    weight = torch.cat([p.weight for p in projections])
    bias = torch.cat([p.bias for p in projections])
    # Each group's rows by ``split``, not by slicing: a slice's backward fills a zero gradient
    # the size of the whole matrix per group, ``split``'s joins the groups' gradients once.
    group_rows = F.linear(tokens, weight, bias).split([len(g.places) for g in layout.groups])
    if top_rows is not None:
        group_queries = attention.query(queries).split([g.count * top_rows for g in layout.groups])
    contexts = []
    for index, (count, span, places, mask) in enumerate(layout.groups):
        rows = group_rows[index]
        blank = rows.new_zeros(count * span, rows.shape[-1])
        states = blank.index_copy(0, places, rows).view(count, span, -1)
        if top_rows is None:
            q, k, v = states.split(width, dim=-1)
        else:
            q = group_queries[index].view(count, top_rows, -1)
            k, v = states.split(width, dim=-1)
            if mask is not None and mask.dim() == 4 and mask.shape[-2] == span:
                mask = mask[:, :, :top_rows]  # the prompt's rows of a [n, 1, T, T] mask
        context, _ = attend(
            attention, _heads(q, attention.attention_head_size),
            _heads(k, attention.attention_head_size), _heads(v, attention.attention_head_size),
            mask, dropout=attention.dropout.p if attention.training else 0.0,
            scaling=attention.scaling,
        )  # fmt: skip
        context = context.reshape(-1, width)
        contexts.append(context if top_rows is not None else context.index_select(0, places))
    inputs = tokens if top_rows is None else queries
    attended = layer.attention.output(torch.cat(contexts), inputs)
    return layer.output(layer.intermediate(attended), attended)


def _heads(states: torch.Tensor, head_size: int) -> torch.Tensor:
    """[n, L, D] as [n, heads, L, head_size]."""
    return states.view(*states.shape[:2], -1, head_size).transpose(1, 2)
