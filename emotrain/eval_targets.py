"""What dev and test are scored on: the training data's emotions (held-out ones included), its
emotion clusters, or, with ``transfer.eval_data``, another dataset (annotation-format transfer).

With ``eval_data`` the target is seen at test time only (zero-shot): dev, and so early stopping,
stays on the training data's own emotions, and ``eval_clusters`` groups the target's emotions,
scored with the prompt words of the target's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emotrain.config import TrainConfig
from emotrain.config_errors import ConfigError
from emotrain.data.clusters import cluster_labels, read_clusters
from emotrain.data.config import DataConfig
from emotrain.data.loading import load_splits
from emotrain.data.readers import dataset_reader
from emotrain.data.types import DataFileError, EmotionData
from emotrain.emotion_sets import EmotionSet
from emotrain.emotions import Language

SCORED = ("dev", "test")


@dataclass(frozen=True)
class EvalTarget:
    """A split, relabelled to the emotion set it is scored on, and its prompt language."""

    emotions: EmotionSet
    data: EmotionData
    language: Language

    @property
    def prompt_words(self) -> list[str]:
        return [word for words in self.emotions.words for word in words]


def eval_targets(cfg: TrainConfig, data: dict[str, EmotionData]) -> dict[str, EvalTarget]:
    """The dev and test targets of a run, from its loaded ``data`` (and ``eval_data``)."""
    clusters, other = cfg.transfer.eval_clusters, cfg.transfer.eval_data
    if other is None:
        return {split: _target(cfg.data, data[split], clusters, "data") for split in SCORED}
    test = load_splits(other, ("test",))["test"]  # its train split is never needed
    return {
        "dev": _target(cfg.data, data["dev"], None, "data"),
        "test": _target(other, test, clusters, "transfer.eval_data"),
    }


def cluster_problem(cfg: TrainConfig) -> str | None:
    """Why ``eval_clusters`` cannot score its target, found before any training (preflight):
    an unreadable file, or a member the target does not annotate. Targets whose emotions are
    only known from their rows (a table without ``emotions``) are checked when a run reads them.
    """
    clusters = cfg.transfer.eval_clusters
    if clusters is None:
        return None
    target = cfg.transfer.eval_data or cfg.data
    try:
        members = {m for group in read_clusters(clusters).values() for m in group}
        known = dataset_reader(target.dataset).known_emotions(target)
    except DataFileError as err:
        return str(err)
    if known is None or not (unknown := sorted(members - set(known))):
        return None
    where = "transfer.eval_data" if cfg.transfer.eval_data else "data"
    return f"{clusters}: {', '.join(unknown)} not among the emotions of {where} ({target.dataset})"


def emotion_words(data: DataConfig, emotions: Sequence[str]) -> list[str]:
    """The emotions' words in the prompt: SemEval's English names in the prompt language; other
    datasets' names are their words."""
    return dataset_reader(data.dataset).prompt_words(data, emotions)


def _target(data: DataConfig, split: EmotionData, clusters: Path | None, field: str) -> EvalTarget:
    language = data.prompt_language
    if clusters is None:
        words = emotion_words(data, split.emotions)
        return EvalTarget(EmotionSet.of_emotions(split.emotions, words), split, language)
    groups = read_clusters(clusters)
    try:
        relabelled = cluster_labels(split, groups)
    except ValueError as err:  # a member the target does not annotate: a typo, or the wrong file
        raise ConfigError(f"transfer.eval_clusters: {clusters}: scoring {field}: {err}") from None
    words = tuple(tuple(emotion_words(data, members)) for members in groups.values())
    return EvalTarget(EmotionSet(tuple(groups), words), relabelled, language)
