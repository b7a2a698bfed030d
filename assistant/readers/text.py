"""Plain text and Markdown: decoding any common encoding, front matter, date marker, headings."""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata

from assistant.errors import DocumentError
from assistant.metadata import first_line_title, make_date, parse_metadata
from assistant.model import Section
from assistant.readers import Extracted
from assistant.readers.headings import Heading, Trail, legal_heading, with_continuations

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Text clean-up shared by the formats
# --------------------------------------------------------------------------------------------

_DROPPED = {code: None for code in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), *range(0x7F, 0xA0)]}
_DROPPED.update({code: None for code in (0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)})
_DROPPED.update({0x0C: "\n", 0x2028: "\n", 0x2029: "\n\n"})


def clean_text(text: str) -> str:
    """``\\n`` newlines, no zero-width or control characters but newline and tab, NFC."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_DROPPED)
    return unicodedata.normalize("NFC", text)


def clean_block(text: str) -> str:
    """A paragraph of a docx/html/pdf: NBSP runs and indentation gone, one space between words."""
    lines = (" ".join(line.split()) for line in clean_text(text).split("\n"))
    return "\n".join(line for line in lines if line)


# --------------------------------------------------------------------------------------------
# Plain text and Markdown
# --------------------------------------------------------------------------------------------

_FRONT_MATTER_START = re.compile(r"\A---[ \t]*\n")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$\n?", re.M)
_DATE_MARKER = re.compile(r"\A[ \t]*date[ \t]+(\d{4}-\d{2}-\d{2})(?:[ \t]*\n|[ \t]+)")
_MARKDOWN_HEADING = re.compile(r" {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*")
_MARKDOWN_TITLE = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.M)
_FENCE = re.compile(r" {0,3}(```|~~~)")


def extract_text(data: bytes, *, markdown: bool) -> Extracted:
    """Text, headings and declared metadata (front matter, first-line date marker) of a ``.txt``/``.md`` file."""
    text = clean_text(decode_text(data))
    declared, text = _split_front_matter(text)
    if marker := _DATE_MARKER.match(text):
        date = make_date(*(int(part) for part in marker[1].split("-")))
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
    title = title or first_line_title(text)
    if title:
        guessed["title"] = title
    return Extracted(text, _line_sections(text, markdown=markdown), declared, guessed)


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """(metadata from the YAML front matter, the text after it); no front matter gives ``({}, text)``."""
    start = _FRONT_MATTER_START.match(text)
    if start is None:
        return {}, text
    end = _FRONT_MATTER_END.search(text, start.end())
    if end is None:
        raise DocumentError("malformed front matter: no closing '---' line")
    return parse_metadata(text[start.end() : end.start()], "front matter"), text[end.end() :]


def _line_sections(text: str, *, markdown: bool) -> tuple[Section, ...]:
    """Sections of a plain or Markdown text: ``#`` headings and headings of normative acts."""
    lines = text.split("\n")
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    trail = Trail()
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
            heading = Heading(len(match[1]), " ".join(match[2].split()))
        elif legal := legal_heading(line):
            following = [" ".join(nxt.split()) for nxt in lines[index + 1 : index + 12] if nxt.strip()]
            heading = with_continuations(legal, following)
        if heading is not None:
            sections.append(Section(starts[index], trail.enter(heading)))
    return tuple(sections)


# --------------------------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------------------------

BOMS = (
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


def decode_text(data: bytes) -> str:
    """Bytes of a text file as a string, whatever common encoding they are in.

    Order: a BOM (UTF-8/16/32); UTF-16 without BOM; strict UTF-8; UTF-8 with a handful of broken
    bytes; the single-byte Cyrillic code page whose reading looks most like Russian or Kazakh
    (charset-normalizer mistakes short Windows-1251 or KZ-1048 texts for mac_cyrillic, cp1125 or
    shift_jis); charset-normalizer's best guess.

    Raises:
        DocumentError: binary content ("not a text file") or an invalid BOM-marked text.
    """
    return reject_binary(_decode(data))


def reject_binary(text: str) -> str:
    """``text`` unchanged, unless it is what binary data decodes to.

    Raises:
        DocumentError: more than 5% of the first 20,000 characters are control, unassigned or
            private-use characters.
    """
    sample = text[:20000]
    if sum(_is_junk(char) for char in sample) > 0.05 * len(sample):
        raise DocumentError("not a text file (binary content)")
    return text


def _is_junk(char: str) -> bool:
    """Control, unassigned, surrogate or private-use characters: what binary data decodes to."""
    return char not in "\t\n\r\f" and unicodedata.category(char) in ("Cc", "Cn", "Cs", "Co")


def _decode(data: bytes) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as error:
                raise DocumentError(f"invalid {encoding} text: {error.reason} at byte {error.start}") from error
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is not None:
            return text
        nuls = data.count(0)
        if nuls > len(data) // 20:  # binary data; fewer go, and the junk check below still applies
            raise DocumentError("not a text file (contains NUL bytes)")
        logger.warning("text has %d stray NUL byte(s); they are dropped", nuls)
        data = data.replace(b"\x00", b"")  # a few NULs in an exported text, not binary data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", errors="replace")
    broken = lenient.count("\ufffd")
    if broken <= len(lenient) // 1000 + 1 and any(ord(char) > 127 and char != "\ufffd" for char in lenient):
        logger.warning("text is UTF-8 with %d invalid byte sequence(s); they are replaced with U+FFFD", broken)
        return lenient
    mixed = _decode_mixed_lines(data)
    if mixed is not None:
        return mixed
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
    for encoding in cyrillic_codecs(data):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        logger.debug("read the text as %s", encoding)
        return text
    return None


def cyrillic_codecs(data: bytes) -> list[str]:
    """The Cyrillic code pages in which ``data`` reads like Russian or Kazakh, the likeliest first."""
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
    return [encoding for _, _, encoding in sorted(scored)]


def _decode_mixed_lines(data: bytes) -> str | None:
    """A text whose lines are partly UTF-8 and partly one Cyrillic code page (files pasted together).

    Each line that is valid UTF-8 is read as UTF-8, the others in the code page that makes them
    look most like Russian or Kazakh. ``None`` unless there are lines of both kinds with
    non-ASCII letters and such a code page exists.
    """
    lines = data.split(b"\n")
    foreign = []
    utf8_lines = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines += 1
        except UnicodeDecodeError:
            foreign.append(line)
    if not utf8_lines or not foreign:
        return None
    encodings = cyrillic_codecs(b"\n".join(foreign))
    if not encodings:
        return None
    logger.warning("text mixes UTF-8 lines with %d line(s) in %s; each is read in its own encoding", len(foreign), encodings[0])

    def read(line: bytes) -> str:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            return line.decode(encodings[0], errors="replace")

    return "\n".join(read(line) for line in lines)


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
