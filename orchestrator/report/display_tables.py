"""The report's tables as DataFrames of display strings, in the papers' style: one row per
configuration (its cell, searched values and short key), one column per metric as
``mean ± std`` over seeds. The numbers are formatted exactly once, here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

# (column prefix in configs.parquet, heading): the papers' headline metrics.
HEADLINE = [
    ("best_dev_jaccard", "dev Jaccard"),
    ("best_dev_micro_f1", "dev micro-F1"),
    ("best_dev_macro_f1", "dev macro-F1"),
    ("test_jaccard", "test Jaccard"),
    ("test_micro_f1", "test micro-F1"),
    ("test_macro_f1", "test macro-F1"),
]
DIGITS = 4
KEY_CHARS = 8  # as the printed summary shows config keys
_EMOTION_F1 = re.compile(r"^(test_|best_dev_)(.+)_f1_mean$")
_LANGUAGE_FIELDS = ("cfg.data.language", "cfg.data.languages", "cfg.data.eval_languages")


def ranked(configs: pd.DataFrame, metric: str, mode: str) -> pd.DataFrame:
    """Best first by the sweep's metric (configurations without it last)."""
    column = f"{metric}_mean"
    if configs.empty or column not in configs:
        return configs.reset_index(drop=True)
    ordered = configs.sort_values(column, ascending=mode == "min", na_position="last")
    return ordered.reset_index(drop=True)


def param_columns(configs: pd.DataFrame) -> list[str]:
    return [c for c in configs.columns if c.startswith("param.")]


def mean_std(mean: float, std: float) -> str:
    if pd.isna(mean):
        return "n/a"
    return f"{mean:.{DIGITS}f} ± {0.0 if pd.isna(std) else std:.{DIGITS}f}"


def value_text(value: object) -> str:
    """A searched value: floats to 4 significant digits, as the progress lines print them."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def identity(configs: pd.DataFrame, key: str = "config_key") -> pd.DataFrame:
    """The columns that say which configuration a row is: cell, searched values, short key."""
    table = pd.DataFrame({"cell": configs["cell"].astype(str)})
    for column in param_columns(configs):
        table[column.removeprefix("param.")] = configs[column].map(value_text)
    table["config"] = configs[key].astype(str).str[:KEY_CHARS]
    return table


def metric_cells(configs: pd.DataFrame, metrics: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """One ``mean ± std`` column per (metric, heading) that the table has."""
    cells = {
        heading: [
            mean_std(m, s)
            for m, s in zip(configs[f"{metric}_mean"], configs[f"{metric}_std"], strict=True)
        ]
        for metric, heading in metrics
        if f"{metric}_mean" in configs
    }
    return pd.DataFrame(cells, index=configs.index)


def headline_metrics(metric: str) -> list[tuple[str, str]]:
    """The papers' metrics, plus the sweep's own when it is none of them."""
    if metric in dict(HEADLINE):
        return HEADLINE
    return [(metric, metric.removeprefix("best_")), *HEADLINE]


def headline_table(configs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The dev stage's configurations (already ranked): identity, seeds, headline metrics."""
    seeds = pd.DataFrame({"seeds": configs["n_seeds"].astype(int)}, index=configs.index)
    parts = [identity(configs), seeds, metric_cells(configs, headline_metrics(metric))]
    return pd.concat(parts, axis=1)


def test_stage_table(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Two-stage sweeps: per dev configuration, the epochs and seeds of its test stage, its dev
    metric from stage 1 and its test scores after retraining on train+dev."""
    extra = pd.DataFrame(
        {"epochs": table["epochs"].astype(int), "seeds": table["n_seeds"].astype(int)},
        index=table.index,
    )
    shown = [(m, h) for m, h in headline_metrics(metric) if m == metric or m.startswith("test_")]
    parts = [identity(table, "dev_config_key"), extra, metric_cells(table, shown)]
    return pd.concat(parts, axis=1)


def emotions(configs: pd.DataFrame, prefix: str = "test_") -> list[str]:
    """The classes scored (emotions or clusters) with ``prefix`` (``test_`` or ``best_dev_``),
    in the tables' column order. Multilingual runs also report
    ``test_<language>_<emotion>_f1``: those are left out."""
    languages = _languages(configs)
    found = [
        m.group(2) for c in configs.columns if (m := _EMOTION_F1.match(c)) and m.group(1) == prefix
    ]
    return [
        name
        for name in found
        if name not in ("micro", "macro") and not name.startswith(tuple(f"{x}_" for x in languages))
    ]


def emotion_prefix(configs: pd.DataFrame) -> str:
    """``test_`` when the configurations have per-emotion test F1, else ``best_dev_``."""
    tested = [f"test_{name}_f1_mean" for name in emotions(configs, "test_")]
    return "test_" if tested and configs[tested].notna().any().any() else "best_dev_"


def emotion_table(
    configs: pd.DataFrame, key: str = "config_key", prefix: str = "test_"
) -> pd.DataFrame:
    """F1 per emotion: identity, then one ``mean ± std`` column per emotion."""
    per_emotion = [(f"{prefix}{name}_f1", name) for name in emotions(configs, prefix)]
    return pd.concat([identity(configs, key), metric_cells(configs, per_emotion)], axis=1)


def duration(seconds: float) -> str:
    minutes, secs = divmod(round(float(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def problem_table(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials that did not complete, with the last line of their error (a trial pruned by
    the seed-aware ASHA ended as meant: it is not one)."""
    problems = trials[~trials["status"].isin(["completed", "pruned"])]
    columns = [
        c
        for c in ("stage", "cell", "suggestion", "seed", "status", "trial_dir", "error")
        if c in problems
    ]
    return problems[columns].fillna("").astype(str).reset_index(drop=True)


def _languages(configs: pd.DataFrame) -> set[str]:
    """Every language named by the configs' data options (single names or lists)."""
    names: set[str] = set()
    for column in (c for c in _LANGUAGE_FIELDS if c in configs):
        for value in configs[column].dropna():
            names.update(_as_names(value))
    return names


def _as_names(value: object) -> Sequence[str]:
    if isinstance(value, str):
        return [value]
    try:
        return [str(item) for item in value]  # type: ignore[attr-defined]
    except TypeError:
        return []
