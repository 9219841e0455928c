"""Multilingual training: language-balanced sampling and per-language metrics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from emotrain import train
from emotrain.data.config import DataConfig
from emotrain.data.loading import load_splits
from emotrain.data.sampling import epoch_order, language_probabilities

SIZES = {"english": 6838, "spanish": 3561, "arabic": 2278}


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_language_shares_follow_p_to_the_alpha(alpha: float) -> None:
    languages = [lang for lang, size in SIZES.items() for _ in range(size)]
    total = sum(SIZES.values())
    weights = {lang: (size / total) ** alpha for lang, size in SIZES.items()}
    expected = {lang: w / sum(weights.values()) for lang, w in weights.items()}
    assert language_probabilities(languages, alpha) == pytest.approx(expected)
    order = epoch_order(10_000, torch.Generator().manual_seed(0), languages, alpha)
    shares = Counter(languages[i] for i in order.tolist())
    for language, share in expected.items():
        assert abs(shares[language] / 10_000 - share) < 0.02, (language, alpha)


def test_one_language_is_a_plain_permutation() -> None:
    order = epoch_order(50, torch.Generator().manual_seed(1), ["english"] * 50, 0.0)
    assert sorted(order.tolist()) == list(range(50))


def test_several_languages_load_with_their_rows_marked(semeval_root: Path) -> None:
    config = DataConfig(root=semeval_root, languages=["english", "spanish"],
                        eval_languages=["arabic"], train_limit=30, eval_limit=20)  # fmt: skip
    data = load_splits(config)
    assert Counter(data["train"].languages) == {"english": 30, "spanish": 30}
    assert set(data["dev"].languages) == {"arabic"} and len(data["test"]) == 20
    assert config.prompt_language == "english"


def test_train_on_two_languages_and_score_the_third(semeval_root: Path) -> None:
    result = train({
        "data": {"root": str(semeval_root), "languages": ["english", "spanish"],
                 "eval_languages": ["arabic", "spanish"], "train_limit": 100, "eval_limit": 40,
                 "language_alpha": 0.5},
        "optim": {"max_epochs": 1, "lr": 3e-3, "batch_size": 16},
        "threads": 1,
        "cache_dir": "off",
    })  # fmt: skip
    for language in ("arabic", "spanish"):
        assert 0.0 <= result.test[f"{language}_jaccard"] <= 1.0
        assert f"{language}_trust_f1" in result.best_dev
    assert "english_jaccard" not in result.test


def test_languages_only_apply_to_semeval() -> None:
    with pytest.raises(ValueError, match="semeval only"):
        DataConfig(dataset="goemotions", root=Path("x"), languages=["english"])
