from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotrain.data.semeval import HEADER, load_demo, load_semeval, read_semeval, semeval_path
from emotrain.data.types import DataFileError
from emotrain.emotions import SEMEVAL_EMOTIONS

SIZES = {
    "english": (6838, 886, 3259),
    "spanish": (3561, 679, 2854),
    "arabic": (2278, 585, 1518),
}


@pytest.mark.parametrize("language", SIZES)
def test_row_counts_of_the_real_files(semeval_root: Path, language: str) -> None:
    counts = tuple(len(load_semeval(semeval_root, language, s)) for s in ("train", "dev", "test"))
    assert counts == SIZES[language]


def test_english_train_label_sums(semeval_root: Path) -> None:
    data = load_semeval(semeval_root, "english", "train")
    sums = dict(zip(data.emotions, data.labels.sum(axis=0).astype(int), strict=True))
    assert sums["anger"] == 2544
    assert sums["joy"] == 2477
    assert int((data.labels.sum(axis=1) == 0).sum()) == 204  # neutral rows
    assert data.labels.dtype == np.float32


def test_spanish_tweets_with_bare_quotes_stay_separate_rows(semeval_root: Path) -> None:
    data = load_semeval(semeval_root, "spanish", "train")
    assert len(set(data.ids)) == len(data) == 3561
    assert all("\t" not in text and "\r" not in text for text in data.texts)


def test_official_bundle_layout_is_accepted(tmp_path: Path, semeval_root: Path) -> None:
    nested = tmp_path / "English" / "E-c"
    nested.mkdir(parents=True)
    source = semeval_path(semeval_root, "english", "dev")
    (nested / source.name).write_bytes(source.read_bytes())
    assert len(load_semeval(tmp_path, "english", "dev")) == 886


def test_demo_data_ships_in_the_package() -> None:
    sizes = [len(load_demo(s)) for s in ("train", "dev", "test")]
    assert sizes == [360, 90, 90]


def _write(tmp_path: Path, lines: list[str], raw: bytes | None = None) -> Path:
    path = tmp_path / "2018-E-c-En-train.txt"
    path.write_bytes(raw if raw is not None else "".join(f"{line}\r\n" for line in lines).encode())
    return path


GOOD_HEADER = "\t".join(HEADER)
GOOD_ROW = "id-1\tsome tweet\t" + "\t".join(["0"] * len(SEMEVAL_EMOTIONS))


def test_good_minimal_file(tmp_path: Path) -> None:
    data = read_semeval(_write(tmp_path, [GOOD_HEADER, GOOD_ROW]))
    assert data.texts == ["some tweet"]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([GOOD_HEADER.replace("trust", "trsut"), GOOD_ROW], r":1: wrong header"),
        (["\t".join(HEADER[:-1]), GOOD_ROW], r":1: wrong header"),
        ([GOOD_HEADER, GOOD_ROW, GOOD_ROW + "\t0"], r":3: 14 columns, expected 13"),
        ([GOOD_HEADER, GOOD_ROW.rsplit("\t", 1)[0]], r":2: 12 columns, expected 13"),
        ([GOOD_HEADER, GOOD_ROW, GOOD_ROW[:-1] + "2"], r":3: label trust='2' is not 0 or 1"),
        ([GOOD_HEADER, GOOD_ROW.replace("\t0", "\tyes", 1)], r":2: label anger='yes'"),
        ([], r":1: empty file"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, lines: list[str], expected: str) -> None:
    path = _write(tmp_path, lines)
    with pytest.raises(DataFileError, match=expected) as caught:
        read_semeval(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_invalid_utf8_is_refused(tmp_path: Path) -> None:
    raw = (GOOD_HEADER + "\r\n" + GOOD_ROW + "\r\n").encode() + b"id-2\t\xff\xfe\r\n"
    with pytest.raises(DataFileError, match="not valid UTF-8"):
        read_semeval(_write(tmp_path, [], raw))


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="cannot read"):
        read_semeval(tmp_path)  # a directory
    with pytest.raises(DataFileError, match="file not found"):
        load_semeval(tmp_path, "arabic", "test")
