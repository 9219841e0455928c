"""The printed summary of an experiment: one line per configuration, best first, and for a
two-stage sweep the test stage's numbers (the protocol's final results)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from orchestrator.trial.folder import INVALID, RAISED

SHOWN = ["test_jaccard", "test_micro_f1", "test_macro_f1"]


def summary_text(tables: dict[str, Path], metric: str, mode: str) -> str:
    """The summary of the written tables (``test_stage`` is there for two-stage sweeps only)."""
    text = summary(pd.read_parquet(tables["configs"]), metric, mode)
    if "test_stage" in tables:
        text += "\n\n" + test_stage_summary(pd.read_parquet(tables["test_stage"]), metric, mode)
    if failed := failures(pd.read_parquet(tables["trials"])):
        text += "\n\n" + failed
    return text


def failures(trials: pd.DataFrame) -> str:
    """One line per failed trial: where and why (the configurations above lack these seeds)."""
    if trials.empty or "status" not in trials:
        return ""
    failed = trials[trials["status"] == "failed"]
    lines = [f"  {row.cell} seed {row.seed}: {row.error}" for row in failed.itertuples()]
    if not lines:
        return ""
    return "\n".join([f"failed trials ({len(lines)}, not in the means above):", *lines])


def missing_results(trials: pd.DataFrame, ran: set[str]) -> int:
    """How many of the trials run from the folders ``ran`` ended failed for a reason other
    than a diverged loss (a configuration's own outcome, not a fault): they raised until their
    retries ran out, or could not use their input. ``trials`` holds one row per trial, a
    completed attempt before a failed one (tables.py)."""
    if trials.empty or "failure" not in trials:
        return 0
    failed = trials["trial_dir"].isin(ran) & trials["failure"].isin([INVALID, RAISED])
    return int(failed.sum())


def summary(configs: pd.DataFrame, metric: str, mode: str) -> str:
    """The dev-stage configurations: cell, config key, seeds, searched values, then
    ``mean ± std`` of the metric and of the main test scores."""
    if "stage" in configs:
        configs = configs[configs["stage"] == "dev"]
    if configs.empty or f"{metric}_mean" not in configs:
        return "no configuration completed"
    shown = [metric, *(m for m in SHOWN if m != metric and f"{m}_mean" in configs)]
    return _table(configs, "config_key", [], shown, metric, mode)


def test_stage_summary(table: pd.DataFrame, metric: str, mode: str) -> str:
    """Per dev configuration, the dev metric it is chosen by, then the epochs and the scores of
    its test stage (trained on train+dev)."""
    if table.empty:
        return "test stage: no configuration completed"
    shown = [metric, *(m for m in SHOWN if f"{m}_mean" in table)]
    heading = "test stage (retrained on train+dev for the epochs shown; dev metric from stage 1):"
    return heading + "\n" + _table(table, "dev_config_key", ["epochs"], shown, metric, mode)


def _table(
    configs: pd.DataFrame,
    key: str,
    extra: Sequence[str],
    shown: Sequence[str],
    metric: str,
    mode: str,
) -> str:
    rows = []
    for _, config in configs.sort_values(f"{metric}_mean", ascending=mode == "min").iterrows():
        row = {"cell": config["cell"], "config": config[key][:8], "seeds": config["n_seeds"]}
        row |= {
            column.removeprefix("param."): _rounded(config[column])
            for column in configs.columns
            if column.startswith("param.")
        }
        row |= {column: config[column] for column in extra}
        row |= {m: f"{config[f'{m}_mean']:.4f} ± {config[f'{m}_std']:.4f}" for m in shown}
        rows.append(row)
    return pd.DataFrame(rows).to_string(index=False)


def _rounded(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value
