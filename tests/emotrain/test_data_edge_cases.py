"""Odd data files for the SemEval reader and the CSV/TSV table reader. Each one is either read
exactly right (a BOM, CRLF or mixed line endings) or refused with one line ``file:line: problem``
(a DataFileError, never a traceback from csv or the decoder, never a silently wrong dataset).
Every file is written into tmp_path."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from emotrain.data.semeval import HEADER, read_semeval
from emotrain.data.table_dataset import read_table_dataset
from emotrain.data.types import DataFileError
from emotrain.emotions import SEMEVAL_EMOTIONS

BOM = b"\xef\xbb\xbf"
HUGE = 50 * 1024 * 1024  # a 50 MB line
ZEROS = ["0"] * len(SEMEVAL_EMOTIONS)


def semeval_row(row_id: str, text: str, labels: list[str] = ZEROS) -> str:
    return "\t".join([row_id, text, *labels])


def semeval_bytes(*rows: str, end: str = "\r\n") -> bytes:
    """An E-c file as the official ones are written: CRLF line endings."""
    return "".join(f"{line}{end}" for line in ["\t".join(HEADER), *rows]).encode()


JOY = ["0", "0", "0", "0", "1", *ZEROS[5:]]  # the fifth emotion is joy
ROW_1 = semeval_row("2018-En-1", "what a day", JOY)
ROW_2 = semeval_row("2018-En-2", 'she said "no" \u00e9')
GOOD = semeval_bytes(ROW_1, ROW_2)


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def assert_refused(read: Callable[[Path], object], path: Path, line: int, problem: str) -> None:
    with pytest.raises(DataFileError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert problem in message, message
    assert len(message.splitlines()) == 1 and len(message) < 500, message[:500]


# ---- SemEval E-c files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(GOOD, id="crlf"),
        pytest.param(BOM + GOOD, id="bom"),
        pytest.param(GOOD.replace(b"\r\n", b"\n"), id="lf"),
        pytest.param(GOOD.replace(b"\r\n", b"\n", 1), id="mixed-crlf-lf"),
        pytest.param(GOOD.removesuffix(b"\r\n"), id="no-final-newline"),
    ],
)
def test_semeval_files_read_exactly(tmp_path: Path, content: bytes) -> None:
    data = read_semeval(write(tmp_path, "e-c.txt", content))
    assert data.ids == ["2018-En-1", "2018-En-2"]  # no BOM glued to the first field
    assert data.texts == ["what a day", 'she said "no" \u00e9']  # no stray \r
    assert data.labels.tolist() == [[float(v) for v in JOY], [0.0] * len(SEMEVAL_EMOTIONS)]


SEMEVAL_REFUSED = [
    ("truncated-row", semeval_bytes(ROW_1, ROW_2[:14]), 3, "2 columns, expected 13"),
    ("truncated-labels", semeval_bytes(ROW_1, ROW_2[:-4]), 3, "11 columns, expected 13"),
    ("truncated-utf8", GOOD[:-5] + "\u00e9".encode()[:1], 3, "not valid UTF-8"),
    ("invalid-utf8", GOOD + b"2018-En-3\tbad \xff\xfe byte", 4, "not valid UTF-8"),
    ("latin-1", semeval_bytes(ROW_1).replace(b"day", "d\u00e4y".encode("latin-1")), 2, "UTF-8"),
    ("extra-column", semeval_bytes(ROW_1 + "\t0"), 2, "14 columns, expected 13"),
    ("missing-column", semeval_bytes(ROW_1.rsplit("\t", 1)[0]), 2, "12 columns, expected 13"),
    ("blank-line", semeval_bytes(ROW_1, "", ROW_2), 3, "0 columns, expected 13"),
    ("label-2", semeval_bytes(semeval_row("a", "t", ["2", *ZEROS[1:]])), 2, "anger='2' is not"),
    ("label-minus-1", semeval_bytes(semeval_row("a", "t", [*ZEROS[:-1], "-1"])), 2, "trust='-1'"),
    ("label-empty", semeval_bytes(semeval_row("a", "t", ["", *ZEROS[1:]])), 2, "anger='' is not"),
    ("label-float", semeval_bytes(semeval_row("a", "t", ["1.0", *ZEROS[1:]])), 2, "'1.0' is not"),
    ("label-padded", semeval_bytes(semeval_row("a", "t", [" 1", *ZEROS[1:]])), 2, "' 1' is not"),
    ("duplicate-id", semeval_bytes(ROW_1, ROW_2, ROW_1), 4, "duplicate ID '2018-En-1' (first on"),
    ("empty", b"", 1, "empty file"),
    ("bom-only", BOM, 1, "empty file"),
    ("header-only", semeval_bytes(), 1, "header only, no data rows"),
    ("header-no-newline", "\t".join(HEADER).encode(), 1, "header only, no data rows"),
    ("wrong-header", GOOD.replace(b"Tweet", b"Text", 1), 1, "wrong header"),
    ("huge-line", semeval_bytes(ROW_1, semeval_row("big", "x" * HUGE)), 3, "longer than"),
]


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [pytest.param(*case[1:], id=case[0]) for case in SEMEVAL_REFUSED],
)
def test_bad_semeval_files_are_refused_with_file_and_line(
    tmp_path: Path, content: bytes, line: int, problem: str
) -> None:
    assert_refused(read_semeval, write(tmp_path, "e-c.txt", content), line, problem)


def test_a_bad_data_file_stops_a_training_run_with_one_line(tmp_path: Path) -> None:
    """The command line: exit 2 and one error line, as for a bad configuration."""
    root = tmp_path / "data"
    (root / "English").mkdir(parents=True)
    for split, content in (("train", GOOD), ("dev", GOOD), ("test-gold", BOM + GOOD)):
        write(root / "English", f"2018-E-c-En-{split}.txt", content)
    write(root / "English", "2018-E-c-En-dev.txt", semeval_bytes(ROW_1, ROW_2, ROW_1))
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"data": {"root": str(root)}, "optim": {"max_epochs": 1}}))
    done = subprocess.run(
        [sys.executable, "-m", "emotrain", "--config", str(config)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    dev = root / "English" / "2018-E-c-En-dev.txt"
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.splitlines() == [
        f"error: {dev}:4: duplicate ID '2018-En-1' (first on line 2)"
    ], done.stderr[-2000:]


# ---- CSV / TSV tables -----------------------------------------------------------------------

CSV = 'id,text,joy,anger\r\nx1,"happy, really",1,0\r\nx2,"two\nlines",0,1\r\nx3,meh,0,0\r\n'


def table(tmp_path: Path, content: bytes, name: str = "data.csv") -> Path:
    return write(tmp_path, name, content)


def read_table(path: Path) -> object:
    return read_table_dataset(path, "text")


def read_list_column(path: Path) -> object:
    return read_table_dataset(path, "text", ["joy", "anger"], labels_column="labels")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(CSV.encode(), id="crlf"),
        pytest.param(BOM + CSV.encode(), id="bom"),
        pytest.param(CSV.replace("\r\n", "\n").encode(), id="lf"),
        pytest.param(CSV.replace("\r\n", "\n", 2).encode(), id="mixed-crlf-lf"),
        pytest.param(CSV.removesuffix("\r\n").encode(), id="no-final-newline"),
    ],
)
def test_csv_files_read_exactly(tmp_path: Path, content: bytes) -> None:
    data = read_table_dataset(table(tmp_path, content), "text")
    assert data.ids == ["x1", "x2", "x3"]
    assert data.texts == ["happy, really", "two\nlines", "meh"]  # quoted newline kept, no \r
    assert data.emotions == ("joy", "anger")
    assert data.labels.tolist() == [[1, 0], [0, 1], [0, 0]]


def test_tsv_with_bom_and_mixed_line_endings_reads_exactly(tmp_path: Path) -> None:
    content = BOM + b"text\tfear\r\nfirst\t1\nsecond\t0\r\n"
    data = read_table_dataset(table(tmp_path, content, "data.tsv"), "text")
    assert (data.ids, data.texts, data.labels.tolist()) == (["2", "3"], ["first", "second"],
                                                           [[1.0], [0.0]])  # fmt: skip


def test_line_numbers_survive_mixed_endings_and_quoted_newlines(tmp_path: Path) -> None:
    """The line of a bad row counts every physical line before it, however it ends."""
    content = b'text,joy\r\n"a\r\nb",1\nc,0\r\nd,7\n'
    assert_refused(read_table, table(tmp_path, content), 5, "joy='7'")


HEADER_CSV = "id,text,joy\n"
TABLE_REFUSED = [
    ("truncated-row", HEADER_CSV + "a,fine,1\nb,cut", 3, "2 fields, expected 3"),
    ("truncated-quote", HEADER_CSV + 'a,fine,1\nb,"open quote,1\n', 3, "unexpected end of data"),
    ("extra-column", HEADER_CSV + "a,fine,1,0\n", 2, "4 fields, expected 3"),
    ("missing-column", HEADER_CSV + "a,1\n", 2, "2 fields, expected 3"),
    ("label-2", HEADER_CSV + "a,t,2\n", 2, "label joy='2' is not 0 or 1"),
    ("label-minus-1", HEADER_CSV + "a,t,1\nb,t,-1\n", 3, "label joy='-1' is not 0 or 1"),
    ("label-empty", HEADER_CSV + "a,t,\n", 2, "label joy='' is not 0 or 1"),
    ("label-float", HEADER_CSV + "a,t,0.5\n", 2, "label joy='0.5' is not 0 or 1"),
    ("label-word", HEADER_CSV + "a,t,yes\n", 2, "label joy='yes' is not 0 or 1"),
    ("duplicate-id", HEADER_CSV + "a,t,1\nb,u,0\na,v,1\n", 4, "duplicate id 'a' (first on line 2)"),
    ("empty", "", 1, "empty file"),
    ("header-only", HEADER_CSV, 1, "header only, no data rows"),
    ("no-text-column", "id,tweet,joy\na,t,1\n", 1, "no text column 'text'"),
    ("duplicate-column", "id,text,joy,joy\na,t,1,0\n", 1, "duplicate column names: joy"),
    ("huge-line", HEADER_CSV + "a," + "x" * HUGE + ",1\n", 2, "a field is longer than"),
    ("huge-quoted", HEADER_CSV + 'a,"' + "x\n" * (HUGE // 2) + '",1\n', 2, "longer than"),
]


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [pytest.param(*case[1:], id=case[0]) for case in TABLE_REFUSED],
)
def test_bad_csv_files_are_refused_with_file_and_line(
    tmp_path: Path, content: str, line: int, problem: str
) -> None:
    path = table(tmp_path, content.encode())
    assert_refused(read_table, path, line, problem)


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        pytest.param(b"text,joy\nok,1\nbad \xff,0\n", 3, "not valid UTF-8", id="invalid-utf8"),
        pytest.param(b"text,joy\nok,1\n\xc3", 3, "not valid UTF-8", id="truncated-utf8"),
        pytest.param(b"text,joy\n\xe9t\xe9,1\n", 2, "not valid UTF-8", id="latin-1"),
        pytest.param(BOM, 1, "empty file", id="bom-only"),
        pytest.param(b"\xff\xfet\x00e\x00x\x00t\x00", 1, "not valid UTF-8", id="utf-16"),
    ],
)
def test_undecodable_csv_files_are_refused_with_file_and_line(
    tmp_path: Path, content: bytes, line: int, problem: str
) -> None:
    assert_refused(read_table, table(tmp_path, content), line, problem)


def test_tsv_with_a_list_column_edge_cases(tmp_path: Path) -> None:
    tsv = table(tmp_path, b"id\ttext\tlabels\r\n1\tok\tjoy\n1\tagain\tanger\r\n", "d.tsv")
    assert_refused(read_list_column, tsv, 3, "duplicate id '1' (first on line 2)")
    unknown = table(tmp_path, b"text\tlabels\nok\tjoy;hate\n", "u.tsv")
    assert_refused(read_list_column, unknown, 2, "unknown emotion 'hate'")
    good = table(tmp_path, BOM + b"text\tlabels\r\nok\tjoy; anger\nnone\t\r\n", "g.tsv")
    data = read_table_dataset(good, "text", labels_column="labels")
    assert (data.texts, data.emotions) == (["ok", "none"], ("anger", "joy"))
    assert data.labels.tolist() == [[1.0, 1.0], [0.0, 0.0]]
