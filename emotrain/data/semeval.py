"""Reader for SemEval 2018 Task 1 E-c files (English, Spanish, Arabic), validated line by line,
and the dataset ``semeval``: one language, several at once (each row keeps its language), or,
without a root, the demo data shipped inside emotrain."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from functools import reduce
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from emotrain.data.types import (
    SPLITS,
    DataFileError,
    DatasetReader,
    EmotionData,
    Split,
    csv_problem,
    read_text,
    root_problems,
)
from emotrain.emotions import SEMEVAL_EMOTIONS, emotion_word

if TYPE_CHECKING:
    from emotrain.data.config import DataConfig

SemEvalLanguage = Literal["english", "spanish", "arabic"]

_FOLDER = {"english": ("English", "En"), "spanish": ("Spanish", "Es"), "arabic": ("Arabic", "Ar")}
_SPLIT_SUFFIX = {"train": "train", "dev": "dev", "test": "test-gold"}
HEADER: tuple[str, ...] = ("ID", "Tweet", *SEMEVAL_EMOTIONS)


class _Rows(Protocol):
    """What ``csv.reader`` returns (the stdlib exposes no public type for it)."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...
    def __next__(self) -> list[str]: ...


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


def semeval_files(config: DataConfig, split: Split) -> list[tuple[SemEvalLanguage, Split]]:
    """The (language, file) pairs whose SemEval files make up ``split``."""
    if not config.multilingual:
        return [(config.language, split)]
    languages = {"train": config.train_languages, "dev": config.development_languages}
    chosen = languages.get(split, config.scored_languages)
    files = config.test_splits if split == "test" else [split]
    return [(language, file) for language in chosen for file in files]


def _read(config: DataConfig, splits: Sequence[Split]) -> dict[str, EmotionData]:
    if config.root is None:
        if config.multilingual or config.language != "english":
            raise ValueError("data.root: the demo data is English only; give a SemEval root")
        return {split: load_demo(split) for split in splits}
    root = config.root
    if not config.multilingual:
        return {split: load_semeval(root, config.language, split) for split in splits}
    return {split: _languages(root, semeval_files(config, split)) for split in splits}


def _languages(root: Path, files: list[tuple[SemEvalLanguage, Split]]) -> EmotionData:
    """Several languages' files as one split; each row keeps its language."""
    parts = [
        load_semeval(root, language, split).with_language(language) for language, split in files
    ]
    return reduce(EmotionData.concat, parts)


def _source_files(config: DataConfig, splits: Sequence[Split]) -> list[Path]:
    if config.root is None:
        return [demo_root() / f"demo-{split}.tsv" for split in splits]
    return [
        semeval_path(config.root, language, file)
        for split in splits
        for language, file in semeval_files(config, split)
    ]


def _check_root(config: DataConfig, root: Path) -> None:
    languages = [*config.train_languages, *config.development_languages, *config.scored_languages]
    for language in dict.fromkeys(languages):
        for split in SPLITS:
            semeval_path(root, language, split)


def _check_config(config: DataConfig) -> None:
    if config.root is None and (config.multilingual or config.language != "english"):
        raise ValueError("root: the demo data (root null) is English only; give a SemEval root")
    if config.test_splits != ["test"]:
        seen = {*config.train_languages, *config.development_languages}
        if config.eval_languages is None or seen & set(config.eval_languages):
            raise ValueError(
                "test_splits: scoring train or dev files is only for zero-shot target languages: "
                "set eval_languages to languages that are neither in languages nor in "
                "dev_languages"
            )
    for field in ("languages", "eval_languages", "dev_languages", "test_splits"):
        chosen = getattr(config, field) or []
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"{field}: a language is listed twice")


def _misplaced_options(config: DataConfig) -> str | None:
    if config.languages or config.eval_languages or config.dev_languages:
        return "languages, eval_languages and dev_languages apply to dataset semeval only"
    if config.test_splits != ["test"]:
        return "test_splits applies to dataset semeval only"
    return None


def _prompt_words(config: DataConfig, emotions: Sequence[str]) -> list[str]:
    """SemEval's English names, in the prompt language."""
    return [emotion_word(e, config.prompt_language) for e in emotions]


READER = DatasetReader(
    name="semeval",
    title="SemEval",
    read=_read,
    source_files=_source_files,
    missing_files=lambda config: root_problems(config, _check_root),
    check_config=_check_config,
    known_emotions=lambda config: SEMEVAL_EMOTIONS,
    misplaced_options=_misplaced_options,
    prompt_words=_prompt_words,
    emotions=SEMEVAL_EMOTIONS,
)
