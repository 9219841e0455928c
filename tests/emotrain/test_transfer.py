"""Zero-shot settings and the protocol's second stage, on real SemEval subsets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from emotrain import train
from emotrain.checkpoint import load_model
from emotrain.data.loading import load_splits
from emotrain.emotion_sets import EmotionSet, demux_split
from emotrain.inference import probabilities
from emotrain.predict import predict

CLUSTERS = {
    "positive": ["joy", "love", "optimism", "trust"],
    "negative": ["anger", "disgust", "sadness", "pessimism", "fear"],
    "other": ["anticipation", "surprise"],
}


def _config(semeval_root: Path, **extra: Any) -> dict[str, Any]:
    base = {
        "data": {"root": str(semeval_root), "train_limit": 200, "eval_limit": 80},
        "optim": {"max_epochs": 1, "lr": 3e-3, "batch_size": 16},
        "threads": 1,
        "cache_dir": "off",
    }
    return base | extra


def test_a_held_out_emotion_is_scored_at_evaluation(semeval_root: Path, tmp_path: Path) -> None:
    config = _config(semeval_root, transfer={"exclude_emotions": ["joy"]}, output_dir=tmp_path)
    result = train(config)
    assert "joy_f1" in result.test and "joy_f1" in result.best_dev
    trained = load_model(tmp_path)
    assert "joy" not in trained.emotions  # never trained on
    scores = predict(trained, ["so happy today"], ["joy", "anger"])
    assert set(scores[0]) == {"joy", "anger"}


def test_unknown_held_out_emotion_is_an_error(semeval_root: Path) -> None:
    with pytest.raises(ValueError, match="unknown emotion awe"):
        train(_config(semeval_root, transfer={"exclude_emotions": ["awe"]}))


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_clusters_get_one_score_each(semeval_root: Path, tmp_path: Path, pooling: str) -> None:
    clusters = tmp_path / "clusters.json"
    clusters.write_text(json.dumps(CLUSTERS))
    transfer = {"eval_clusters": str(clusters), "cluster_pooling": pooling}
    result = train(_config(semeval_root, transfer=transfer, output_dir=tmp_path / "model"))
    assert {"positive_f1", "negative_f1", "other_f1"} <= set(result.test)
    assert "joy_f1" not in result.test
    trained = load_model(tmp_path / "model")
    dev = load_splits(trained.config.data)["dev"]
    scored = demux_split(trained.tokenizer, EmotionSet.of_clusters(CLUSTERS), dev, "english",
                         64, pooling)  # fmt: skip
    assert probabilities(trained.model, scored.split, scored.model_inputs, 32).shape == (80, 3)


def test_frozen_emotion_embeddings_do_not_move(semeval_root: Path, tmp_path: Path) -> None:
    config = _config(semeval_root, transfer={"freeze_emotion_embeddings": True}, seed=4)
    before = _embeddings_after(config | {"optim": {"max_epochs": 1, "lr": 1e-30}}, tmp_path / "a")
    after = _embeddings_after(config, tmp_path / "b")
    trained = load_model(tmp_path / "b")
    words = trained.tokenizer("anger joy trust", add_special_tokens=False)["input_ids"]
    other = trained.tokenizer("the", add_special_tokens=False)["input_ids"]
    assert torch.equal(after[words], before[words])
    assert not torch.equal(after[other], before[other])


def _embeddings_after(config: dict[str, Any], directory: Path) -> torch.Tensor:
    train(config | {"output_dir": directory})
    return load_model(directory).model.encoder.get_input_embeddings().weight.detach()


def test_second_stage_trains_on_train_and_dev_for_fixed_epochs(semeval_root: Path) -> None:
    reports: list[dict[str, float]] = []
    config = _config(semeval_root, stage="test", optim={"max_epochs": 2, "patience": 1})
    result = train(config, report=reports.append)
    assert result.epochs_run == 2 and result.best_epoch == 2 and result.best_dev == {}
    assert [set(r) for r in reports] == [{"epoch", "step", "train_loss"}] * 2
    assert 0.0 <= result.test["jaccard"] <= 1.0
