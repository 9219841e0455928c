"""The ``emosweep`` command: ``emosweep run | report | aggregate | train | predict ...``.

Each subcommand is one of the ``python -m`` commands, which stay: ``emosweep run sweeps/smoke.yaml``
is ``python -m orchestrator.run sweeps/smoke.yaml``, with the same options and exit status
(``emosweep run --help`` lists them).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import NamedTuple, NoReturn

from emotrain.config_errors import did_you_mean
from emotrain.process_exit import exit_now


class Command(NamedTuple):
    module: str
    summary: str


COMMANDS = {
    "run": Command("orchestrator.run", "run a sweep file on Ray Tune (local or a cluster)"),
    "report": Command("orchestrator.report", "write an experiment's report (Markdown, HTML)"),
    "aggregate": Command("orchestrator.aggregate", "rebuild an experiment's Parquet tables"),
    "train": Command("emotrain.cli", "train one model from a training config"),
    "predict": Command("emotrain.predict", "score texts with a saved model"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {command.summary} (python -m {command.module})"
             for name, command in COMMANDS.items()]  # fmt: skip
    return "\n".join(
        [
            "usage: emosweep COMMAND [ARGS...]",
            "",
            "commands:",
            *lines,
            "",
            "emosweep COMMAND --help shows the command's options.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand named first in ``argv`` with the rest; its exit status."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        hint = did_you_mean(name, COMMANDS) or f"; one of {', '.join(COMMANDS)}"
        print(f"error: emosweep: unknown command {name!r}{hint}", file=sys.stderr)
        return 2
    return _command_main(COMMANDS[name].module)(rest)


def _command_main(module: str) -> Callable[[list[str]], int]:
    """The ``main`` that ``python -m module`` runs: a package's is in its ``__main__``."""
    imported = importlib.import_module(module)
    if hasattr(imported, "__path__"):
        imported = importlib.import_module(f"{module}.__main__")
    return imported.main


def entry() -> NoReturn:
    """The installed script's entry point (pyproject: [project.scripts])."""
    exit_now(main())


if __name__ == "__main__":
    entry()
