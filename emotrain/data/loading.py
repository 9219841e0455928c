"""Load the train, dev and test splits a ``DataConfig`` names, cut and preprocessed; and find
the files a config would fail on before any run. The dataset's reader (readers.py) reads them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from emotrain.data.config import DataConfig
from emotrain.data.prepared_cache import cached_splits
from emotrain.data.preprocess import preprocess_many
from emotrain.data.readers import dataset_reader
from emotrain.data.types import SPLITS, EmotionData, FileProblem, Split


def load_splits(
    config: DataConfig, splits: tuple[Split, ...] = SPLITS, cache_dir: Path | None = None
) -> dict[str, EmotionData]:
    """Train, dev and test (or only ``splits``) over one emotion set, cut to the configured
    sizes and preprocessed; with ``cache_dir``, looked up there before any file is parsed
    (prepared_cache.py)."""
    return cached_splits(cache_dir, config, splits, lambda: _load_splits(config, splits))


def _load_splits(config: DataConfig, splits: tuple[Split, ...]) -> dict[str, EmotionData]:
    limits = {"train": config.train_limit, "dev": config.eval_limit, "test": config.eval_limit}
    data = {}
    for split, raw in _read_splits(config, splits).items():
        cut = _head_per_language(raw, limits[split])
        languages = cut.languages if cut.languages is not None else config.language
        texts = preprocess_many(cut.texts, config.preprocess, languages)
        data[split] = replace(cut, texts=texts)
    return data


def missing_files(config: DataConfig) -> list[FileProblem]:
    """The files ``config`` reads that are not there, as (training option, problem), found
    before any run: at most one problem per option, so a wrong folder is one line, not one per
    split."""
    return dataset_reader(config.dataset).missing_files(config)


def unreadable_files(config: DataConfig, splits: tuple[Split, ...] = SPLITS) -> list[FileProblem]:
    """``missing_files`` (of every split), then the files of ``splits`` read through (parsed,
    not preprocessed), so that a malformed line is found before any run too: at most one
    (option, problem)."""
    if missing := missing_files(config):
        return missing
    try:
        _read_splits(config, splits)
    except ValueError as err:  # DataFileError, and the table reader's problems with emotions
        return [(dataset_reader(config.dataset).file_option(config, str(err)), str(err))]
    return []


def _read_splits(config: DataConfig, splits: tuple[Split, ...]) -> dict[str, EmotionData]:
    """The splits as the dataset's reader parses them: neither cut nor preprocessed."""
    return dataset_reader(config.dataset).read(config, splits)


def _head_per_language(data: EmotionData, limit: int | None) -> EmotionData:
    """The first ``limit`` rows of each language (a plain cut would keep only the first one)."""
    if data.languages is None or limit is None:
        return data.head(limit)
    rows: dict[str, list[int]] = {}
    for index, language in enumerate(data.languages):
        rows.setdefault(language, []).append(index)
    return data.take([i for indices in rows.values() for i in indices[:limit]])
