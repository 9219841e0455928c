"""The command line of one training alone: ``python -m emotrain --config run.yaml [--json]``
(emotrain/__main__.py runs it; ``emosweep train`` too)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from emotrain.config import TrainConfig
from emotrain.config_errors import ConfigError, describe_validation_error, read_yaml_mapping
from emotrain.data.types import DataFileError
from emotrain.process_exit import exit_now
from emotrain.training import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emotrain", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="a TrainConfig as YAML")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args(argv)
    try:
        config = TrainConfig.model_validate(read_yaml_mapping(args.config))
    except ValidationError as err:
        return _fail(describe_validation_error(err, args.config, model=TrainConfig))
    except ConfigError as err:
        return _fail(err)

    def show(metrics: dict[str, float]) -> None:
        print(
            f"epoch {metrics['epoch']:.0f}: train_loss {metrics['train_loss']:.4f}  "
            f"dev_jaccard {metrics['dev_jaccard']:.4f}  dev_macro_f1 {metrics['dev_macro_f1']:.4f}",
            file=sys.stderr,
        )

    try:
        result = train(config, report=show)
    except (DataFileError, ValueError) as err:
        return _fail(err)
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(json.dumps(result.flat(), indent=2))
    return 0


def _fail(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    exit_now(main())
