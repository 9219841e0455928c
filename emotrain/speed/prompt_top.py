"""A BERT- or RoBERTa-style encoder whose top layer is computed at the prompt's positions only.

Demux reads nothing of the last layer but the emotion prompt's states, so the other positions'
queries, attention outputs and feed-forward passes of that layer are skipped; their keys and
values still feed the prompt's attention. With MiniLM's six layers and a prompt of about a
third of the tokens that is about a tenth of the encoder's work, forward and backward.
The states equal the full encoder's at those positions up to float rounding (in evaluation;
in training the top layer's dropout masks cover fewer positions, so the draws differ).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import PreTrainedModel
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import create_bidirectional_mask
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

# The modules the top layer is computed from, present in BERT, RoBERTa and XLM-R alike.
_LAYER_PARTS = ("attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output", "intermediate", "output")  # fmt: skip


def unsupported(encoder: PreTrainedModel) -> str | None:
    """Why the top layer cannot be computed at the prompt alone (None: it can)."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    names = {name for name, _ in layers[-1].named_modules()} if layers else set()
    bert_like = hasattr(encoder, "embeddings") and names.issuperset(_LAYER_PARTS)
    if not bert_like or getattr(encoder.config, "is_decoder", False):
        return f"needs a BERT- or RoBERTa-style encoder, not {type(encoder).__name__}"
    return None


def check_supported(encoder: PreTrainedModel) -> None:
    """Refuse, naming the field, an encoder not laid out like BERT."""
    if reason := unsupported(encoder):
        raise ValueError(f"model.top_layer_on_prompt: {reason}")


def encode_prompt(
    encoder: PreTrainedModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    prompt_length: int,
) -> torch.Tensor:
    """The last hidden states of the first ``prompt_length`` positions, [B, P, D]."""
    hidden = encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
    mask = create_bidirectional_mask(
        config=encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
    )
    *lower, top = encoder.encoder.layer
    for layer in lower:
        hidden = layer(hidden, mask)
    return _top_at_prompt(top, hidden, mask, prompt_length, attention_function(encoder))


def attention_function(encoder: PreTrainedModel) -> Callable[..., tuple[torch.Tensor, None]]:
    """The encoder's attention function: SDPA, or model.fast_dropout's (SDPA also when the
    encoder is set to "eager", as before)."""
    chosen = ALL_ATTENTION_FUNCTIONS.get(encoder.config._attn_implementation)
    return chosen or sdpa_attention_forward


def _top_at_prompt(
    layer: torch.nn.Module,
    hidden: torch.Tensor,
    mask: torch.Tensor | None,
    prompt_length: int,
    attend: Callable[..., tuple[torch.Tensor, None]],
) -> torch.Tensor:
    """``attend``: the encoder's ``attention_function``."""
    attention = layer.attention.self
    batch, length, _ = hidden.shape
    prompt = hidden[:, :prompt_length]
    head_size = attention.attention_head_size

    def heads(states: torch.Tensor) -> torch.Tensor:
        return states.view(batch, states.shape[1], -1, head_size).transpose(1, 2)

    if mask is not None and mask.dim() == 4 and mask.shape[-2] == length:
        mask = mask[:, :, :prompt_length]  # the prompt's rows of a [B, 1, T, T] mask
    context, _ = attend(
        attention,
        heads(attention.query(prompt)),
        heads(attention.key(hidden)),
        heads(attention.value(hidden)),
        mask,
        dropout=attention.dropout.p if attention.training else 0.0,
        scaling=attention.scaling,
    )
    context = context.reshape(batch, prompt_length, -1)
    attended = layer.attention.output(context, prompt)
    return layer.output(layer.intermediate(attended), attended)
