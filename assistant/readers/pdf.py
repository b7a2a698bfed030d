"""PDF: the text layer page by page, each page a section ``"p. N"``, and the metadata title."""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING

from assistant.errors import DocumentError
from assistant.metadata import one_line
from assistant.model import Section
from assistant.readers import Extracted
from assistant.readers.text import clean_text

if TYPE_CHECKING:
    from pypdf import PageObject

logger = logging.getLogger(__name__)

PARSE_FACTOR = 10  # content parsed (forms counted each time drawn) may be this many times the decoded limit
_MAX_FORM_DEPTH = 12
_DRAWN = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+Do\b")  # "/Fm1 Do": draw the XObject named Fm1


def extract_pdf(data: bytes, *, max_unpacked: int | None = None) -> Extracted:
    """Text, page sections and title of a ``.pdf`` file; pages are separated by blank lines.

    Args:
        data: the file's bytes.
        max_unpacked: the most bytes of drawing instructions (page contents and the forms they
            draw) decoded before the file is refused; ``PARSE_FACTOR`` times this may be parsed,
            counting a form each time it is drawn. pypdf caps each stream at 75 MB but not their
            sum: a 1.4 MB PDF of 20 such pages took 112 s and 1.6 GB.

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
    budget = _DrawingBudget(max_unpacked) if max_unpacked is not None else None
    for number, page in enumerate(page_list, 1):
        try:
            if budget is not None:
                budget.charge(page, number)
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


class _DrawingBudget:
    """What text extraction decodes and parses in a PDF, checked page by page against limits.

    pypdf caps each stream at 75 MB, not their sum. Each distinct stream is decoded once (pypdf
    keeps it), so ``decoded`` bounds memory; a form is parsed again every time a page draws it, so
    ``parsed`` bounds time (a 24 KB PDF drawing one 20 MB form on 10 pages took 16 s).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.decoded = 0
        self.parsed = 0
        self._seen: set[tuple[int, int]] = set()

    def charge(self, page: PageObject, number: int) -> None:
        """Count the page's content and the forms it draws; raises DocumentError over a limit."""
        contents = page.get_contents()
        data = contents.get_data() if contents is not None else b""
        self._add(len(data), None, number)
        self._draw(data, page.get("/Resources"), number, depth=1)

    def _draw(self, content: bytes, resources: object, number: int, depth: int) -> None:
        from pypdf.generic import DictionaryObject, IndirectObject, StreamObject

        if depth > _MAX_FORM_DEPTH or b"Do" not in content:
            return
        resources = resources.get_object() if resources is not None else None  # type: ignore[attr-defined]
        xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
        xobjects = xobjects.get_object() if xobjects is not None else None
        if not isinstance(xobjects, DictionaryObject):
            return
        for name in _DRAWN.findall(content):
            reference = xobjects.get("/" + name.decode("latin-1"))
            form = reference.get_object() if reference is not None else None
            if not isinstance(form, StreamObject) or form.get("/Subtype") != "/Form":
                continue  # images are not decoded for text
            key = (reference.idnum, reference.generation) if isinstance(reference, IndirectObject) else None
            data = form.get_data()
            self._add(len(data), key, number)
            self._draw(data, form.get("/Resources"), number, depth + 1)

    def _add(self, size: int, key: tuple[int, int] | None, number: int) -> None:
        if key is None or key not in self._seen:
            self.decoded += size
            if key is not None:
                self._seen.add(key)
        self.parsed += size
        if self.decoded > self.limit:
            raise DocumentError(
                f"the .pdf unpacks to more than {self.limit:,} bytes of page content (limit reached at "
                f"p. {number}): refused as a possible decompression bomb"
            )
        if self.parsed > PARSE_FACTOR * self.limit:
            raise DocumentError(
                f"the .pdf's pages draw more than {PARSE_FACTOR * self.limit:,} bytes of content (limit reached "
                f"at p. {number}; the same forms drawn again and again): refused as a possible decompression bomb"
            )
