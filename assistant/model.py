"""Types shared between the pipeline's stages, in one leaf module that imports nothing of the package.

Readers produce :class:`Section` headings, documents carry them, chunks and passages name
them; keeping the type here lets each of those modules import it without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LANGUAGES", "SECTION_PART_CHARS", "SECTION_SEPARATOR", "SIDECAR_SUFFIX", "SUPPORTED_SUFFIXES", "Section"]

# The languages of questions, documents and the interface (ISO 639-1), each vocabulary spelled once.
LANGUAGES = ("ru", "kk", "en")
# Files the corpus may hold, by suffix (lower case); a file's metadata may sit beside it in a sidecar.
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".docx", ".html", ".htm", ".pdf")
SIDECAR_SUFFIX = ".meta.yaml"

SECTION_SEPARATOR = " › "  # between the parts of a hierarchical section title
SECTION_PART_CHARS = 120  # each part of a hierarchical section title is cut to about this length


@dataclass(frozen=True)
class Section:
    """A heading inside a document and where its text starts (character offset in ``Document.text``)."""

    start: int
    title: str
