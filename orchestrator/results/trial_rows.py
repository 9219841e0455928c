"""Each trial folder's parsed table rows, cached in its experiment folder between aggregations.

Rebuilding the tables of a large sweep after a few new trials should not read every trial's
JSON again. ``.trial_rows.parquet`` keeps, per trial folder, the ``trials`` row and the
``epochs`` rows that were read from it, with a fingerprint of the files they came from (size,
mtime and inode of each, or its absence). A folder whose fingerprint is unchanged reuses its
rows; a new or changed folder is read again; a folder that is gone drops out of the next cache.

A row is stored as JSON text: its keys (the same for most trials, so decoded once and stored
once by Parquet's dictionary encoding) and its values. The rows were read from JSON, so the
text gives back exactly the values a fresh read gives, and the tables built from cached rows
are identical to a cold rebuild's. The cache is only ever a Parquet file of plain string
columns: one that is unreadable, of another layout or written by other code (``version``) is
ignored and rebuilt; a column of any other type (a pickled-object extension type included) is
never converted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

CACHE = ".trial_rows.parquet"
_VERSION_KEY = b"emosweep.trial_rows.version"

Row = dict[str, Any]
Reader = Callable[[Path], tuple[Row, list[Row]]]


class Entry(NamedTuple):
    """One trial folder in the cache: JSON texts but the first two."""

    trial_dir: str
    fingerprint: str
    row_keys: str  # ["trial_key", ...]
    row_values: str  # ["89b5...", ...]
    epoch_keys: str  # one key list per epoch row
    epoch_values: str  # one value list per epoch row


_SCHEMA = pa.schema([pa.field(name, pa.string(), nullable=False) for name in Entry._fields])


@dataclass(frozen=True)
class RowSource:
    """How a trial folder becomes rows: ``read`` parses the ``files`` of the folder, and
    ``version`` names the code and settings that did it (other rows are never reused)."""

    read: Reader
    files: tuple[str, ...]
    version: str


@dataclass
class TrialRows:
    """The rows of an experiment's trial folders, in folder order, and the cache to save."""

    version: str
    trials: list[Row] = field(default_factory=list, init=False)
    epochs: list[Row] = field(default_factory=list, init=False)
    entries: list[Entry] = field(default_factory=list, init=False)

    def write_cache(self, path: str) -> None:
        """Write the cache (a writer for files.write_all_atomically)."""
        schema = _SCHEMA.with_metadata({_VERSION_KEY: self.version.encode()})
        columns = {name: [getattr(e, name) for e in self.entries] for name in Entry._fields}
        table = pa.Table.from_pydict(columns, schema=schema)
        pq.write_table(table, path, compression="zstd")


def collect(experiment_dir: Path, source: RowSource, cached: bool = True) -> TrialRows:
    """The rows of the experiment's trial folders (those with the first of ``source.files``,
    in name order): cached ones where the folder's files are unchanged (unless ``cached`` is
    false), the others read from the files."""
    known = _load(experiment_dir / CACHE, source.version) if cached else {}
    keys = _KeyLists()
    found = TrialRows(source.version)
    for name in _subfolders(experiment_dir):
        # Taken before reading: a file that changes during the read leaves an older
        # fingerprint behind, so the folder is read again next time rather than missed.
        print_ = fingerprint(f"{experiment_dir}{os.sep}{name}", source.files)
        if print_ is None:
            continue
        entry = known.get(name)
        rows = keys.decode(entry) if entry is not None and entry.fingerprint == print_ else None
        if rows is None:
            rows = source.read(experiment_dir / name)
            entry = _encode(name, print_, *rows)
        found.trials.append(rows[0])
        found.epochs.extend(rows[1])
        if entry is not None:
            found.entries.append(entry)
    return found


def fingerprint(trial_dir: str, files: Sequence[str]) -> str | None:
    """Size, mtime and inode of each of ``files`` in the folder ("-" for a missing one), or
    None when the first is missing (not a trial folder): an append, a rewrite or an atomic
    replacement changes it. Plain strings: pathlib's joins cost more than the stat calls."""
    parts = []
    folder = trial_dir + os.sep
    for name in files:
        try:
            stat = os.stat(folder + name)
        except OSError:
            if not parts:
                return None
            parts.append("-")
            continue
        parts.append(f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}")
    return "|".join(parts)


def _subfolders(experiment_dir: Path) -> list[str]:
    """The names of its folders (links to folders included), sorted as ``sorted(paths)``."""
    try:
        with os.scandir(experiment_dir) as entries:
            return sorted(entry.name for entry in entries if entry.is_dir())
    except OSError:
        return []


def _encode(name: str, print_: str, row: Row, epochs: list[Row]) -> Entry | None:
    """None for rows that JSON cannot hold: they are read again next time."""
    try:
        return Entry(
            name,
            print_,
            json.dumps(list(row)),
            json.dumps(list(row.values())),
            json.dumps([list(epoch) for epoch in epochs]),
            json.dumps([list(epoch.values()) for epoch in epochs]),
        )
    except (TypeError, ValueError):
        return None


class _KeyLists:
    """Decodes entries, each distinct key text once (most trials share their keys)."""

    def __init__(self) -> None:
        self._seen: dict[str, list[Any] | None] = {}

    def decode(self, entry: Entry) -> tuple[Row, list[Row]] | None:
        """The rows of a cached entry, or None when it is not what _encode writes."""
        row_keys = self._keys(entry.row_keys, _names)
        epoch_keys = self._keys(entry.epoch_keys, _name_lists)
        if row_keys is None or epoch_keys is None:
            return None
        try:
            row_values, epoch_values = json.loads(entry.row_values), json.loads(entry.epoch_values)
            row = _zipped(row_keys, row_values)
            epochs = [_zipped(k, v) for k, v in zip(epoch_keys, epoch_values, strict=True)]
        except (ValueError, TypeError):
            return None
        return row, epochs

    def _keys(self, text: str, valid: Callable[[Any], bool]) -> list[Any] | None:
        if text not in self._seen:
            try:
                keys = json.loads(text)
            except ValueError:
                keys = None
            self._seen[text] = keys if valid(keys) else None
        return self._seen[text]


def _names(keys: Any) -> bool:
    return isinstance(keys, list) and all(isinstance(key, str) for key in keys)


def _name_lists(keys: Any) -> bool:
    return isinstance(keys, list) and all(_names(names) for names in keys)


def _zipped(keys: list[str], values: Any) -> Row:
    if not isinstance(values, list):
        raise TypeError("not a list of values")
    return dict(zip(keys, values, strict=True))


def _load(path: Path, version: str) -> dict[str, Entry]:
    """Trial folder name -> its entry, or {} for anything but a cache written by ``version``."""
    try:
        file = pq.ParquetFile(path)
        if (file.metadata.metadata or {}).get(_VERSION_KEY) != version.encode():
            return {}
        # Exactly the plain string columns written here: an extension type's values (Ray's
        # Python-object type among them) may be unpickled when converted, so a file with one,
        # or with a field marked as one, is never converted.
        fields = list(file.schema_arrow)
        if len(fields) != len(_SCHEMA) or not all(
            found.equals(expected, check_metadata=True)
            for found, expected in zip(fields, _SCHEMA, strict=False)
        ):
            return {}
        table = file.read(columns=list(Entry._fields), use_pandas_metadata=False)
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return {}
    # Non-nullable string columns (checked above): every value is a str.
    columns = [table.column(name).to_pylist() for name in Entry._fields]
    return {values[0]: Entry(*values) for values in zip(*columns, strict=True)}
