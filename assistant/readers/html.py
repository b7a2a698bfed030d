"""HTML: the main article (trafilatura, else the visible text), its headings, title, date and URL."""

from __future__ import annotations

import codecs
import logging
import re
from typing import Any

from assistant.errors import DocumentError
from assistant.metadata import normalise_date, one_line
from assistant.model import Section
from assistant.readers import Extracted
from assistant.readers.headings import Heading, Trail
from assistant.readers.text import BOMS, clean_block, decode_text, reject_binary

logger = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""\A\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_HTML_HEADING = re.compile(r"h([1-6])")


def extract_html(data: bytes) -> Extracted:
    """Main text, headings and page metadata of an ``.html``/``.htm`` file; blocks are separated by blank lines."""
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
                guessed["date"] = normalise_date(result.date, "html")
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
    trail = Trail()
    offset = 0
    for text, level in blocks:
        if level:
            sections.append(Section(offset, trail.enter(Heading(level, " ".join(text.split())))))
        parts.append(text)
        offset += len(text) + 2
    return Extracted("\n\n".join(parts), tuple(sections), {}, guessed)


def _decode_html(data: bytes) -> str:
    """A page's text: BOM, else valid UTF-8 (whatever the page claims), else its declared charset, else detection."""
    if not any(data.startswith(bom) for bom, _ in BOMS) and b"\x00" not in data:
        try:
            # Real Windows-1251 text is never valid UTF-8 with non-ASCII characters; pages that
            # declare a code page but were re-saved as UTF-8 are common.
            return reject_binary(data.decode("utf-8"))
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
                    return reject_binary(data.decode(encoding))
                except UnicodeDecodeError:
                    logger.warning("page declares charset %s but is not; detecting the encoding", name)
    return decode_text(data)


def _trafilatura_blocks(body: Any) -> list[tuple[str, int]]:
    """(text, heading level or 0) for each block of trafilatura's XML body."""
    blocks = [(text, 0)] if (text := clean_block(body.text or "")) else []
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
        text = clean_block(text)
        if text:
            blocks.append((text, level))
        if tail := clean_block(element.tail or ""):
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
        raise DocumentError(f"unreadable html: {one_line(error)}") from error
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
        text = clean_block("".join(pending))
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
