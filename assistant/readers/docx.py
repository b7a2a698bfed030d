"""Word (.docx): paragraphs and tables in document order, styled and legal headings, title."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.errors import DocumentError
from assistant.metadata import guess_doc_type, one_line, shorten
from assistant.model import Section
from assistant.readers import Extracted
from assistant.readers.headings import Heading, Trail, legal_heading, with_continuations
from assistant.readers.text import clean_block

_STYLE_HEADING = re.compile(r"(?:heading|заголовок|тақырып|überschrift)\s*(\d)", re.I)
_TITLE_STYLES = ("title", "название", "заголовок", "тақырып")


@dataclass(frozen=True)
class _Block:
    text: str
    style: str = ""
    is_table: bool = False


def extract_docx(data: bytes, *, max_unpacked: int | None = None) -> Extracted:
    """Text, headings and title of a ``.docx`` file; blocks are separated by blank lines.

    Args:
        data: the file's bytes.
        max_unpacked: a file whose parts unpack to more bytes is refused before python-docx reads
            it (python-docx holds every part in memory: a 160 KB file can unpack to gigabytes).

    Raises:
        DocumentError: the file is corrupt, or unpacks to more than ``max_unpacked`` bytes.
    """
    import docx
    from docx.table import Table

    if max_unpacked is not None:
        _check_unpacked_size(data, max_unpacked)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.append(_Block(_table_text(item), is_table=True))
            else:
                style = item.style.name if item.style is not None else ""
                blocks.append(_Block(clean_block(item.text), style or ""))
        core_title = (document.core_properties.title or "").strip()
    except Exception as error:  # python-docx raises zip, XML and key errors alike on a damaged file
        raise DocumentError(f"corrupt .docx: {one_line(error)}") from error
    blocks = [block for block in blocks if block.text]

    parts: list[str] = []
    sections: list[Section] = []
    trail = Trail()
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
        opens_act = len(paragraphs) > 1 and guess_doc_type(paragraphs[1], paragraphs=1) == "legal_act"
        first = shorten(first, 300) if opens_act else ""
    title = styled_title or first or core_title
    guessed = {"title": " ".join(title.split())} if title else {}
    return Extracted(text, tuple(sections), {}, guessed)


def _check_unpacked_size(data: bytes, limit: int) -> None:
    """Refuse a zip whose members declare more than ``limit`` bytes in all.

    The declared sizes can be trusted for memory: ``zipfile`` never returns more than a member's
    declared size (a member that holds more fails its CRC check).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:  # what zipfile raises on a damaged archive
        raise DocumentError(f"corrupt .docx: {one_line(error)}") from error
    if unpacked > limit:
        raise DocumentError(
            f"the .docx unpacks to {unpacked:,} bytes (limit {limit:,}): refused as a possible decompression bomb"
        )


def _docx_heading(block: _Block, following: Sequence[_Block]) -> Heading | None:
    first_line = block.text.split("\n", 1)[0]
    if legal := legal_heading(first_line):
        if "\n" in block.text:
            return legal
        paragraphs = []
        for item in following:
            if item.is_table:
                break
            paragraphs.append(item.text)
        return with_continuations(legal, paragraphs)
    style = block.style.strip().lower()
    if match := _STYLE_HEADING.fullmatch(style):
        return Heading(int(match[1]), " ".join(block.text.split()))
    if style in _TITLE_STYLES:
        return Heading(1, " ".join(block.text.split()))
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
        pieces.append(_table_text(item).replace("\n", "; ") if isinstance(item, Table) else clean_block(item.text))
    return " ".join(piece for piece in pieces if piece)
