"""Storage at a cloud URI (``storage: s3://bucket/prefix``, or any URI pyarrow opens).

Ray Tune writes a sweep's trials there itself: each trial's checkpoints from the node that runs
it, and the driver's result files. The orchestrator reads what is done, plans, locks and writes
its tables in a local mirror of the storage that leaves the checkpoints out; ``sync`` levels
the two (before planning, after each Tune pass and after the tables are written), uploading
what the driver wrote (sweep.json, the tables, trials reused from other experiments).

A file's copy takes the other side's modification time, so that the next ``sync`` copies only
what changed since. The mirror is a cache: a file deleted from the storage but still in the
mirror is uploaded again, so delete from both (or delete the mirror).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import pyarrow.fs as pafs

from orchestrator.store.files import write_atomically, write_text_atomically
from orchestrator.store.sweep_lock import LOCK

MIRROR_ROOT = "EMOSWEEP_MIRROR"  # environment: where mirrors live (default ~/.cache/emosweep)
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def is_uri(location: str | Path) -> bool:
    return isinstance(location, str) and _URI.match(location) is not None


def mirror_folder(uri: str) -> Path:
    """The local mirror of storage ``uri``: one folder per bucket and prefix."""
    parsed = urlparse(uri)
    root = Path(os.environ.get(MIRROR_ROOT) or "~/.cache/emosweep/storage").expanduser()
    return root / parsed.scheme / parsed.netloc / parsed.path.strip("/")


def open_location(location: str) -> tuple[pafs.FileSystem, str]:
    """The file system and path of a URI, or of a local path."""
    if is_uri(location):
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), str(Path(location).absolute())


def join(location: str, *parts: str) -> str:
    """``location``/``parts``, for a URI as for a local path."""
    return "/".join([location.rstrip("/"), *parts])


def is_checkpoint(relative: str) -> bool:
    """A file of a trial's checkpoint (Tune's, or Ray Train's under train/)."""
    return any(part.startswith("checkpoint_") for part in PurePosixPath(relative).parts)


def sync(uri: str, mirror: Path) -> tuple[int, int]:
    """Bring the storage and its mirror level, checkpoints left out: a file only one side
    has is copied to the other, a file both have but that differs is copied from the newer
    side (each file has one writer: Ray in the storage, the driver in the mirror). Returns
    (downloaded, uploaded); ``OSError`` when the storage cannot be reached."""
    fs, root = open_location(uri)
    bucket = root.split("/", 1)[0]
    if fs.get_file_info(bucket).type == pafs.FileType.NotFound:  # an empty listing, else
        raise FileNotFoundError(
            f"bucket {bucket!r} not found (or not visible to these credentials)"
        )
    remote = _files(fs, root)
    local = {
        path.relative_to(mirror).as_posix(): path
        for path in (mirror.rglob("*") if mirror.is_dir() else [])
        if path.is_file() and not _driver_only(path)
    }
    down = [name for name, info in remote.items() if _newer(info, local.get(name))]
    up = [name for name, path in local.items() if _older(remote.get(name), path)]
    for name in down:
        target = mirror / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, lambda temp, path=remote[name].path: _download(fs, path, temp))
        _stamp(target, remote[name])
    for name in up:
        with fs.open_output_stream(join(root, name)) as stream:
            stream.write(local[name].read_bytes())
        _stamp(local[name], fs.get_file_info(join(root, name)))
    return len(down), len(up)


def _files(fs: pafs.FileSystem, root: str) -> dict[str, pafs.FileInfo]:
    found = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    prefix = len(root.rstrip("/")) + 1
    return {
        info.path[prefix:]: info
        for info in found
        if info.type == pafs.FileType.File and not is_checkpoint(info.path[prefix:])
    }


def _driver_only(path: Path) -> bool:
    """The driver's lock and half-written temporary files stay here."""
    return path.name == LOCK or (path.name.startswith(".") and path.name.endswith(".tmp"))


def _newer(info: pafs.FileInfo, local: Path | None) -> bool:
    """Whether the stored file replaces the mirror's: new, or changed since they were level (a
    copy the driver has not written since still has the stored time, which has one-second
    precision in S3, so a size that differs tells the change within that second)."""
    if local is None:
        return True
    stat, stored = local.stat(), info.mtime_ns or 0
    return stored > stat.st_mtime_ns or (stored == stat.st_mtime_ns and info.size != stat.st_size)


def _older(info: pafs.FileInfo | None, local: Path) -> bool:
    """Whether the mirror's file replaces the stored one: new, or written here since."""
    return info is None or local.stat().st_mtime_ns > (info.mtime_ns or 0)


def _download(fs: pafs.FileSystem, path: str, temporary: str) -> None:
    with fs.open_input_stream(path) as stream:
        Path(temporary).write_bytes(stream.read())


def _stamp(local: Path, info: pafs.FileInfo) -> None:
    """The copy takes the stored object's time: the two are level until one side changes."""
    if info.mtime_ns is not None:
        os.utime(local, ns=(info.mtime_ns, info.mtime_ns))


def read_text(fs: pafs.FileSystem, path: str) -> str | None:
    """A small file's text; None when it cannot be read."""
    try:
        with fs.open_input_stream(path) as stream:
            return stream.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def subfolders(fs: pafs.FileSystem, path: str) -> list[str]:
    """The folders in ``path`` (none when it does not exist), in name order."""
    found = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted(info.path for info in found if info.type == pafs.FileType.Directory)


def write_text(fs: pafs.FileSystem, path: str, text: str) -> None:
    """A small file written whole: an object store's upload is; a local file is renamed in."""
    if isinstance(fs, pafs.LocalFileSystem):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(Path(path), text)
        return
    with fs.open_output_stream(path) as stream:
        stream.write(text.encode("utf-8"))
