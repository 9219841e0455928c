"""Where the benchmarks read SemEval 2018 E-c: as tests/conftest.py, $EMOSWEEP_DATA, else
shared/data beside the repository (its terms forbid copying it into the repository). A
``--smoke`` run reads emotrain's demo data instead (``data.root: null``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    default = Path(os.environ.get("EMOSWEEP_DATA", SHARED)) / "semeval2018-ec"
    parser.add_argument("--data", type=Path, default=default, help="SemEval 2018 E-c root")


def data_root(args: argparse.Namespace) -> str | None:
    """``data.root`` for a training config: ``--data``, or None (the demo data) with
    ``--smoke``."""
    return None if getattr(args, "smoke", False) else str(args.data)
