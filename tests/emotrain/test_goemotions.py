"""Tests for the GoEmotions reader, on the real files and on small broken ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydantic
import pytest

from emotrain.data.config import DataConfig
from emotrain.data.goemotions import load_goemotions, read_emotion_names, read_goemotions
from emotrain.data.loading import load_splits
from emotrain.data.preprocess import PreprocessConfig
from emotrain.data.types import DataFileError

NAMES = [
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride",
    "realization", "relief", "remorse", "sadness", "surprise", "neutral",
]  # fmt: skip


def test_row_counts_of_the_real_files(goemotions_root: Path) -> None:
    sizes = [len(load_goemotions(goemotions_root, s)) for s in ("train", "dev", "test")]
    assert sizes == [43410, 5426, 5427]


def test_train_labels_match_the_data_readme(goemotions_root: Path) -> None:
    data = load_goemotions(goemotions_root, "train")
    assert data.emotions == tuple(NAMES[:-1])
    assert data.labels.shape == (43410, 27) and data.labels.dtype == np.float32
    sums = dict(zip(data.emotions, data.labels.sum(axis=0).astype(int), strict=True))
    assert (sums["admiration"], sums["grief"], sums["surprise"]) == (4130, 77, 1060)
    # 14219 rows carry neutral, but 1396 of them also carry another emotion, which stays.
    assert int((data.labels.sum(axis=1) == 0).sum()) == 12823
    assert len(set(data.ids)) == len(data)


def test_quoted_texts_are_unescaped(goemotions_root: Path) -> None:
    data = load_goemotions(goemotions_root, "dev")
    assert not any(text.startswith('"') and '""' in text for text in data.texts)
    assert all("\t" not in text for text in data.texts)


def _folder(tmp_path: Path, lines: list[str], names: str = "\n".join(NAMES)) -> Path:
    (tmp_path / "emotions.txt").write_text(names, encoding="utf-8")
    (tmp_path / "train.tsv").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return tmp_path


def test_small_file_with_neutral_mixed_and_quoted_rows(tmp_path: Path) -> None:
    lines = ["plain\t27\ta1", "both\t0,27\ta2", '"He said ""hi"""\t8,20\ta3']
    data = load_goemotions(_folder(tmp_path, lines), "train")
    assert data.ids == ["a1", "a2", "a3"]
    assert data.texts[2] == 'He said "hi"'
    assert data.labels.sum(axis=1).tolist() == [0.0, 1.0, 2.0]
    assert data.labels[1, 0] == 1.0 and data.labels[2, [8, 20]].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["ok\t1\ta", "two fields\t1"], r":2: 2 fields, expected 3"),
        (["ok\t1\ta", "x\t1\tb\textra"], r":2: 4 fields, expected 3"),
        (["x\tjoy\ta"], r":1: label id 'joy' is not an integer"),
        (["x\t1,\ta"], r":1: label id '' is not an integer"),
        (["x\t-1\ta"], r":1: label id '-1' is not an integer"),
        (["ok\t1\ta", "x\t28\tb"], r":2: label id 28 is out of range 0-27"),
        (["x\t\ta"], r":1: empty label list"),
        (["x\t1\ta", "y\t2\ta"], r":2: duplicate comment id 'a' \(first on line 1\)"),
    ],
)
def test_bad_split_files_name_file_and_line(
    tmp_path: Path, lines: list[str], expected: str
) -> None:
    path = _folder(tmp_path, lines) / "train.tsv"
    with pytest.raises(DataFileError, match=expected) as caught:
        read_goemotions(path, NAMES)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = _folder(tmp_path, []) / "train.tsv"
    path.write_bytes(b"ok\t1\ta\nbad \xff\t1\tb\n")
    with pytest.raises(DataFileError, match=r"train.tsv:2: not valid UTF-8"):
        read_goemotions(path, NAMES)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"emotions.txt: file not found"):
        load_goemotions(tmp_path, "train")
    _folder(tmp_path, ["x\t1\ta"])
    with pytest.raises(DataFileError, match=r"dev.tsv: file not found"):
        load_goemotions(tmp_path, "dev")
    with pytest.raises(DataFileError, match="cannot read"):
        read_goemotions(tmp_path, NAMES)  # a directory


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ("\n".join(NAMES[:-1]), r": 27 emotion names, expected 28"),
        ("\n".join([*NAMES, "extra"]), r": 29 emotion names, expected 28"),
        ("\n".join([*NAMES[:-1], "calm"]), r":28: last name is 'calm', not 'neutral'"),
        ("\n".join(["joy", *NAMES[1:]]).replace("\njoy\n", "\n\n"), r":18: emotion name ''"),
        ("", r": 0 emotion names"),
    ],
)
def test_bad_emotion_lists(tmp_path: Path, names: str, expected: str) -> None:
    path = _folder(tmp_path, [], names) / "emotions.txt"
    with pytest.raises(DataFileError, match=expected):
        read_emotion_names(path)


def test_trailing_newline_in_emotion_list_is_tolerated(tmp_path: Path) -> None:
    path = _folder(tmp_path, [], "\n".join(NAMES) + "\n") / "emotions.txt"
    assert read_emotion_names(path) == tuple(NAMES)


def test_load_splits_on_goemotions(goemotions_root: Path) -> None:
    config = DataConfig(
        dataset="goemotions",
        root=goemotions_root,
        train_limit=50,
        eval_limit=20,
        preprocess=PreprocessConfig(reddit=True),
    )
    data = load_splits(config)
    assert [len(data[s]) for s in ("train", "dev", "test")] == [50, 20, 20]
    assert all(split.emotions == tuple(NAMES[:-1]) for split in data.values())
    assert not any("[NAME]" in text for split in data.values() for text in split.texts)


def test_goemotions_config_needs_root() -> None:
    with pytest.raises(pydantic.ValidationError, match="root is required for dataset goemotions"):
        DataConfig(dataset="goemotions")
