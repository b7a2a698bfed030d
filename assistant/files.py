"""Files written so that a crash leaves either the old version or the new one, never half of one.

One home for what the store (builds and the ``CURRENT`` pointer), the weight converter, the
crawler (corpus files) and the model downloader all need: write a temporary file beside the
target, flush it to the disk, rename it over the target, and flush the folder so the rename
itself survives a power cut.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any

__all__ = ["sync", "sync_directory", "sync_path", "write_atomically"]


def sync(handle: IO[Any]) -> None:
    """Flush an open file's buffers and make the OS write it to the disk."""
    handle.flush()
    os.fsync(handle.fileno())


def sync_path(path: str | Path) -> None:
    """Make the OS write a file (or a folder's entries) to the disk; errors are raised."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_directory(path: str | Path) -> None:
    """Like :func:`sync_path` for a folder, where a platform that cannot sync folders is not an error.

    The rename before it is atomic either way; the sync only makes it survive a power cut.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_atomically(path: str | Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Replace ``path`` by a file holding ``data``, or leave it as it was.

    The temporary file sits in the same folder (a rename is atomic only within one file
    system) and has a dot name that corpus walkers skip if a crash leaves it behind. The new file keeps the permissions of the one it replaces (0644 when there was
    none), not ``mkstemp``'s private 0600, unless ``mode`` is given: then it has exactly those
    permissions from its first byte on (the users file's 0600). Text is written as UTF-8.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)  # reopened by name below: ``open`` is the one way this module writes
    try:
        if mode is None:
            try:
                mode = path.stat().st_mode & 0o777
            except FileNotFoundError:
                mode = 0o644
        os.chmod(temporary, mode)
        with open(temporary, "wb") as out:
            out.write(payload)
            sync(out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
