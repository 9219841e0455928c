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


def length_grouped(
    order: torch.Tensor, lengths: torch.Tensor, batch_size: int, generator: torch.Generator
) -> torch.Tensor:
    """``order`` rearranged so that consecutive batches of ``batch_size`` hold examples of
    similar length. As transformers' LengthGroupedSampler: mega-batches of up to 50 batches (at
    least 4 mega-batches when the epoch allows), each sorted longest first; then the full
    batches are shuffled, so that batch length does not trend within an epoch, and a short last
    batch stays last (the batches are cut from the order in steps of ``batch_size``)."""
    size = len(order)
    mega = max(min(size // (batch_size * 4), 50), 1) * batch_size
    sorted_chunks = []
    for start in range(0, size, mega):
        chunk = order[start : start + mega]
        # Stable: ties keep the shuffled order, so equal lengths still mix across epochs.
        sorted_chunks.append(chunk[torch.argsort(lengths[chunk], descending=True, stable=True)])
    grouped = torch.cat(sorted_chunks)
    full = size // batch_size
    batches = grouped[: full * batch_size].view(full, batch_size)
    shuffled = batches[torch.randperm(full, generator=generator)].reshape(-1)
    return torch.cat([shuffled, grouped[full * batch_size :]])
