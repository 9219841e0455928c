"""Load the train, dev and test splits a ``DataConfig`` names, cut and preprocessed."""

from __future__ import annotations

from dataclasses import replace
from functools import reduce
from pathlib import Path

from emotrain.data.config import TABLE_FILES, DataConfig
from emotrain.data.goemotions import goemotions_path, load_goemotions
from emotrain.data.prepared_cache import cached_splits
from emotrain.data.preprocess import preprocess_many
from emotrain.data.semeval import (
    DataFileError,
    EmotionData,
    SemEvalLanguage,
    Split,
    load_demo,
    load_semeval,
    semeval_path,
)
from emotrain.data.table_dataset import load_table_splits

SPLITS: tuple[Split, ...] = ("train", "dev", "test")


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


def missing_files(config: DataConfig) -> list[tuple[str, str]]:
    """The files ``config`` reads that are not there, as (training option, problem), found
    before any run: at most one problem per option, so a wrong folder is one line, not one per
    split."""
    if config.dataset == "table":
        files = {name: getattr(config, name) for name in TABLE_FILES}
        return [
            (f"data.{name}", f"{path}: file not found")
            for name, path in files.items()
            if path is not None and not Path(path).is_file()
        ]
    if config.root is None:
        return []  # the demo data, inside the package
    root = Path(config.root)
    if not root.is_dir():
        return [("data.root", f"{root}: folder not found")]
    try:
        _check_root(config, root)
    except DataFileError as err:
        return [("data.root", str(err))]
    return []


def unreadable_files(
    config: DataConfig, splits: tuple[Split, ...] = SPLITS
) -> list[tuple[str, str]]:
    """``missing_files`` (of every split), then the files of ``splits`` read through (parsed,
    not preprocessed), so that a malformed line is found before any run too: at most one
    (option, problem)."""
    if missing := missing_files(config):
        return missing
    try:
        _read_splits(config, splits)
    except ValueError as err:  # DataFileError, and the table reader's problems with emotions
        return [(_option_of(config, str(err)), str(err))]
    return []


def _option_of(config: DataConfig, problem: str) -> str:
    """The option naming the file a reading problem is in (the message starts with its path)."""
    if config.dataset != "table":
        return "data.root"
    for name in TABLE_FILES:
        path = getattr(config, name)
        if path is not None and problem.startswith(str(path)):
            return f"data.{name}"
    return "data.train_file"


def _check_root(config: DataConfig, root: Path) -> None:
    if config.dataset == "goemotions":
        if not (root / "emotions.txt").is_file():
            raise DataFileError(f"{root / 'emotions.txt'}: file not found (GoEmotions folder)")
        for split in SPLITS:
            goemotions_path(root, split)
        return
    languages = [*config.train_languages, *config.development_languages, *config.scored_languages]
    for language in dict.fromkeys(languages):
        for split in SPLITS:
            semeval_path(root, language, split)


def _head_per_language(data: EmotionData, limit: int | None) -> EmotionData:
    """The first ``limit`` rows of each language (a plain cut would keep only the first one)."""
    if data.languages is None or limit is None:
        return data.head(limit)
    rows: dict[str, list[int]] = {}
    for index, language in enumerate(data.languages):
        rows.setdefault(language, []).append(index)
    return data.take([i for indices in rows.values() for i in indices[:limit]])


def _read_splits(config: DataConfig, splits: tuple[Split, ...]) -> dict[str, EmotionData]:
    if config.dataset == "goemotions":
        assert config.root is not None  # DataConfig's validator guarantees it
        return {split: load_goemotions(config.root, split) for split in splits}
    if config.dataset == "table":
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
    if config.root is None:
        if config.multilingual or config.language != "english":
            raise ValueError("data.root: the demo data is English only; give a SemEval root")
        return {split: load_demo(split) for split in splits}
    root = config.root
    if not config.multilingual:
        return {split: load_semeval(root, config.language, split) for split in splits}
    return {split: _languages(root, config.semeval_files(split)) for split in splits}


def _languages(root: Path, files: list[tuple[SemEvalLanguage, Split]]) -> EmotionData:
    """Several languages' files as one split; each row keeps its language."""
    parts = [
        load_semeval(root, language, split).with_language(language) for language, split in files
    ]
    return reduce(EmotionData.concat, parts)
