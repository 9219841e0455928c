"""The word embeddings' gradient kept in one buffer (emotrain/speed/embedding_grad.py): the
same gradient, bit for bit, as torch's dense one, step after step, on padded batches of real
tweets; also when gradients accumulate over two backward passes or are written in place; and
``emotrain.train`` on the CPU builds no vocabulary-sized gradient, with the same results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from dev_batches import padded_batches
from op_calls import OpCalls
from torch import nn

from emotrain import train, training
from emotrain.data.semeval import load_semeval
from emotrain.models.config import ModelConfig
from emotrain.models.factory import build_model
from emotrain.speed.embedding_grad import keep_embedding_grad


def _twins(semeval_root: Path, **model: Any) -> tuple[list[nn.Module], list[dict], torch.Tensor]:
    """Two identical models, the second with the kept gradient, and padded batches."""
    split = load_semeval(semeval_root, "english", "dev")
    config = ModelConfig(encoder={"tiny": "bert", "dropout": 0.0}, dropout=0.0, **model)
    twins = []
    for _ in range(2):
        torch.manual_seed(0)
        net, tokenizer = build_model(config, split.texts, len(split.emotions))
        twins.append(net.train())
    assert keep_embedding_grad(twins[1], twins[1].encoder.get_input_embeddings())
    steps, pooling = padded_batches(split, tokenizer, 40, 8)
    return twins, steps, pooling


def _backward(net: nn.Module, batch: dict, pooling: torch.Tensor) -> None:
    net(**batch, pooling=pooling).logits.square().mean().backward()


def _word_grads(twins: list[nn.Module]) -> list[torch.Tensor]:
    return [net.encoder.get_input_embeddings().weight.grad for net in twins]


def test_training_steps_are_bit_for_bit_torchs(semeval_root: Path) -> None:
    twins, steps, pooling = _twins(semeval_root)
    optimizers = [torch.optim.AdamW(net.parameters(), lr=1e-2, fused=True) for net in twins]
    for batch in steps:
        for net, optimizer in zip(twins, optimizers, strict=True):
            optimizer.zero_grad(set_to_none=True)
            _backward(net, batch, pooling)
        plain, kept = _word_grads(twins)
        assert torch.equal(plain, kept)
        assert kept.abs().sum(dim=1).count_nonzero() < 0.5 * len(kept)  # most rows untouched
        for optimizer in optimizers:
            optimizer.step()
    for mine, theirs in zip(twins[1].parameters(), twins[0].parameters(), strict=True):
        assert torch.equal(mine, theirs)


def test_accumulated_and_overwritten_gradients_stay_torchs(semeval_root: Path) -> None:
    twins, steps, pooling = _twins(semeval_root)
    first, second, third = steps[:3]
    for net in twins:  # two batches accumulate into one gradient
        _backward(net, first, pooling)
        _backward(net, second, pooling)
    assert torch.equal(*_word_grads(twins))
    for grad in _word_grads(twins):
        grad.add_(0.25)  # a write into every row of the kept buffer, outside its bookkeeping
    for net in twins:
        net.zero_grad(set_to_none=True)
        _backward(net, third, pooling)
    assert torch.equal(*_word_grads(twins))


def test_shared_or_unusual_embeddings_keep_torchs_gradient(semeval_root: Path) -> None:
    split = load_semeval(semeval_root, "english", "dev")
    config = ModelConfig(kind="memo", memo_head="mlm", encoder={"tiny": "bert"})
    memo, _ = build_model(config, split.texts, len(split.emotions))  # the MLM decoder is tied
    assert not keep_embedding_grad(memo, memo.encoder.get_input_embeddings())
    sparse = nn.Embedding(10, 4, sparse=True)
    assert not keep_embedding_grad(sparse, sparse)
    assert type(memo.encoder.get_input_embeddings()) is nn.Embedding


def _dense_embedding_gradients() -> OpCalls:
    """Notes the row count of each table torch's dense embedding backward makes a gradient for."""
    return OpCalls(torch.ops.aten.embedding_dense_backward.default, lambda args: args[2])


def test_train_on_the_cpu_builds_no_vocabulary_sized_gradient(
    semeval_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "data": {"root": str(semeval_root), "train_limit": 48, "eval_limit": 24},
        "optim": {"max_epochs": 2, "batch_size": 16, "lr": 3e-3},
        "threads": 1, "cache_dir": "off", "seed": 3,
    }  # fmt: skip
    vocabulary: list[int] = []

    def keep(model: nn.Module, embedding: nn.Embedding) -> bool:
        vocabulary.append(embedding.num_embeddings)
        return keep_embedding_grad(model, embedding)

    monkeypatch.setattr(training, "keep_embedding_grad", keep)
    with _dense_embedding_gradients() as kept:
        result = train(config)
    monkeypatch.setattr(training, "keep_embedding_grad", lambda *_: False)  # torch's own
    with _dense_embedding_gradients() as plain:
        expected = train(config)
    (rows,) = vocabulary
    assert rows not in kept.noted and rows in plain.noted, (rows, kept.noted, plain.noted)
    assert kept.noted  # the position embeddings still have torch's gradient: the spy sees it
    assert result.history == expected.history  # the same numbers
    assert result.test == expected.test
