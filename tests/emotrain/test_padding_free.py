"""``model.padding_free``: in training the encoder's token-wise work runs on the batch's real
tokens only. With dropout off, its outputs and every parameter's gradient equal the padded
encoder's up to float rounding, for BERT- and RoBERTa-style encoders, Demux (with and without
the prompt-only top layer) and both MEmo heads, on padded batches of real tweets; evaluation
runs the padded encoder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from dev_batches import padded_batches

from emotrain import train
from emotrain.data.batches import batches
from emotrain.data.semeval import load_semeval
from emotrain.models.config import ModelConfig
from emotrain.models.demux import Demux
from emotrain.models.factory import assemble, build_model
from emotrain.models.memo import encode_memo, memo_inputs, memo_template

NO_DROPOUT = {"num_layers": 3, "dropout": 0.0}


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def _same_training_step(
    padded: torch.nn.Module, free: torch.nn.Module, inputs: dict[str, object]
) -> None:
    """One forward and backward of each; the logits and all gradients agree."""
    results = []
    for model in (padded, free):
        model.train()
        model.zero_grad(set_to_none=True)
        logits = model(**inputs).logits
        logits.sum().backward()
        results.append((logits.detach(), _grads(model)))
    (expected, expected_grads), (got, got_grads) = results
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert got_grads.keys() == expected_grads.keys()
    for name, grad in expected_grads.items():
        torch.testing.assert_close(got_grads[name], grad, rtol=1e-3, atol=1e-5, msg=name)


@pytest.mark.parametrize("style", ["bert", "roberta"])
@pytest.mark.parametrize("top_layer_on_prompt", [False, True])
def test_demux_trains_as_the_padded_encoder(
    semeval_root: Path, style: str, top_layer_on_prompt: bool
) -> None:
    split = load_semeval(semeval_root, "english", "dev")
    torch.manual_seed(0)
    config = ModelConfig(encoder={"tiny": style, **NO_DROPOUT}, dropout=0.0,
                         padding_free=False, top_layer_on_prompt=False)  # fmt: skip
    padded, tokenizer = build_model(config, split.texts, len(split.emotions))
    free = Demux(padded.encoder, 0.0, top_layer_on_prompt, padding_free=True)
    free.head = padded.head
    steps, pooling = padded_batches(split, tokenizer, 24, 8)
    for inputs in steps:
        _same_training_step(padded, free, {**inputs, "pooling": pooling})


@pytest.mark.parametrize("head", ["classifier", "mlm"])
def test_memo_trains_as_the_padded_encoder(semeval_root: Path, head: str) -> None:
    split = load_semeval(semeval_root, "english", "dev")
    torch.manual_seed(0)
    config = ModelConfig(kind="memo", memo_head=head, encoder={"tiny": "bert", **NO_DROPOUT},
                         dropout=0.0, padding_free=False)  # fmt: skip
    padded, tokenizer = build_model(config, split.texts, len(split.emotions))
    free = assemble(config.model_copy(update={"padding_free": True}), padded.encoder,
                    len(split.emotions))  # fmt: skip
    free.head = padded.head
    assert free.padding_free and not padded.padding_free
    template = memo_template("english")
    encoded = encode_memo(tokenizer, template, split.texts[:16], split.labels[:16], 128)
    words = split.emotions if head == "mlm" else None
    extra = memo_inputs(tokenizer, template, encoded, words)
    batch = next(batches(encoded, batch_size=16))
    batch.pop("labels")
    assert batch["attention_mask"].eq(0).any()
    _same_training_step(padded, free, {**batch, "emotion_inputs": extra})


def test_evaluation_runs_the_padded_encoder(semeval_root: Path) -> None:
    """In evaluation the option changes nothing: bit for bit the padded encoder's scores."""
    split = load_semeval(semeval_root, "english", "dev")
    torch.manual_seed(0)
    config = ModelConfig(encoder={"tiny": "bert", "num_layers": 2}, padding_free=False)
    padded, tokenizer = build_model(config, split.texts, len(split.emotions))
    free = Demux(padded.encoder, config.dropout, padded.top_layer_on_prompt, padding_free=True)
    free.head = padded.head
    steps, pooling = padded_batches(split, tokenizer, 16, 8)
    padded.eval(), free.eval()
    with torch.inference_mode():
        for inputs in steps:
            assert torch.equal(free(**inputs, pooling=pooling).logits,
                               padded(**inputs, pooling=pooling).logits)  # fmt: skip


def test_training_differs_from_the_padded_run_only_by_dropout_draws() -> None:
    """A short real run on the demo data: with dropout off, the option's losses and scores equal
    the padded encoder's up to float rounding; the key tells them apart."""
    base = {"optim": {"max_epochs": 1, "batch_size": 16}, "cache_dir": "off", "threads": 1,
            "data": {"train_limit": 64, "eval_limit": 32}}  # fmt: skip
    model = {"encoder": {"tiny": "bert", "dropout": 0.0}, "dropout": 0.0}
    free = train({**base, "model": model})
    padded = train({**base, "model": {**model, "padding_free": False}})
    assert free.config_key != padded.config_key
    assert free.history[-1].keys() == padded.history[-1].keys()
    for name, value in padded.history[-1].items():
        assert free.history[-1][name] == pytest.approx(value, rel=1e-3, abs=1e-4), name
