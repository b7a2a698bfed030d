"""Documents: corpus files read into text plus citation metadata."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import DocumentError, UnsupportedFormat

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".docx", ".html", ".htm", ".pdf")
SIDECAR_SUFFIX = ".meta.yaml"
DOC_TYPES = ("address", "regional_response", "legal_act", "other")
METADATA_KEYS = ("title", "date", "region", "doc_type", "lang", "source")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

SECTION_SEPARATOR = " › "
SECTION_PART_CHARS = 120  # each part of a hierarchical section title is cut to about this length


@dataclass(frozen=True)
class Section:
    """A heading inside a document and where its text starts (character offset in ``Document.text``)."""

    start: int
    title: str


@dataclass(frozen=True)
class Document:
    """One corpus file, read and ready to chunk.

    Attributes:
        doc_id: path relative to the corpus root, with forward slashes (stable across rebuilds).
        text: the extracted main text; chunk offsets point into this string.
        title, date, region, doc_type, lang, source: citation metadata (date as ``YYYY-MM-DD``;
            empty string where unknown).
        sections: headings in order of ``start`` ("Глава 3. ...", "Статья 12. ...", "page 4").
        content_hash: hash of the file bytes plus its sidecar, used to skip unchanged files.
    """

    doc_id: str
    text: str
    title: str
    date: str = ""
    region: str = ""
    doc_type: str = "other"
    lang: str = ""
    source: str = ""
    sections: tuple[Section, ...] = field(default=())
    content_hash: str = ""


def file_fingerprint(path: Path) -> str:
    """Hash of a corpus file's bytes and of its sidecar metadata file, if any.

    Cheap compared with parsing: a build uses it to decide whether a file changed.
    """
    sidecar = _sidecar_path(path)
    return _fingerprint(path.read_bytes(), sidecar.read_bytes() if sidecar.is_file() else None)


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


def iter_corpus_files(corpus_root: Path) -> Iterator[Path]:
    """Every file of a corpus that a build should look at, sorted by relative path.

    Unsupported files are yielded too, so that a build can report them. Skipped silently:
    hidden files and folders (name starting with ``.``), sidecar metadata files (``*.meta.yaml``),
    ``README*`` files and Word lock files (``~$*``). Symbolic links are followed only when they
    point to a file inside the corpus root; links to folders are not descended (a folder inside
    the root is walked anyway, one outside it does not belong to the corpus).

    Args:
        corpus_root: the corpus folder.

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
    found: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            logger.warning("cannot list corpus folder %s: %s", folder, error.strerror or error)
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                if _linked_file_inside(path, real_root):
                    if not _is_skipped_name(entry.name):
                        found.append(path)
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(path)
            elif entry.is_file(follow_symlinks=False) and not _is_skipped_name(entry.name):
                found.append(path)
    found.sort(key=lambda path: path.relative_to(root).as_posix())
    yield from found


def _is_skipped_name(name: str) -> bool:
    return name.lower().endswith(SIDECAR_SUFFIX) or name.upper().startswith("README") or name.startswith("~$")


def _linked_file_inside(link: Path, real_root: Path) -> bool:
    """Whether a symbolic link points to a regular file inside the corpus root (logging why not)."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        logger.warning("skipping broken or looping symbolic link %s", link)
        return False
    if not target.is_relative_to(real_root):
        logger.warning("not following symbolic link %s: it points outside the corpus (%s)", link, target)
        return False
    if target.is_dir():
        logger.debug("not descending linked folder %s: its target inside the corpus is walked anyway", link)
        return False
    return target.is_file()


# --------------------------------------------------------------------------------------------
# Loading one document
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Extracted:
    """What a format reader found: text, headings, metadata written in the file, and guesses."""

    text: str
    sections: tuple[Section, ...] = ()
    declared: Mapping[str, str] = field(default_factory=dict)  # front matter, date marker
    guessed: Mapping[str, str] = field(default_factory=dict)  # format fallbacks (heading title, html date)


def load_document(path: Path, corpus_root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read one corpus file into a :class:`Document`: main text, headings and citation metadata.

    Formats:

    - ``.txt``, ``.md``, ``.markdown``: any common encoding (BOM, UTF-8, Windows-1251, KZ-1048,
      KOI8-R, CP866, or whatever charset-normalizer finds). Markdown is kept as written; its
      ``#`` headings become sections.
    - ``.docx``: paragraphs and tables in document order, separated by blank lines; table rows
      become lines of cells joined by ``" | "``.
    - ``.html``, ``.htm``: the main article only (trafilatura), without menus, ads or comments.
    - ``.pdf``: the text layer, page by page; every page starts a section ``"p. N"``.

    In all text, newlines are ``\\n``, zero-width characters and control characters other than
    newline and tab are removed, and Unicode is NFC-normalised.

    Sections: Markdown ``#`` headings, Word heading styles (``Heading N``, ``Заголовок N``,
    ``Title``) and the headings of normative acts: a line or paragraph starting with
    ``Раздел|Глава|Параграф|Статья|Section|Chapter|Article`` + number + ``.``, the Kazakh
    ``1-бөлім.``, ``2-тарау.``, ``3-бап.``, or a line holding only such a word and a number
    (``Article 12``). Footnotes such as ``Статья 1 дополнена ...`` are not headings. Section titles
    are hierarchical: ``"Глава 1. Общие положения › Статья 1. Основные понятия"`` (a new chapter
    resets the article; a ``Раздел`` heading is a section of its own but is not repeated in the
    titles below it, since chapter numbers are unique within an act).

    Metadata, each field taken from the first source that has it:

    1. a sidecar file ``<file name>.meta.yaml`` next to the file (``law.docx.meta.yaml``), any format;
    2. for ``.txt``/``.md``: YAML front matter (``---`` lines at the very start of the file),
       or a first line ``" date YYYY-MM-DD <text...>"`` (the marker is removed from the text);
    3. what the format carries: html ``<title>``/``og:title``, publication date and ``og:url``;
       pdf metadata title; docx ``Title``-styled paragraph;
    4. fallbacks: ``title`` = first Markdown ``# `` heading, first docx paragraph if shorter than
       200 characters (or, cut to 300, if the next paragraph opens a normative act, as in official
       exports), first line of a text if at most 150 characters and not a long sentence,
       else the file name with ``_``/``-`` as spaces (an opaque name such as ``000_8e62...`` gives
       way to the opening words of the text); ``date`` = a ``YYYY-MM-DD``, ``DD-MM-YYYY`` or
       ``DD.MM.YYYY`` date in the file name; ``lang`` = ``kk`` when Kazakh letters (ә ғ қ ң ө ұ ү
       һ і) are at least 3% of the Cyrillic letters, else ``ru`` when mostly Cyrillic, ``en`` when
       mostly Latin; ``doc_type`` = ``legal_act`` when one of the first paragraphs opens like a
       normative act ("Закон Республики Казахстан", "Постановление Правительства", "Приказ ...",
       "Указ Президента", "... кодекс", "Конституция ...", Kazakh "... Заңы/қаулысы/бұйрығы"),
       else ``other``; ``source`` = the document id; ``region`` = empty.

    Sidecar and front matter keys: ``title``, ``date`` (``YYYY-MM-DD`` as a YAML date or string,
    a time after it is ignored, or ``DD.MM.YYYY``), ``region``, ``doc_type`` (one of
    ``DOC_TYPES``), ``lang`` (``ru``, ``kk``, ``en``, ...), ``source`` (URL or citation). Other
    keys are ignored (logged at debug level). Example ``law.docx.meta.yaml``::

        title: О государственном имуществе
        date: 2025-08-25
        doc_type: legal_act
        lang: ru
        source: https://adilet.zan.kz/rus/docs/Z1100000413

    Args:
        path: the file, inside ``corpus_root``.
        corpus_root: the corpus folder; the document id is the path relative to it.
        max_bytes: larger files are refused.

    Returns:
        The document; ``content_hash`` equals ``file_fingerprint(path)``.

    Raises:
        UnsupportedFormat: the suffix is not one of ``SUPPORTED_SUFFIXES``.
        DocumentError: with a one-line reason (no file name: callers pair it with the document id)
            for a file that is missing, unreadable, empty, too large, not text, corrupt, encrypted,
            without a text layer or without text, or whose metadata is malformed.
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
    sidecar = _sidecar_metadata(sidecar_bytes, _sidecar_path(path).name) if sidecar_bytes is not None else {}

    if suffix == ".docx":
        extracted = _extract_docx(data)
    elif suffix == ".pdf":
        extracted = _extract_pdf(data)
    elif suffix in (".html", ".htm"):
        extracted = _extract_html(data)
    else:
        extracted = _extract_plain(data, markdown=suffix != ".txt")
    if not extracted.text.strip():
        raise DocumentError("no text")

    metadata = {**extracted.guessed, **extracted.declared, **sidecar}
    text = extracted.text
    return Document(
        doc_id=doc_id,
        text=text,
        title=metadata.get("title") or _title_from_name(path, text),
        date=metadata.get("date") or _date_from_name(path.name),
        region=metadata.get("region", ""),
        doc_type=metadata.get("doc_type") or _guess_doc_type(text),
        lang=metadata.get("lang") or detect_language(text),
        source=metadata.get("source") or doc_id,
        sections=tuple(sorted(extracted.sections, key=lambda section: section.start)),
        content_hash=_fingerprint(data, sidecar_bytes),
    )


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


# --------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------

_FRONT_MATTER_START = re.compile(r"\A---[ \t]*\n")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$\n?", re.M)
_DATE_MARKER = re.compile(r"\A[ \t]*date[ \t]+(\d{4}-\d{2}-\d{2})(?:[ \t]*\n|[ \t]+)")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_LANG_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")


def _sidecar_metadata(raw: bytes, name: str) -> dict[str, str]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(f"metadata file {name} is not UTF-8: {error.reason} at byte {error.start}") from error
    return _parse_metadata(text, f"metadata file {name}")


def _parse_metadata(text: str, origin: str) -> dict[str, str]:
    """Validated citation metadata from a YAML mapping (sidecar or front matter)."""
    loaded = _load_yaml(text, origin)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise DocumentError(f"malformed {origin}: expected 'key: value' lines, got a {type(loaded).__name__}")
    metadata: dict[str, str] = {}
    for raw_key, value in loaded.items():
        key = str(raw_key).strip().lower()
        if key not in METADATA_KEYS:
            logger.debug("ignoring unknown %s key %r", origin, raw_key)
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if key == "date":
            metadata[key] = _normalise_date(value, origin)
        elif isinstance(value, (dict, list, tuple, set)):
            raise DocumentError(f"{origin}: {key} must be a single value, got {value!r}")
        elif key == "doc_type":
            doc_type = str(value).strip()
            if doc_type not in DOC_TYPES:
                raise DocumentError(f"{origin}: unknown doc_type {doc_type!r} (allowed: {', '.join(DOC_TYPES)})")
            metadata[key] = doc_type
        elif key == "lang":
            lang = str(value).strip().lower().replace("_", "-")
            if not _LANG_CODE.fullmatch(lang):
                raise DocumentError(f"{origin}: lang must be a language code such as ru, kk, en; got {value!r}")
            metadata[key] = lang
        else:
            metadata[key] = " ".join(str(value).split())
    return metadata


_PLAIN_ENTRY = re.compile(r"([A-Za-z_][\w-]*):[ \t]+(\S.*?)[ \t]*")


def _load_yaml(text: str, origin: str) -> Any:
    """``yaml.safe_load``, forgiving one common slip: an unquoted ": " inside a value.

    ``title: Алматы: приоритеты`` is invalid YAML but unambiguous; such values are read as text
    (with a warning). Anything else that YAML rejects is an error.
    """
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = error
    lines = []
    for line in text.split("\n"):
        entry = _PLAIN_ENTRY.fullmatch(line)
        if entry and ": " in entry[2] and not entry[2].startswith(("'", '"', "[", "{", "|", ">", "&", "*", "!")):
            line = f"{entry[1]}: {json.dumps(entry[2], ensure_ascii=False)}"  # a JSON string is a YAML scalar
        lines.append(line)
    repaired = "\n".join(lines)
    if repaired != text:
        try:
            loaded = yaml.safe_load(repaired)
        except yaml.YAMLError:
            pass
        else:
            logger.warning("%s: unquoted ': ' inside a value, read as text; quote such values", origin)
            return loaded
    raise DocumentError(f"malformed {origin}: {_one_line(problem)}") from problem


def _normalise_date(value: Any, origin: str) -> str:
    """``YYYY-MM-DD`` from a YAML date/datetime or a ``YYYY-MM-DD[ time]`` / ``DD.MM.YYYY`` string."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    parsed = None
    if match := _ISO_DATE.fullmatch(text):
        parsed = _make_date(int(match[1]), int(match[2]), int(match[3]))
    elif match := _DOTTED_DATE.fullmatch(text):
        parsed = _make_date(int(match[3]), int(match[2]), int(match[1]))
    if parsed is None:
        raise DocumentError(f"{origin}: invalid date {value!r} (use YYYY-MM-DD or DD.MM.YYYY)")
    return parsed


def _make_date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


_NAME_DATES = (
    (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), (1, 2, 3)),
    (re.compile(r"(?<!\d)(\d{2})([-.])(\d{2})\2(\d{4})(?!\d)"), (4, 3, 1)),
)


def _date_from_name(name: str) -> str:
    """A date written in a file name: ``2019-03-20-speech.md``, ``z1100000413.25-08-2025.rus.docx``."""
    for pattern, (year, month, day) in _NAME_DATES:
        for match in pattern.finditer(name):
            found = _make_date(int(match[year]), int(match[month]), int(match[day]))
            if found:
                return found
    return ""


_OPAQUE_NAME = re.compile(r"[0-9a-f_\-. ]+", re.I)


def _title_from_name(path: Path, text: str) -> str:
    stem = path.stem
    if _OPAQUE_NAME.fullmatch(stem) and sum(char.isdigit() for char in stem) >= 4:
        # A hash-like name says nothing to a reader; the opening words of the text do.
        opening = " ".join(text[:400].split())
        return _shorten(opening, 100)
    title = " ".join(re.sub(r"[_-]+", " ", stem).split())
    return title or path.name


def _first_line_title(text: str, *, max_chars: int = 150) -> str:
    """The first line of a text, if it reads like a title rather than a sentence of the body."""
    for line in text.split("\n"):
        line = " ".join(line.split()).lstrip("#").strip()
        if not line:
            continue
        if len(line) > max_chars or (line.endswith(".") and len(line.split()) > 12):
            return ""
        return line
    return ""


_KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


def detect_language(text: str) -> str:
    """Cheap language guess: ``kk``, ``ru``, ``en`` or ``""`` (no letters, or mostly another script).

    Kazakh-specific letters making at least 3% of the Cyrillic letters mean Kazakh (a Russian text
    quoting Kazakh names stays Russian); otherwise the script of most letters decides.
    """
    cyrillic = latin = kazakh = letters = 0
    for char in text[:20000]:
        if not char.isalpha():
            continue
        letters += 1
        code = ord(char)
        if 0x400 <= code < 0x530:
            cyrillic += 1
            kazakh += char in _KAZAKH_LETTERS
        elif code < 0x250:
            latin += 1
    if cyrillic and cyrillic >= latin and cyrillic * 2 >= letters:
        return "kk" if kazakh >= 0.03 * cyrillic else "ru"
    if latin * 2 >= letters > 0:
        return "en"
    return ""


_LEGAL_OPENINGS = re.compile(
    r"(?:конституционный\s+)?закон\s+республики\s+казахстан"
    r"|постановление\s+(?:правительства|парламента|конституционного|верховного|пленума)"
    r"|нормативное\s+постановление|приказ\s|указ\s+президента|распоряжение\s+(?:президента|премьер)"
    r"|кодекс\s|[а-яё-]+\s+кодекс\s+республики\s+казахстан|конституция\s+республики\s+казахстан"
    r"|решение\s+(?:маслихата|акимата)|постановление\s+акимата"
    r"|(?:constitutional\s+)?law\s+of\s+the\s+republic\s+of\s+kazakhstan|constitution\s+of\s+the\s+republic"
    r"|decree\s+of\s+the\s+(?:president|government)|resolution\s+of\s+the\s+government|order\s+of\s+the\s+minister"
    r"|(?:[a-z]+\s+)?code\s+of\s+the\s+republic\s+of\s+kazakhstan"
    r"|қазақстан\s+республикасы.{0,200}(?:заңы|кодексі|конституциясы|қаулысы|бұйрығы|жарлығы)\.?$",
    re.I,
)


def _guess_doc_type(text: str, *, paragraphs: int = 6) -> str:
    """``legal_act`` when one of the first paragraphs opens like the title of a normative act."""
    seen = 0
    for line in text[:10000].split("\n"):
        line = " ".join(line.split())
        if not line:
            continue
        if len(line) <= 300 and _LEGAL_OPENINGS.match(line):
            return "legal_act"
        seen += 1
        if seen >= paragraphs:
            break
    return "other"


# --------------------------------------------------------------------------------------------
# Text clean-up and headings shared by the formats
# --------------------------------------------------------------------------------------------

_DROPPED = {code: None for code in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), *range(0x7F, 0xA0)]}
_DROPPED.update({code: None for code in (0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)})
_DROPPED.update({0x0C: "\n", 0x2028: "\n", 0x2029: "\n\n"})


def _clean_text(text: str) -> str:
    """``\\n`` newlines, no zero-width or control characters but newline and tab, NFC."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_DROPPED)
    return unicodedata.normalize("NFC", text)


def _clean_block(text: str) -> str:
    """A paragraph of a docx/html/pdf: NBSP runs and indentation gone, one space between words."""
    lines = (" ".join(line.split()) for line in _clean_text(text).split("\n"))
    return "\n".join(line for line in lines if line)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"


_HEADING_LEVELS = {
    "раздел": 1, "бөлім": 1, "section": 1,
    "глава": 2, "тарау": 2, "chapter": 2,
    "параграф": 3,
    "статья": 4, "бап": 4, "article": 4,
}  # fmt: skip
_HEADING_WORDS = "раздел|глава|параграф|статья|бөлім|тарау|бап|section|chapter|article"
_NUMBER = r"\d+(?:-\d+)*"
_LEGAL_HEADING = re.compile(rf"(?P<word>{_HEADING_WORDS})\s+(?P<number>{_NUMBER})\.(?!\d)", re.I)
_KAZAKH_HEADING = re.compile(rf"(?P<number>{_NUMBER})-(?P<word>бөлім|тарау|параграф|бап)\.(?!\d)", re.I)
_BARE_HEADING = re.compile(rf"(?P<word>{_HEADING_WORDS})\s+(?P<number>{_NUMBER}|[IVXLC]+)\.?", re.I)


@dataclass(frozen=True)
class _Heading:
    level: int
    title: str
    bare: bool = False  # only "Article 12": the following short line may be its name
    carried: bool = True  # repeated in the titles of the headings below it


def _legal_heading(line: str) -> _Heading | None:
    """A heading of a normative act at the start of ``line`` (``Статья 1. ...``, ``1-бап. ...``)."""
    line = " ".join(line.split())
    match = _LEGAL_HEADING.match(line) or _KAZAKH_HEADING.match(line)
    bare = False
    if match is None:
        match = _BARE_HEADING.fullmatch(line)
        bare = match is not None
    if match is None:
        return None
    level = _HEADING_LEVELS[match["word"].lower()]
    # Chapter numbers run through a whole act, so "Раздел N" adds length, not precision, to a citation.
    return _Heading(level, line, bare=bare, carried=level != 1)


def _continues_heading(heading: _Heading, following: str) -> bool:
    """Whether ``following`` is the wrapped rest of a heading ("Глава 1. ОБЩИЕ ..." / "ИМУЩЕСТВОМ")."""
    if not following or "\n" in following or len(following) > 150 or _legal_heading(following):
        return False
    if following.endswith((".", ":", ";", "!", "?")) or following.startswith(("Сноска", "Примечание")):
        return False
    if heading.bare:
        return True  # "Section I" / "General Provisions"
    if following[0].islower():
        return True
    heading_words = heading.title.split(None, 2)[2:] if len(heading.title.split()) > 2 else []
    return bool(heading_words) and _is_upper(heading_words[0]) and _is_upper(following)


def _is_upper(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return bool(letters) and all(char.isupper() for char in letters)


def _with_continuations(heading: _Heading, following: Sequence[str]) -> _Heading:
    title = heading.title
    current = heading
    for line in following[:3]:
        if not _continues_heading(current, line):
            break
        joiner = ". " if current.bare else " "
        title = f"{title}{joiner}{line}"
        current = _Heading(heading.level, title, bare=False, carried=heading.carried)
    return current


class _Trail:
    """The headings above the current point, to give each section a hierarchical title."""

    def __init__(self) -> None:
        self._open: list[_Heading] = []

    def enter(self, heading: _Heading) -> str:
        self._open = [open_ for open_ in self._open if open_.level < heading.level]
        parts = [_shorten(open_.title, SECTION_PART_CHARS) for open_ in self._open if open_.carried]
        self._open.append(heading)
        return SECTION_SEPARATOR.join([*parts, _shorten(heading.title, SECTION_PART_CHARS)])


_MARKDOWN_HEADING = re.compile(r" {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*")
_MARKDOWN_TITLE = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.M)
_FENCE = re.compile(r" {0,3}(```|~~~)")


def _line_sections(text: str, *, markdown: bool) -> tuple[Section, ...]:
    """Sections of a plain or Markdown text: ``#`` headings and headings of normative acts."""
    lines = text.split("\n")
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    trail = _Trail()
    sections = []
    in_fence = False
    for index, line in enumerate(lines):
        if markdown and _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or not line.strip():
            continue
        heading = None
        if markdown and (match := _MARKDOWN_HEADING.fullmatch(line)):
            heading = _Heading(len(match[1]), " ".join(match[2].split()))
        elif legal := _legal_heading(line):
            following = [" ".join(nxt.split()) for nxt in lines[index + 1 : index + 12] if nxt.strip()]
            heading = _with_continuations(legal, following)
        if heading is not None:
            sections.append(Section(starts[index], trail.enter(heading)))
    return tuple(sections)


# --------------------------------------------------------------------------------------------
# Plain text and Markdown
# --------------------------------------------------------------------------------------------


def _extract_plain(data: bytes, *, markdown: bool) -> _Extracted:
    text = _clean_text(_decode_text(data))
    declared, text = _split_front_matter(text)
    if marker := _DATE_MARKER.match(text):
        date = _make_date(*(int(part) for part in marker[1].split("-")))
        if date is None:
            raise DocumentError(f"invalid date {marker[1]!r} in the first-line date marker")
        declared.setdefault("date", date)
        text = text[marker.end() :]
    text = text.strip()
    guessed = {}
    title = ""
    if markdown:
        first_heading = _MARKDOWN_TITLE.search(text)
        title = " ".join(first_heading[1].split()) if first_heading else ""
    title = title or _first_line_title(text)
    if title:
        guessed["title"] = title
    return _Extracted(text, _line_sections(text, markdown=markdown), declared, guessed)


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """(metadata from the YAML front matter, the text after it); no front matter gives ``({}, text)``."""
    start = _FRONT_MATTER_START.match(text)
    if start is None:
        return {}, text
    end = _FRONT_MATTER_END.search(text, start.end())
    if end is None:
        raise DocumentError("malformed front matter: no closing '---' line")
    return _parse_metadata(text[start.end() : end.start()], "front matter"), text[end.end() :]


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Single-byte Cyrillic code pages, the most likely first: on a tie (Russian text without Kazakh
# letters reads the same in cp1251 and kz1048) the earlier one wins.
_CYRILLIC_CODECS = ("cp1251", "kz1048", "ptcp154", "koi8_r", "koi8_u", "cp866", "mac_cyrillic", "iso8859_5")
# Letter frequencies (per letter) of Russian prose, plus rough ones for the Kazakh letters: a wrong
# code page swaps common letters for rare ones, even in an all-capitals text.
_LETTER_FREQUENCY = {
    "о": 0.110, "е": 0.085, "а": 0.080, "и": 0.074, "н": 0.067, "т": 0.063, "с": 0.055, "р": 0.047,
    "в": 0.045, "л": 0.044, "к": 0.035, "м": 0.032, "д": 0.030, "п": 0.028, "у": 0.026, "я": 0.020,
    "ы": 0.019, "ь": 0.017, "г": 0.017, "з": 0.017, "б": 0.016, "ч": 0.014, "й": 0.012, "х": 0.010,
    "ж": 0.009, "ш": 0.007, "ю": 0.006, "ц": 0.005, "щ": 0.004, "э": 0.003, "ф": 0.003, "ъ": 0.001,
    "ё": 0.001, "і": 0.040, "қ": 0.030, "ә": 0.020, "ң": 0.015, "ү": 0.015, "ғ": 0.010, "ұ": 0.010,
    "ө": 0.010, "һ": 0.001,
}  # fmt: skip
_NATIVE_LETTERS = frozenset(_LETTER_FREQUENCY) | frozenset(letter.upper() for letter in _LETTER_FREQUENCY)
_TYPOGRAPHY = frozenset("«»—–№…“”„‘’•\u00a0°")


def _decode_text(data: bytes) -> str:
    """Bytes of a text file as a string, whatever common encoding they are in.

    Order: a BOM (UTF-8/16/32); UTF-16 without BOM; strict UTF-8; UTF-8 with a handful of broken
    bytes; the single-byte Cyrillic code page whose reading looks most like Russian or Kazakh
    (charset-normalizer mistakes short Windows-1251 or KZ-1048 texts for mac_cyrillic, cp1125 or
    shift_jis); charset-normalizer's best guess.

    Raises:
        DocumentError: binary content ("not a text file") or an invalid BOM-marked text.
    """
    return _reject_binary(_decode(data))


def _reject_binary(text: str) -> str:
    sample = text[:20000]
    if sum(_is_junk(char) for char in sample) > 0.05 * len(sample):
        raise DocumentError("not a text file (binary content)")
    return text


def _is_junk(char: str) -> bool:
    """Control, unassigned, surrogate or private-use characters: what binary data decodes to."""
    return char not in "\t\n\r\f" and unicodedata.category(char) in ("Cc", "Cn", "Cs", "Co")


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as error:
                raise DocumentError(f"invalid {encoding} text: {error.reason} at byte {error.start}") from error
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise DocumentError("not a text file (contains NUL bytes)")
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", errors="replace")
    broken = lenient.count("\ufffd")
    if broken <= len(lenient) // 1000 + 1 and any(ord(char) > 127 and char != "\ufffd" for char in lenient):
        logger.warning("text is UTF-8 with %d invalid byte sequence(s); they are replaced with U+FFFD", broken)
        return lenient
    cyrillic = _decode_cyrillic(data)
    if cyrillic is not None:
        return cyrillic
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise DocumentError("not a text file (no known encoding fits)")
    logger.debug("charset-normalizer read the text as %s", best.encoding)
    return str(best)


def _utf16_without_bom(data: bytes) -> str | None:
    if len(data) % 2:
        return None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:20000]
        usual = sum(
            not _is_junk(char) and (ord(char) < 0x530 or 0x2000 <= ord(char) < 0x2070) for char in sample
        )
        if usual >= 0.95 * len(sample):
            return text
    return None


def _decode_cyrillic(data: bytes) -> str | None:
    """The reading of ``data`` in a Cyrillic code page that looks most like real text, if any does."""
    sample = data[:16384]
    scored = []
    for order, encoding in enumerate(_CYRILLIC_CODECS):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _cyrillic_plausibility(text)
        if score >= 0.4:
            scored.append((-score, order, encoding))
    for _, _, encoding in sorted(scored):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        logger.debug("read the text as %s", encoding)
        return text
    return None


def _cyrillic_plausibility(text: str) -> float:
    """0..1: how much the non-ASCII characters look like Russian/Kazakh prose (0 if not Cyrillic).

    A wrong code page turns letters into Serbian letters, symbols or box drawing, or common
    letters into rare ones.
    """
    letters = non_ascii = native = 0
    cyrillic: list[float] = []
    for char in text:
        if char.isalpha():
            letters += 1
            if 0x400 <= ord(char) < 0x530:
                cyrillic.append(_LETTER_FREQUENCY.get(char.lower(), 0.0))
        if ord(char) >= 128:
            non_ascii += 1
            native += char in _NATIVE_LETTERS or char in _TYPOGRAPHY
    if not non_ascii or not cyrillic or len(cyrillic) < 0.3 * letters:
        return 0.0
    usual_letters = min(1.0, sum(cyrillic) / len(cyrillic) / 0.04)
    return native / non_ascii * usual_letters


# --------------------------------------------------------------------------------------------
# Word (.docx)
# --------------------------------------------------------------------------------------------

_STYLE_HEADING = re.compile(r"(?:heading|заголовок|тақырып|überschrift)\s*(\d)", re.I)
_TITLE_STYLES = ("title", "название", "заголовок", "тақырып")


@dataclass(frozen=True)
class _Block:
    text: str
    style: str = ""
    is_table: bool = False


def _extract_docx(data: bytes) -> _Extracted:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.append(_Block(_table_text(item), is_table=True))
            else:
                style = item.style.name if item.style is not None else ""
                blocks.append(_Block(_clean_block(item.text), style or ""))
        core_title = (document.core_properties.title or "").strip()
    except Exception as error:  # python-docx raises zip, XML and key errors alike on a damaged file
        raise DocumentError(f"corrupt .docx: {_one_line(error)}") from error
    blocks = [block for block in blocks if block.text]

    parts: list[str] = []
    sections: list[Section] = []
    trail = _Trail()
    offset = 0
    styled_title = ""
    for index, block in enumerate(blocks):
        heading = None if block.is_table else _docx_heading(block, blocks[index + 1 : index + 4])
        if heading is not None:
            sections.append(Section(offset, trail.enter(heading)))
        if not styled_title and block.style.strip().lower() in _TITLE_STYLES:
            styled_title = block.text
        parts.append(block.text)
        offset += len(block.text) + 2
    text = "\n\n".join(parts)

    paragraphs = [" ".join(block.text.split()) for block in blocks if not block.is_table][:2]
    first = paragraphs[0] if paragraphs else ""
    if len(first) >= 200:
        # Official acts put their (sometimes long) title right above "Приказ Министра ... от ...".
        opens_act = len(paragraphs) > 1 and _guess_doc_type(paragraphs[1], paragraphs=1) == "legal_act"
        first = _shorten(first, 300) if opens_act else ""
    title = styled_title or first or core_title
    guessed = {"title": " ".join(title.split())} if title else {}
    return _Extracted(text, tuple(sections), {}, guessed)


def _docx_heading(block: _Block, following: Sequence[_Block]) -> _Heading | None:
    first_line = block.text.split("\n", 1)[0]
    if legal := _legal_heading(first_line):
        if "\n" in block.text:
            return legal
        paragraphs = []
        for item in following:
            if item.is_table:
                break
            paragraphs.append(item.text)
        return _with_continuations(legal, paragraphs)
    style = block.style.strip().lower()
    if match := _STYLE_HEADING.fullmatch(style):
        return _Heading(int(match[1]), " ".join(block.text.split()))
    if style in _TITLE_STYLES:
        return _Heading(1, " ".join(block.text.split()))
    return None


def _table_text(table: Any) -> str:
    """Rows as lines of non-empty cells joined by " | " (a merged cell counted once per row)."""
    lines = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            if previous is not None and cell._tc is previous._tc:  # same merged cell, repeated per grid column
                continue
            previous = cell
            text = " ".join(_cell_text(cell).split())
            if text:
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def _cell_text(cell: Any) -> str:
    from docx.table import Table

    pieces = []
    for item in cell.iter_inner_content():
        pieces.append(_table_text(item).replace("\n", "; ") if isinstance(item, Table) else _clean_block(item.text))
    return " ".join(piece for piece in pieces if piece)


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------


def _extract_pdf(data: bytes) -> _Extracted:
    from pypdf import PdfReader

    # pypdf raises many error types on damaged files; to a corpus build they all mean the same.
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as error:
        raise DocumentError(f"corrupt .pdf: {_one_line(error)}") from error
    if encrypted:
        try:
            decrypted = reader.decrypt("")  # many PDFs are encrypted with an empty user password
        except Exception as error:
            raise DocumentError(f"encrypted PDF: {_one_line(error)}") from error
        if not decrypted:
            raise DocumentError("encrypted PDF (a password is needed)")
    try:
        page_list = list(reader.pages)
    except Exception as error:
        raise DocumentError(f"corrupt .pdf: {_one_line(error)}") from error
    if not page_list:
        raise DocumentError("corrupt .pdf: no pages")
    pages = []
    failures = []
    for number, page in enumerate(page_list, 1):
        try:
            pages.append(page.extract_text() or "")
        except Exception as error:  # one damaged page should not lose the others
            failures.append(f"p. {number}: {_one_line(error)}")
            pages.append("")
    if len(failures) == len(page_list):
        raise DocumentError(f"corrupt .pdf: {failures[0]}")
    if failures:
        logger.warning("could not read %d PDF page(s): %s", len(failures), "; ".join(failures[:3]))

    parts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for number, page_text in enumerate(pages, 1):
        cleaned = _clean_text(page_text).strip()
        if not cleaned:
            continue
        sections.append(Section(offset, f"p. {number}"))
        parts.append(cleaned)
        offset += len(cleaned) + 2
    if not parts:
        raise DocumentError("no text layer (scanned PDF?)")

    guessed = {}
    try:
        title = (reader.metadata.title if reader.metadata else None) or ""
    except Exception:  # a damaged info dictionary only costs us the title
        title = ""
    title = " ".join(re.sub(r"^Microsoft Word - ", "", str(title)).split())
    if title and title.lower() not in ("untitled", "title", "document"):
        guessed["title"] = title
    return _Extracted("\n\n".join(parts), tuple(sections), {}, guessed)


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""\A\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_HTML_HEADING = re.compile(r"h([1-6])")


def _extract_html(data: bytes) -> _Extracted:
    html = _XML_DECLARATION.sub("", _decode_html(data), count=1)  # lxml refuses str with an encoding declaration
    import trafilatura

    result = None
    # Precision drops menus that recall keeps on short pages; recall is the retry when it drops everything.
    for precision in (True, False):
        try:
            result = trafilatura.bare_extraction(
                html,
                include_comments=False,
                include_tables=True,
                favor_precision=precision,
                with_metadata=True,
                # The publication date from the page's markup, not any date found in its text.
                date_extraction_params={"extensive_search": False, "original_date": True},
            )
        except Exception as error:  # a page trafilatura cannot parse falls back to its visible text
            logger.debug("trafilatura failed: %s", error)
            result = None
        if result is not None and result.body is not None and "".join(result.body.itertext()).strip():
            break
        result = None

    guessed = {}
    if result is not None:
        blocks = _trafilatura_blocks(result.body)
        if result.title:
            guessed["title"] = " ".join(str(result.title).split())
        if result.date:
            try:
                guessed["date"] = _normalise_date(result.date, "html")
            except DocumentError:
                logger.debug("ignoring unreadable page date %r", result.date)
        if result.url and str(result.url).startswith(("http://", "https://")):
            guessed["source"] = str(result.url)
    else:
        blocks, page_title = _visible_blocks(html)
        if page_title:
            guessed["title"] = page_title

    parts: list[str] = []
    sections: list[Section] = []
    trail = _Trail()
    offset = 0
    for text, level in blocks:
        if level:
            sections.append(Section(offset, trail.enter(_Heading(level, " ".join(text.split())))))
        parts.append(text)
        offset += len(text) + 2
    return _Extracted("\n\n".join(parts), tuple(sections), {}, guessed)


def _decode_html(data: bytes) -> str:
    """A page's text: BOM, else valid UTF-8 (whatever the page claims), else its declared charset, else detection."""
    if not any(data.startswith(bom) for bom, _ in _BOMS) and b"\x00" not in data:
        try:
            # Real Windows-1251 text is never valid UTF-8 with non-ASCII characters; pages that
            # declare a code page but were re-saved as UTF-8 are common.
            return _reject_binary(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
        head = data[:4096]
        declared = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
        if declared:
            name = declared[1].decode("ascii").lower()
            try:
                encoding = codecs.lookup(name).name
            except LookupError:
                logger.debug("ignoring unknown declared charset %r", name)
                encoding = ""
            if encoding and not encoding.startswith(("utf-16", "utf-32")):  # an ASCII page cannot be UTF-16
                try:
                    return _reject_binary(data.decode(encoding))
                except UnicodeDecodeError:
                    logger.warning("page declares charset %s but is not; detecting the encoding", name)
    return _decode_text(data)


def _trafilatura_blocks(body: Any) -> list[tuple[str, int]]:
    """(text, heading level or 0) for each block of trafilatura's XML body."""
    blocks = [(text, 0)] if (text := _clean_block(body.text or "")) else []
    for element in body:
        level = 0
        if element.tag == "head":
            match = _HTML_HEADING.fullmatch(element.get("rend", "") or "")
            level = int(match[1]) if match else 2
            text = " ".join(_inline_text(element).split())
        elif element.tag == "list":
            items = (" ".join(_inline_text(item).split()) for item in element.findall("item"))
            text = "\n".join(f"- {item}" for item in items if item)
        elif element.tag == "table":
            rows = []
            for row in element.iter("row"):
                cells = [" ".join(_inline_text(cell).split()) for cell in row.findall("cell")]
                if any(cells):
                    rows.append(" | ".join(cell for cell in cells if cell))
            text = "\n".join(rows)
        else:
            text = _inline_text(element)
        text = _clean_block(text)
        if text:
            blocks.append((text, level))
        if tail := _clean_block(element.tail or ""):
            blocks.append((tail, 0))
    return blocks


def _inline_text(element: Any) -> str:
    """Text of an element with ``<lb/>`` as a newline."""
    pieces = [element.text or ""]
    for child in element:
        pieces.append("\n" if child.tag == "lb" else _inline_text(child))
        pieces.append(child.tail or "")
    return "".join(pieces)


_BLOCK_TAGS = frozenset(
    "address article blockquote dd div dl dt figcaption h1 h2 h3 h4 h5 h6 li main ol p pre section table".split()
    + "td th tr ul".split()
)
_INVISIBLE_TAGS = "script style nav header footer aside noscript template form iframe svg".split()


def _visible_blocks(html: str) -> tuple[list[tuple[str, int]], str]:
    """Fallback: visible text of ``<body>`` minus scripts and page furniture, and the ``<title>``."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        tree = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError) as error:
        raise DocumentError(f"unreadable html: {_one_line(error)}") from error
    title = " ".join((tree.findtext(".//title") or "").split())
    for comment in tree.xpath("//comment()"):
        comment.drop_tree()
    for element in tree.xpath("|".join(f"//{tag}" for tag in _INVISIBLE_TAGS)):
        element.drop_tree()
    body = tree.find("body")
    if body is None:
        return [], title
    blocks: list[tuple[str, int]] = []
    pending: list[str] = []

    def flush(level: int = 0) -> None:
        text = _clean_block("".join(pending))
        pending.clear()
        if text:
            blocks.append((text, level))

    def walk(element: Any) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag == "br":
            pending.append("\n")
        elif tag in _BLOCK_TAGS:
            flush()
            pending.append(element.text or "")
            for child in element:
                walk(child)
            flush(int(tag[1]) if tag in ("h1", "h2", "h3") else 0)
        else:
            pending.append(element.text or "")
            for child in element:
                walk(child)
        pending.append(element.tail or "")

    pending.append(body.text or "")
    for child in body:
        walk(child)
    flush()
    return blocks, title


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
