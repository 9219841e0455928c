"""An on-disk cache of loaded splits (read, validated, cut and preprocessed), so that a sweep's
later trials on the same data neither parse the files nor preprocess the texts again; with the
token cache (token_cache.py) they then skip tokenization as well.

The key is looked up before any file is parsed: it hashes the data config, the splits asked
for, the bytes of every file those splits are read from, and the source of the modules that
read and preprocess them (with the emoji package's version), so an edited file, another option
or changed reading code all miss. Entries are Arrow IPC files written atomically, as the token
cache's.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa

from emotrain.data.config import DataConfig
from emotrain.data.readers import READERS, dataset_reader
from emotrain.data.token_cache import read_or_build, write_table
from emotrain.data.types import DataFileError, EmotionData, Split

_VERSION = "1"
# The modules, beside this one, that read, cut and preprocess the splits; each dataset's reader
# module is added to them (_code_files).
_CODE = ("loading.py", "types.py", "readers.py", "preprocess.py")


def cached_splits(
    directory: Path | None,
    config: DataConfig,
    splits: Sequence[Split],
    load: Callable[[], dict[str, EmotionData]],
) -> dict[str, EmotionData]:
    """The splits stored for this config and these files, or ``load()`` stored first. No
    directory, or a source file that cannot be read (``load`` then says why): no cache."""
    if directory is None:
        return load()
    key = _key(config, splits)
    if key is None:
        return load()
    return read_or_build(Path(directory) / f"{key}.arrow", _read, load, _write)


def source_files(config: DataConfig, splits: Sequence[Split]) -> list[Path]:
    """Every file that loading ``splits`` of ``config`` reads."""
    return dataset_reader(config.dataset).source_files(config, splits)


def _key(config: DataConfig, splits: Sequence[Split]) -> str | None:
    digest = hashlib.sha256()
    options = json.dumps(config.model_dump(mode="json"), sort_keys=True, ensure_ascii=True)
    for part in (_VERSION, _code_digest(), options, ",".join(splits)):
        digest.update(part.encode())
        digest.update(b"\0")
    try:
        files = source_files(config, splits)
        for path in files:
            digest.update(str(path.resolve()).encode())
            digest.update(b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    except (OSError, DataFileError):
        return None  # the load itself reports the missing or unreadable file
    return digest.hexdigest()[:32]


def _code_digest() -> str:
    """The reading and preprocessing code: a fix there must not be hidden by older entries."""
    versions = f"{metadata.version('emoji')},{metadata.version('wordsegment')}"
    digest = hashlib.sha256(versions.encode())
    for path in _code_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _code_files() -> list[Path]:
    here = Path(__file__).parent
    readers = [Path(inspect.getfile(reader.read)) for reader in READERS.values()]
    return [*(here / name for name in _CODE), *dict.fromkeys(readers)]


def _write(data: dict[str, EmotionData], path: Path) -> None:
    parts = []
    for split, part in data.items():
        columns = {
            "split": pa.array([split] * len(part), type=pa.string()),
            "id": pa.array(part.ids, type=pa.string()),
            "text": pa.array(part.texts, type=pa.string()),
            "labels": pa.FixedSizeListArray.from_arrays(
                pa.array(np.ascontiguousarray(part.labels, dtype=np.float32).reshape(-1)),
                len(part.emotions),
            ),
            "language": pa.array(part.languages or [None] * len(part), type=pa.string()),
        }
        parts.append(pa.table(columns))
    meta = {
        "splits": list(data),
        "emotions": {split: list(part.emotions) for split, part in data.items()},
        "multilingual": {split: part.languages is not None for split, part in data.items()},
    }
    table = pa.concat_tables(parts).replace_schema_metadata({"emotrain": json.dumps(meta)})
    write_table(table, path)


def _read(path: Path) -> dict[str, EmotionData]:
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    meta = json.loads(table.schema.metadata[b"emotrain"])
    names = table["split"].to_numpy(zero_copy_only=False)
    data = {}
    for split in meta["splits"]:
        part = table.filter(pa.array(names == split))
        emotions = tuple(meta["emotions"][split])
        labels = part["labels"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
        data[split] = EmotionData(
            ids=part["id"].to_pylist(),
            texts=part["text"].to_pylist(),
            labels=labels.astype(np.float32).reshape(len(part), len(emotions)),
            emotions=emotions,
            languages=part["language"].to_pylist() if meta["multilingual"][split] else None,
        )
    return data
