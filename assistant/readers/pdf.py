"""PDF: the text layer page by page, each page a section ``"p. N"``, and the metadata title."""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING

from assistant.documents import Section
from assistant.errors import DocumentError
from assistant.metadata import one_line
from assistant.readers import Extracted
from assistant.readers.text import clean_text

if TYPE_CHECKING:
    from pypdf import PageObject

logger = logging.getLogger(__name__)


def extract_pdf(data: bytes, *, max_unpacked: int | None = None) -> Extracted:
    """Text, page sections and title of a ``.pdf`` file; pages are separated by blank lines.

    Args:
        data: the file's bytes.
        max_unpacked: the most bytes of drawing instructions (page contents and the forms in
            their resources) decoded before the file is refused. pypdf caps each stream at 75 MB
            but not their sum: a 1.4 MB PDF of 20 such pages took 112 s and 1.6 GB.

    Raises:
        DocumentError: the file is corrupt, encrypted, without text, or draws more than
            ``max_unpacked`` bytes.
    """
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
    unpacked = 0
    counted: set[object] = set()
    for number, page in enumerate(page_list, 1):
        try:
            if max_unpacked is not None:
                unpacked += _unpacked_bytes(page, counted)
                if unpacked > max_unpacked:
                    raise DocumentError(
                        f"the .pdf unpacks to more than {max_unpacked:,} bytes of page content (limit "
                        f"reached at p. {number}): refused as a possible decompression bomb"
                    )
            pages.append(page.extract_text() or "")
        except DocumentError:
            raise
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


def _unpacked_bytes(page: PageObject, seen: set[object]) -> int:
    """Decoded bytes of the page's content streams and of the forms in its resources not counted yet.

    Each distinct stream counts once per file (pypdf keeps what it decoded): this bounds memory.
    """
    from pypdf.generic import DictionaryObject, IndirectObject, StreamObject

    contents = page.get_contents()
    total = len(contents.get_data()) if contents is not None else 0
    pending = [(page.get("/Resources"), 0)]
    while pending:
        resources, depth = pending.pop()
        resources = resources.get_object() if resources is not None else None
        xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
        xobjects = xobjects.get_object() if xobjects is not None else None
        if not isinstance(xobjects, DictionaryObject) or depth >= 8:
            continue
        for reference in xobjects.values():
            form = reference.get_object()
            key = (reference.idnum, reference.generation) if isinstance(reference, IndirectObject) else id(form)
            if key in seen or not isinstance(form, StreamObject) or form.get("/Subtype") != "/Form":
                continue
            seen.add(key)
            total += len(form.get_data())
            pending.append((form.get("/Resources"), depth + 1))
    return total
