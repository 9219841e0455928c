"""The Demux emotion prompt and where each emotion word lands among the encoded tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import BatchEncoding

from emotrain.emotions import OR_WORD, Language


@dataclass(frozen=True)
class EmotionPrompt:
    """``anger anticipation ... surprise or trust`` with each word's character span."""

    text: str
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    @classmethod
    def build(cls, words: Sequence[str], language: Language) -> EmotionPrompt:
        if not words:
            raise ValueError("the emotion prompt needs at least one emotion")
        parts: list[str] = []
        spans: list[tuple[int, int]] = []
        cursor = 0
        for index, word in enumerate(words):
            if index == len(words) - 1 and len(words) > 1:
                parts.append(OR_WORD[language])
                cursor += len(OR_WORD[language]) + 1
            spans.append((cursor, cursor + len(word)))
            parts.append(word)
            cursor += len(word) + 1
        return cls(" ".join(parts), tuple(words), tuple(spans))


def emotion_positions(
    encoding: BatchEncoding, spans: Sequence[tuple[int, int]], index: int = 0
) -> list[list[int]]:
    """Token positions of each span in example ``index`` of an encoded (prompt, text) pair.

    Uses the offset mapping of the real encoded pair rather than searching token ids: with
    byte-level BPE a word inside a sentence is tokenized differently than on its own.
    """
    offsets = encoding["offset_mapping"][index]
    sequence_ids = encoding.sequence_ids(index)
    positions: list[list[int]] = []
    for start, end in spans:
        hits = [
            position
            for position, ((token_start, token_end), sequence) in enumerate(
                zip(offsets, sequence_ids, strict=True)
            )
            if sequence == 0 and token_start < end and token_end > start
        ]
        if not hits:
            raise ValueError(f"no token covers prompt characters {start}:{end}")
        positions.append(hits)
    return positions


def pooling_matrix(positions: Sequence[Sequence[int]]) -> torch.Tensor:
    """[N, P] weights that average each emotion's token states (P = last prompt position + 1)."""
    width = max(max(group) for group in positions) + 1
    matrix = torch.zeros(len(positions), width)
    for row, group in enumerate(positions):
        matrix[row, list(group)] = 1.0 / len(group)
    return matrix
