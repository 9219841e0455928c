"""Demux emotion positions come from the offset mapping of the real encoded pair: each emotion's
tokens must decode back to its word, for WordPiece and byte-level BPE, in all three languages."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from emotrain.data.semeval import load_semeval
from emotrain.emotions import SEMEVAL_EMOTIONS, emotion_word
from emotrain.models.local_tokenizers import byte_bpe_tokenizer, wordpiece_tokenizer
from emotrain.models.prompt import EmotionPrompt, emotion_positions, pooling_matrix

BUILDERS = {"wordpiece": wordpiece_tokenizer, "byte-bpe": byte_bpe_tokenizer}


def _normalised(text: str, uncased: bool) -> str:
    """What an uncased BERT normaliser keeps of a word: lower case, no accents."""
    if not uncased:
        return text
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    )
    return stripped.lower()


@pytest.mark.parametrize("kind", BUILDERS)
@pytest.mark.parametrize("language", ["english", "spanish", "arabic"])
def test_positions_decode_to_each_emotion_word(
    semeval_root: Path, kind: str, language: str
) -> None:
    data = load_semeval(semeval_root, language, "train")
    tokenizer = BUILDERS[kind](data.texts, 3000)
    words = [emotion_word(e, language) for e in SEMEVAL_EMOTIONS]
    prompt = EmotionPrompt.build(words, language)
    encoding = tokenizer(
        [prompt.text] * 3, data.texts[:3], truncation="only_second", max_length=64,
        return_offsets_mapping=True,
    )  # fmt: skip
    for example in range(3):
        positions = emotion_positions(encoding, prompt.spans, example)
        ids = encoding["input_ids"][example]
        for word, group in zip(words, positions, strict=True):
            decoded = tokenizer.decode([ids[p] for p in group]).replace(" ", "")
            assert decoded == _normalised(word, kind == "wordpiece"), (word, group)
            assert group == list(range(group[0], group[-1] + 1))  # contiguous sub-words
    assert sum(len(group) > 1 for group in positions) >= 1, "no multi-token word was exercised"


def test_prompt_uses_the_languages_or() -> None:
    assert EmotionPrompt.build(["ira", "asco", "miedo"], "spanish").text == "ira asco o miedo"
    prompt = EmotionPrompt.build(["غضب", "حب"], "arabic")
    assert prompt.text == "غضب أو حب"
    assert [prompt.text[s:e] for s, e in prompt.spans] == ["غضب", "حب"]


def test_pooling_matrix_averages_each_emotions_tokens() -> None:
    matrix = pooling_matrix([[1], [2, 3, 4], [6]])
    assert matrix.shape == (3, 7)
    assert matrix[1, 2:5].tolist() == pytest.approx([1 / 3] * 3)
    assert matrix.sum(dim=1).tolist() == pytest.approx([1.0, 1.0, 1.0])
