"""Save -> load -> predict: the saved model is the best one and scores like the evaluation did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotrain import train
from emotrain.checkpoint import load_model
from emotrain.data.semeval import load_semeval
from emotrain.metrics import multilabel_metrics
from emotrain.predict import predict


@pytest.fixture(scope="module")
def saved(semeval_root: Path, tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("model") / "demux"
    config = {
        "data": {"root": str(semeval_root), "train_limit": 300, "eval_limit": 120},
        "optim": {"max_epochs": 2, "lr": 3e-3, "batch_size": 16},
        "seed": 3,
        "threads": 1,
        "output_dir": str(directory),
    }
    return train(config), directory


def test_saved_model_reproduces_the_test_metrics(saved, semeval_root: Path) -> None:
    result, directory = saved
    assert (directory / "encoder" / "model.safetensors").is_file()
    assert not list(directory.rglob("*.bin")) and not list(directory.rglob("*.pkl"))
    trained = load_model(directory)
    test = load_semeval(semeval_root, "english", "test").head(120)
    scores = predict(trained, test.texts)
    matrix = np.array([[row[e] for e in trained.emotions] for row in scores])
    metrics = multilabel_metrics(test.labels, matrix >= 0.5, trained.emotions, zero_division=0)
    assert metrics == result.test
    assert predict(load_model(directory), test.texts) == scores  # a second load: identical
    alone = predict(load_model(directory), test.texts[:5])  # other padding: float noise only
    for row, reference in zip(alone, scores[:5], strict=True):
        assert row == pytest.approx(reference, abs=1e-5)


def test_zero_shot_emotions_get_scores(saved) -> None:
    _, directory = saved
    rows = predict(load_model(directory), ["what a lovely day", ""], ["joy", "awe", "nostalgia"])
    assert [list(row) for row in rows] == [["joy", "awe", "nostalgia"]] * 2
    assert all(0.0 <= p <= 1.0 for row in rows for p in row.values())


@pytest.mark.parametrize(
    ("emotions", "message"),
    [
        ([], "the list is empty"),
        (["joy", " "], "an empty name"),
        (["joy", "joy"], "repeated name joy"),
    ],
)
def test_bad_emotion_lists(saved, emotions: list[str], message: str) -> None:
    _, directory = saved
    with pytest.raises(ValueError, match=message):
        predict(load_model(directory), ["text"], emotions)


def test_command_line_writes_json_lines(saved) -> None:
    _, directory = saved
    done = subprocess.run(
        [sys.executable, "-m", "emotrain.predict", "--model", str(directory),
         "--emotions", "joy,anger,awe", "I love this!", "x" * 100_000],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["text"][:12] for line in lines] == ["I love this!", "x" * 12]
    assert all(set(line["scores"]) == {"joy", "anger", "awe"} for line in lines)
    missing = subprocess.run(
        [sys.executable, "-m", "emotrain.predict", "--model", str(directory.parent / "nope"), "t"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert missing.returncode == 2 and "not an emotrain model" in missing.stderr
