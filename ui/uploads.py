"""Uploads and removals: files from the browser saved into the corpus folder under safe, never-overwriting
names, each with a sidecar saying who uploaded it and when; documents removed; both logged.

A file appears in the corpus whole and after its sidecar: it is copied to a hidden temporary
file (which builds skip), its sidecar is created under the name it claims, then the file is
linked to that name. A build running meanwhile sees either nothing or the file with its
sidecar, never half a file, nor an upload without its provenance (which it would take for a
shipped document, believing the source its front matter claims).
"""

from __future__ import annotations

import filecmp
import hashlib
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from assistant import audit, files
from assistant.documents import iter_corpus_files
from assistant.errors import DocumentError
from assistant.model import ANONYMOUS, DOC_TYPES, LANGUAGES, SIDECAR_SUFFIX

logger = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
MAX_UPLOAD_MB = 20  # the default of Settings.upload_max_mb
# Leaves room for " (999)" and ".meta.yaml" within the usual 255-byte limit of a file name.
MAX_NAME_BYTES = 200
USER_CHARS = 100  # of an uploader's name kept in the sidecar
_MAGIC = {".pdf": (b"%PDF-",), ".docx": (b"PK\x03\x04",)}
_FORBIDDEN = re.compile(r'[<>:"|?*]')
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Device names Windows reserves whatever the extension: a corpus folder may be copied there.
_RESERVED = frozenset(("CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))))


class UploadRejected(ValueError):
    """A file that is not saved. ``reason`` is one of ``type``, ``size``, ``empty``, ``name``,
    ``content``, ``quota`` (the corpus folder would grow past its limit), ``duplicate`` (then
    ``existing`` is the corpus path of the file it repeats: a caller shows that document's
    title, not where it lies on the server)."""

    def __init__(self, reason: str, message: str, *, existing: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.existing = existing


class RemovalRefused(LookupError):
    """A document that cannot be removed: ``doc_id`` names no document of the corpus folder."""


@dataclass(frozen=True)
class SavedUpload:
    """A file saved into the corpus; ``renamed`` when its name was taken and a numbered one was used.

    ``sidecar`` is its metadata file (the metadata given and who uploaded it, when);
    ``sha256`` the hash of its bytes, as the audit log records it.
    """

    original_name: str
    name: str
    path: Path
    renamed: bool
    sidecar: Path | None = None
    sha256: str = ""


@dataclass(frozen=True)
class RemovedDocument:
    """A document removed from the corpus folder, with its sidecar if it had one."""

    doc_id: str
    sha256: str


def safe_file_name(name: str) -> str:
    """A file name that is safe to create inside the corpus folder.

    Keeps only the last path component (``../../x.txt`` → ``x.txt``, ``C:\\docs\\x.txt`` → ``x.txt``),
    drops control and invisible characters, replaces characters Windows forbids, removes leading
    dots, spaces, ``~`` and ``$`` (hidden and lock files are ignored by builds), prefixes names the
    corpus would skip (``README*``) and Windows device names (``CON.txt``), lower-cases the
    extension and shortens very long names.

    Raises:
        UploadRejected: the extension is not one of :data:`ALLOWED_SUFFIXES` (``type``) or
            nothing usable is left of the name (``name``).

    Example:
        >>> safe_file_name("../../etc/Послание.TXT")
        'Послание.txt'
    """
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    base = _FORBIDDEN.sub("_", base)
    base = " ".join(base.split()).lstrip(" .~$-").rstrip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        raise UploadRejected("type", f"{name!r} has no extension")
    suffix = "." + suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UploadRejected("type", f"{name!r}: {suffix} files are not accepted")
    stem = stem.rstrip(" .")
    if not stem or not any(ch.isalnum() for ch in stem):
        raise UploadRejected("name", f"{name!r} has no usable file name")
    if stem.upper().startswith("README") or stem.split(".")[0].rstrip().upper() in _RESERVED:
        stem = f"document-{stem}"  # builds skip README* files; Windows cannot open CON.txt, NUL.pdf...
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip(" .") + suffix


def save_upload(
    source: str | Path,
    corpus_dir: str | Path,
    *,
    original_name: str | None = None,
    max_bytes: int = MAX_UPLOAD_MB * 1024 * 1024,
    metadata: Mapping[str, str] | None = None,
    uploader: str = ANONYMOUS,
    room_bytes: int | None = None,
    audit_log: str | Path | None = None,
) -> SavedUpload:
    """Copy an uploaded file into ``corpus_dir`` under a safe name, never replacing an existing file.

    If the name is taken, the file is saved as ``name (2).ext`` (then ``(3)``...) and
    ``renamed`` is set, so the caller can say so. A file whose bytes are already in the corpus,
    under any name, is not saved again. Its sidecar (``metadata`` plus ``origin: uploaded``,
    ``added_by`` and ``added_at``) is written before the file appears under its name, and the
    file appears whole (see the module's docstring).

    Args:
        source: the uploaded temporary file.
        corpus_dir: the corpus folder (created if missing).
        original_name: the name the user's file had (default: ``source``'s name).
        max_bytes: larger files are refused.
        metadata: checked fields for the sidecar (see :func:`check_metadata`).
        uploader: the logged-in user's name, or :data:`~assistant.model.ANONYMOUS`.
        room_bytes: what the corpus folder may still grow by (see :func:`corpus_bytes`); a
            larger file is refused; ``None``: no limit.
        audit_log: where to append the upload (see :mod:`assistant.audit`); ``None``: not logged.

    Returns:
        Where the file and its sidecar were saved.

    Raises:
        UploadRejected: bad extension or name, empty, too large, no room left, content that does
            not match a PDF/DOCX extension, or the same bytes as a corpus file.
        OSError: the file cannot be read or the corpus folder (or the audit log) written.
    """
    source = Path(source)
    original = original_name or source.name
    name = safe_file_name(original)
    size = source.stat().st_size
    if size == 0:
        raise UploadRejected("empty", f"{original!r} is empty")
    if size > max_bytes:
        raise UploadRejected("size", f"{original!r} has {size} bytes, more than {max_bytes}")
    if room_bytes is not None and size > room_bytes:
        raise UploadRejected("quota", f"{original!r} has {size} bytes; the corpus has room for {max(room_bytes, 0)}")
    suffix = Path(name).suffix
    corpus = Path(corpus_dir)
    with open(source, "rb") as incoming:
        head = incoming.read(8)
        if suffix in _MAGIC and not head.startswith(_MAGIC[suffix]):
            raise UploadRejected("content", f"{original!r} is not a {suffix} file")
        if (existing := _same_bytes_in(corpus, source, size)) is not None:
            raise UploadRejected("duplicate", f"{original!r} is already in the corpus as {existing}", existing=existing)
        corpus.mkdir(parents=True, exist_ok=True)
        temporary, digest = _copy_hidden(incoming, head, corpus, original, max_bytes)
    try:
        printable = "".join(char if char.isprintable() else " " for char in str(uploader or ""))
        user = " ".join(printable.split())[:USER_CHARS] or ANONYMOUS
        sidecar = sidecar_text(metadata or {}, uploader=user)
        target = _place(temporary, corpus, name, sidecar)
    finally:
        temporary.unlink(missing_ok=True)
    files.sync_directory(corpus)
    if audit_log is not None:
        document = target.relative_to(corpus).as_posix()
        try:
            audit.record(audit_log, "upload", user=user, document=document, sha256=digest, name=original)
        except BaseException:  # no change of the corpus without its line in the log
            target.unlink(missing_ok=True)
            target.with_name(target.name + SIDECAR_SUFFIX).unlink(missing_ok=True)
            raise
    return SavedUpload(
        original_name=original, name=target.name, path=target, renamed=target.name != name,
        sidecar=target.with_name(target.name + SIDECAR_SUFFIX), sha256=digest,
    )  # fmt: skip


def corpus_bytes(corpus_dir: str | Path) -> int:
    """How much the corpus folder holds: every file in it and its subfolders (links not followed)."""
    total = 0
    for folder, _, names in os.walk(corpus_dir):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:  # removed meanwhile
                continue
    return total


def remove_document(
    corpus_dir: str | Path, doc_id: str, *, user: str = ANONYMOUS, title: str = "", audit_log: str | Path | None = None
) -> RemovedDocument:
    """Delete a document and its sidecar from the corpus folder, logged first.

    The log's line comes before the deletion, so no document leaves the corpus unlogged; the
    document goes before its sidecar, so a build running meanwhile never reads it without its
    sidecar. It leaves the search at the next build.

    Args:
        corpus_dir: the corpus folder.
        doc_id: the document's path in it (as the index and the documents table show it).
        user: who removes it.
        title: its title as the index knew it, for the log.
        audit_log: where to append the removal; ``None``: not logged.

    Raises:
        RemovalRefused: ``doc_id`` is not a file a build would read (a hidden file, a sidecar,
            something outside the corpus folder, a file that is not there).
        OSError: the file cannot be read or removed, or the log written.
    """
    corpus = Path(corpus_dir)
    try:
        path = next(path for path in iter_corpus_files(corpus) if path.relative_to(corpus).as_posix() == doc_id)
    except (StopIteration, DocumentError):  # DocumentError: no corpus folder
        raise RemovalRefused(f"{doc_id!r} is not a document of the corpus") from None
    digest = _sha256(path)
    if audit_log is not None:
        audit.record(audit_log, "delete", user=user, document=doc_id, sha256=digest, title=title)
    path.unlink()
    path.with_name(path.name + SIDECAR_SUFFIX).unlink(missing_ok=True)
    files.sync_directory(path.parent)
    return RemovedDocument(doc_id, digest)


def check_metadata(metadata: Mapping[str, object]) -> dict[str, str]:
    """The non-empty fields of an upload's metadata, checked: ``doc_type``, ``region``, ``date``, ``lang``.

    Raises:
        ValueError: a date that is not a real ``YYYY-MM-DD`` day, an unknown document type or language,
            or an unknown field.
    """
    checked: dict[str, str] = {}
    for key, value in metadata.items():
        text = " ".join("".join(ch for ch in str(value or "") if ch.isprintable()).split())
        if not text:
            continue
        if key == "date":
            if not _DATE.match(text):
                raise ValueError(f"date {text!r} is not YYYY-MM-DD")
            date.fromisoformat(text)  # a ValueError for 2025-02-30
        elif key == "doc_type" and text not in DOC_TYPES:
            raise ValueError(f"unknown document type {text!r}")
        elif key == "lang" and text not in LANGUAGES:
            raise ValueError(f"unknown language {text!r}")
        elif key == "region":
            text = text[:100]
        elif key not in ("date", "doc_type", "lang"):
            raise ValueError(f"unknown metadata field {key!r}")
        checked[key] = text
    return checked


def sidecar_text(metadata: Mapping[str, str], *, uploader: str | None = None) -> str:
    """The sidecar of an uploaded file: ``metadata`` (already checked), then, when ``uploader`` is
    given, ``origin: uploaded``, ``added_by`` and ``added_at`` (now, UTC). Values are YAML-quoted
    as needed, so no value can add a key of its own."""
    import yaml

    data = dict(metadata)
    if uploader is not None:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        data.update(origin="uploaded", added_by=uploader, added_at=now)
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10000)
    return "# Written by the web upload form.\n" + body


def write_sidecar(document: Path, metadata: Mapping[str, str]) -> Path | None:
    """Write ``<document>.meta.yaml`` with ``metadata`` (already checked); nothing when it is empty.

    :func:`save_upload` writes an upload's sidecar itself (with who uploaded it); this writes
    metadata alone, for a file put into the corpus otherwise.

    Raises:
        FileExistsError: a sidecar of that name exists already.
    """
    if not metadata:
        return None
    sidecar = document.with_name(document.name + SIDECAR_SUFFIX)
    with open(sidecar, "x", encoding="utf-8") as out:
        out.write(sidecar_text(metadata))
    return sidecar


def _same_bytes_in(corpus: Path, source: Path, size: int) -> str | None:
    """The corpus path of a document with exactly ``source``'s bytes, if any (sizes compared first)."""
    if not corpus.is_dir():
        return None
    for path in iter_corpus_files(corpus):
        try:
            if path.stat().st_size == size and filecmp.cmp(path, source, shallow=False):
                return path.relative_to(corpus).as_posix()
        except OSError:  # unreadable: the build reports it
            continue
    return None


def _copy_hidden(incoming, head: bytes, corpus: Path, original: str, max_bytes: int) -> tuple[Path, str]:
    """Copy the rest of ``incoming`` after ``head`` into a new hidden file of ``corpus`` (builds skip
    dot names), flushed to the disk; returns it and the SHA-256 of the bytes."""
    temporary = corpus / f".upload-{secrets.token_hex(8)}.part"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    digest = hashlib.sha256(head)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(head)
            written = len(head)
            while block := incoming.read(1024 * 1024):
                written += len(block)
                if written > max_bytes:  # the file grew after stat()
                    raise UploadRejected("size", f"{original!r} is larger than {max_bytes} bytes")
                digest.update(block)
                out.write(block)
            files.sync(out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, digest.hexdigest()


def _place(temporary: Path, corpus: Path, name: str, sidecar: str) -> Path:
    """Give ``temporary`` the name ``name`` (or ``name (n)``) in ``corpus``, its sidecar written first.

    Creating the sidecar exclusively claims the name, so two uploads never share one; a name
    whose sidecar is left over from an earlier file is skipped (that metadata is someone
    else's), and the file is linked, never renamed over an existing one.
    """
    stem, suffix = name[: -len(Path(name).suffix)], Path(name).suffix
    for number in range(1, 1000):
        candidate = corpus / (name if number == 1 else f"{stem} ({number}){suffix}")
        sidecar_path = candidate.with_name(candidate.name + SIDECAR_SUFFIX)
        if os.path.lexists(candidate):  # a dangling link too: never followed, never replaced
            continue
        try:
            descriptor = os.open(sidecar_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(sidecar)
                files.sync(out)
            _link(temporary, candidate)
        except FileExistsError:  # the name was taken meanwhile
            sidecar_path.unlink(missing_ok=True)
            continue
        except BaseException:
            sidecar_path.unlink(missing_ok=True)
            raise
        return candidate
    raise UploadRejected("name", f"too many files named {name!r}")


def _link(temporary: Path, target: Path) -> None:
    """``temporary``'s file under the name ``target`` too, failing with ``FileExistsError`` if it is taken."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: a rename, after checking the name is free
        if os.path.lexists(target):
            raise FileExistsError(target) from None
        os.rename(temporary, target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
