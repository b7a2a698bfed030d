"""Uploads: files from the browser saved into the corpus folder under safe, never-overwriting names."""

from __future__ import annotations

import filecmp
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from assistant.documents import iter_corpus_files
from assistant.model import DOC_TYPES, LANGUAGES, SIDECAR_SUFFIX

ALLOWED_SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
MAX_UPLOAD_MB = 20
# Leaves room for " (999)" and ".meta.yaml" within the usual 255-byte limit of a file name.
MAX_NAME_BYTES = 200
_MAGIC = {".pdf": (b"%PDF-",), ".docx": (b"PK\x03\x04",)}
_FORBIDDEN = re.compile(r'[<>:"|?*]')
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Device names Windows reserves whatever the extension: a corpus folder may be copied there.
_RESERVED = frozenset(("CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))))


class UploadRejected(ValueError):
    """A file that is not saved. ``reason`` is one of ``type``, ``size``, ``empty``, ``name``,
    ``content``, ``duplicate`` (then ``existing`` is the corpus path of the file it repeats)."""

    def __init__(self, reason: str, message: str, *, existing: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.existing = existing


@dataclass(frozen=True)
class SavedUpload:
    """A file saved into the corpus; ``renamed`` when its name was taken and a numbered one was used."""

    original_name: str
    name: str
    path: Path
    renamed: bool


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
) -> SavedUpload:
    """Copy an uploaded file into ``corpus_dir`` under a safe name, never replacing an existing file.

    If the name is taken, the file is saved as ``name (2).ext`` (then ``(3)``...) and
    ``renamed`` is set, so the caller can say so. A file whose bytes are already in the corpus,
    under any name, is not saved again.

    Args:
        source: the uploaded temporary file.
        corpus_dir: the corpus folder (created if missing).
        original_name: the name the user's file had (default: ``source``'s name).
        max_bytes: larger files are refused.

    Returns:
        Where the file was saved.

    Raises:
        UploadRejected: bad extension or name, empty, too large, content that does not match a
            PDF/DOCX extension, or the same bytes as a corpus file.
        OSError: the file cannot be read or the corpus folder written.
    """
    source = Path(source)
    original = original_name or source.name
    name = safe_file_name(original)
    size = source.stat().st_size
    if size == 0:
        raise UploadRejected("empty", f"{original!r} is empty")
    if size > max_bytes:
        raise UploadRejected("size", f"{original!r} has {size} bytes, more than {max_bytes}")
    suffix = Path(name).suffix
    with open(source, "rb") as incoming:
        head = incoming.read(8)
        if suffix in _MAGIC and not head.startswith(_MAGIC[suffix]):
            raise UploadRejected("content", f"{original!r} is not a {suffix} file")
        corpus = Path(corpus_dir)
        if (existing := _same_bytes_in(corpus, source, size)) is not None:
            raise UploadRejected("duplicate", f"{original!r} is already in the corpus as {existing}", existing=existing)
        corpus.mkdir(parents=True, exist_ok=True)
        target, descriptor = _claim(corpus, name)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(head)
                written = len(head)
                while block := incoming.read(1024 * 1024):
                    written += len(block)
                    if written > max_bytes:  # the file grew after stat()
                        raise UploadRejected("size", f"{original!r} is larger than {max_bytes} bytes")
                    out.write(block)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return SavedUpload(original_name=original, name=target.name, path=target, renamed=target.name != name)


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


def write_sidecar(document: Path, metadata: Mapping[str, str]) -> Path | None:
    """Write ``<document>.meta.yaml`` with ``metadata`` (already checked); nothing when it is empty.

    Raises:
        FileExistsError: a sidecar of that name exists already.
    """
    import yaml

    if not metadata:
        return None
    sidecar = document.with_name(document.name + SIDECAR_SUFFIX)
    with open(sidecar, "x", encoding="utf-8") as out:
        out.write("# Written by the web upload form.\n")
        yaml.safe_dump(dict(metadata), out, allow_unicode=True, sort_keys=False)
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


def _claim(corpus: Path, name: str) -> tuple[Path, int]:
    """Create ``name`` (or ``name (n)``) exclusively in ``corpus``: a concurrent upload can never share it."""
    stem, suffix = name[: -len(Path(name).suffix)], Path(name).suffix
    for number in range(1, 1000):
        candidate = corpus / (name if number == 1 else f"{stem} ({number}){suffix}")
        if candidate.with_name(candidate.name + SIDECAR_SUFFIX).exists():
            continue  # a leftover sidecar would give the new file someone else's metadata
        try:
            return candidate, os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
    raise UploadRejected("name", f"too many files named {name!r}")
