"""Loading a named checkpoint: transformers' multi-line load report (the pooler every model here
leaves out is "unexpected" on every load, one report per trial) stays out of the console, and
what matters, encoder weights the checkpoint lacks, is logged in one line by emotrain."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertModel

from emotrain.models.config import EncoderConfig
from emotrain.models.encoder import build_encoder
from emotrain.models.local_tokenizers import wordpiece_tokenizer

CORPUS = ["what a day", "so angry at the rain", "joy and fear and trust"]


def _checkpoint(folder: Path, without: str | None = None) -> Path:
    """A tiny BERT saved with its pooler, as hub checkpoints are; ``without``: a weight name
    prefix left out of the file."""
    tokenizer = wordpiece_tokenizer(CORPUS, 60)
    model = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=64))  # fmt: skip
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if without is not None:
        weights = folder / "model.safetensors"
        kept = {k: v for k, v in load_file(weights).items() if not k.startswith(without)}
        save_file(kept, weights, metadata={"format": "pt"})
    return folder


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_checkpoint_with_a_pooler_loads_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _checkpoint(tmp_path / "bert")
    # transformers logs to its own handler, not to the root logger that caplog watches.
    library = logging.getLogger("transformers")
    seen = _Records()
    library.addHandler(seen)
    try:
        with caplog.at_level(logging.INFO, logger="emotrain"):
            encoder, _ = build_encoder(EncoderConfig(name=str(folder)), CORPUS, 32)
    finally:
        library.removeHandler(seen)
    assert getattr(encoder, "pooler", None) is None
    assert not [m for m in seen.messages if "LOAD REPORT" in m or "UNEXPECTED" in m]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [m for m in seen.messages if "not sharded" in m]  # no other warning instead
    # Silenced only while loading: the loader is as it was.
    assert not logging.getLogger("transformers.modeling_utils").filters


def test_missing_encoder_weights_are_logged_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _checkpoint(tmp_path / "bert", without="encoder.layer.0.output")
    with caplog.at_level(logging.WARNING, logger="emotrain"):
        build_encoder(EncoderConfig(name=str(folder)), CORPUS, 32)
    (note,) = [r.getMessage() for r in caplog.records if r.name == "emotrain"]
    assert note.startswith(f"model.encoder.name: {folder} lacks 4 of the encoder's weights")
    assert "encoder.layer.0.output.dense.bias" in note and "\n" not in note
