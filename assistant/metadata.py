"""Citation metadata: YAML sidecar/front matter parsing, dates, and fallback titles, languages and doc types."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path
from typing import Any

from assistant.errors import DocumentError
from assistant.model import CITATION_FIELDS, DOC_TYPES, ORIGINS

logger = logging.getLogger(__name__)

METADATA_KEYS = CITATION_FIELDS  # what front matter and sidecars may declare: the citation's fields
# What a file may also say of itself (the site that published it). Read, but believed only of
# shipped and fetched files: an uploaded file's source and outlet are "stated by the uploader".
CLAIM_KEYS = ("outlet",)
# How a file entered the corpus: written by the upload form and `assistant fetch` into the
# sidecar, and read from a sidecar only, never from the file itself (an uploaded file could
# otherwise call itself shipped).
SIDECAR_PROVENANCE_KEYS = ("origin", "added_by", "added_at", "fetched_from")
PROVENANCE_CHARS = 300  # a longer name or address in a sidecar's provenance is cut

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_LANG_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")


def parse_sidecar(raw: bytes, name: str) -> dict[str, str]:
    """Validated citation metadata and provenance (:data:`SIDECAR_PROVENANCE_KEYS`) from the bytes of
    a sidecar file called ``name``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(f"metadata file {name} is not UTF-8: {error.reason} at byte {error.start}") from error
    return parse_metadata(text, f"metadata file {name}", sidecar=True)


def parse_metadata(text: str, origin: str, *, sidecar: bool = False) -> dict[str, str]:
    """Validated citation metadata (:data:`METADATA_KEYS`, :data:`CLAIM_KEYS`) from a YAML mapping
    (front matter, or a sidecar: then also :data:`SIDECAR_PROVENANCE_KEYS`); other keys are ignored."""
    keys = (*METADATA_KEYS, *CLAIM_KEYS, *(SIDECAR_PROVENANCE_KEYS if sidecar else ()))
    loaded = _load_yaml(text, origin)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise DocumentError(f"malformed {origin}: expected 'key: value' lines, got a {type(loaded).__name__}")
    metadata: dict[str, str] = {}
    for raw_key, value in loaded.items():
        key = str(raw_key).strip().lower()
        if key not in keys:
            logger.debug("ignoring unknown %s key %r", origin, raw_key)
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, (dict, list, tuple, set)):
            # Not the value itself: YAML aliases can make a small file print as gigabytes.
            raise DocumentError(f"{origin}: {key} must be a single value, got a {type(value).__name__}")
        if key in SIDECAR_PROVENANCE_KEYS:
            metadata[key] = _provenance_value(key, value, origin)
        elif key == "date":
            metadata[key] = normalise_date(value, origin)
        elif key == "doc_type":
            doc_type = str(value).strip()
            if doc_type not in DOC_TYPES:
                raise DocumentError(f"{origin}: unknown doc_type {doc_type!r} (allowed: {', '.join(DOC_TYPES)})")
            metadata[key] = doc_type
        elif key == "lang":
            lang = str(value).strip().lower().replace("_", "-")
            if not _LANG_CODE.fullmatch(lang):
                raise DocumentError(f"{origin}: lang must be a language code such as ru, kk, en; got {shorten(str(value), 40)!r}")
            metadata[key] = lang
        else:
            metadata[key] = " ".join(str(value).split())
    return metadata


def _provenance_value(key: str, value: Any, origin: str) -> str:
    """A sidecar's provenance entry as one line: ``origin`` one of ``ORIGINS``, ``added_at`` ISO 8601."""
    if key == "added_at" and isinstance(value, dt.datetime):  # YAML reads an unquoted timestamp as one
        stamp = value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp.isoformat(timespec="seconds") + "Z"
    printable = "".join(char if char.isprintable() else " " for char in str(value))  # no terminal escapes
    text = shorten(" ".join(printable.split()), PROVENANCE_CHARS)
    if key == "origin" and text not in ORIGINS:
        raise DocumentError(f"{origin}: unknown origin {shorten(text, 40)!r} (allowed: {', '.join(ORIGINS)})")
    return text


# What PyYAML raises besides YAMLError: a date that does not exist ("2025-02-30" is read as a
# date), a number too large for a float, nesting deeper than the parser's recursion.
_CONSTRUCTION_ERRORS = (ValueError, TypeError, OverflowError, RecursionError)
_PLAIN_ENTRY = re.compile(r"([A-Za-z_][\w-]*):[ \t]+(\S.*?)[ \t]*")


def _load_yaml(text: str, origin: str) -> Any:
    """``yaml.safe_load``, forgiving one common slip: an unquoted ": " inside a value.

    ``title: Алматы: приоритеты`` is invalid YAML but unambiguous; such values are read as text
    (with a warning). Anything else that YAML rejects is an error.
    """
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = error
    except _CONSTRUCTION_ERRORS as error:
        raise DocumentError(f"malformed {origin}: {one_line(error)}") from error
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
        except (yaml.YAMLError, *_CONSTRUCTION_ERRORS):
            pass
        else:
            logger.warning("%s: unquoted ': ' inside a value, read as text; quote such values", origin)
            return loaded
    raise DocumentError(f"malformed {origin}: {one_line(problem)}") from problem


def normalise_date(value: Any, origin: str) -> str:
    """``YYYY-MM-DD`` from a YAML date/datetime or a ``YYYY-MM-DD[ time]`` / ``DD.MM.YYYY`` string."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    parsed = None
    if match := _ISO_DATE.fullmatch(text):
        parsed = make_date(int(match[1]), int(match[2]), int(match[3]))
    elif match := _DOTTED_DATE.fullmatch(text):
        parsed = make_date(int(match[3]), int(match[2]), int(match[1]))
    if parsed is None:
        raise DocumentError(f"{origin}: invalid date {shorten(str(value), 40)!r} (use YYYY-MM-DD or DD.MM.YYYY)")
    return parsed


def make_date(year: int, month: int, day: int) -> str | None:
    """``YYYY-MM-DD``, or ``None`` when no such day exists."""
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


_NAME_DATES = (
    (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), (1, 2, 3)),
    (re.compile(r"(?<!\d)(\d{2})([-.])(\d{2})\2(\d{4})(?!\d)"), (4, 3, 1)),
)


def date_from_name(name: str) -> str:
    """A date written in a file name: ``2019-03-20-speech.md``, ``z1100000413.25-08-2025.rus.docx``."""
    for pattern, (year, month, day) in _NAME_DATES:
        for match in pattern.finditer(name):
            found = make_date(int(match[year]), int(match[month]), int(match[day]))
            if found:
                return found
    return ""


_OPAQUE_NAME = re.compile(r"[0-9a-f_\-. ]+", re.I)


def title_from_name(path: Path, text: str) -> str:
    """The file name as a title (``_``/``-`` as spaces), or the opening words of ``text`` for an opaque name."""
    stem = path.stem
    if _OPAQUE_NAME.fullmatch(stem) and sum(char.isdigit() for char in stem) >= 4:
        # A hash-like name says nothing to a reader; the opening words of the text do.
        opening = " ".join(text[:400].split())
        return shorten(opening, 100)
    title = " ".join(re.sub(r"[_-]+", " ", stem).split())
    return title or path.name


def first_line_title(text: str, *, max_chars: int = 150) -> str:
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


def guess_doc_type(text: str, *, paragraphs: int = 6) -> str:
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


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when one is near, with ``…``."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"


def one_line(error: BaseException) -> str:
    """An exception's message on one line, for a :class:`DocumentError` reason."""
    return shorten(" ".join(str(error).split()), 300) or type(error).__name__
