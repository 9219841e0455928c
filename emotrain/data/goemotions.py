"""Reader for GoEmotions (the "simplified" split), validated line by line.

Each split file is a headerless TSV: text, comma-separated label ids, comment id. Ids index
``emotions.txt`` (28 names, the last ``neutral``). Neutral is dropped as a column, as in the
original, so a neutral comment is the all-zero row over the 27 emotions; a comment labelled
neutral *and* something else keeps only the something else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emotrain.data.semeval import DataFileError, EmotionData, Split
from emotrain.data.table_dataset import read_rows

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
    if len(set(names)) != len(names):
        raise DataFileError(f"{path}: duplicate emotion names")
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
