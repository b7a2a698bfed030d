"""Audit log: who added a document to the corpus or removed one, what and when, as append-only JSON lines.

Each change is one line (``{"time": ..., "action": "upload", "user": ..., "document": ...,
"sha256": ..., ...}``) appended with ``O_APPEND`` and flushed to the disk before the change is
reported done; nothing here ever rewrites or truncates the file. Reading tolerates a damaged
line (a crash mid-write, an edit by hand): it is skipped with a warning, the rest is read.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from assistant.model import AUDIT_ACTIONS

__all__ = ["AuditEntry", "read_entries", "record"]

logger = logging.getLogger(__name__)

FIELD_CHARS = 500  # a longer title or name is cut: one line stays small enough to append in one write
TAIL_BYTES = 1 << 20  # reading looks at most this far back from the end of the file


@dataclass(frozen=True)
class AuditEntry:
    """One change of the corpus.

    Attributes:
        time: when, ISO 8601 in UTC (``2026-01-05T10:11:12Z``).
        action: one of :data:`assistant.model.AUDIT_ACTIONS`.
        user: who (the logged-in user's name, or ``anonymous``).
        document: the document's path in the corpus folder.
        sha256: SHA-256 of the file's bytes (of the file saved, or of the file removed).
        name: an upload's file name as the user's computer called it.
        title: a removed document's title, as the index knew it.
    """

    time: str
    action: str
    user: str
    document: str
    sha256: str
    name: str = ""
    title: str = ""


_FIELDS = tuple(item.name for item in fields(AuditEntry))


def record(
    path: str | Path, action: str, *, user: str, document: str, sha256: str, name: str = "", title: str = ""
) -> AuditEntry:
    """Append one entry to the log at ``path`` (created if missing) and flush it to the disk.

    Raises:
        ValueError: ``action`` is not one of ``AUDIT_ACTIONS``.
        OSError: the log cannot be written; the caller must not report the change as logged.
    """
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r} (known: {', '.join(AUDIT_ACTIONS)})")
    time = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = (time, action, user, document, sha256, name, title)
    entry = AuditEntry(*(_one_line(value) for value in values))
    line = (json.dumps(asdict(entry), ensure_ascii=False) + "\n").encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        written = 0
        while written < len(line):  # one write() in practice: lines are a few hundred bytes
            written += os.write(descriptor, line[written:])
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return entry


def read_entries(path: str | Path, *, last: int = 200) -> tuple[AuditEntry, ...]:
    """The ``last`` entries of the log at ``path``, newest first; none when there is no log yet.

    Raises:
        OSError: the log exists but cannot be read.
    """
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - TAIL_BYTES))
            tail = log.read()
    except FileNotFoundError:
        return ()
    lines = tail.split(b"\n")
    if size > TAIL_BYTES:
        lines = lines[1:]  # the first one is cut
    entries = []
    for line in reversed(lines):
        if len(entries) >= last:
            break
        if line.strip():
            entry = _parsed(line)
            if entry is None:
                logger.warning("skipping a damaged line of the audit log %s", path)
            else:
                entries.append(entry)
    return tuple(entries)


def _parsed(line: bytes) -> AuditEntry | None:
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(name, ""), str) for name in _FIELDS):
        return None
    if data.get("action") not in AUDIT_ACTIONS:
        return None
    return AuditEntry(**{name: data.get(name, "") for name in _FIELDS})


def _one_line(value: str) -> str:
    text = " ".join("".join(ch for ch in str(value) if ch.isprintable() or ch.isspace()).split())
    return text[:FIELD_CHARS]
