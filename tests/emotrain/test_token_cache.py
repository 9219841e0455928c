"""The tokenized-data cache: a second build reads it without tokenizing, any change to what the
encoding depends on misses it, and concurrent builders never leave a broken entry."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import torch

from emotrain.data.semeval import load_semeval
from emotrain.data.types import EmotionData
from emotrain.emotion_sets import EmotionSet, demux_split
from emotrain.emotions import SEMEVAL_EMOTIONS
from emotrain.models.local_tokenizers import wordpiece_tokenizer


class _NoCalls:
    """Behaves like the tokenizer but fails the test if anything is tokenized."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the tokenizer was called on a cache hit")


@pytest.fixture(scope="module")
def dev(semeval_root: Path) -> EmotionData:
    return load_semeval(semeval_root, "english", "dev")


@pytest.fixture(scope="module")
def tokenizer(dev: EmotionData) -> Any:
    return wordpiece_tokenizer(dev.texts, 2000)


EMOTIONS = EmotionSet.of_emotions(SEMEVAL_EMOTIONS, SEMEVAL_EMOTIONS)


def _build(tokenizer: Any, data: EmotionData, cache: Path, max_length: int = 64) -> Any:
    return demux_split(tokenizer, EMOTIONS, data, "english", max_length, "mean", cache)


def test_second_build_reads_the_cache(tmp_path: Path, tokenizer: Any, dev: EmotionData) -> None:
    first = _build(tokenizer, dev, tmp_path)
    assert len(list(tmp_path.glob("*.arrow"))) == 1
    second = _build(_NoCalls(tokenizer), dev, tmp_path)
    assert len(second.split) == len(first.split) == 886
    assert all(
        torch.equal(a, b)
        for a, b in zip(first.split.input_ids, second.split.input_ids, strict=True)
    )
    assert all(
        torch.equal(a, b)
        for a, b in zip(first.split.token_type_ids, second.split.token_type_ids, strict=True)
    )
    assert torch.equal(first.split.labels, second.split.labels)
    assert first.split.positions == second.split.positions
    assert torch.equal(first.model_inputs["pooling"], second.model_inputs["pooling"])


def test_a_changed_max_length_or_text_misses(
    tmp_path: Path, tokenizer: Any, dev: EmotionData
) -> None:
    _build(tokenizer, dev, tmp_path)
    _build(tokenizer, dev, tmp_path, max_length=96)
    assert len(list(tmp_path.glob("*.arrow"))) == 2
    edited = EmotionData(dev.ids, ["changed", *dev.texts[1:]], dev.labels, dev.emotions)
    with pytest.raises(AssertionError, match="tokenizer was called"):
        _build(_NoCalls(tokenizer), edited, tmp_path)


def _build_in_process(args: tuple[Path, Path]) -> int:
    cache, root = args
    data = load_semeval(root, "english", "dev")
    return len(_build(wordpiece_tokenizer(data.texts, 2000), data, cache).split)


def test_two_processes_building_the_same_entry(tmp_path: Path, semeval_root: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        sizes = pool.map(_build_in_process, [(tmp_path, semeval_root)] * 2)
    assert sizes == [886, 886]
    entries = list(tmp_path.glob("*.arrow"))
    assert len(entries) == 1 and not list(tmp_path.glob(".*.tmp"))
    tokenizer = wordpiece_tokenizer(load_semeval(semeval_root, "english", "dev").texts, 2000)
    data = load_semeval(semeval_root, "english", "dev")
    assert len(_build(_NoCalls(tokenizer), data, tmp_path).split) == 886
