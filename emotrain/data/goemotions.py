"""Reader for GoEmotions (the "simplified" split), validated line by line.

Each split file is a headerless TSV: text, comma-separated label ids, comment id. Ids index
``emotions.txt`` (28 names, the last ``neutral``). Neutral is dropped as a column, as in the
original, so a neutral comment is the all-zero row over the 27 emotions; a comment labelled
neutral *and* something else keeps only the something else. The dataset ``goemotions`` reads the
folder ``data.root`` holding the three split files and ``emotions.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emotrain.data.table_dataset import read_rows
from emotrain.data.types import (
    SPLITS,
    DataFileError,
    DatasetReader,
    EmotionData,
    Split,
    root_problems,
)
from emotrain.emotions import name_list_problem

if TYPE_CHECKING:
    from emotrain.data.config import DataConfig

NEUTRAL = "neutral"
EMOTION_COUNT = 28  # including neutral
FIELDS = ("text", "label ids", "comment id")
_LABEL_ID = re.compile(r"[0-9]+")


def read_emotion_names(path: Path) -> tuple[str, ...]:
    """The 28 names of ``emotions.txt`` in id order (the file has no trailing newline)."""
    rows = read_rows(path, "\t")
    names = tuple(fields[0] if fields else "" for _, fields in rows)
    for line, name in enumerate(names, start=1):
        if not name.strip() or name != name.strip():
            raise DataFileError(f"{path}:{line}: emotion name {name!r} is empty or padded")
    if len(names) != EMOTION_COUNT:
        raise DataFileError(
            f"{path}: {len(names)} emotion names, expected {EMOTION_COUNT} (27 emotions + neutral)"
        )
    if names[-1] != NEUTRAL:
        raise DataFileError(f"{path}:{EMOTION_COUNT}: last name is {names[-1]!r}, not 'neutral'")
    if problem := name_list_problem(names):  # a repeated name: the lines above found no empty one
        raise DataFileError(f"{path}: {problem}")
    return names


def read_goemotions(path: Path, emotions: Sequence[str]) -> EmotionData:
    """One split file; ``emotions`` are all the names of ``emotions.txt``, neutral included."""
    path = Path(path)
    rows = read_rows(path, "\t")
    labels = np.zeros((len(rows), len(emotions)), dtype=np.float32)
    ids: list[str] = []
    texts: list[str] = []
    first_line: dict[str, int] = {}
    for row, (line, fields) in enumerate(rows):
        if len(fields) != len(FIELDS):
            raise DataFileError(
                f"{path}:{line}: {len(fields)} fields, expected {len(FIELDS)} ({', '.join(FIELDS)})"
            )
        text, label_ids, comment_id = fields
        labels[row, _label_ids(path, line, label_ids, len(emotions))] = 1.0
        if comment_id in first_line:
            raise DataFileError(
                f"{path}:{line}: duplicate comment id {comment_id!r} "
                f"(first on line {first_line[comment_id]})"
            )
        first_line[comment_id] = line
        ids.append(comment_id)
        texts.append(text)
    keep = [i for i, name in enumerate(emotions) if name != NEUTRAL]
    return EmotionData(ids, texts, labels[:, keep], tuple(emotions[i] for i in keep))


def goemotions_path(root: Path, split: Split) -> Path:
    path = Path(root) / f"{split}.tsv"
    if not path.is_file():
        raise DataFileError(f"{path}: file not found (GoEmotions folder {root})")
    return path


def load_goemotions(root: Path, split: Split) -> EmotionData:
    """A split of the GoEmotions folder ``root`` (train.tsv, dev.tsv, test.tsv, emotions.txt)."""
    names = Path(root) / "emotions.txt"
    if not names.is_file():
        raise DataFileError(f"{names}: file not found (GoEmotions folder {root})")
    return read_goemotions(goemotions_path(root, split), read_emotion_names(names))


def _label_ids(path: Path, line: int, value: str, count: int) -> list[int]:
    if not value:
        raise DataFileError(f"{path}:{line}: empty label list")
    ids = []
    for piece in value.split(","):
        if not _LABEL_ID.fullmatch(piece):
            raise DataFileError(f"{path}:{line}: label id {piece!r} is not an integer")
        if int(piece) >= count:
            raise DataFileError(f"{path}:{line}: label id {piece} is out of range 0-{count - 1}")
        ids.append(int(piece))
    return ids


def _read(config: DataConfig, splits: Sequence[Split]) -> dict[str, EmotionData]:
    return {split: load_goemotions(_root(config), split) for split in splits}


def _source_files(config: DataConfig, splits: Sequence[Split]) -> list[Path]:
    root = _root(config)
    return [root / "emotions.txt", *(root / f"{split}.tsv" for split in splits)]


def _check_root(config: DataConfig, root: Path) -> None:
    if not (root / "emotions.txt").is_file():
        raise DataFileError(f"{root / 'emotions.txt'}: file not found (GoEmotions folder)")
    for split in SPLITS:
        goemotions_path(root, split)


def _check_config(config: DataConfig) -> None:
    if config.root is None:
        raise ValueError(
            "root is required for dataset goemotions (the folder holding train.tsv, dev.tsv, "
            "test.tsv and emotions.txt)"
        )


def _known_emotions(config: DataConfig) -> tuple[str, ...]:
    return read_emotion_names(_root(config) / "emotions.txt")[:-1]  # neutral: no column


def _root(config: DataConfig) -> Path:
    assert config.root is not None  # _check_config guarantees it
    return Path(config.root)


READER = DatasetReader(
    name="goemotions",
    title="GoEmotions",
    read=_read,
    source_files=_source_files,
    missing_files=lambda config: root_problems(config, _check_root),
    check_config=_check_config,
    known_emotions=_known_emotions,
)
