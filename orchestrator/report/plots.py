"""The report's PNG figures: learning curves, per-emotion F1 bars and heat-map, Optuna search
history.

Figures are built as ``matplotlib.figure.Figure`` objects and saved with the Agg renderer,
never through ``pyplot``: no global figure state and no GUI backend, so the report runs on a
headless node and in a thread. Every function takes configurations already ranked best first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from orchestrator.report.display_tables import KEY_CHARS, emotions, param_columns, value_text

DPI = 120
MAX_LINES = 8  # configurations drawn per figure: more would make a legend nobody can read
MAX_ROWS = 40  # configurations in the heat-map: one row each, labelled, still on one screen
MAX_ANNOTATED = 600  # cells above which the heat-map's numbers would be too small to read
_COLOURS = "tab10"


def label(config: pd.Series) -> str:
    """A configuration in a legend: cell, searched values, short key."""
    params = [
        f"{c.removeprefix('param.')}={value_text(config[c])}"
        for c in config.index
        if c.startswith("param.")
    ]
    return " ".join([str(config["cell"]), *params, f"[{str(config['config_key'])[:KEY_CHARS]}]"])


def learning_curve(
    epochs: pd.DataFrame, configs: pd.DataFrame, metric: str, heading: str, path: Path
) -> bool:
    """``metric`` (an epochs.parquet column such as ``dev_jaccard``) by epoch, one line per
    configuration: the mean over its seeds with a ± std band. False when there is no data."""
    if epochs.empty or metric not in epochs:
        return False
    figure, axes = _figure((9, 4.8))
    drawn = 0
    for i, (_, config) in enumerate(configs.head(MAX_LINES).iterrows()):
        colour = _colour(i)
        rows = epochs[epochs["config_key"] == config["config_key"]].dropna(subset=[metric])
        if rows.empty:
            continue
        # ddof=0: the population std over seeds, as configs.parquet has it.
        by_epoch = rows.groupby("epoch")[metric].agg(["mean", lambda s: s.std(ddof=0)])
        mean, std = by_epoch["mean"], by_epoch["<lambda_0>"]
        axes.plot(by_epoch.index, mean, marker="o", color=colour, label=label(config))
        axes.fill_between(by_epoch.index, mean - std, mean + std, color=colour, alpha=0.15)
        drawn += 1
    if not drawn:
        return False
    axes.set(xlabel="epoch", ylabel=heading, title=f"{heading} by epoch (mean ± std over seeds)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    _finish(figure, axes, configs, path)
    return True


def emotion_bars(configs: pd.DataFrame, path: Path, prefix: str = "test_") -> bool:
    """F1 per emotion (``prefix`` ``test_`` or ``best_dev_``), one bar per configuration
    (mean, std error bars)."""
    names = emotions(configs, prefix)
    if configs.empty or not names:
        return False
    shown = configs.head(MAX_LINES)
    # wide enough for the bars of every emotion, within what a screen shows
    figure, axes = _figure((min(24.0, max(9.0, 0.45 * len(names) * len(shown) ** 0.5)), 5))
    width = 0.8 / len(shown)
    positions = np.arange(len(names))
    for i, (_, config) in enumerate(shown.iterrows()):
        means = [config[f"{prefix}{name}_f1_mean"] for name in names]
        stds = [config[f"{prefix}{name}_f1_std"] for name in names]
        offset = positions - 0.4 + width * (i + 0.5)
        axes.bar(offset, means, width, yerr=stds, capsize=2, color=_colour(i), label=label(config))
    axes.set_xticks(positions, names, rotation=45, ha="right")
    heading = _f1_heading(prefix)
    axes.set(ylabel=heading, ylim=(0, 1.05), title=f"{heading} per emotion (mean ± std over seeds)")
    _finish(figure, axes, configs, path)
    return True


def emotion_heatmap(configs: pd.DataFrame, path: Path, prefix: str = "test_") -> bool:
    """F1 per emotion (columns) by configuration (rows, best first): the mean over seeds, on
    one 0-1 colour scale so that cells compare across the whole figure."""
    names = emotions(configs, prefix)
    if configs.empty or not names:
        return False
    shown = configs.head(MAX_ROWS)
    values = shown[[f"{prefix}{name}_f1_mean" for name in names]].to_numpy(float)
    labels = [label(config) for _, config in shown.iterrows()]
    width = 3.0 + 0.6 * len(names) + 0.07 * max(len(text) for text in labels)
    figure, axes = _figure((min(28.0, width), 2.2 + 0.38 * len(shown)))
    image = axes.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(np.arange(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(np.arange(len(shown)), labels, fontsize=8)
    if values.size <= MAX_ANNOTATED:
        _annotate(axes, values)
    heading = _f1_heading(prefix)
    more = f", best {MAX_ROWS} of {len(configs)}" if len(configs) > MAX_ROWS else ""
    axes.set_title(f"{heading} per emotion by configuration (mean over seeds{more})")
    figure.colorbar(image, ax=axes, label=f"{heading} (mean over seeds)")
    figure.savefig(path, dpi=DPI)
    return True


def _annotate(axes: Axes, values: np.ndarray) -> None:
    """Each cell's value, dark on the light end of viridis and light on the dark end."""
    for (row, column), value in np.ndenumerate(values):
        if np.isnan(value):
            continue
        colour = "black" if value > 0.6 else "white"
        axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour)


def _f1_heading(prefix: str) -> str:
    return "test F1" if prefix == "test_" else "dev F1 (best epoch)"


def search_history(configs: pd.DataFrame, metric: str, log_params: set[str], path: Path) -> bool:
    """Per searched parameter, one panel: each Optuna suggestion's value against the metric it
    was given (the mean over seeds, with the std), coloured by grid cell and labelled q<n>."""
    params = param_columns(configs)
    if configs.empty or not params or f"{metric}_mean" not in configs:
        return False
    figure = Figure(figsize=(4.5 * len(params) + 2, 4.2), dpi=DPI, layout="constrained")
    panels = figure.subplots(1, len(params), squeeze=False, sharey=True)[0]
    cells = list(dict.fromkeys(configs["cell"]))
    for axes, param in zip(panels, params, strict=True):
        _history_panel(axes, configs, param, metric, cells, legend=axes is panels[0])
        if param.removeprefix("param.") in log_params:
            axes.set_xscale("log")
    panels[0].set_ylabel(f"{metric} (mean ± std over seeds)")
    figure.suptitle("Optuna search history: each suggestion's value and score")
    figure.legend(title="cell", loc="outside lower center", ncols=min(len(cells), 4))
    figure.savefig(path, dpi=DPI)
    return True


def _history_panel(
    axes: Axes, configs: pd.DataFrame, param: str, metric: str, cells: list[str], legend: bool
) -> None:
    positions, ticks = _positions(configs[param])
    for i, cell in enumerate(cells):
        mine = configs["cell"] == cell
        # the figure's legend collects labelled artists of every panel: label one panel only
        axes.errorbar(
            positions[mine],
            configs.loc[mine, f"{metric}_mean"],
            yerr=configs.loc[mine, f"{metric}_std"],
            fmt="o",
            capsize=3,
            color=_colour(i),
            label=cell if legend else None,
        )
        for x, y, q in zip(
            positions[mine],
            configs.loc[mine, f"{metric}_mean"],
            configs.loc[mine, "suggestion"],
            strict=True,
        ):
            axes.annotate(f"q{q}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if ticks is not None:
        axes.set_xticks(range(len(ticks)), ticks)
    axes.set_xlabel(param.removeprefix("param."))
    axes.grid(alpha=0.3)


def _positions(values: pd.Series) -> tuple[pd.Series, list[str] | None]:
    """Numbers stay on their axis; categorical choices get one tick each."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float), None
    ticks = sorted({str(v) for v in values})
    return values.map(lambda v: float(ticks.index(str(v)))), ticks


def _figure(size: tuple[float, float]) -> tuple[Figure, Axes]:
    # constrained layout makes room for the legend outside the axes and the rotated labels.
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    return figure, figure.add_subplot()


def _finish(figure: Figure, axes: Axes, configs: pd.DataFrame, path: Path) -> None:
    axes.grid(alpha=0.3)
    title = (
        f"configuration (best {MAX_LINES} of {len(configs)})"
        if len(configs) > MAX_LINES
        else "configuration"
    )
    figure.legend(title=title, loc="outside lower center", fontsize=8)
    figure.savefig(path, dpi=DPI)


def _colour(index: int) -> tuple[float, ...]:
    palette = colormaps[_COLOURS].colors  # type: ignore[attr-defined]
    return tuple(palette[index % len(palette)])
