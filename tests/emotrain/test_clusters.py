"""Tests for emotion clusters: the file format and relabelling a dataset over clusters."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from emotrain.data.clusters import cluster_labels, read_clusters, validate_clusters
from emotrain.data.types import DataFileError, EmotionData


def _data() -> EmotionData:
    labels = np.array([[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=np.float32)
    return EmotionData(["a", "b", "c", "d"], ["t"] * 4, labels, ("joy", "love", "fear", "anger"))


def test_cluster_present_when_any_member_is() -> None:
    clustered = cluster_labels(_data(), {"positive": ["joy", "love"], "negative": ["fear"]})
    assert clustered.emotions == ("positive", "negative")
    assert clustered.labels.tolist() == [[1, 0], [1, 1], [0, 0], [0, 0]]
    assert clustered.labels.dtype == np.float32
    assert clustered.ids == ["a", "b", "c", "d"]


def test_unknown_members_are_named() -> None:
    with pytest.raises(ValueError, match=r"not among the data's emotions: grief, rage"):
        cluster_labels(_data(), {"sad": ["grief"], "angry": ["anger", "rage"]})


def test_overlap_is_allowed_when_relabelling() -> None:
    clustered = cluster_labels(_data(), {"warm": ["joy", "love"], "close": ["love"]})
    assert clustered.labels[:, 1].tolist() == [0, 1, 0, 0]


def test_ekman_mapping_covers_goemotions(data_root: Path) -> None:
    path = data_root / "goemotions" / "ekman_mapping.json"
    if not path.is_file() and os.environ.get("CI", "").lower() != "true":
        pytest.skip(f"{path} not found")
    clusters = read_clusters(path)
    assert list(clusters) == ["anger", "disgust", "fear", "joy", "sadness", "surprise"]
    members = [m for group in clusters.values() for m in group]
    assert len(members) == len(set(members)) == 27 and "neutral" not in members


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clusters.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_keeps_file_order(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps({"b": ["joy"], "a": ["fear", "anger"]}))
    assert read_clusters(path) == {"b": ["joy"], "a": ["fear", "anger"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": ["joy"],\n "b": ["joy"]}', r": emotion 'joy' is in clusters 'a' and 'b'"),
        ('{"a": ["joy", "joy"]}', r": cluster 'a': repeated name joy in \['joy', 'joy'\]"),
        ('{"a": ["joy"], "a": ["fear"]}', r": cluster 'a' appears twice"),
        ('{"a": []}', r": cluster 'a': expected a non-empty list"),
        ('{"a": "joy"}', r": cluster 'a': expected a non-empty list"),
        ('{"a": ["joy", 3]}', r": cluster 'a': member 3 is not a non-empty string"),
        ('{"a": [""]}', r": cluster 'a': member '' is not"),
        ('{"": ["joy"]}', r": cluster name '' is not"),
        ("{}", r": expected a non-empty object"),
        ('["joy"]', r": expected a non-empty object"),
        ('{"a": ["joy"],\n}', r":2: not valid JSON"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataFileError, match=expected) as caught:
        read_clusters(path)
    assert str(caught.value).startswith(str(path))


def test_overlap_can_be_allowed(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"a": ["joy"], "b": ["joy", "love"]}')
    assert read_clusters(path, allow_overlap=True) == {"a": ["joy"], "b": ["joy", "love"]}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file not found"):
        read_clusters(tmp_path / "none.json")


def test_validate_returns_plain_lists() -> None:
    assert validate_clusters({"a": ("joy", "love")}) == {"a": ["joy", "love"]}
