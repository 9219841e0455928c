"""Reader for SemEval 2018 Task 1 E-c files (English, Spanish, Arabic), validated line by line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from emotrain.emotions import SEMEVAL_EMOTIONS

Split = Literal["train", "dev", "test"]
SemEvalLanguage = Literal["english", "spanish", "arabic"]

_FOLDER = {"english": ("English", "En"), "spanish": ("Spanish", "Es"), "arabic": ("Arabic", "Ar")}
_SPLIT_SUFFIX = {"train": "train", "dev": "dev", "test": "test-gold"}
HEADER: tuple[str, ...] = ("ID", "Tweet", *SEMEVAL_EMOTIONS)


class _Rows(Protocol):
    """What ``csv.reader`` returns (the stdlib exposes no public type for it)."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...
    def __next__(self) -> list[str]: ...


class DataFileError(ValueError):
    """A data file that cannot be read as promised; the message names the file and line."""


@dataclass(frozen=True)
class EmotionData:
    """Texts with a 0/1 label matrix over ``emotions`` (an all-zero row is neutral); multilingual
    data also knows each row's language."""

    ids: list[str]
    texts: list[str]
    labels: np.ndarray  # [n, len(emotions)], float32 0/1
    emotions: tuple[str, ...]
    languages: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def head(self, n: int | None) -> EmotionData:
        if n is None or n >= len(self):
            return self
        languages = self.languages[:n] if self.languages is not None else None
        return replace(self, ids=self.ids[:n], texts=self.texts[:n], labels=self.labels[:n],
                       languages=languages)  # fmt: skip

    def select(self, emotions: tuple[str, ...]) -> EmotionData:
        """Only the label columns of ``emotions`` (in that order)."""
        unknown = [e for e in emotions if e not in self.emotions]
        if unknown:
            raise ValueError(
                f"unknown emotion {', '.join(unknown)}; known: {', '.join(self.emotions)}"
            )
        columns = [self.emotions.index(e) for e in emotions]
        return replace(self, labels=self.labels[:, columns], emotions=emotions)

    def concat(self, other: EmotionData) -> EmotionData:
        if other.emotions != self.emotions:
            raise ValueError("cannot join splits with different emotions")
        if (self.languages is None) != (other.languages is None):
            raise ValueError("cannot join a multilingual split with a monolingual one")
        languages = None if self.languages is None else self.languages + (other.languages or [])
        labels = np.concatenate([self.labels, other.labels])
        return replace(self, ids=self.ids + other.ids, texts=self.texts + other.texts,
                       labels=labels, languages=languages)  # fmt: skip

    def take(self, rows: list[int]) -> EmotionData:
        languages = None if self.languages is None else [self.languages[i] for i in rows]
        return replace(self, ids=[self.ids[i] for i in rows], texts=[self.texts[i] for i in rows],
                       labels=self.labels[rows], languages=languages)  # fmt: skip

    def with_language(self, language: str) -> EmotionData:
        return replace(self, languages=[language] * len(self))


def demo_root() -> Path:
    """The small English dataset shipped with the package (written for this project)."""
    return Path(str(resources.files("emotrain") / "demo_data"))


def load_demo(split: Split) -> EmotionData:
    """A split of the demo dataset: the E-c format, English, under its own file names."""
    return read_semeval(demo_root() / f"demo-{split}.tsv")


def semeval_path(root: Path, language: SemEvalLanguage, split: Split) -> Path:
    """Locate a split under ``root``, accepting the official bundle's extra ``E-c/`` level."""
    folder, code = _FOLDER[language]
    name = f"2018-E-c-{code}-{_SPLIT_SUFFIX[split]}.txt"
    candidates = [root / folder / name, root / folder / "E-c" / name]
    for path in candidates:
        if path.is_file():
            return path
    raise DataFileError(f"{candidates[0]}: file not found (data root {root})")


def read_semeval(path: Path) -> EmotionData:
    """Read one E-c file (UTF-8, a BOM is allowed). Quoting is off: tweets contain bare quote
    characters."""
    rows = csv.reader(
        io.StringIO(read_text(path), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE
    )
    try:
        return _parse(path, rows)
    except csv.Error as err:
        raise DataFileError(f"{path}:{rows.line_num}: {csv_problem(err)}") from None


def read_text(path: Path, encoding: str = "utf-8-sig") -> str:
    """A whole data file as text (a UTF-8 BOM is dropped); bad bytes are an error naming the
    line they are on."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except OSError as err:
        raise DataFileError(f"{path}: cannot read ({err.strerror})") from None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        # Decoding the whole file at once lets the error name the exact line.
        line = raw[: err.start].count(b"\n") + 1
        raise DataFileError(
            f"{path}:{line}: not valid UTF-8 ({err.reason} at byte {err.start})"
        ) from None


def csv_problem(error: csv.Error) -> str:
    """What ``csv`` could not parse, in the user's terms."""
    if "field limit" in str(error):
        return f"a field is longer than {csv.field_size_limit()} characters"
    return f"cannot parse ({error})"


def load_semeval(root: Path, language: SemEvalLanguage, split: Split) -> EmotionData:
    return read_semeval(semeval_path(root, language, split))


def _parse(path: Path, rows: _Rows) -> EmotionData:
    header = next(rows, None)
    if header is None:
        raise DataFileError(f"{path}:1: empty file, expected the header {' '.join(HEADER)}")
    if tuple(header) != HEADER:
        raise DataFileError(
            f"{path}:1: wrong header {header!r}; expected the {len(HEADER)} columns "
            f"{' '.join(HEADER)}"
        )
    ids: list[str] = []
    texts: list[str] = []
    labels: list[list[int]] = []
    first_line: dict[str, int] = {}
    for row in rows:
        line = rows.line_num
        if len(row) != len(HEADER):
            raise DataFileError(
                f"{path}:{line}: {len(row)} columns, expected {len(HEADER)} "
                f"(ID, Tweet and {len(SEMEVAL_EMOTIONS)} labels)"
            )
        values = row[2:]
        bad = [(e, v) for e, v in zip(SEMEVAL_EMOTIONS, values, strict=True) if v not in ("0", "1")]
        if bad:
            emotion, value = bad[0]
            raise DataFileError(f"{path}:{line}: label {emotion}={value!r} is not 0 or 1")
        if row[0] in first_line:
            raise DataFileError(
                f"{path}:{line}: duplicate ID {row[0]!r} (first on line {first_line[row[0]]})"
            )
        first_line[row[0]] = line
        ids.append(row[0])
        texts.append(row[1])
        labels.append([int(v) for v in values])
    if not ids:
        raise DataFileError(f"{path}:1: header only, no data rows")
    matrix = np.asarray(labels, dtype=np.float32).reshape(len(labels), len(SEMEVAL_EMOTIONS))
    return EmotionData(ids, texts, matrix, SEMEVAL_EMOTIONS)
