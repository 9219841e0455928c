"""An on-disk cache of tokenized splits (Arrow IPC), so later trials on the same data skip
tokenization. The key hashes everything the encoding depends on: the texts (after
preprocessing), the labels, the tokenizer's full definition, the prompt and the max length.

Writes go to a temporary file renamed into place, so two processes building the same entry at
once both succeed and readers never see a partial file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import torch
from transformers import PreTrainedTokenizerBase

from emotrain.data.batches import EncodedSplit

T = TypeVar("T")

CACHE_ENV = "EMOTRAIN_CACHE"
_VERSION = "2"  # 2: the tokenizer's part of the key is computed faster (other bytes)
# to_str() digest -> canonical digest: a trial hashes train, dev and test with one tokenizer.
_CANONICAL: dict[str, str] = {}


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "emotrain")).expanduser()


def cache_key(
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    texts: Sequence[str],
    labels: np.ndarray,
    max_length: int,
) -> str:
    digest = hashlib.sha256()
    for part in (_VERSION, tokenizer_digest(tokenizer), prompt, str(max_length)):
        digest.update(part.encode())
        digest.update(b"\0")
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    digest.update(np.ascontiguousarray(labels, dtype=np.float32).tobytes())
    return digest.hexdigest()[:32]


def tokenizer_digest(tokenizer: PreTrainedTokenizerBase) -> str:
    """A digest of the tokenizer's canonical definition (``_canonical``), remembered per exact
    ``to_str`` text: serialising is cheap, canonicalising a large vocabulary is not."""
    serialised = tokenizer.backend_tokenizer.to_str()
    raw = hashlib.sha256(serialised.encode()).hexdigest()
    if raw not in _CANONICAL:
        _CANONICAL[raw] = hashlib.sha256(_canonical(serialised).encode()).hexdigest()
    return _CANONICAL[raw]


def _canonical(serialised: str) -> str:
    """The tokenizer's definition, re-serialised with sorted keys because ``to_str`` writes the
    vocabulary in hash-map order, and without the truncation and padding state that the last
    call left behind (the key's max length covers it). A vocabulary map becomes a list in id
    order: the same content, and much faster to write than a map with sorted keys."""
    definition = json.loads(serialised)
    definition.pop("truncation", None)
    definition.pop("padding", None)
    model = definition.get("model")
    if isinstance(model, dict) and isinstance(model.get("vocab"), dict):
        model["vocab"] = sorted(model["vocab"].items(), key=lambda item: (item[1], item[0]))
    return json.dumps(definition, sort_keys=True, ensure_ascii=True)


def cached_split(
    directory: Path | None, key: str, build: Callable[[], EncodedSplit]
) -> EncodedSplit:
    """The split stored under ``key``, or ``build()`` stored there first. No directory: no cache."""
    if directory is None:
        return build()
    return read_or_build(Path(directory) / f"{key}.arrow", _read, build, _write)


def read_or_build(
    path: Path, read: Callable[[Path], T], build: Callable[[], T], write: Callable[[T, Path], None]
) -> T:
    """The entry at ``path``, or ``build()`` written there first (prepared_cache.py too)."""
    if path.is_file():
        return read(path)
    value = build()
    write(value, path)
    return value


def _write(split: EncodedSplit, path: Path) -> None:
    columns = {"input_ids": _lists(split.input_ids, pa.int32())}
    if split.token_type_ids is not None:
        columns["token_type_ids"] = _lists(split.token_type_ids, pa.int8())
    columns["labels"] = pa.array(list(split.labels.numpy()), type=pa.list_(pa.float32()))
    meta = {"positions": split.positions, "pad_id": split.pad_id}
    table = pa.table(columns).replace_schema_metadata({"emotrain": json.dumps(meta)})
    write_table(table, path)


def write_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` as an Arrow IPC file at ``path``, atomically (see the module's doc)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read(path: Path) -> EncodedSplit:
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    meta = json.loads(table.schema.metadata[b"emotrain"])
    types = _tensors(table["token_type_ids"]) if "token_type_ids" in table.column_names else None
    labels = np.stack(table["labels"].to_numpy(zero_copy_only=False)).astype(np.float32)
    return EncodedSplit(
        input_ids=_tensors(table["input_ids"]),
        token_type_ids=types,
        labels=torch.from_numpy(labels.reshape(len(table), -1)),
        positions=meta["positions"],
        pad_id=meta["pad_id"],
    )


def _lists(rows: Sequence[torch.Tensor], kind: pa.DataType) -> pa.Array:
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int32, count=len(rows))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = torch.cat(list(rows)).numpy() if rows else np.zeros(0)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=kind))


def _tensors(column: pa.ChunkedArray) -> list[torch.Tensor]:
    array = column.combine_chunks()
    offsets = array.offsets.to_numpy()
    values = torch.from_numpy(array.values.to_numpy().astype(np.int64))
    return list(torch.split(values, np.diff(offsets).tolist()))
