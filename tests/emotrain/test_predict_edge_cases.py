"""Predicting on odd input with a tiny model trained on the demo data (as test_predict.py does on
the real data): empty, blank and 100k-character texts are scored (a long text is truncated),
and a bad emotion list is a clear one-line error, from Python and from the command line."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from tiny_encoder import TINY_BERT

from emotrain import train
from emotrain.checkpoint import TrainedModel, load_model
from emotrain.predict import main, predict

LONG = "what a day " * 10_000  # 110,000 characters


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model") / "demux"
    config = {
        "data": {"root": None, "train_limit": 64, "eval_limit": 32},
        "model": {"encoder": TINY_BERT, "max_length": 32},
        "optim": {"max_epochs": 1, "batch_size": 16, "lr": 3e-3},
        "seed": 0,
        "threads": 1,
        "cache_dir": "off",
        "output_dir": str(directory),
    }
    train(config)
    return directory


@pytest.fixture(scope="module")
def trained(model_dir: Path) -> TrainedModel:
    return load_model(model_dir)


def test_empty_and_blank_texts_get_scores(trained: TrainedModel) -> None:
    texts = ["", " ", "\n", "\t\t", "\x00", "\u200b", "😀"]
    rows = predict(trained, texts)
    assert len(rows) == len(texts)
    for row in rows:
        assert list(row) == list(trained.emotions)
        assert all(0.0 <= p <= 1.0 and math.isfinite(p) for p in row.values())


def test_no_texts_give_no_rows(trained: TrainedModel) -> None:
    assert predict(trained, []) == []
    assert predict(trained, [], ["joy", "awe"]) == []


def test_a_100k_character_text_is_truncated(trained: TrainedModel) -> None:
    """Only the first max_length tokens count: the text's tail changes nothing."""
    assert len(LONG) >= 100_000
    limit = trained.config.model.max_length
    tokens = trained.tokenizer(LONG)["input_ids"]
    assert len(tokens) > 100 * limit  # far beyond the model's 32 tokens
    long_row, short_row = predict(trained, [LONG, "what a day " * 50])
    assert long_row == pytest.approx(short_row, abs=1e-6)  # float noise only
    assert predict(trained, [LONG + " terrible awful"])[0] == pytest.approx(long_row, abs=1e-6)


@pytest.mark.parametrize(
    ("emotions", "message"),
    [
        ([], "--emotions: the list is empty"),
        (["joy", "joy"], "--emotions: repeated name joy"),
        (["joy", "awe", "joy", "awe"], "--emotions: repeated name awe, joy"),
        (["joy", ""], "--emotions: an empty name"),
        (["  "], "--emotions: an empty name"),
        ([f"feeling{i}" for i in range(40)], "model.max_length: 32 tokens cannot hold the emotion"),
    ],
)
def test_bad_emotion_lists_are_clear_errors(
    trained: TrainedModel, emotions: list[str], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        predict(trained, ["text"], emotions)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("emotions", "message"),
    [
        ("joy,,anger", "error: --emotions: an empty name in ['joy', '', 'anger']"),
        ("", "error: --emotions: an empty name in ['']"),
        ("joy, joy", "error: --emotions: repeated name joy in ['joy', 'joy']"),
    ],
)
def test_command_line_refuses_bad_emotion_lists_in_one_line(
    model_dir: Path, emotions: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--model", str(model_dir), "--emotions", emotions, "some text"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [message] and not captured.out


def test_command_line_reads_odd_lines_from_stdin(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"\n{LONG}\n"))
    assert main(["--model", str(model_dir), "--emotions", "joy,awe"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and '"text": ""' in lines[0] and len(lines[1]) > 100_000
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["--model", str(model_dir)]) == 0  # nothing to score: nothing printed
    assert capsys.readouterr().out == ""
