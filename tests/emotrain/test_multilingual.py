"""Multilingual training: language-balanced sampling and per-language metrics."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch

from emotrain import train
from emotrain.data.config import DataConfig
from emotrain.data.loading import load_splits
from emotrain.data.sampling import epoch_order, language_probabilities

SIZES = {"english": 6838, "spanish": 3561, "arabic": 2278}
SPANISH_TRAIN, SPANISH_DEV = 3561, 679


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


def _flip_labels(path: Path) -> None:
    """Every 0/1 label of a SemEval file inverted, texts and ids untouched."""
    lines = path.read_bytes().decode("utf-8").split("\r\n")  # read_text would drop the \r
    flipped = [lines[0]]
    for line in lines[1:]:
        if not line:
            flipped.append(line)
            continue
        fields = line.split("\t")
        flipped.append("\t".join(fields[:2] + [str(1 - int(v)) for v in fields[2:]]))
    path.write_bytes("\r\n".join(flipped).encode("utf-8"))


ZERO_SHOT = {
    "languages": ["english", "arabic"],
    "dev_languages": ["english", "arabic"],
    "eval_languages": ["spanish"],
    "train_limit": 48,
    "eval_limit": 24,
    "language_alpha": 0.0,
}


def _zero_shot_run(root: Path) -> dict[str, object]:
    result = train({
        "data": {"root": str(root), **ZERO_SHOT},
        "optim": {"max_epochs": 2, "lr": 3e-3, "batch_size": 16, "patience": 1},
        # A low threshold predicts most emotions, so every score depends on the labels.
        "eval": {"every_steps": 2, "threshold": 0.05},
        "threads": 1,
        "cache_dir": "off",
    })  # fmt: skip
    return result.model_dump(include={"best_epoch", "epochs_run", "best_dev", "test", "history"})


def test_a_zero_shot_language_run_never_reads_the_targets_dev_labels(
    semeval_root: Path, tmp_path: Path
) -> None:
    """The target language's dev labels inverted: every number of the run stays the same; the
    source languages' dev labels inverted: early stopping sees it (the control)."""
    copies = {}
    for name, corrupted in (("clean", None), ("target", "Spanish"), ("source", "English")):
        copies[name] = shutil.copytree(semeval_root, tmp_path / name)
        if corrupted:
            code = {"Spanish": "Es", "English": "En"}[corrupted]
            _flip_labels(copies[name] / corrupted / f"2018-E-c-{code}-dev.txt")
    clean = _zero_shot_run(copies["clean"])
    assert _zero_shot_run(copies["target"]) == clean
    source = _zero_shot_run(copies["source"])
    assert source["best_dev"] != clean["best_dev"]
    assert "spanish_jaccard" in clean["test"] and "spanish_jaccard" not in clean["best_dev"]


def test_the_targets_train_and_dev_files_as_its_test(semeval_root: Path) -> None:
    """The original's protocol: the target's train and dev files are scored as its test."""
    config = DataConfig(root=semeval_root, **{**ZERO_SHOT, "train_limit": 10, "eval_limit": None},
                        test_splits=["train", "dev"])  # fmt: skip
    data = load_splits(config)
    assert len(data["test"]) == SPANISH_TRAIN + SPANISH_DEV
    assert set(data["test"].languages) == {"spanish"}
    assert set(data["dev"].languages) == {"english", "arabic"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"test_splits": ["train", "dev"]}, "only for zero-shot target languages"),
        ({"languages": ["english", "spanish"], "eval_languages": ["spanish"],
          "test_splits": ["dev"]}, "only for zero-shot target languages"),
        ({"dev_languages": ["english"], "eval_languages": ["english"], "test_splits": ["dev"]},
         "only for zero-shot target languages"),
        ({"dataset": "goemotions", "dev_languages": ["english"]},
         "apply to dataset semeval only"),
    ],
)  # fmt: skip
def test_test_splits_are_only_for_a_zero_shot_target(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DataConfig(root=Path("."), **fields)
