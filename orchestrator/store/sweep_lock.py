"""One driver per experiment: a second ``orchestrator.run`` on the same sweep and storage
stops at once instead of planning, and running, the same trials twice.

The lock is an advisory ``flock`` on ``<experiment>/.lock``, held for the whole run. The
kernel drops it when the holder dies, even by ``kill -9``, so a lost driver never leaves a
stale lock behind and ``--resume`` can always take over.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emotrain.config_errors import ConfigError
from orchestrator.console import LOG

LOCK = ".lock"


@contextmanager
def exclusive(experiment_dir: Path) -> Iterator[None]:
    """Hold the experiment's lock; ``ConfigError`` naming the holder when it is taken."""
    created = [p for p in (experiment_dir.parent, experiment_dir) if not p.exists()]
    experiment_dir.mkdir(parents=True, exist_ok=True)
    path = experiment_dir / LOCK
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ConfigError(
                f"{experiment_dir}: another orchestrator.run ({holder}) is running this sweep; "
                "wait for it, or stop it and use --resume"
            ) from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            _remove_if_unused(path, created)


def _remove_if_unused(path: Path, created: list[Path]) -> None:
    """A run that stopped before writing anything (a preflight error) leaves nothing behind,
    not even its log (its errors were on the terminal)."""
    if {p.name for p in path.parent.iterdir()} - {LOCK, LOG}:
        return
    (path.parent / LOG).unlink(missing_ok=True)
    path.unlink(missing_ok=True)
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return  # something else appeared in it
