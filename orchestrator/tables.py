"""Parquet tables derived from a Ray results dir (the source of truth), written atomically.

- ``trials.parquet``: one row per trial: keys, cell, searched params, seed, config columns,
  status, best-dev and test metrics;
- ``epochs.parquet``: one row per trial per epoch (the dev metrics ``train`` reported);
- ``configs.parquet``: one row per configuration (the config without the seed): mean, std
  (population, as the original aggregated_metrics.yml) and count over seeds of every metric.

Only JSON written by Tune is read (``params.json``, ``result.json``): nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

FINAL = "final"  # marks the last report of a trial, which carries the test metrics
TABLES = ("trials", "epochs", "configs")
_KEYS = ["trial_key", "config_key", "cell", "suggestion", "seed"]
_RUN_COLUMNS = ["best_epoch", "epochs_run", "stopped_early", "train_seconds",
                "train_examples_per_second"]  # fmt: skip


def build_tables(experiment_dir: Path) -> dict[str, pd.DataFrame]:
    trials, epochs = [], []
    for trial_dir in sorted(p.parent for p in experiment_dir.glob("*/params.json")):
        row, history = _read_trial(trial_dir)
        trials.append(row)
        epochs.extend(history)
    trial_table = _latest_per_key(pd.DataFrame(trials))
    kept = set(trial_table.get("trial_dir", []))
    epoch_table = pd.DataFrame(epochs)
    if not epoch_table.empty:
        epoch_table = epoch_table[epoch_table["trial_dir"].isin(kept)].reset_index(drop=True)
    return {"trials": trial_table, "epochs": epoch_table, "configs": aggregate(trial_table)}


def write_tables(experiment_dir: Path) -> dict[str, Path]:
    paths = {}
    for name, table in build_tables(experiment_dir).items():
        paths[name] = experiment_dir / f"{name}.parquet"
        _write_atomically(table, paths[name])
    return paths


def metric_columns(table: pd.DataFrame) -> list[str]:
    measured = [c for c in table.columns if c.startswith(("best_dev_", "test_"))]
    return [c for c in _RUN_COLUMNS if c in table.columns] + measured


def config_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith(("param.", "cfg."))]


def aggregate(trials: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof=0) and count over the completed seeds of each configuration."""
    if trials.empty:
        return pd.DataFrame()
    done = trials[trials["status"] == "completed"]
    if done.empty:
        return pd.DataFrame()
    groups = done.groupby("config_key", sort=False)
    firsts = groups[["cell", "suggestion", *config_columns(done)]].first()
    seeds = groups["seed"].agg(lambda s: ",".join(str(v) for v in sorted(s))).rename("seeds")
    stats = groups[metric_columns(done)].agg(["mean", lambda s: s.std(ddof=0), "count"])
    stats.columns = [
        f"{metric}_{'std' if stat == '<lambda_0>' else stat}" for metric, stat in stats.columns
    ]
    table = pd.concat([firsts, groups.size().rename("n_seeds"), seeds, stats], axis=1)
    return table.reset_index()


def _read_trial(trial_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    params = json.loads((trial_dir / "params.json").read_text(encoding="utf-8"))
    results = _read_results(trial_dir / "result.json")
    final = next((r for r in reversed(results) if r.get(FINAL)), None)
    error = trial_dir / "error.txt"
    status = "completed" if final else ("failed" if error.exists() else "incomplete")
    row: dict[str, Any] = {key: params.get(key) for key in _KEYS}
    row |= {"status": status, "trial_dir": trial_dir.name, "timestamp": _timestamp(results)}
    row["error"] = _last_line(error) if status == "failed" else None
    row |= {f"param.{k}": v for k, v in params.get("params", {}).items()}
    row |= {
        f"cfg.{k}": v for k, v in _flatten(params["train"]).items() if k not in ("seed", "threads")
    }
    if final:
        row |= {
            k: v
            for k, v in final.items()
            if k in _RUN_COLUMNS or k.startswith(("best_dev_", "test_"))
        }
    history = [
        {"trial_key": row["trial_key"], "config_key": row["config_key"], "seed": row["seed"],
         "trial_dir": trial_dir.name,
         **{k: v for k, v in r.items() if k in ("epoch", "train_loss") or k.startswith("dev_")}}
        for r in results if "epoch" in r and not r.get(FINAL)
    ]  # fmt: skip
    return row, history


def _read_results(path: Path) -> list[dict[str, Any]]:
    """Tune's result.json (one JSON object per line); a torn last line is skipped."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _latest_per_key(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per trial key: a completed run wins over others, then the newest."""
    if trials.empty:
        return trials
    rank = (trials["status"] == "completed").astype(int)
    ordered = trials.assign(_rank=rank).sort_values(["_rank", "timestamp"], na_position="first")
    latest = ordered.drop_duplicates("trial_key", keep="last").drop(columns="_rank")
    return latest.sort_values(["cell", "suggestion", "seed"]).reset_index(drop=True)


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            flat |= _flatten(item, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _timestamp(results: list[dict[str, Any]]) -> float:
    return float(results[-1].get("timestamp", 0)) if results else 0.0


def _last_line(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return lines[-1][:500] if lines else ""


def _write_atomically(table: pd.DataFrame, path: Path) -> None:
    """Write next to the target and rename, so readers see the old file or the new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        table.to_parquet(temporary, index=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
