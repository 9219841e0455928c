"""Rebuild the Parquet tables from Tune's files: ``python -m orchestrator.aggregate DIR``.

``DIR`` is an experiment folder (``results/smoke``) or a storage folder holding several; each
experiment's tables are rebuilt from its trial folders (the source of truth), atomically, and
its summary is printed. Useful after a run was interrupted or trial folders were copied in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emotrain.process_exit import exit_now
from orchestrator.results.summary import summary_text
from orchestrator.results.tables import TablesNotWritten, write_tables
from orchestrator.spec.record import read_metric


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.aggregate", description=__doc__)
    parser.add_argument("results", type=Path, help="an experiment folder or a storage folder")
    args = parser.parse_args(argv)
    experiments = experiment_dirs(args.results)
    if not experiments:
        print(f"error: {args.results}: no trial folders (*/params.json) here or one level down",
              file=sys.stderr)  # fmt: skip
        return 2
    for experiment in experiments:
        try:
            paths = write_tables(experiment)
        except TablesNotWritten as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        metric, mode = read_metric(experiment)
        print(f"{experiment}:")
        print(summary_text(paths, metric, mode))
        print(f"tables: {', '.join(str(p) for p in paths.values())}\n")
    return 0


def experiment_dirs(results: Path) -> list[Path]:
    """``results`` itself when it holds trial folders, else its subfolders that do."""
    if _holds_trials(results):
        return [results]
    if not results.is_dir():
        return []
    return sorted(child for child in results.iterdir() if _holds_trials(child))


def _holds_trials(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*/params.json"))


if __name__ == "__main__":
    exit_now(main())
