"""What every dataset reader shares: the split names, the loaded data (``EmotionData``), the
error a data file raises, the file-reading helpers, and ``DatasetReader``, what emotrain needs
to know of one dataset (each dataset is one module defining one; emotrain/data/readers.py
registers them)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from emotrain.data.config import DataConfig

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")
# (training option, problem): a file a run would read that is missing or malformed.
FileProblem = tuple[str, str]


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


def no_own_options(config: DataConfig) -> str | None:
    """A dataset with no options of its own: nothing to be misplaced."""
    return None


def names_are_words(config: DataConfig, emotions: Sequence[str]) -> list[str]:
    """A dataset whose emotion names are the prompt's words, in whatever language they are."""
    return list(emotions)


def under_the_root(config: DataConfig, problem: str) -> str:
    """The option naming a file of a dataset that lives in one folder: ``data.root``."""
    return "data.root"


def root_problems(
    config: DataConfig, check: Callable[[DataConfig, Path], None]
) -> list[FileProblem]:
    """The missing files of a dataset that lives in one folder (``data.root``): the folder, or
    the first file ``check`` finds missing in it (a ``DataFileError``), as one problem, so a
    wrong folder is one line rather than one per split. No root: the demo data, inside the
    package."""
    if config.root is None:
        return []
    root = Path(config.root)
    if not root.is_dir():
        return [("data.root", f"{root}: folder not found")]
    try:
        check(config, root)
    except DataFileError as err:
        return [("data.root", str(err))]
    return []


@dataclass(frozen=True)
class DatasetReader:
    """One dataset, as everything outside its module sees it: ``data.dataset`` names it, and
    whatever depends on the dataset asks its reader (emotrain/data/readers.py) instead of
    comparing names. Each function takes the run's ``DataConfig``."""

    name: str  # the value of data.dataset
    title: str  # how messages name the dataset
    # The splits parsed and validated, before they are cut and preprocessed (loading.py).
    read: Callable[[DataConfig, Sequence[Split]], dict[str, EmotionData]]
    # Every file reading those splits opens: the prepared cache's key hashes their bytes.
    source_files: Callable[[DataConfig, Sequence[Split]], list[Path]]
    # The files the config names that are not there, at most one problem per option, found
    # before any run.
    missing_files: Callable[[DataConfig], list[FileProblem]]
    # This dataset's own rules for a config that chooses it: a ValueError of one line that
    # names the field and the fix (DataConfig's validator).
    check_config: Callable[[DataConfig], None]
    # The emotions, before the splits are read (None: only the rows tell).
    known_emotions: Callable[[DataConfig], tuple[str, ...] | None]
    # What is wrong when a config that chooses another dataset sets this one's own options.
    misplaced_options: Callable[[DataConfig], str | None] = no_own_options
    # The option naming the file a reading problem (a message starting with its path) is in.
    file_option: Callable[[DataConfig, str], str] = under_the_root
    # The emotions' words in the prompt.
    prompt_words: Callable[[DataConfig, Sequence[str]], list[str]] = names_are_words
    # The emotions when the dataset itself fixes them, so a config can be checked against them
    # without reading a file (None: they come from its files).
    emotions: tuple[str, ...] | None = None
