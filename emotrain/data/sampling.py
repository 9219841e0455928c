"""The order of training examples in an epoch: a shuffle, or language-balanced sampling.

Multilingual training draws a language with probability proportional to p_l^alpha (p_l its
share of the examples; alpha 1 is proportional, 0 uniform), then one of its examples. The
original normalised with a softmax over p^alpha, nearly uniform for every alpha: a bug.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch


def language_probabilities(languages: Sequence[str], alpha: float) -> dict[str, float]:
    counts = Counter(languages)
    total = sum(counts.values())
    weights = {language: (count / total) ** alpha for language, count in counts.items()}
    norm = sum(weights.values())
    return {language: weight / norm for language, weight in weights.items()}


def epoch_order(
    size: int,
    generator: torch.Generator,
    languages: Sequence[str] | None = None,
    alpha: float = 1.0,
) -> torch.Tensor:
    """``size`` example indices: a permutation, or language-balanced draws when languages are
    given (with replacement, so a small language can be seen more than once per epoch)."""
    if languages is None or len(set(languages)) < 2:
        return torch.randperm(size, generator=generator)
    probabilities = language_probabilities(languages, alpha)
    names = list(probabilities)
    members = [
        torch.tensor([i for i, lang in enumerate(languages) if lang == name]) for name in names
    ]
    draws = torch.multinomial(
        torch.tensor([probabilities[name] for name in names]), size, replacement=True,
        generator=generator,
    )  # fmt: skip
    order = torch.empty(size, dtype=torch.long)
    for index, rows in enumerate(members):
        chosen = draws == index
        picks = torch.randint(len(rows), (int(chosen.sum()),), generator=generator)
        order[chosen] = rows[picks]
    return order
