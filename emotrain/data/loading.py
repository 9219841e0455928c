"""Load the train, dev and test splits a ``DataConfig`` names, cut and preprocessed."""

from __future__ import annotations

from emotrain.data.config import DataConfig
from emotrain.data.goemotions import load_goemotions
from emotrain.data.preprocess import preprocess_many
from emotrain.data.semeval import EmotionData, Split, demo_root, load_semeval
from emotrain.data.table_dataset import load_table_splits

SPLITS: tuple[Split, ...] = ("train", "dev", "test")


def load_splits(config: DataConfig) -> dict[str, EmotionData]:
    """Train, dev and test over one emotion set, cut to the configured sizes and preprocessed."""
    limits = {"train": config.train_limit, "dev": config.eval_limit, "test": config.eval_limit}
    data = {}
    for split, raw in _read_splits(config).items():
        cut = raw.head(limits[split])
        texts = preprocess_many(cut.texts, config.preprocess)
        data[split] = EmotionData(cut.ids, texts, cut.labels, cut.emotions)
    return data


def _read_splits(config: DataConfig) -> dict[str, EmotionData]:
    if config.dataset == "goemotions":
        assert config.root is not None  # DataConfig's validator guarantees it
        return {split: load_goemotions(config.root, split) for split in SPLITS}
    if config.dataset == "table":
        files = {"train": config.train_file, "dev": config.dev_file, "test": config.test_file}
        return load_table_splits(
            {split: path for split, path in files.items() if path is not None},
            config.text_column,
            config.emotions,
            config.labels_column,
            config.delimiter,
            config.id_column,
        )
    root = config.root if config.root is not None else demo_root()
    return {split: load_semeval(root, config.language, split) for split in SPLITS}
