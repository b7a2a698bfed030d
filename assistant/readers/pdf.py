"""PDF: the text layer page by page, each page a section ``"p. N"``, and the metadata title."""

from __future__ import annotations

import io
import logging
import re

from assistant.documents import Section
from assistant.errors import DocumentError
from assistant.metadata import one_line
from assistant.readers import Extracted
from assistant.readers.text import clean_text

logger = logging.getLogger(__name__)


def extract_pdf(data: bytes) -> Extracted:
    """Text, page sections and title of a ``.pdf`` file; pages are separated by blank lines."""
    from pypdf import PdfReader

    # pypdf raises many error types on damaged files; to a corpus build they all mean the same.
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as error:
        raise DocumentError(f"corrupt .pdf: {one_line(error)}") from error
    if encrypted:
        try:
            decrypted = reader.decrypt("")  # many PDFs are encrypted with an empty user password
        except Exception as error:
            raise DocumentError(f"encrypted PDF: {one_line(error)}") from error
        if not decrypted:
            raise DocumentError("encrypted PDF (a password is needed)")
    try:
        page_list = list(reader.pages)
    except Exception as error:
        raise DocumentError(f"corrupt .pdf: {one_line(error)}") from error
    if not page_list:
        raise DocumentError("corrupt .pdf: no pages")
    pages = []
    failures = []
    for number, page in enumerate(page_list, 1):
        try:
            pages.append(page.extract_text() or "")
        except Exception as error:  # one damaged page should not lose the others
            failures.append(f"p. {number}: {one_line(error)}")
            pages.append("")
    if len(failures) == len(page_list):
        raise DocumentError(f"corrupt .pdf: {failures[0]}")
    if failures:
        logger.warning("could not read %d PDF page(s): %s", len(failures), "; ".join(failures[:3]))

    parts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for number, page_text in enumerate(pages, 1):
        cleaned = clean_text(page_text).strip()
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
    return Extracted("\n\n".join(parts), tuple(sections), {}, guessed)
