"""A user's own dataset as a CSV or TSV file: a text column plus its emotion labels.

Two label layouts are accepted:

- one 0/1 column per emotion; the emotions are the header's columns other than the text column
  and the id column, unless ``emotions`` picks some of them (the rest are then ignored);
- a single list column (``labels_column``) whose values are emotion names separated by ``,`` or
  ``;`` (empty means neutral); the emotions are ``emotions`` when given, else every name found,
  sorted.

A table whose columns are emotion clusters is simply a dataset over those clusters. The dataset
``table`` reads three such files, ``data.train_file``, ``data.dev_file`` and ``data.test_file``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emotrain.data.types import (
    DataFileError,
    DatasetReader,
    EmotionData,
    FileProblem,
    Split,
    csv_problem,
    read_text,
)
from emotrain.emotions import name_list_problem

if TYPE_CHECKING:
    from emotrain.data.config import DataConfig

# The data options of this dataset alone (DataConfig's fields).
FILE_OPTIONS = ("train_file", "dev_file", "test_file")
OPTIONS = (*FILE_OPTIONS, "text_column", "id_column", "labels_column", "emotions", "delimiter")

Row = tuple[int, list[str]]  # (line where the record starts, fields)

_DELIMITERS = {".csv": ",", ".tsv": "\t"}
_LIST_SEPARATOR = re.compile(r"[,;]")
# Words a 0/1 column may hold by mistake; they name no emotion.
_YES_NO = {"yes", "no", "y", "n", "true", "false", "t", "f"}


def read_rows(path: Path, delimiter: str, encoding: str = "utf-8-sig") -> list[Row]:
    """Every record of a delimited file with default CSV quoting, numbered by its first line."""
    text = read_text(path, encoding)
    # Strict: a malformed quote is an error, not text silently merged into a neighbouring field.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[Row] = []
    start = 1
    try:
        for fields in reader:
            rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as err:
        raise DataFileError(f"{path}:{start}: {csv_problem(err)}") from None
    return rows


def delimiter_for(path: Path) -> str:
    """The delimiter the file's extension implies (``.csv`` comma, ``.tsv`` tab)."""
    try:
        return _DELIMITERS[path.suffix.lower()]
    except KeyError:
        raise DataFileError(
            f"{path}: cannot tell the delimiter from the extension {path.suffix!r}; "
            "name the file .csv or .tsv, or give the delimiter"
        ) from None


def read_table_dataset(
    path: Path,
    text_column: str = "text",
    emotions: Sequence[str] | None = None,
    labels_column: str | None = None,
    delimiter: str | None = None,
    id_column: str | None = "id",
) -> EmotionData:
    """Read a CSV/TSV dataset (UTF-8, a BOM is allowed); ids come from ``id_column`` if present,
    else they are the rows' line numbers."""
    path = Path(path)
    if emotions is not None:
        _check_emotion_list(emotions)
    rows = [row for row in read_rows(path, delimiter or delimiter_for(path)) if row[1]]
    header = _header(path, rows, text_column)
    body = rows[1:]
    _check_widths(path, header, body)
    column = {name: i for i, name in enumerate(header)}
    if labels_column is None:
        names = _emotion_columns(path, header, text_column, id_column, emotions)
        labels = _column_labels(path, body, [column[name] for name in names], names)
    else:
        if labels_column not in column:
            raise DataFileError(
                f"{path}:1: no labels column {labels_column!r}; columns found: {', '.join(header)}"
            )
        names, labels = _list_labels(path, body, column[labels_column], labels_column, emotions)
    text = column[text_column]
    ids = [fields[column[id_column]] if id_column in column else str(line) for line, fields in body]
    _check_unique_ids(path, ids, body)
    return EmotionData(ids, [fields[text] for _, fields in body], labels, tuple(names))


def load_table_splits(
    files: Mapping[str, Path],
    text_column: str = "text",
    emotions: Sequence[str] | None = None,
    labels_column: str | None = None,
    delimiter: str | None = None,
    id_column: str | None = "id",
) -> dict[str, EmotionData]:
    """Several files (train, dev, test) over one emotion set, so one model fits all of them.

    With a list column and no ``emotions`` the set is the sorted union over all files;
    otherwise every file must yield the first file's emotions."""
    data = {
        split: read_table_dataset(path, text_column, emotions, labels_column, delimiter, id_column)
        for split, path in files.items()
    }
    if labels_column is not None and emotions is None:
        union = sorted({emotion for split in data.values() for emotion in split.emotions})
        return {split: _aligned(part, tuple(union)) for split, part in data.items()}
    (first, reference), *others = data.items()
    for split, part in others:
        if part.emotions != reference.emotions:
            raise DataFileError(
                f"{files[split]}: emotion columns ({', '.join(part.emotions)}) differ from "
                f"those of {files[first]} ({', '.join(reference.emotions)})"
            )
    return data


def _check_emotion_list(emotions: Sequence[str]) -> None:
    if problem := name_list_problem(emotions):
        raise ValueError(f"emotions: {problem}")


def _header(path: Path, rows: list[Row], text_column: str) -> list[str]:
    if not rows:
        raise DataFileError(f"{path}:1: empty file, expected a header with column {text_column!r}")
    # Hand-written headers often carry stray spaces ("text, joy"); they are never meaningful.
    header = [name.strip() for name in rows[0][1]]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataFileError(f"{path}:1: duplicate column names: {', '.join(duplicates)}")
    if text_column not in header:
        raise DataFileError(
            f"{path}:1: no text column {text_column!r}; columns found: {', '.join(header)}"
        )
    if len(rows) == 1:
        raise DataFileError(f"{path}:1: header only, no data rows")
    return header


def _check_unique_ids(path: Path, ids: list[str], body: list[Row]) -> None:
    # Two rows with one id are a copy-paste or a merge gone wrong, never two examples.
    first_line: dict[str, int] = {}
    for row_id, (line, _) in zip(ids, body, strict=True):
        if row_id in first_line:
            raise DataFileError(
                f"{path}:{line}: duplicate id {row_id!r} (first on line {first_line[row_id]})"
            )
        first_line[row_id] = line


def _check_widths(path: Path, header: list[str], body: list[Row]) -> None:
    for line, fields in body:
        if len(fields) != len(header):
            raise DataFileError(
                f"{path}:{line}: {len(fields)} fields, expected {len(header)} ({', '.join(header)})"
            )


def _emotion_columns(
    path: Path,
    header: list[str],
    text_column: str,
    id_column: str | None,
    emotions: Sequence[str] | None,
) -> list[str]:
    if emotions is None:
        names = [name for name in header if name not in (text_column, id_column)]
        if not names:
            raise DataFileError(
                f"{path}:1: no emotion columns besides {text_column!r}; "
                "add one 0/1 column per emotion or name a labels column"
            )
        return names
    missing = [name for name in emotions if name not in header]
    if missing:
        raise DataFileError(
            f"{path}:1: no column for emotion(s) {', '.join(missing)}; "
            f"columns found: {', '.join(header)}"
        )
    return list(emotions)


def _column_labels(path: Path, body: list[Row], indices: list[int], names: list[str]) -> np.ndarray:
    matrix = np.zeros((len(body), len(names)), dtype=np.float32)
    for row, (line, fields) in enumerate(body):
        for col, (index, name) in enumerate(zip(indices, names, strict=True)):
            value = fields[index].strip()
            if value not in ("0", "1"):
                problem = f"{path}:{line}: label {name}={fields[index]!r} is not 0 or 1"
                raise DataFileError(problem + _list_hint(body, index, name))
            matrix[row, col] = float(value)
    return matrix


def _list_hint(body: list[Row], index: int, name: str) -> str:
    """When the column holds emotion names (``joy;anger``, empty for none) rather than 0/1,
    the fix: it is a labels column."""
    found = [piece for _, fields in body for piece in _split_list(fields[index])]
    if not found or any(_is_number(piece) or piece.lower() in _YES_NO for piece in found):
        return ""
    examples = ", ".join(list(dict.fromkeys(found))[:3])
    return f"; the column holds emotion names ({examples}): set labels_column: {name}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _list_labels(
    path: Path, body: list[Row], index: int, column: str, emotions: Sequence[str] | None
) -> tuple[list[str], np.ndarray]:
    present = [_split_list(fields[index]) for _, fields in body]
    if emotions is None:
        names = sorted({name for row in present for name in row})
        if not names:
            raise DataFileError(f"{path}: column {column!r} names no emotion in any row")
    else:
        names = list(emotions)
        for (line, _), row in zip(body, present, strict=True):
            unknown = [name for name in row if name not in names]
            if unknown:
                raise DataFileError(
                    f"{path}:{line}: unknown emotion {unknown[0]!r} in column {column!r}; "
                    f"expected some of: {', '.join(names)}"
                )
    position = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(body), len(names)), dtype=np.float32)
    for row, found in enumerate(present):
        matrix[row, [position[name] for name in found]] = 1.0
    return names, matrix


def _split_list(value: str) -> list[str]:
    return [piece.strip() for piece in _LIST_SEPARATOR.split(value) if piece.strip()]


def _aligned(data: EmotionData, emotions: tuple[str, ...]) -> EmotionData:
    """``data`` over ``emotions`` (a superset of its own); the added emotions are all absent."""
    labels = np.zeros((len(data), len(emotions)), dtype=np.float32)
    columns = [emotions.index(name) for name in data.emotions]
    labels[:, columns] = data.labels
    return EmotionData(data.ids, data.texts, labels, emotions)


def _read(config: DataConfig, splits: Sequence[Split]) -> dict[str, EmotionData]:
    files = {"train": config.train_file, "dev": config.dev_file, "test": config.test_file}
    # Every file is read: the emotion set is the one all of them share.
    tables = load_table_splits(
        {split: path for split, path in files.items() if path is not None},
        config.text_column,
        config.emotions,
        config.labels_column,
        config.delimiter,
        config.id_column,
    )
    return {split: tables[split] for split in splits}


def _source_files(config: DataConfig, splits: Sequence[Split]) -> list[Path]:
    # Every file is read, whatever the splits: the emotion set is the one all of them share.
    files = (config.train_file, config.dev_file, config.test_file)
    return [Path(path) for path in files if path is not None]


def _missing_files(config: DataConfig) -> list[FileProblem]:
    files = {name: getattr(config, name) for name in FILE_OPTIONS}
    return [
        (f"data.{name}", f"{path}: file not found")
        for name, path in files.items()
        if path is not None and not Path(path).is_file()
    ]


def _file_option(config: DataConfig, problem: str) -> str:
    for name in FILE_OPTIONS:
        path = getattr(config, name)
        if path is not None and problem.startswith(str(path)):
            return f"data.{name}"
    return "data.train_file"


def _check_config(config: DataConfig) -> None:
    missing = [name for name in FILE_OPTIONS if getattr(config, name) is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ValueError(f"{', '.join(missing)} {verb} required for dataset table")
    if config.root is not None:
        raise ValueError("root is not used by dataset table; give train_file, dev_file, test_file")
    if config.emotions is not None and (problem := name_list_problem(config.emotions)):
        raise ValueError(f"emotions: {problem}")
    if config.labels_column is not None and config.labels_column == config.text_column:
        raise ValueError("labels_column and text_column name the same column")


def _misplaced_options(config: DataConfig) -> str | None:
    # Compared with the defaults (not fields_set) so a dumped config validates again.
    defaults = type(config).model_fields
    for name in OPTIONS:
        if getattr(config, name) != defaults[name].default:
            return f"{name} only applies to dataset table, not {config.dataset}"
    return None


READER = DatasetReader(
    name="table",
    title="table",
    read=_read,
    source_files=_source_files,
    missing_files=_missing_files,
    check_config=_check_config,
    known_emotions=lambda config: tuple(config.emotions) if config.emotions else None,
    misplaced_options=_misplaced_options,
    file_option=_file_option,
)
