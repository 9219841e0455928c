"""The speed options of issue 7: length-grouped batches, fused AdamW on the CPU, the prompt-only
top layer, fast dropout masks, and the cache of loaded splits that lets a later trial skip
reading and preprocessing."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import DistilBertConfig, DistilBertModel

from emotrain import TrainConfig, train
from emotrain.data import loading
from emotrain.data.config import DataConfig
from emotrain.data.sampling import length_grouped
from emotrain.models.config import ModelConfig
from emotrain.models.demux import Demux
from emotrain.models.factory import assemble


def _padded_tokens(order: torch.Tensor, lengths: torch.Tensor, batch_size: int) -> int:
    return sum(
        int(lengths[order[start : start + batch_size]].max())
        * len(order[start : start + batch_size])
        for start in range(0, len(order), batch_size)
    )


def test_length_grouped_keeps_every_example_and_pads_less() -> None:
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(10, 64, (1030,), generator=generator)
    order = torch.randperm(1030, generator=generator)
    grouped = length_grouped(order, lengths, 32, generator)
    assert sorted(grouped.tolist()) == list(range(1030))
    assert _padded_tokens(grouped, lengths, 32) < 0.8 * _padded_tokens(order, lengths, 32)
    # The short last batch (1030 = 32 x 32 + 6) stays last, so batches are cut as before.
    assert set(grouped[-6:].tolist()) <= set(order[-(1030 % (32 * 8)) :].tolist())


def _config(optim: dict[str, object] | None = None, **sections: object) -> dict[str, object]:
    return {"optim": {"max_epochs": 1, "batch_size": 16, **(optim or {})}, "cache_dir": "off",
            "threads": 1, "data": {"train_limit": 64, "eval_limit": 32}, **sections}  # fmt: skip


@pytest.mark.parametrize(
    "option",
    # Each speed option set against its default (the first is opt-in, the others on).
    [{"optim": {"group_by_length": True}}, {"optim": {"fused": False}},
     {"model": {"top_layer_on_prompt": False}},  # test_prompt_top.py: its other checks
     {"model": {"fast_dropout": False}},  # test_fast_dropout.py: its other checks
     {"model": {"padding_free": False}},  # test_padding_free.py: its other checks
     {"model": {"kind": "memo", "memo_head": "mlm", "fast_dropout": False}}],
)  # fmt: skip
def test_speed_options_train_reproducibly_under_their_own_key(option: dict[str, dict]) -> None:
    first, again = train(_config(**option)), train(_config(**option))
    default = train(_config(model={"kind": option.get("model", {}).get("kind", "demux")}))
    assert first.history == again.history
    assert first.config_key != default.config_key


@pytest.mark.parametrize("option", ["top_layer_on_prompt", "padding_free"])
def test_a_default_never_refuses_a_model(option: str, caplog: pytest.LogCaptureFixture) -> None:
    """On by default, each encoder option falls back to the standard encoder where it cannot
    apply (an encoder not laid out like BERT) and logs why, once."""
    assert getattr(TrainConfig().model, option)
    encoder = DistilBertModel(DistilBertConfig(vocab_size=100, dim=16, n_layers=1, n_heads=2,
                                               hidden_dim=32))  # fmt: skip
    with caplog.at_level(logging.INFO, logger="emotrain"):
        model = assemble(ModelConfig(), encoder, num_emotions=3)
    assert isinstance(model, Demux) and not getattr(model, option)
    notes = [r.getMessage() for r in caplog.records if f"model.{option}:" in r.getMessage()]
    assert len(notes) == 1 and "needs a BERT- or RoBERTa-style encoder" in notes[0]


def _table(tmp_path: Path) -> DataConfig:
    files = {}
    for split in ("train", "dev", "test"):
        path = tmp_path / f"{split}.csv"
        path.write_text(f"text,labels\n{split} @Ann #HappyDay,joy\nx,\n", encoding="utf-8")
        files[f"{split}_file"] = path
    return DataConfig(dataset="table", labels_column="labels", **files)  # type: ignore[arg-type]


def test_a_cached_load_parses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, cache = _table(tmp_path), tmp_path / "cache"
    first = loading.load_splits(config, cache_dir=cache)

    def no_reading(*_: object) -> None:
        raise AssertionError("a file was read on a cache hit")

    with monkeypatch.context() as patch:
        patch.setattr(loading, "_read_splits", no_reading)
        again = loading.load_splits(config, cache_dir=cache)
    assert again.keys() == first.keys()
    for split, data in first.items():
        assert again[split].texts == data.texts == loading.load_splits(config)[split].texts
        assert again[split].ids == data.ids and again[split].emotions == data.emotions
        assert np.array_equal(again[split].labels, data.labels)
        assert again[split].labels.dtype == np.float32
    # An edited file, or another option, misses the cache.
    (tmp_path / "dev.csv").write_text("text,labels\nedited,joy\n", encoding="utf-8")
    assert loading.load_splits(config, cache_dir=cache)["dev"].texts == ["edited"]
    limited = config.model_copy(update={"train_limit": 1})
    assert len(loading.load_splits(limited, cache_dir=cache)["train"]) == 1
    assert len(list(cache.glob("*.arrow"))) == 3
