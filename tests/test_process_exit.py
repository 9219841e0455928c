"""The entry points' fast exit keeps what a normal exit does: the status, the buffered output,
the atexit handlers (Ray's shutdown is one) and files closed on the way out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, sys
from pathlib import Path
from emotrain.process_exit import exit_now

folder = Path(sys.argv[1])
atexit.register(lambda: (folder / "atexit.txt").write_text("ran", encoding="utf-8"))
kept = open(folder / "open_file.txt", "w", encoding="utf-8")  # never closed explicitly
kept.write("flushed at exit")
print("buffered line", end="")
exit_now(int(sys.argv[2]))
"""


def test_exit_now_keeps_the_status_output_and_atexit_handlers(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), "3"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stdout == "buffered line"
    assert (tmp_path / "atexit.txt").read_text(encoding="utf-8") == "ran"
    assert (tmp_path / "open_file.txt").read_text(encoding="utf-8") == "flushed at exit"


def test_a_command_line_error_still_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "emotrain.train", "--config", str(tmp_path / "missing.yaml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "missing.yaml" in done.stderr
