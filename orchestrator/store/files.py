"""Atomic writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

Writer = Callable[[str], None]  # writes the whole file at the temporary path it is given


def write_atomically(path: Path, write: Writer) -> None:
    """Call ``write`` on a temporary path beside ``path``, then rename it into place."""
    write_all_atomically({path: write})


def write_all_atomically(writes: Mapping[Path, Writer]) -> None:
    """Write every file beside its target first, then rename them all into place: a failure
    while writing (a full disk, a quota) leaves every previous file as it was, never a mix of
    new and old files, and no temporary file behind."""
    temporaries: list[str] = []
    try:
        for path, write in writes.items():
            handle, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
            )
            os.close(handle)
            temporaries.append(temporary)
            write(temporary)
        for path, temporary in zip(writes, temporaries, strict=True):
            os.replace(temporary, path)
    except BaseException:
        for temporary in temporaries:
            Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str) -> None:
    write_atomically(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))
