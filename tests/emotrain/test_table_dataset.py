"""Tests for user CSV/TSV datasets: both label layouts and every refused file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydantic
import pytest

from emotrain.data.config import DataConfig
from emotrain.data.loading import load_splits
from emotrain.data.table_dataset import load_table_splits, read_table_dataset
from emotrain.data.types import DataFileError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_one_column_per_emotion(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "data.csv",
        'id,text,joy,anger\nx1,"happy, really",1,0\nx2,"both ""here""",1,1\nx3,meh,0,0\n',
    )
    data = read_table_dataset(path, "text")
    assert data.ids == ["x1", "x2", "x3"]
    assert data.texts == ["happy, really", 'both "here"', "meh"]
    assert data.emotions == ("joy", "anger")
    assert data.labels.tolist() == [[1, 0], [1, 1], [0, 0]]
    assert data.labels.dtype == np.float32


def test_tsv_without_id_column_numbers_rows_by_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.tsv", 'tweet\tfear\n"two\nlines"\t1\nnext\t0\n')
    data = read_table_dataset(path, "tweet")
    assert data.ids == ["2", "4"]
    assert data.texts == ["two\nlines", "next"]


def test_emotions_pick_columns_in_the_given_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.csv", "text,joy,anger,source\na,1,0,web\nb,0,1,app\n")
    data = read_table_dataset(path, "text", emotions=["anger", "joy"])
    assert data.emotions == ("anger", "joy")
    assert data.labels.tolist() == [[0, 1], [1, 0]]


def test_delimiter_override_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes("\ufefftext;joy\nhello;1\n".encode())
    assert read_table_dataset(path, "text", delimiter=";").labels.tolist() == [[1.0]]


def test_list_column_collects_sorted_emotions(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "data.csv", 'text,labels\na,"joy,anger"\nb,fear; joy\nc,\nd,"anger, "\n'
    )
    data = read_table_dataset(path, "text", labels_column="labels")
    assert data.emotions == ("anger", "fear", "joy")
    assert data.labels.tolist() == [[1, 0, 1], [0, 1, 1], [0, 0, 0], [1, 0, 0]]


def test_list_column_with_given_emotions(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.tsv", "text\temotions\na\tjoy\nb\t\n")
    data = read_table_dataset(path, "text", ["sadness", "joy"], "emotions")
    assert data.emotions == ("sadness", "joy")
    assert data.labels.tolist() == [[0, 1], [0, 0]]


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "expected"),
    [
        ("a.csv", "", {}, r":1: empty file"),
        ("a.csv", "text,joy\n", {}, r":1: header only, no data rows"),
        ("a.csv", "tweet,joy\nx,1\n", {}, r":1: no text column 'text'; columns found: tweet, joy"),
        ("a.csv", "text,joy\nx,1\ny,1,0\n", {}, r":3: 3 fields, expected 2 \(text, joy\)"),
        ("a.csv", "text,joy\nx\n", {}, r":2: 1 fields, expected 2"),
        ("a.csv", "text,joy\nx,1\ny,2\n", {}, r":3: label joy='2' is not 0 or 1"),
        ("a.csv", "text,joy\nx,\n", {}, r":2: label joy='' is not 0 or 1$"),
        (
            "a.csv",
            'id,text,emotions\n1,x,\n2,y,"joy,anger"\n3,z,joy;fear\n',
            {},
            r":2: label emotions='' is not 0 or 1; the column holds emotion names "
            r"\(joy, anger, fear\): set labels_column: emotions$",
        ),
        ("a.csv", "text,joy\nx,1\ny,yes\n", {}, r":3: label joy='yes' is not 0 or 1$"),
        ("a.csv", "text,joy,joy\nx,1,1\n", {}, r":1: duplicate column names: joy"),
        ("a.csv", "id,text\n1,x\n", {}, r":1: no emotion columns besides 'text'"),
        (
            "a.csv",
            "text,joy\nx,1\n",
            {"emotions": ["fear"]},
            r":1: no column for emotion\(s\) fear",
        ),
        ("a.csv", "text,joy\nx,1\n", {"labels_column": "labels"}, r":1: no labels column"),
        (
            "a.csv",
            "text,labels\nx,joy\ny,hate\n",
            {"labels_column": "labels", "emotions": ["joy"]},
            r":3: unknown emotion 'hate' in column 'labels'; expected some of: joy",
        ),
        ("a.csv", "text,labels\nx,\n", {"labels_column": "labels"}, r": column 'labels' names no"),
        ("a.json", "text,joy\nx,1\n", {}, r": cannot tell the delimiter from the extension"),
        ("a.csv", 'text,joy\n"x,1\n', {}, r":2: cannot parse \(unexpected end of data\)"),
        ("a.csv", 'text,joy\n"x" y,1\n', {}, r":2: cannot parse"),
    ],
)
def test_bad_files_name_file_and_line(
    tmp_path: Path, name: str, text: str, kwargs: dict[str, object], expected: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(DataFileError, match=expected) as caught:
        read_table_dataset(path, "text", **kwargs)  # type: ignore[arg-type]
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_invalid_utf8_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"text,joy\nok,1\nbad \xff,0\n")
    with pytest.raises(DataFileError, match=r"a.csv:3: not valid UTF-8"):
        read_table_dataset(path, "text")
    with pytest.raises(DataFileError, match=r"missing.csv: file not found"):
        read_table_dataset(tmp_path / "missing.csv", "text")


def test_bad_emotion_argument(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", "text,joy\nx,1\n")
    with pytest.raises(ValueError, match="emotions: repeated name joy"):
        read_table_dataset(path, "text", emotions=["joy", "joy"])


def test_splits_of_a_list_column_share_the_union_of_emotions(tmp_path: Path) -> None:
    files = {
        "train": _write(tmp_path, "train.csv", "text,labels\na,joy\nb,fear\n"),
        "dev": _write(tmp_path, "dev.csv", "text,labels\nc,anger\n"),
    }
    data = load_table_splits(files, "text", labels_column="labels")
    assert data["train"].emotions == data["dev"].emotions == ("anger", "fear", "joy")
    assert data["dev"].labels.tolist() == [[1, 0, 0]]
    assert data["train"].labels.tolist() == [[0, 0, 1], [0, 1, 0]]


def test_splits_with_different_emotion_columns_are_refused(tmp_path: Path) -> None:
    files = {
        "train": _write(tmp_path, "train.csv", "text,joy,fear\na,1,0\n"),
        "dev": _write(tmp_path, "dev.csv", "text,joy\nc,1\n"),
    }
    with pytest.raises(DataFileError, match=r"dev.csv: emotion columns \(joy\) differ"):
        load_table_splits(files, "text")


def _table_config(tmp_path: Path, **fields: object) -> DataConfig:
    files = {
        f"{split}_file": _write(tmp_path, f"{split}.csv", f"text,labels\n{split} @Ann 1,joy\nx,\n")
        for split in ("train", "dev", "test")
    }
    return DataConfig(dataset="table", labels_column="labels", **files, **fields)  # type: ignore[arg-type]


def test_load_splits_on_a_table_dataset(tmp_path: Path) -> None:
    data = load_splits(_table_config(tmp_path, eval_limit=1, emotions=["joy", "anger"]))
    assert [len(data[s]) for s in ("train", "dev", "test")] == [2, 1, 1]
    assert data["dev"].texts == ["dev @user 1"]  # preprocessed
    assert data["train"].emotions == ("joy", "anger")
    assert data["train"].labels.tolist() == [[1, 0], [0, 0]]


def test_load_splits_default_is_the_semeval_demo() -> None:
    data = load_splits(DataConfig(train_limit=5, eval_limit=3))
    assert [len(data[s]) for s in ("train", "dev", "test")] == [5, 3, 3]
    assert len(data["train"].emotions) == 11


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"dataset": "table"}, "train_file, dev_file, test_file are required for dataset table"),
        (
            {"dataset": "table", "train_file": "a.csv", "dev_file": "b.csv"},
            "test_file is required for dataset table",
        ),
        ({"train_file": "a.csv"}, "train_file only applies to dataset table, not semeval"),
        (
            {"dataset": "goemotions", "root": "g", "labels_column": "x"},
            "labels_column only applies to dataset table, not goemotions",
        ),
        ({"emotions": []}, "emotions"),
        ({"delimiter": ";;"}, "delimiter"),
    ],
)
def test_data_config_names_the_wrong_field(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=expected):
        DataConfig(**fields)  # type: ignore[arg-type]


def test_data_config_table_checks(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="root is not used by dataset table"):
        _table_config(tmp_path, root=tmp_path)
    with pytest.raises(pydantic.ValidationError, match="emotions: repeated name joy"):
        _table_config(tmp_path, emotions=["joy", "joy"])
    with pytest.raises(pydantic.ValidationError, match="emotions: an empty name"):
        _table_config(tmp_path, emotions=["joy", " "])
    with pytest.raises(pydantic.ValidationError, match="labels_column and text_column"):
        _table_config(tmp_path, text_column="labels")


def test_dumped_data_config_validates_again(tmp_path: Path) -> None:
    for config in (DataConfig(), _table_config(tmp_path)):
        assert DataConfig.model_validate(config.model_dump(mode="json")) == config
