"""Demux: emotion words as the first sequence, each emotion's contextual embedding scored by a
shared head."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from transformers import PreTrainedModel

from emotrain.speed import padding_free
from emotrain.speed.prompt_top import check_supported, encode_prompt


class DemuxOutput(NamedTuple):
    logits: torch.Tensor  # [B, N]
    emotion_states: torch.Tensor  # [B, N, D], the h_e of the losses on representations


class Demux(nn.Module):
    """The emotion set is an input (a pooling matrix), not a weight, so it can change at
    evaluation time (unseen emotions, another language's words)."""

    def __init__(
        self,
        encoder: PreTrainedModel,
        dropout: float,
        top_layer_on_prompt: bool = False,
        padding_free: bool = False,
    ) -> None:
        super().__init__()
        if top_layer_on_prompt or padding_free:
            check_supported(encoder)
        self.encoder = encoder
        self.top_layer_on_prompt = top_layer_on_prompt
        self.padding_free = padding_free  # in training only: evaluation runs the padded encoder
        width = encoder.config.hidden_size
        self.head = nn.Sequential(
            nn.Linear(width, width), nn.Tanh(), nn.Dropout(dropout), nn.Linear(width, 1)
        )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        pooling: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        groups: list[list[int]] | None = None,
    ) -> DemuxOutput:
        """``pooling`` [N, P] averages each emotion's prompt tokens; with ``groups`` (clusters
        scored by their best member) each group's logit is the max over its rows."""
        prompt_states = self._prompt_states(
            input_ids, attention_mask, token_type_ids, pooling.shape[1]
        )
        states = torch.einsum("np,bpd->bnd", pooling.to(prompt_states.dtype), prompt_states)
        logits = self.head(states).squeeze(-1)
        if groups is not None:
            logits = torch.stack([logits[:, rows].amax(dim=1) for rows in groups], dim=1)
            states = torch.stack([states[:, rows].mean(dim=1) for rows in groups], dim=1)
        return DemuxOutput(logits, states)

    def _prompt_states(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        prompt_length: int,
    ) -> torch.Tensor:
        if self.padding_free and self.training:
            top_rows = prompt_length if self.top_layer_on_prompt else None
            states = padding_free.encode(
                self.encoder, input_ids, attention_mask, token_type_ids, top_rows
            )
            return states[:, :prompt_length]
        if self.top_layer_on_prompt:
            return encode_prompt(
                self.encoder, input_ids, attention_mask, token_type_ids, prompt_length
            )
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, **extra
        ).last_hidden_state
        return hidden[:, :prompt_length]
