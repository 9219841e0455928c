"""The entry points' fast exit keeps what a normal exit does up to its atexit handlers: the
status, the buffered output, the other non-daemon threads' work (waited for) and the atexit
handlers (Ray's shutdown is one); it skips the interpreter's teardown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, sys, threading, time
from pathlib import Path
from emotrain.process_exit import exit_now

folder = Path(sys.argv[1])
atexit.register(lambda: (folder / "atexit.txt").write_text("ran", encoding="utf-8"))

def late_write() -> None:
    time.sleep(0.5)
    (folder / "thread.txt").write_text("waited for", encoding="utf-8")

threading.Thread(target=late_write).start()
print("buffered line", end="")
exit_now(int(sys.argv[2]))
"""


def test_exit_now_keeps_the_status_output_threads_and_atexit_handlers(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), "3"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stdout == "buffered line"
    assert (tmp_path / "atexit.txt").read_text(encoding="utf-8") == "ran"
    assert (tmp_path / "thread.txt").read_text(encoding="utf-8") == "waited for"


def test_a_command_line_error_still_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "emotrain", "--config", str(tmp_path / "missing.yaml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "missing.yaml" in done.stderr
