"""How the command-line entry points end their process.

An interpreter with torch, transformers, pandas and Ray loaded spends a noticeable time
ending after its last line: the final garbage collection of millions of objects, the modules'
teardown, and libtorch's static destructors, which unregister every operator of its dispatcher
one by one. All for nothing, as the process is about to end (docs/performance.md). So a
command ends the way the interpreter would up to its atexit handlers (waiting for its other
non-daemon threads, then Ray's shutdown and logging's flush among the handlers), flushes its
standard streams, and then leaves at once. What it skips: ``__del__`` methods and a file
object that nobody closed. The commands write every result through files
they close and atomic renames.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from contextlib import suppress
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """``sys.exit(code)`` without the interpreter's teardown."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # what the interpreter's own exit runs at this point
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe or stream: nothing left to save
            stream.flush()
    os._exit(code)
