"""What ``python -m orchestrator.report`` reads: an experiment folder's Parquet tables and its
``sweep.json``, never Tune's pickles nor the trial folders.

``sweep.json`` is read as plain JSON (spec/record.py) rather than through the sweep schema:
every field of it is optional here (a folder rebuilt by hand may have none). The reference file
its ``analysis`` names is read from sweeps/reference/. The comparisons with the baseline are
computed here from trials.parquet (analysis/significance.py), so that a report rebuilt from
committed tables uses the current statistics.
A folder without trials.parquet but with configs.parquet (a report folder from before the
report copied its tables) is reported from configs.parquet alone: no per-trial scores, so no
tests, learning curves nor failed trials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from orchestrator.analysis.reference import (
    Reference,
    ReferenceError,
    load_reference,
    reference_path,
)
from orchestrator.results.tables import sweep_significance
from orchestrator.spec.record import read_record, search_metric, section


class ReportInputError(Exception):
    """The folder cannot be reported on; the message is the one-line error to print."""


@dataclass(frozen=True)
class Experiment:
    folder: Path
    name: str
    metric: str
    mode: str
    trials: pd.DataFrame
    epochs: pd.DataFrame
    configs: pd.DataFrame  # every configuration, both stages of a two-stage sweep
    test_stage: pd.DataFrame  # empty unless the sweep is two-stage
    log_params: set[str] = field(default_factory=set)  # searched on a log scale
    significance: pd.DataFrame = field(default_factory=pd.DataFrame)  # empty: no baseline
    analysis: dict[str, Any] = field(default_factory=dict)  # the sweep's analysis field
    reference: Reference | None = None
    record: dict[str, Any] = field(default_factory=dict)  # sweep.json: source, overrides, spec
    per_seed: bool = True  # False: no trials.parquet; ``trials`` holds only seed_rows(configs)

    @property
    def dev_configs(self) -> pd.DataFrame:
        """The configurations Optuna searched (all of them, before the two-stage protocol)."""
        if "stage" in self.configs:
            return self.configs[self.configs["stage"] == "dev"].reset_index(drop=True)
        return self.configs


def load_experiment(folder: Path) -> Experiment:
    if not folder.is_dir():
        raise ReportInputError(f"{folder}: no such folder")
    configs = _read(folder, "configs")
    if (folder / "trials.parquet").is_file():
        trials = _read(folder, "trials")
    elif not configs.empty:  # a report folder of a run whose per-trial table was not kept
        trials = seed_rows(configs)
    else:
        raise ReportInputError(
            f"{folder}: no trials.parquet here (python -m orchestrator.aggregate {folder} "
            "rebuilds the tables of a folder of trials)"
        )
    if trials.empty:
        raise ReportInputError(f"{folder}: trials.parquet has no trials")
    per_seed = (folder / "trials.parquet").is_file()
    record = read_record(folder)
    spec = section(record, "spec")
    space = section(section(spec, "search"), "space")
    metric, mode = search_metric(spec)
    analysis = section(spec, "analysis")
    return Experiment(
        folder=folder,
        name=str(spec.get("name") or folder.name),
        metric=metric,
        mode=mode,
        trials=trials,
        epochs=_read(folder, "epochs"),
        configs=configs,
        test_stage=_read(folder, "test_stage"),
        log_params={name for name, spec in space.items() if spec.get("log")},
        significance=sweep_significance(trials if per_seed else trials.iloc[:0], configs, spec),
        analysis=analysis,
        reference=_reference(analysis.get("reference")),
        record=record,
        per_seed=per_seed,
    )


def seed_rows(configs: pd.DataFrame) -> pd.DataFrame:
    """What configs.parquet says of each completed trial without its scores: its configuration
    and seed (the ``seeds`` column), for a folder whose trials.parquet was not kept."""
    keys = [
        c for c in ("config_key", "dev_config_key", "stage", "cell", "suggestion") if c in configs
    ]
    rows = [
        {**{key: config[key] for key in keys}, "seed": int(seed), "status": "completed"}
        for _, config in configs.iterrows()
        for seed in str(config.get("seeds", "")).split(",")
        if seed.strip()
    ]
    return pd.DataFrame(rows)


def _read(folder: Path, table: str) -> pd.DataFrame:
    """A table, or an empty frame when it is absent (``test_stage`` exists only for two-stage
    sweeps; the others for a folder whose aggregation was interrupted)."""
    path = folder / f"{table}.parquet"
    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as err:  # pyarrow's errors subclass these
        raise ReportInputError(f"{path}: unreadable: {err}") from err


def _reference(name: object) -> Reference | None:
    """The reference file the sweep names (validated again: it may have changed since)."""
    if not isinstance(name, str):
        return None
    try:
        return load_reference(reference_path(name))
    except ReferenceError as err:
        raise ReportInputError(f"analysis.reference: {err}") from err
