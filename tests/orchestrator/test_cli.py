"""The ``emosweep`` command (orchestrator/cli.py): its subcommands are the ``python -m`` commands,
run for real here through ``python -m orchestrator.cli`` (what the installed script calls)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ["run", "report", "aggregate", "train", "predict"]


def _emosweep(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )  # fmt: skip


def test_the_script_is_the_dispatcher() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["emosweep"].split(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_help_lists_every_command() -> None:
    done = _emosweep("--help")
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("  ")]
    assert listed == COMMANDS
    for module in ("orchestrator.run", "emotrain.predict"):
        assert f"python -m {module}" in done.stdout


def test_run_is_orchestrator_run(tmp_path: Path) -> None:
    done = _emosweep("run", str(REPO / "sweeps" / "smoke.yaml"), "--dry-run",
                     "--storage", str(tmp_path / "results"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "preflight: data files, encoders and resources (this machine) OK" in done.stdout
    assert not (tmp_path / "results").exists()  # a dry run writes nothing


def test_a_subcommands_errors_and_exit_status_are_its_own(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("optim: {lrr: 1.0e-3}\n")
    done = _emosweep("train", "--config", str(config))
    assert done.returncode == 2
    assert done.stderr == f"error: {config}: optim.lrr: unknown field; did you mean lr?\n"


def test_an_unknown_command_says_the_nearest() -> None:
    done = _emosweep("rnu", "sweeps/smoke.yaml")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: emosweep: unknown command 'rnu'; did you mean run?\n"
    nothing = _emosweep()
    assert nothing.returncode == 2 and nothing.stderr.startswith("usage: emosweep COMMAND")
