"""Documents: corpus files read into text plus citation metadata."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import DocumentError, UnsupportedFormat
from assistant.metadata import (
    DOC_TYPES,
    METADATA_KEYS,
    SIDECAR_PROVENANCE_KEYS,
    date_from_name,
    detect_language,
    guess_doc_type,
    parse_sidecar,
    shorten,
    title_from_name,
)
from assistant.model import (
    REGION_CHARS,
    SECTION_CHARS,
    SECTION_PART_CHARS,
    SECTION_SEPARATOR,
    SIDECAR_SUFFIX,
    SUPPORTED_SUFFIXES,
    TITLE_CHARS,
    Citation,
    Document,
    Provenance,
    Section,
)

if TYPE_CHECKING:
    from assistant.readers import Extracted

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DOC_TYPES",
    "METADATA_KEYS",
    "SECTION_PART_CHARS",
    "SECTION_SEPARATOR",
    "SIDECAR_SUFFIX",
    "SUPPORTED_SUFFIXES",
    "Document",
    "FieldLimits",
    "Section",
    "detect_language",
    "extract",
    "file_fingerprint",
    "iter_corpus_files",
    "load_document",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# A .docx or .pdf may unpack to this many times max_bytes: a small file that expands to gigabytes
# (a decompression bomb) is refused before it is expanded.
UNPACK_FACTOR = 2


@dataclass(frozen=True)
class FieldLimits:
    """The longest title, region and section title a document keeps, in characters
    (``Settings.max_title_chars``, ``max_region_chars``, ``max_section_chars``).

    A 2 MB title in front matter would otherwise be sent to every visitor on every page load
    and put into every prompt: a longer value is cut at a word, with ``…``, when the file is read.
    """

    title: int = TITLE_CHARS
    region: int = REGION_CHARS
    section: int = SECTION_CHARS

def file_fingerprint(path: Path, *, max_bytes: int | None = None) -> str:
    """Hash of a corpus file's bytes and of its sidecar metadata file, if any.

    Cheap compared with parsing: a build uses it to decide whether a file changed. The file is
    read in blocks, so an enormous file costs time but not memory.

    Args:
        path: the corpus file.
        max_bytes: a larger file is refused before it is read.

    Raises:
        DocumentError: the file is larger than ``max_bytes``.
        OSError: the file cannot be read.
    """
    if max_bytes is not None and (size := path.stat().st_size) > max_bytes:
        raise DocumentError(f"file too large: {size:,} bytes (limit {max_bytes:,})")
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    sidecar = _sidecar_path(path)
    if sidecar.is_file():
        digest.update(b"\0sidecar\0")
        digest.update(sidecar.read_bytes())
    return digest.hexdigest()


def _fingerprint(data: bytes, sidecar: bytes | None) -> str:
    digest = hashlib.sha256()
    digest.update(data)
    if sidecar is not None:
        digest.update(b"\0sidecar\0")
        digest.update(sidecar)
    return digest.hexdigest()


def _sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


# --------------------------------------------------------------------------------------------
# Walking a corpus
# --------------------------------------------------------------------------------------------


def iter_corpus_files(corpus_root: Path, *, on_skip: Callable[[Path, str], None] | None = None) -> Iterator[Path]:
    """Every file of a corpus that a build should look at, sorted by relative path.

    Unsupported files are yielded too, so that a build can report them. Skipped silently:
    hidden files and folders (name starting with ``.``), sidecar metadata files (``*.meta.yaml``),
    ``README*`` files and Word lock files (``~$*``). Symbolic links are followed only when they
    point to a file inside the corpus root; links to folders are not descended (a folder inside
    the root is walked anyway, one outside it does not belong to the corpus).

    Args:
        corpus_root: the corpus folder.
        on_skip: called as ``on_skip(path, reason)`` for what is left out that a user may have
            meant to index: links leading out of the corpus, broken links, folders that cannot
            be listed, named pipes, sockets and devices (builds report them as skipped).

    Yields:
        Paths of the form ``corpus_root / relative_path`` (not resolved), so that
        ``path.relative_to(corpus_root)`` gives the document id.

    Raises:
        DocumentError: ``corpus_root`` is not a folder.
    """
    root = Path(corpus_root)
    if not root.is_dir():
        raise DocumentError(f"corpus folder {root} does not exist or is not a folder")
    real_root = root.resolve()
    skip = on_skip or (lambda path, reason: None)
    found: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            logger.warning("cannot list corpus folder %s: %s", folder, error.strerror or error)
            if folder != root:
                skip(folder, f"cannot list folder: {error.strerror or error}")
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                continue
            if not _is_utf8_name(entry.name):
                # Ids, the manifest and reports are UTF-8 text: such a name (from an archive made
                # on Windows, say) would stop the whole build. Reported under a readable name.
                readable, guess = _readable_name(entry.name)
                logger.warning("skipping %s: its name is not UTF-8", path.with_name(readable))
                skip(path.with_name(readable), f"file name is not UTF-8{guess}: rename it")
                continue
            if entry.is_symlink():
                if _is_skipped_name(entry.name):
                    continue
                problem = _link_problem(path, real_root)
                if problem is None:
                    found.append(path)
                elif problem:
                    skip(path, problem)
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(path)
            elif _is_skipped_name(entry.name):
                continue
            elif entry.is_file(follow_symlinks=False):
                found.append(path)
            else:  # opening a named pipe would wait for a writer forever; a device never ends
                logger.warning("skipping %s: not a regular file", path)
                skip(path, f"not a regular file ({_file_kind(entry)}): skipped")
    found.sort(key=lambda path: path.relative_to(root).as_posix())
    yield from found


def _file_kind(entry: os.DirEntry) -> str:
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return "unknown kind"
    kinds = (
        (stat.S_ISFIFO, "named pipe"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "device"),
        (stat.S_ISBLK, "device"),
    )
    return next((name for test, name in kinds if test(mode)), "unknown kind")


def _is_skipped_name(name: str) -> bool:
    """Sidecars, READMEs, Office lock files and source lists (``sources.tsv``) are not documents."""
    lowered = name.lower()
    return (
        lowered.endswith((SIDECAR_SUFFIX, ".tsv"))
        or name.upper().startswith("README")
        or name.startswith(("~$", "."))
    )


def _is_utf8_name(name: str) -> bool:
    """False for a name with bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    return not any("\udc80" <= char <= "\udcff" for char in name)


def _readable_name(name: str) -> tuple[str, str]:
    """A printable version of a non-UTF-8 name, and how it reads in a Cyrillic code page if it does."""
    raw = os.fsencode(name)
    from assistant.readers.text import cyrillic_codecs

    for encoding in cyrillic_codecs(raw):
        return raw.decode(encoding), f" (it reads {raw.decode(encoding)!r} in {encoding})"
    return raw.decode("utf-8", errors="replace"), ""


def _link_problem(link: Path, real_root: Path) -> str | None:
    """Why a symbolic link is not followed (``""``: no reason worth reporting), or ``None`` to follow it.

    Only a link to a regular file inside the corpus root is followed.
    """
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        logger.warning("skipping broken or looping symbolic link %s", link)
        return "broken or looping symbolic link"
    if not target.is_relative_to(real_root):
        logger.warning("not following symbolic link %s: it points outside the corpus (%s)", link, target)
        return "symbolic link to outside the corpus folder: not followed"
    if target.is_dir():
        logger.debug("not descending linked folder %s: its target inside the corpus is walked anyway", link)
        return ""
    return None if target.is_file() else "symbolic link to something that is not a regular file"


# --------------------------------------------------------------------------------------------
# Loading one document
# --------------------------------------------------------------------------------------------


def load_document(
    path: Path,
    corpus_root: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    limits: FieldLimits = FieldLimits(),
    reader: Callable[..., Extracted] | None = None,
) -> Document:
    """Read one corpus file into a :class:`Document`: main text, headings and citation metadata.

    ``.txt``/``.md`` in any common encoding, ``.docx`` (paragraphs and tables in order), ``.html``
    (the main article only) and ``.pdf`` (the text layer, a section per page). The text is
    NFC-normalised with ``\\n`` newlines and no zero-width or control characters. Sections are
    Markdown and Word headings and the headings of normative acts (``Глава 1. … › Статья 1. …``).
    Each citation field comes from the first source that has it: a ``<file>.meta.yaml`` sidecar,
    front matter (or a ``date YYYY-MM-DD`` first line), the format's own metadata, then
    fallbacks guessed from the text and the file name; a declared region in any language is
    normalised to its canonical name. The rules in full: ``docs/usage.md``, "Corpus format".

    The provenance comes from the sidecar alone (``origin``, ``added_by``, ``added_at``,
    ``fetched_from``; a file without one is ``shipped``), plus the SHA-256 of the file's bytes.
    An uploaded file cannot name its own source or outlet: what its front matter or HTML says
    (``source``, ``outlet``, ``og:url``) becomes ``stated_source``/``stated_outlet``, and its
    source is its sidecar's, else its path in the corpus.

    Args:
        path: the file, inside ``corpus_root``.
        corpus_root: the corpus folder; the document id is the path relative to it.
        max_bytes: larger files are refused, and a ``.docx`` or ``.pdf`` that unpacks to more than
            ``UNPACK_FACTOR`` times this (a decompression bomb).
        limits: the longest title, region and section title kept; longer ones are cut (and
            listed in ``Document.cut``).
        reader: called as ``reader(data, suffix, max_unpacked=...)`` in place of :func:`extract`
            (a build passes :meth:`assistant.parsing.ReaderWorker.extract`, which keeps a time budget).

    Returns:
        The document; ``content_hash`` equals ``file_fingerprint(path)``.

    Raises:
        UnsupportedFormat: the suffix is not one of ``SUPPORTED_SUFFIXES``.
        DocumentError: with a one-line reason (no file name: callers pair it with the document id)
            for a file that is missing, unreadable, empty, too large (or unpacks too large), not text,
            corrupt, encrypted, without a text layer or without text, or whose metadata is malformed.
    """
    path = Path(path)
    doc_id = _document_id(path, Path(corpus_root))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFormat(
            f"unsupported file type {suffix or '(no suffix)'!r} (supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    data = _read_file(path, max_bytes)
    sidecar_bytes = _read_sidecar(path)
    sidecar = parse_sidecar(sidecar_bytes, _sidecar_path(path).name) if sidecar_bytes is not None else {}

    extracted = (reader or extract)(data, suffix, max_unpacked=UNPACK_FACTOR * max_bytes)
    if not extracted.text.strip():
        raise DocumentError("no text")

    own = {**extracted.guessed, **extracted.declared}  # what the file says of itself
    cut: list[str] = []
    provenance = _provenance(sidecar, own, data, limits, cut)
    metadata = {**own, **sidecar}
    citation = _citation(metadata, path, extracted.text, doc_id, limits, cut)
    sections = _within_limit(extracted.sections, limits.section, cut)
    for note in cut:
        logger.warning("%s: %s", doc_id, note)
    return Document(
        doc_id=doc_id,
        text=extracted.text,
        citation=citation,
        sections=tuple(sorted(sections, key=lambda section: section.start)),
        content_hash=_fingerprint(data, sidecar_bytes),
        cut=tuple(cut),
        provenance=provenance,
    )


def _provenance(sidecar: dict, own: dict, data: bytes, limits: FieldLimits, cut: list[str]) -> Provenance:
    """How the file entered the corpus, from its sidecar alone (taking those keys out of it); for an
    upload, what the file says of its source and outlet moves out of ``own`` into ``stated_*``,
    within the title's length limit."""
    recorded = {key: sidecar.pop(key) for key in SIDECAR_PROVENANCE_KEYS if key in sidecar}
    provenance = Provenance(**{"origin": "shipped", **recorded}, file_sha256=hashlib.sha256(data).hexdigest())
    if not provenance.uploaded:
        return provenance
    stated = {
        name: _shortened(own.pop(name, ""), limits.title, f"stated {name}", cut) for name in ("source", "outlet")
    }
    return replace(provenance, stated_source=stated["source"], stated_outlet=stated["outlet"])


def _citation(
    metadata: dict[str, str], path: Path, text: str, doc_id: str, limits: FieldLimits, cut: list[str]
) -> Citation:
    """The citation from the metadata found, each field guessed from the file where none was given,
    the title and region within ``limits`` (what was cut is appended to ``cut``)."""
    title = _shortened(metadata.get("title") or title_from_name(path, text), limits.title, "title", cut)
    declared_region = _shortened(metadata.get("region", ""), limits.region, "region", cut)
    return Citation(
        title=title,
        date=metadata.get("date") or date_from_name(path.name),
        region=_region(declared_region, text, title),
        doc_type=metadata.get("doc_type") or guess_doc_type(text),
        lang=metadata.get("lang") or detect_language(text),
        source=metadata.get("source") or doc_id,
    )


def _shortened(value: str, limit: int, name: str, cut: list[str]) -> str:
    """``value`` cut at a word to at most ``limit`` characters; a note in ``cut`` when it was."""
    if len(value) <= limit:
        return value
    cut.append(f"{name} cut to {limit:,} characters (it had {len(value):,})")
    return shorten(value, limit)


def _within_limit(sections: tuple[Section, ...], limit: int, cut: list[str]) -> list[Section]:
    """``sections`` with each title of more than ``limit`` characters cut; one note in ``cut`` for them all."""
    longest = max((len(section.title) for section in sections), default=0)
    if longest <= limit:
        return list(sections)
    count = sum(len(section.title) > limit for section in sections)
    cut.append(f"{count:,} section title(s) cut to {limit:,} characters (the longest had {longest:,})")
    return [Section(section.start, shorten(section.title, limit)) for section in sections]


def _region(declared: str, text: str, title: str) -> str:
    """The canonical region: the declared one normalised, else the one the text is about, else ""."""
    from assistant.regions import canonical_region, detect_region

    if declared.strip():
        return canonical_region(declared) or declared.strip()
    return detect_region(text, title)


def extract(data: bytes, suffix: str, *, max_unpacked: int) -> Extracted:
    """Run the reader for ``suffix`` in this process; a ``.docx`` or ``.pdf`` may unpack to ``max_unpacked`` bytes.

    Raises:
        DocumentError: the reader refuses the file (corrupt, encrypted, no text...).

    Each reader is imported only here, so that python-docx, pypdf, trafilatura and lxml load only
    when a file of their format is read.
    """
    if suffix == ".docx":
        from assistant.readers.docx import extract_docx

        return extract_docx(data, max_unpacked=max_unpacked)
    if suffix == ".pdf":
        from assistant.readers.pdf import extract_pdf

        return extract_pdf(data, max_unpacked=max_unpacked)
    if suffix in (".html", ".htm"):
        from assistant.readers.html import extract_html

        return extract_html(data)
    from assistant.readers.text import extract_text

    return extract_text(data, markdown=suffix != ".txt")


def _document_id(path: Path, root: Path) -> str:
    for candidate, base in ((path, root), (path.absolute(), root.absolute()), (path.resolve(), root.resolve())):
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    raise DocumentError(f"{path} is not inside the corpus folder {root}")


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise DocumentError("not a regular file")
        if size > max_bytes:
            raise DocumentError(f"file too large: {size:,} bytes (limit {max_bytes:,})")
        data = path.read_bytes()
    except OSError as error:
        raise DocumentError(f"cannot read file: {error.strerror or error}") from error
    if not data:
        raise DocumentError("empty file")
    if len(data) > max_bytes:  # it grew between stat and read
        raise DocumentError(f"file too large: {len(data):,} bytes (limit {max_bytes:,})")
    return data


def _read_sidecar(path: Path) -> bytes | None:
    sidecar = _sidecar_path(path)
    if not sidecar.is_file():
        return None
    try:
        return sidecar.read_bytes()
    except OSError as error:
        raise DocumentError(f"cannot read metadata file {sidecar.name}: {error.strerror or error}") from error
