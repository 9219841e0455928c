"""Run a sweep: ``python -m orchestrator.run sweeps/smoke.yaml [--address ADDRESS]``.

Validates the sweep file, connects to the Ray cluster named by ``--address`` / ``RAY_ADDRESS``
(else starts a local Ray), lets Tune run every (configuration, seed) trial, then writes the
Parquet tables next to Tune's results and prints a summary of the configurations.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from emotrain.config_errors import ConfigError
from orchestrator.sweep import Sweep, load_sweep
from orchestrator.tables import write_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.run", description=__doc__)
    parser.add_argument("sweep", type=Path, help="a sweep YAML file (see sweeps/)")
    parser.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else local)")
    args = parser.parse_args(argv)
    try:
        sweep = load_sweep(args.sweep)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    # Ray is imported only once the sweep is known to be valid: bad input fails fast.
    from orchestrator.tune_run import run_sweep

    print(f"sweep {sweep.spec.name}: {len(sweep.cells)} cells x {sweep.spec.search.budget} "
          f"suggestions x {len(sweep.spec.seeds)} seeds = {sweep.total_trials} trials "
          f"-> {sweep.experiment_dir}")  # fmt: skip
    run_sweep(sweep, address=args.address or os.environ.get("RAY_ADDRESS"))
    paths = write_tables(sweep.experiment_dir)
    configs = pd.read_parquet(paths["configs"])
    print(summary(sweep, configs))
    print(f"\ntables: {', '.join(str(p) for p in paths.values())}")
    print(f"tensorboard --logdir {sweep.experiment_dir}")
    return 0


def summary(sweep: Sweep, configs: pd.DataFrame) -> str:
    """One line per configuration: cell, searched values, seeds, metric mean ± std."""
    if configs.empty:
        return "no configuration completed"
    metric = sweep.spec.search.metric
    shown = [metric, "test_jaccard", "test_micro_f1", "test_macro_f1"]
    rows = []
    for _, config in configs.sort_values(
        f"{metric}_mean", ascending=sweep.spec.search.mode == "min"
    ).iterrows():
        row = {
            "cell": config["cell"],
            "config": config["config_key"][:8],
            "seeds": config["n_seeds"],
        }
        row |= {
            c.removeprefix("param."): round(config[c], 4)
            for c in configs.columns
            if c.startswith("param.")
        }
        row |= {m: f"{config[f'{m}_mean']:.4f} ± {config[f'{m}_std']:.4f}" for m in shown}
        rows.append(row)
    return pd.DataFrame(rows).to_string(index=False)


if __name__ == "__main__":
    sys.exit(main())
