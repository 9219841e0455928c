"""Every model kind and encoder style trains end to end on real data and reloads identically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from emotrain import TrainConfig, train
from emotrain.checkpoint import load_model
from emotrain.data.semeval import load_semeval
from emotrain.predict import predict

KINDS = {
    "demux-roberta": {"kind": "demux", "encoder": {"tiny": "roberta"}},
    "memo-classifier-bert": {"kind": "memo", "encoder": {"tiny": "bert"}},
    "memo-mlm-roberta": {"kind": "memo", "memo_head": "mlm", "encoder": {"tiny": "roberta"}},
}


def _config(semeval_root: Path, model: dict[str, Any], language: str = "english") -> dict:
    return {
        "data": {"root": str(semeval_root), "language": language, "train_limit": 150,
                 "eval_limit": 60},
        "model": model,
        "loss": {"local": "complete", "weights": "rho", "alpha": 0.2},
        "optim": {"max_epochs": 1, "lr": 3e-3, "batch_size": 16},
        "threads": 1,
        "cache_dir": "off",
    }  # fmt: skip


@pytest.mark.parametrize("name", KINDS)
def test_trains_saves_and_reloads(semeval_root: Path, tmp_path: Path, name: str) -> None:
    config = _config(semeval_root, KINDS[name]) | {"output_dir": str(tmp_path)}
    result = train(config)
    assert result.epochs_run == 1 and 0.0 <= result.test["macro_f1"] <= 1.0
    texts = load_semeval(semeval_root, "english", "test").texts[:8]
    first = predict(load_model(tmp_path), texts)
    assert predict(load_model(tmp_path), texts) == first
    assert list(first[0]) == list(load_model(tmp_path).emotions)


@pytest.mark.parametrize("language", ["spanish", "arabic"])
def test_memo_in_other_languages(semeval_root: Path, language: str) -> None:
    result = train(_config(semeval_root, KINDS["memo-classifier-bert"], language))
    assert set(result.test) >= {"jaccard", "anger_f1", "trust_f1"}


@pytest.mark.parametrize(
    "loss",
    [
        {"local": "intra", "local_on": "representations", "alpha": 0.2},
        {"global_loss": "cossim", "beta": 1.0},
    ],
)
def test_representation_losses_on_memo_are_config_errors(loss: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="need per-emotion representations"):
        TrainConfig.model_validate({"model": {"kind": "memo"}, "loss": loss})


def test_memo_classifier_cannot_hold_out_emotions() -> None:
    with pytest.raises(ValidationError, match="one output per trained emotion"):
        TrainConfig.model_validate(
            {"model": {"kind": "memo"}, "transfer": {"exclude_emotions": ["joy"]}}
        )
