"""The datasets emotrain reads, by the name ``data.dataset`` gives them.

A dataset is one module defining a ``DatasetReader`` (emotrain/data/types.py: how to read its
splits, which files it opens, its own options and their checks, its emotions and their prompt
words) plus its line in ``READERS`` and its name in ``Dataset``. Loading, the prepared cache,
the config checks and the evaluation targets look the reader up here.
"""

from __future__ import annotations

from typing import Literal

from emotrain.data import goemotions, semeval, table_dataset
from emotrain.data.types import DatasetReader

# The choices of data.dataset: one per reader below.
Dataset = Literal["semeval", "goemotions", "table"]

READERS: dict[str, DatasetReader] = {
    reader.name: reader for reader in (semeval.READER, goemotions.READER, table_dataset.READER)
}


def dataset_reader(name: str) -> DatasetReader:
    """The reader of the dataset ``name`` (a ``data.dataset`` value, validated by DataConfig)."""
    return READERS[name]
