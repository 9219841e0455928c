"""Load the train, dev and test splits a ``DataConfig`` names, cut and preprocessed."""

from __future__ import annotations

from emotrain.data.config import DataConfig
from emotrain.data.preprocess import preprocess_many
from emotrain.data.semeval import EmotionData, demo_root, load_semeval

SPLITS = ("train", "dev", "test")


def load_splits(config: DataConfig) -> dict[str, EmotionData]:
    """Train, dev and test, cut to the configured sizes and preprocessed."""
    root = config.root if config.root is not None else demo_root()
    limits = {"train": config.train_limit, "dev": config.eval_limit}
    limits["test"] = config.eval_limit
    data = {}
    for split in SPLITS:
        raw = load_semeval(root, config.language, split).head(limits[split])
        texts = preprocess_many(raw.texts, config.preprocess)
        data[split] = EmotionData(raw.ids, texts, raw.labels, raw.emotions)
    return data
