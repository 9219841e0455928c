"""The Results tables of README.md and docs/papers.md are the committed study's numbers.

Each table sits between ``<!-- results-table: FOLDER -->`` and ``<!-- /results-table -->``,
FOLDER a results folder of this repository. Every row's scores must be, to the one decimal
shown, the mean ± std (percent) of one configuration of FOLDER/configs.parquet, each row a
different one, its seeds column (when there is one) that configuration's seed count, and the
bold score of a column its best. So a table cannot drift from the tables
it quotes, and swapping in a new study means changing the folder and the rows together."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from orchestrator.report.display_tables import HEADLINE

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", REPO / "docs" / "papers.md"]
_TABLE = re.compile(
    r"<!-- results-table: (?P<folder>\S+) -->\n(?P<body>.*?)<!-- /results-table -->", re.DOTALL
)
_SCORE = re.compile(r"^(?P<bold>\*\*)?(?P<mean>-?\d+\.\d) ± (?P<std>\d+\.\d)(?P=bold)?$")
# The Results header's score columns, and the configs.parquet metric each quotes: the report's.
METRICS = {heading: column for column, heading in HEADLINE}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _tables(page: Path) -> list[tuple[str, list[str], list[list[str]]]]:
    tables = []
    for match in _TABLE.finditer(page.read_text()):
        header, _rule, *rows = match["body"].strip().splitlines()
        tables.append((match["folder"], _cells(header), [_cells(row) for row in rows]))
    return tables


def _shows(shown: str, values: pd.Series) -> pd.Series:
    """Which ``values`` ``shown`` (percent, one decimal) rounds, either way at a half."""
    return abs(float(shown) - 100 * values) <= 0.05 + 1e-9


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_results_table_quotes_its_folder(page: Path) -> None:
    tables = _tables(page)
    assert tables, f"{page.name}: no <!-- results-table: FOLDER --> block"
    for folder, header, rows in tables:
        configs = pd.read_parquet(REPO / folder / "configs.parquet")
        columns = {i: METRICS[name] for i, name in enumerate(header) if name in METRICS}
        assert columns, f"{page.name}: the table of {folder} has no column of {list(METRICS)}"
        parsed = []  # per row, each score column's match, parsed once
        for row in rows:
            scores = {i: _SCORE.match(row[i]) for i in columns}
            for i, score in scores.items():
                assert score, f"{page.name}: {row[i]!r} in row {row[0]!r} is not 'mean ± std'"
            parsed.append(scores)
        matched: list[str] = []
        for row, scores in zip(rows, parsed, strict=True):
            same = configs
            for i, score in scores.items():
                metric = columns[i]
                same = same[
                    _shows(score["mean"], same[f"{metric}_mean"])
                    & _shows(score["std"], same[f"{metric}_std"])
                ]
            assert len(same) == 1, (
                f"{page.name}: row {row[0]!r} matches {len(same)} configurations of "
                f"{folder}/configs.parquet, not one: its numbers are not that study's"
            )
            matched.append(same["config_key"].iloc[0])
            if "seeds" in header:
                shown = row[header.index("seeds")]
                assert shown == str(int(same["n_seeds"].iloc[0])), (
                    f"{page.name}: row {row[0]!r} says {shown} seeds, {folder} has "
                    f"{int(same['n_seeds'].iloc[0])}"
                )
        assert len(set(matched)) == len(matched), f"{page.name}: two rows quote one configuration"
        for i in columns:
            means = [float(scores[i]["mean"]) for scores in parsed]
            bold = [bool(scores[i]["bold"]) for scores in parsed]
            assert bold == [mean == max(means) for mean in means], (
                f"{page.name}: in column {header[i]!r} the bold scores are not the best ones"
            )
