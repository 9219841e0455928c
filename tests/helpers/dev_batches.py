"""Padded batches of real SemEval English dev tweets, prompt first, for the model-path tests
(the prompt-only top layer, fast dropout)."""

from __future__ import annotations

import torch
from transformers import PreTrainedTokenizerBase

from emotrain.data.batches import batches, encode_pairs
from emotrain.data.types import EmotionData
from emotrain.models.prompt import EmotionPrompt, pooling_matrix


def padded_batches(
    split: EmotionData, tokenizer: PreTrainedTokenizerBase, count: int, batch_size: int
) -> tuple[list[dict[str, torch.Tensor]], torch.Tensor]:
    """The first ``count`` tweets' model inputs (labels left out), each batch padded so that
    the attention mask matters, and the prompt's pooling matrix."""
    prompt = EmotionPrompt.build(split.emotions, "english")
    encoded = encode_pairs(tokenizer, prompt, split.texts[:count], split.labels[:count], 128)
    steps = [{k: v for k, v in batch.items() if k != "labels"}
             for batch in batches(encoded, batch_size)]  # fmt: skip
    assert all(batch["attention_mask"].eq(0).any() for batch in steps)  # padded: the mask matters
    return steps, pooling_matrix(encoded.positions)
