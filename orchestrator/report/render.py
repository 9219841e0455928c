"""The report as Markdown and as HTML, both rendered from one list of sections so that they
always say the same thing. Tables are DataFrames of display strings (see display_tables.py);
figures are file names relative to the report folder."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class ReportSection:
    heading: str
    text: list[str] = field(default_factory=list)  # paragraphs, plain text
    table: pd.DataFrame | None = None
    figures: list[tuple[str, str]] = field(default_factory=list)  # (file name, caption)


def markdown(title: str, sections: list[ReportSection]) -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.heading}", ""]
        for paragraph in section.text:
            lines += [paragraph, ""]
        if section.table is not None:
            lines += [*_markdown_table(section.table), ""]
        for name, caption in section.figures:
            lines += [f"![{caption}]({name})", ""]
    return "\n".join(lines)


def page(title: str, sections: list[ReportSection]) -> str:
    body = [f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        body.append(f"<h2>{html.escape(section.heading)}</h2>")
        body += [f"<p>{html.escape(paragraph)}</p>" for paragraph in section.text]
        if section.table is not None:
            body.append(section.table.to_html(index=False, border=0, escape=True))
        body += [
            f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            for name, caption in section.figures
        ]
    return _HTML.format(title=html.escape(title), body="\n".join(body))


def _markdown_table(table: pd.DataFrame) -> list[str]:
    header = [_cell(str(c)) for c in table.columns]
    rows = [[_cell(str(v)) for v in row] for row in table.itertuples(index=False)]
    return [_row(header), _row(["---"] * len(header)), *(_row(row) for row in rows)]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    # a pipe would end the cell and a newline the row
    return text.replace("|", "\\|").replace("\n", " ")


_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 80em; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }}
th {{ background: #f3f3f3; }}
img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: 0.9em; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
