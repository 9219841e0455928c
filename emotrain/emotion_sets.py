"""The emotion set a split is scored on, turned into model inputs.

An emotion set names what is scored (emotions, or clusters of emotions) and the prompt words of
each name. Training and evaluation may use different sets: a held-out emotion is absent from the
training set and present at evaluation; an annotation-format transfer evaluates on clusters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import PreTrainedTokenizerBase

from emotrain.config import TrainConfig
from emotrain.data.batches import EncodedSplit, encode_pairs
from emotrain.data.token_cache import cache_key, cached_split
from emotrain.data.types import EmotionData
from emotrain.emotions import Language
from emotrain.models.memo import encode_memo, memo_inputs, memo_template
from emotrain.models.prompt import EmotionPrompt, pooling_matrix


@dataclass(frozen=True)
class EmotionSet:
    names: tuple[str, ...]
    words: tuple[tuple[str, ...], ...]  # prompt words of each name: one for an emotion

    @classmethod
    def of_emotions(cls, names: Sequence[str], words: Sequence[str]) -> EmotionSet:
        return cls(tuple(names), tuple((word,) for word in words))

    @classmethod
    def of_clusters(cls, clusters: Mapping[str, Sequence[str]]) -> EmotionSet:
        return cls(tuple(clusters), tuple(tuple(members) for members in clusters.values()))

    @property
    def is_clustered(self) -> bool:
        return any(len(words) > 1 for words in self.words)


@dataclass
class ScoredSplit:
    """A split encoded with its emotion set's prompt, and the extra inputs the model needs."""

    split: EncodedSplit
    names: tuple[str, ...]
    model_inputs: dict[str, Any] = field(default_factory=dict)
    languages: list[str] | None = None  # each row's language, for multilingual data

    def emotion_token_ids(self) -> set[int]:
        ids = self.split.input_ids[0]
        return {int(ids[p]) for group in self.split.positions for p in group}


def scored_split(
    config: TrainConfig,
    tokenizer: PreTrainedTokenizerBase,
    emotion_set: EmotionSet,
    data: EmotionData,
    cache_dir: Path | None = None,
    language: Language | None = None,
) -> ScoredSplit:
    """``data`` encoded for the configured model, scored on ``emotion_set``; the prompt is in
    ``language`` (default: the training data's prompt language)."""
    model = config.model
    language = language or config.data.prompt_language
    if model.kind == "memo":
        template = memo_template(language, model.template)
        scored = memo_split(tokenizer, emotion_set, data, template, model.max_length,
                            model.memo_head == "mlm", cache_dir)  # fmt: skip
    else:
        pooling = config.transfer.cluster_pooling
        scored = demux_split(tokenizer, emotion_set, data, language, model.max_length, pooling,
                             cache_dir)  # fmt: skip
    scored.languages = data.languages
    return scored


def demux_split(
    tokenizer: PreTrainedTokenizerBase,
    emotion_set: EmotionSet,
    data: EmotionData,
    language: Language,
    max_length: int,
    cluster_pooling: Literal["mean", "max"],
    cache_dir: Any = None,
) -> ScoredSplit:
    """Encode (prompt, text) pairs; a cluster pools all its members' tokens ("mean") or takes
    the highest of its members' logits ("max")."""
    flat = [word for words in emotion_set.words for word in words]
    prompt = EmotionPrompt.build(flat, language)
    key = cache_key(tokenizer, prompt.text, data.texts, data.labels, max_length)
    split = cached_split(
        cache_dir,
        key,
        lambda: encode_pairs(tokenizer, prompt, data.texts, data.labels, max_length),
    )
    owners = _group_rows(emotion_set)
    if not emotion_set.is_clustered:
        inputs = {"pooling": pooling_matrix(split.positions)}
    elif cluster_pooling == "mean":
        merged = [[p for row in rows for p in split.positions[row]] for rows in owners]
        inputs = {"pooling": pooling_matrix(merged)}
    else:
        inputs = {"pooling": pooling_matrix(split.positions), "groups": owners}
    return ScoredSplit(split, emotion_set.names, inputs)


def memo_split(
    tokenizer: PreTrainedTokenizerBase,
    emotion_set: EmotionSet,
    data: EmotionData,
    template: str,
    max_length: int,
    label_words: bool,
    cache_dir: Any = None,
) -> ScoredSplit:
    """Encode the template with each text; the mlm head also needs the emotion words' ids."""
    if emotion_set.is_clustered:
        raise ValueError("MEmo scores single emotion words, not clusters")
    key = cache_key(tokenizer, template, data.texts, data.labels, max_length)
    split = cached_split(
        cache_dir,
        key,
        lambda: encode_memo(tokenizer, template, data.texts, data.labels, max_length),
    )
    words = [words[0] for words in emotion_set.words] if label_words else None
    inputs = {"emotion_inputs": memo_inputs(tokenizer, template, split, words)}
    return ScoredSplit(split, emotion_set.names, inputs)


def _group_rows(emotion_set: EmotionSet) -> list[list[int]]:
    rows, start = [], 0
    for words in emotion_set.words:
        rows.append(list(range(start, start + len(words))))
        start += len(words)
    return rows


def freeze_rows(embedding: torch.nn.Embedding, token_ids: set[int]) -> callable:
    """Return a function that puts the given rows back to their current values (call it after
    each optimiser step: exact whatever the optimiser or its weight decay does)."""
    # On the weight's device: the restore runs after every step and must not copy the index.
    index = torch.tensor(sorted(token_ids), dtype=torch.long, device=embedding.weight.device)
    original = embedding.weight.detach()[index].clone()

    def restore() -> None:
        with torch.no_grad():
            embedding.weight[index] = original

    return restore
