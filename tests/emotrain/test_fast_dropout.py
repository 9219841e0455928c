"""``model.fast_dropout``: dropout masks from 16 random bits per element. They drop at the
rounded rate and keep each unit's expected value; the training path's own attention computes
what SDPA does when nothing is dropped, on padded batches of real tweets; evaluation is exactly
the standard model's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from dev_batches import padded_batches
from torch import nn

from emotrain.data.semeval import load_semeval
from emotrain.models.config import ModelConfig
from emotrain.models.factory import build_model
from emotrain.speed.fast_dropout import ATTENTION, FastDropout, dropped, fast_dropout, keep_mask


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_masks_drop_at_the_rounded_rate_and_keep_the_mean(p: float) -> None:
    torch.manual_seed(0)
    count = 1_000_000
    mask = keep_mask(torch.Size([1000, 1000]), p, torch.device("cpu"))
    rate, spread = 1.0 - mask.float().mean().item(), (p * (1 - p) / count) ** 0.5
    assert abs(rate - dropped(p)) < 5 * spread
    assert abs(fast_dropout(torch.ones(count), p).mean().item() - 1.0) < 5 * spread / (1 - p)
    assert dropped(0.1) == 6554 / 65536
    torch.manual_seed(0)  # seeded like every other draw
    assert torch.equal(keep_mask(torch.Size([1000, 1000]), p, torch.device("cpu")), mask)


def _batches(
    semeval_root: Path, config: ModelConfig
) -> tuple[nn.Module, list[dict[str, torch.Tensor]], torch.Tensor]:
    split = load_semeval(semeval_root, "english", "dev")
    torch.manual_seed(0)
    model, tokenizer = build_model(config, split.texts, len(split.emotions))
    return model, *padded_batches(split, tokenizer, 16, 8)


@pytest.mark.parametrize("top_layer_on_prompt", [False, True])
def test_training_path_equals_sdpa_when_nothing_is_dropped(
    semeval_root: Path, top_layer_on_prompt: bool
) -> None:
    # 1e-7 rounds to 0: the fast masks keep everything, yet every training path runs.
    never = {"encoder": {"tiny": "bert", "num_layers": 2, "dropout": 1e-7}, "dropout": 1e-7,
             "top_layer_on_prompt": top_layer_on_prompt}  # fmt: skip
    reference, steps, pooling = _batches(semeval_root, ModelConfig(**never))
    fast, _, _ = _batches(semeval_root, ModelConfig(**never, fast_dropout=True))
    assert fast.encoder.config._attn_implementation == ATTENTION
    assert not any(type(module) is nn.Dropout for module in fast.modules())
    assert any(isinstance(module, FastDropout) for module in fast.modules())
    reference.eval(), fast.train()
    for batch in steps:
        with torch.no_grad():
            expected = reference(**batch, pooling=pooling)
        got = fast(**batch, pooling=pooling)
        torch.testing.assert_close(got.logits, expected.logits)
        torch.testing.assert_close(got.emotion_states, expected.emotion_states)


def test_evaluation_is_the_standard_models_and_training_drops(semeval_root: Path) -> None:
    config = ModelConfig(encoder={"tiny": "bert", "num_layers": 2})
    reference, steps, pooling = _batches(semeval_root, config)
    fast, _, _ = _batches(semeval_root, config.model_copy(update={"fast_dropout": True}))
    reference.eval(), fast.eval()
    with torch.inference_mode():
        for batch in steps:
            expected, got = reference(**batch, pooling=pooling), fast(**batch, pooling=pooling)
            assert torch.equal(got.logits, expected.logits)
    fast.train()
    with torch.no_grad():
        first, second = (fast(**steps[0], pooling=pooling).logits for _ in range(2))
    assert not torch.equal(first, second)
