"""What a sweep's driver prints, and its log.

While a sweep runs (``recording``), everything the driver process writes, Ray's and Tune's
output and log lines, the trials' forwarded output, is written to ``run.log`` in the experiment
folder; the terminal shows only the sweep's own lines (``say``): the headline, the progress
(tune/progress.py), the summary and the errors. With ``--verbose`` the terminal also shows all of
Ray's output, as it comes.
"""

from __future__ import annotations

import codecs
import os
import select
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

LOG = "run.log"


@dataclass
class Session:
    """Where the sweep's own lines go: the terminal (the streams the driver started with) and
    the log (None: no log). While a live view is shown, ``above`` prints a line above it."""

    out: TextIO
    err: TextIO
    verbose: bool = False
    log: BinaryIO | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    above: Callable[[str], None] | None = None

    def say(self, text: str, error: bool = False) -> None:
        with self.lock:
            if self.above is not None and not error:
                self.above(text)
            else:
                _write(self.err if error else self.out, text + "\n")
            self.write_log((text + "\n").encode("utf-8", "replace"))

    def write_log(self, data: bytes) -> None:
        """Append to the log; a log that cannot be written (a full disk) is given up, not the
        run: the terminal still shows the sweep's lines."""
        if self.log is None:
            return
        try:
            self.log.write(data)
            self.log.flush()
        except OSError:
            self.log = None

    @property
    def interactive(self) -> bool:
        """A person's terminal (not a pipe, a file or CI's log)."""
        try:
            return self.out.isatty()
        except (AttributeError, ValueError, OSError):
            return False


_session: Session | None = None


def current() -> Session:
    """The recording session, else one printing to the present streams without a log."""
    return _session or Session(sys.stdout, sys.stderr)


def say(text: str, error: bool = False) -> None:
    """One of the sweep's own lines: on the terminal (stderr when ``error``) and in the log."""
    current().say(text, error)


@contextmanager
def recording(log_path: Path, verbose: bool) -> Iterator[Session]:
    """Send everything the process writes, at the file descriptors and through ``sys.stdout``
    and ``sys.stderr``, to ``log_path`` (appended to), and to the terminal too when
    ``verbose``; ``say`` writes to the terminal the driver started with and to the log."""
    global _session
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        out, err = _terminal(sys.stdout), _terminal(sys.stderr)
        session = Session(out, err, verbose, log)
        saved = (sys.stdout, sys.stderr, _session)
        saved_fds = [os.dup(1), os.dup(2)]
        read, write = os.pipe()
        pump = _Pump(read, session)
        pump.start()
        try:
            os.dup2(write, 1)
            os.dup2(write, 2)
            pipe = open(write, "w", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
            sys.stdout = sys.stderr = pipe
            _session = session
            yield session
        finally:
            with suppress(OSError, ValueError):
                sys.stdout.flush()
            sys.stdout, sys.stderr, _session = saved
            for fd, saved_fd in zip((1, 2), saved_fds, strict=True):
                os.dup2(saved_fd, fd)
                os.close(saved_fd)
            with suppress(OSError):
                pipe.close()  # closes ``write``
            pump.finish()
            for stream in (out, err):
                if stream not in (sys.stdout, sys.stderr):
                    stream.close()


def _terminal(stream: TextIO) -> TextIO:
    """A stream to where ``stream`` writes now that stays there when fds 1 and 2 are redirected:
    a copy of its file descriptor when it has one (the real stdout), else itself (a test's
    capture)."""
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return stream
    encoding = getattr(stream, "encoding", None) or "utf-8"
    return open(os.dup(fd), "w", buffering=1, encoding=encoding, errors="replace")


class _Pump(threading.Thread):
    """Copies what arrives on the pipe to the log (and to the terminal when verbose). Ray's
    processes may keep a copy of the pipe's writing end: ``finish`` does not wait for its end
    of file, only until the pipe has been empty for a moment."""

    def __init__(self, read: int, session: Session) -> None:
        super().__init__(name="console-pump", daemon=True)
        self._read = read
        self._session = session
        self._done = threading.Event()
        # A character's bytes may arrive in two reads.
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def run(self) -> None:
        while True:
            ready, _, _ = select.select([self._read], [], [], 0.1)
            if not ready:
                if self._done.is_set():
                    return
                continue
            data = os.read(self._read, 65536)
            if not data:
                return
            with self._session.lock:
                self._session.write_log(data)
                if self._session.verbose:
                    _write(self._session.out, self._decoder.decode(data))

    def finish(self) -> None:
        self._done.set()
        self.join()
        os.close(self._read)


def _write(stream: TextIO, text: str) -> None:
    with suppress(OSError, ValueError):  # a closed terminal: the log still has it
        stream.write(text)
        stream.flush()
