"""Multi-label metrics with scikit-learn, ``zero_division`` always explicit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

HEADLINE_METRICS: tuple[str, ...] = ("jaccard", "micro_f1", "macro_f1")


def metric_names(emotions: Sequence[str]) -> list[str]:
    return [*HEADLINE_METRICS, *(f"{emotion}_f1" for emotion in emotions)]


def multilabel_metrics(
    gold: np.ndarray, predicted: np.ndarray, emotions: Sequence[str], zero_division: int
) -> dict[str, float]:
    """Jaccard (samples), micro-F1, macro-F1 and per-emotion F1 on 0/1 matrices [n, N]."""
    # Imported here: scikit-learn takes seconds to load, and the names above are read by the
    # orchestrator's torch-free commands.
    from sklearn.metrics import f1_score, jaccard_score

    gold = gold.astype(int)
    predicted = predicted.astype(int)
    kwargs = {"zero_division": zero_division}
    scores = {
        "jaccard": jaccard_score(gold, predicted, average="samples", **kwargs),
        "micro_f1": f1_score(gold, predicted, average="micro", **kwargs),
        "macro_f1": f1_score(gold, predicted, average="macro", **kwargs),
    }
    per_emotion = f1_score(gold, predicted, average=None, **kwargs)
    scores |= {f"{emotion}_f1": value for emotion, value in zip(emotions, per_emotion, strict=True)}
    return {name: float(value) for name, value in scores.items()}
