"""Build the configured emotion model (Demux or MEmo) on a new or a saved encoder."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from torch import nn
from transformers import AutoModel, AutoModelForMaskedLM, PreTrainedModel, PreTrainedTokenizerBase

from emotrain.models.config import ModelConfig
from emotrain.models.demux import Demux
from emotrain.models.encoder import build_encoder, build_masked_lm
from emotrain.models.memo import Memo
from emotrain.speed import fast_dropout, padding_free, prompt_top

log = logging.getLogger("emotrain")


def build_model(
    config: ModelConfig, corpus: Sequence[str], num_emotions: int
) -> tuple[nn.Module, PreTrainedTokenizerBase]:
    """A new model and its tokenizer (a tiny encoder's tokenizer is built from ``corpus``)."""
    build = build_masked_lm if _uses_mlm(config) else build_encoder
    encoder, tokenizer = build(config.encoder, corpus, config.max_length)
    return assemble(config, encoder, num_emotions), tokenizer


def assemble(config: ModelConfig, encoder: PreTrainedModel, num_emotions: int) -> nn.Module:
    """The model on ``encoder``, with each speed option where the model and encoder support it:
    a speed option is on by default, so where it cannot apply the standard path runs and the
    log says so, rather than the model being refused."""
    model: nn.Module
    if config.kind == "demux":
        top = config.top_layer_on_prompt and _applies(
            "top_layer_on_prompt", prompt_top.unsupported(encoder)
        )
        free = config.padding_free and _applies("padding_free", padding_free.unsupported(encoder))
        model = Demux(encoder, config.dropout, top, free)
    else:
        if config.top_layer_on_prompt:
            _applies("top_layer_on_prompt", "MEmo reads the mask position, not a prompt")
        model = Memo(encoder, config.memo_head, config.dropout, num_emotions)
        model.padding_free = config.padding_free and _applies(
            "padding_free", model.padding_free_unsupported()
        )
    if config.fast_dropout and _applies("fast_dropout", fast_dropout.unsupported(encoder)):
        fast_dropout.use_fast_dropout(model, encoder)
    return model


def _applies(option: str, reason: str | None) -> bool:
    if reason is not None:
        log.info("model.%s: not applied (%s); the standard path runs", option, reason)
    return reason is None


def load_saved_encoder(config: ModelConfig, source: Path) -> PreTrainedModel:
    """A saved encoder; without its pooler, which no model here uses (poolerless architectures
    refuse the argument, so they load as they are). Only safetensors weights are read: a
    folder holding pickled weights (pytorch_model.bin) instead is refused."""
    if _uses_mlm(config):
        return AutoModelForMaskedLM.from_pretrained(
            source, trust_remote_code=False, use_safetensors=True
        )
    try:
        return AutoModel.from_pretrained(
            source, trust_remote_code=False, use_safetensors=True, add_pooling_layer=False
        )
    except TypeError:
        return AutoModel.from_pretrained(source, trust_remote_code=False, use_safetensors=True)


def _uses_mlm(config: ModelConfig) -> bool:
    return config.kind == "memo" and config.memo_head == "mlm"
