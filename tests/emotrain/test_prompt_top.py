"""``model.top_layer_on_prompt``: Demux's encoder computes its last layer at the prompt's
positions only. In evaluation it scores exactly as the full encoder does (up to float rounding),
for BERT- and RoBERTa-style encoders, on padded batches of real tweets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from dev_batches import padded_batches
from transformers import DistilBertConfig, DistilBertModel

from emotrain.data.semeval import load_semeval
from emotrain.models.config import ModelConfig
from emotrain.models.demux import Demux
from emotrain.models.factory import build_model


@pytest.mark.parametrize("style", ["bert", "roberta"])
def test_scores_equal_the_full_encoder(semeval_root: Path, style: str) -> None:
    split = load_semeval(semeval_root, "english", "dev")
    torch.manual_seed(0)
    config = ModelConfig(encoder={"tiny": style, "num_layers": 3})
    full, tokenizer = build_model(config, split.texts, len(split.emotions))
    pruned = Demux(full.encoder, config.dropout, top_layer_on_prompt=True)
    pruned.head.load_state_dict(full.head.state_dict())
    steps, pooling = padded_batches(split, tokenizer, 24, 8)
    full.eval(), pruned.eval()
    with torch.inference_mode():
        for inputs in steps:
            expected, got = full(**inputs, pooling=pooling), pruned(**inputs, pooling=pooling)
            torch.testing.assert_close(got.emotion_states, expected.emotion_states)
            torch.testing.assert_close(got.logits, expected.logits)


def test_an_encoder_not_laid_out_like_bert_is_refused() -> None:
    encoder = DistilBertModel(DistilBertConfig(vocab_size=100, dim=16, n_layers=1, n_heads=2,
                                               hidden_dim=32))  # fmt: skip
    with pytest.raises(ValueError, match=r"model\.top_layer_on_prompt: needs a BERT- or RoBERTa"):
        Demux(encoder, 0.1, top_layer_on_prompt=True)
