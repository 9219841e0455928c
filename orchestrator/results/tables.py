"""Parquet tables derived from a Ray results dir (the source of truth), written atomically.

- ``trials.parquet``: one row per trial: keys, cell, searched params, seed, config columns,
  status, best-dev and test metrics;
- ``epochs.parquet``: one row per trial per epoch (the dev metrics ``train`` reported);
- ``configs.parquet``: one row per configuration (the config without the seed): mean, std
  (population, as the original aggregated_metrics.yml) and count over seeds of every metric;
  a test-stage configuration is its own row (its config differs in stage and epochs);
- ``test_stage.parquet`` (two-stage sweeps only): one row per dev configuration with a test
  stage: the epochs used, its dev-stage ``best_dev_*`` and its test-stage ``test_*`` statistics;
- ``significance.parquet`` (when the sweep's ``analysis.baseline`` names a configuration): each
  configuration against the baseline on each headline metric (see analysis/significance.py).

Trials and configurations also carry cost columns (see trial_cost.py): wall time, CPU- and GPU-hours
from the sweep's resources (``sweep.json``, or a trial's own ``resources`` in params.json),
epochs and memory peaks.

Every trial row has a ``stage`` (``dev`` or ``test``) and a ``dev_config_key``: the dev
configuration a test-stage trial retrains (a dev-stage trial's own ``config_key``).

Only JSON written by Tune is read (``params.json``, ``result.json``): nothing is unpickled.
Each trial folder's rows are cached in ``.trial_rows.parquet`` (trial_rows.py), so that a
rebuild reads only the folders that are new or changed since the last one; deleting that file
makes the next rebuild read every folder.
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api.typing import DataFrameGroupBy

from orchestrator.results.trial_cost import config_cost, trial_cost
from orchestrator.store.files import Writer, write_all_atomically
from orchestrator.spec.record import read_spec, search_metric, section
from orchestrator.analysis.significance import (
    EFFECT,
    baseline_key,
    significance_table,
    summary_significance,
)
from orchestrator.results.trial_rows import CACHE, RowSource, collect
from orchestrator.trial.folder import (
    DIVERGED,
    ERROR,
    FAILURE,
    FINAL,
    PARAMS,
    PRUNED,
    RAISED,
    RESULTS,
)

# Every file read_trial reads (params.json first: it makes a folder a trial folder); a change
# to any of them makes the folder's cached rows stale.
TRIAL_FILES = (PARAMS, RESULTS, FAILURE, ERROR, PRUNED)
# The code that turns those files into rows: rows cached by other code are never reused.
_ROW_CODE = tuple(
    Path(__file__).parents[1] / name
    for name in ("results/tables.py", "results/trial_cost.py", "trial/folder.py")
)
TABLES = ("trials", "epochs", "configs", "test_stage", "significance")
_OPTIONAL = ("test_stage", "significance")  # written only when not empty
_KEYS = ["trial_key", "config_key", "search_key", "cell", "suggestion", "seed"]
_RUN_COLUMNS = ["best_epoch", "epochs_run", "stopped_early", "train_seconds",
                "train_examples_per_second"]  # fmt: skip


class TablesNotWritten(Exception):
    """Writing the tables failed (a full disk, a quota, permissions): the message says where."""


def build_tables(experiment_dir: Path, cached: bool = True) -> dict[str, pd.DataFrame]:
    """The tables of the experiment's trial folders; with ``cached``, the rows of folders that
    are unchanged since the last ``write_tables`` come from its cache (the same tables)."""
    return _build(experiment_dir, cached)[0]


def _build(experiment_dir: Path, cached: bool) -> tuple[dict[str, pd.DataFrame], Writer]:
    """The tables, and the writer of the row cache that goes with them."""
    spec = read_spec(experiment_dir)
    resources = section(spec, "resources")
    read = partial(read_trial, resources=resources)
    rows = collect(experiment_dir, RowSource(read, TRIAL_FILES, _rows_version(resources)), cached)
    trial_table = _latest_per_key(pd.DataFrame(rows.trials))
    kept = set(trial_table.get("trial_dir", []))
    epoch_table = pd.DataFrame(rows.epochs)
    if not epoch_table.empty:
        epoch_table = epoch_table[epoch_table["trial_dir"].isin(kept)].reset_index(drop=True)
    configs = mean_over_seeds(trial_table)
    tables = {
        "trials": trial_table,
        "epochs": epoch_table,
        "configs": configs,
        "test_stage": test_stage(configs),
        "significance": sweep_significance(trial_table, configs, spec),
    }
    return tables, rows.write_cache


def write_tables(experiment_dir: Path, cached: bool = True) -> dict[str, Path]:
    """Every table; ``test_stage`` and ``significance`` only when they have rows (an old one
    is removed). All are written before any replaces its old file, so a failed write (a full
    disk) leaves the previous tables as they were, consistent with one another. The row cache
    is written with them (``cached=False`` rebuilds it from every trial folder)."""
    tables, write_cache = _build(experiment_dir, cached)
    writes: dict[Path, Writer] = {}
    for name, table in tables.items():
        path = experiment_dir / f"{name}.parquet"
        if name in _OPTIONAL and table.empty:
            continue
        writes[path] = partial(_to_parquet, table)
    # Last: it is only a shortcut, and the tables are what a reader waits for.
    writes[experiment_dir / CACHE] = write_cache
    try:
        write_all_atomically(writes)
    except OSError as error:
        raise TablesNotWritten(
            f"{experiment_dir}: the tables were not written ({error.strerror or error}: "
            f"{error.filename or experiment_dir}); the previous ones are unchanged, and "
            f"`python -m orchestrator.aggregate {experiment_dir}` rebuilds them from the trials"
        ) from error
    for name in _OPTIONAL:
        path = experiment_dir / f"{name}.parquet"
        if path not in writes:
            path.unlink(missing_ok=True)
    return {path.stem: path for path in writes if path.name != CACHE}


def metric_columns(table: pd.DataFrame) -> list[str]:
    measured = [c for c in table.columns if c.startswith(("best_dev_", "test_"))]
    return [c for c in _RUN_COLUMNS if c in table.columns] + measured


def config_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith(("param.", "cfg."))]


def mean_over_seeds(trials: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof=0) and count over the completed seeds of each configuration."""
    if trials.empty:
        return pd.DataFrame()
    done = trials[trials["status"] == "completed"]
    if done.empty:
        return pd.DataFrame()
    groups = done.groupby("config_key", sort=False)
    firsts = groups[["stage", "dev_config_key", "cell", "suggestion", *config_columns(done)]]
    firsts = firsts.first()
    seeds = groups["seed"].agg(lambda s: ",".join(str(v) for v in sorted(s))).rename("seeds")
    stats = _statistics(groups, metric_columns(done))
    # Seeds of the configuration that ended failed: what its mean lacks.
    failed = trials[trials["status"] == "failed"].groupby("config_key").size()
    failed = failed.reindex(firsts.index, fill_value=0).rename("n_failed")
    parts = [firsts, groups.size().rename("n_seeds"), failed, seeds, stats, config_cost(done)]
    table = pd.concat(parts, axis=1).copy()  # copy: one block, not one per aggregated column
    return table.reset_index()


def _statistics(groups: DataFrameGroupBy, metrics: list[str]) -> pd.DataFrame:
    """``<metric>_mean``, ``_std`` (ddof=0) and ``_count`` per group, metric by metric."""
    # The groupby's own reductions: a Python call per configuration and metric (a lambda)
    # took most of the time of a 10,000-trial rebuild.
    selected = groups[metrics]
    by_stat = {"mean": selected.mean(), "std": selected.std(ddof=0), "count": selected.count()}
    columns = {
        f"{metric}_{stat}": values[metric] for metric in metrics for stat, values in by_stat.items()
    }
    return pd.DataFrame(columns, index=by_stat["count"].index)


def test_stage(configs: pd.DataFrame) -> pd.DataFrame:
    """The protocol's final numbers: per test-stage configuration (normally one per dev
    configuration; a change of seeds that changed the epoch count adds one), the epochs used,
    the dev configuration's ``best_dev_*`` statistics and its own ``test_*`` statistics."""
    if configs.empty or not (configs["stage"] == "test").any():
        return pd.DataFrame()
    tests = configs[configs["stage"] == "test"].rename(columns={"cfg.optim.max_epochs": "epochs"})
    keys = ["dev_config_key", "config_key", "cell", "suggestion"]
    params = [c for c in tests.columns if c.startswith("param.")]
    scores = [c for c in tests.columns if c.startswith("test_")]
    dev = configs[configs["stage"] == "dev"].set_index("config_key")
    dev = dev[[c for c in dev.columns if c.startswith("best_dev_")]]
    table = tests[[*keys, *params, "epochs", "n_seeds", "seeds", *scores]]
    return table.join(dev, on="dev_config_key").reset_index(drop=True)


def sweep_significance(
    trials: pd.DataFrame, configs: pd.DataFrame, spec: dict[str, Any]
) -> pd.DataFrame:
    """Each configuration against the baseline the sweep (its recorded ``spec``) names; empty
    without a baseline, or when it names no completed configuration."""
    analysis = section(spec, "analysis")
    baseline = analysis.get("baseline")
    if baseline is None or configs.empty:
        return pd.DataFrame()
    key = baseline_key(configs, baseline, *search_metric(spec))
    if key is None:
        return pd.DataFrame()
    effect = float(analysis.get("effect", EFFECT))
    if trials.empty:
        return summary_significance(configs, key, effect)
    return significance_table(trials, configs, key, effect)


def read_trial(
    trial_dir: Path, resources: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A trial folder as its `trials` row and its `epochs` rows. ``resources`` are what each
    trial of the sweep asked for, unless params.json records the trial's own."""
    params = json.loads((trial_dir / PARAMS).read_text(encoding="utf-8"))
    results = _read_results(trial_dir / RESULTS)
    final = next((r for r in reversed(results) if r.get(FINAL)), None)
    error = trial_dir / ERROR
    reason, kind = _failure(trial_dir)
    kind = kind or (RAISED if error.exists() else None)
    status = "failed" if kind else "incomplete"
    # Stopped with its configuration by the seed-aware ASHA (tune/rungs.py): not a problem.
    status = "completed" if final else ("pruned" if (trial_dir / PRUNED).exists() else status)
    row: dict[str, Any] = {key: params.get(key) for key in _KEYS}
    # From the training config itself: trials written before the two-stage protocol have no
    # "stage" of their own in params.json, and they are all dev-stage trials.
    row["stage"] = params["train"].get("stage", "dev")
    row["dev_config_key"] = params.get("dev_config_key", row["config_key"])
    row |= {"status": status, "trial_dir": trial_dir.name, "timestamp": _timestamp(results)}
    row["error"] = (reason or _last_line(error)) if status == "failed" else None
    row["failure"] = kind if status == "failed" else None
    row |= {f"param.{k}": v for k, v in params.get("params", {}).items()}
    row |= {
        f"cfg.{k}": v for k, v in _flatten(params["train"]).items() if k not in ("seed", "threads")
    }
    if final:
        row |= {
            k: v
            for k, v in final.items()
            if k in (*_RUN_COLUMNS, "node_id") or k.startswith(("best_dev_", "test_"))
        }
        row |= trial_cost(final, params.get("resources") or resources or {})
    history = [
        {"trial_key": row["trial_key"], "config_key": row["config_key"], "seed": row["seed"],
         "trial_dir": trial_dir.name,
         **{k: v for k, v in r.items() if k in ("epoch", "train_loss") or k.startswith("dev_")}}
        for r in results if "epoch" in r and not r.get(FINAL)
    ]  # fmt: skip
    return row, history


def _failure(trial_dir: Path) -> tuple[str | None, str | None]:
    """The reason and kind a trial recorded for ending failed without an error (trial/trainable.py);
    records without a kind are older than the kinds, when only a divergence wrote one."""
    try:
        record = json.loads((trial_dir / FAILURE).read_text(encoding="utf-8"))
        return str(record["error"]), str(record.get("kind", DIVERGED))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, None


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
    return latest.sort_values(["cell", "suggestion", "stage", "seed"]).reset_index(drop=True)


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


def _rows_version(resources: dict[str, Any]) -> str:
    """What a trial's rows depend on besides its files: the code that reads them and the
    sweep's resources (the cost columns of a trial that records none of its own)."""
    digest = hashlib.sha256()
    for path in _ROW_CODE:
        digest.update(path.read_bytes())
    digest.update(json.dumps(resources, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _to_parquet(table: pd.DataFrame, path: str) -> None:
    table.to_parquet(path, index=False)
