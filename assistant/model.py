"""Types shared between the pipeline's stages, in one leaf module that imports nothing of the package.

Readers produce :class:`Section` headings, documents carry them, chunks and passages name
them; retrieval returns :class:`Passage`, which the answer, the support check, the region view
and the interface read. Keeping the types here lets each of those modules import them without
importing the others (the support check does not need the search module for a type).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = [
    "LANGUAGES",
    "SECTION_PART_CHARS",
    "SECTION_SEPARATOR",
    "SIDECAR_SUFFIX",
    "SUPPORTED_SUFFIXES",
    "Passage",
    "Section",
]

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


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score and citation metadata.

    ``text`` equals the document's extracted text between ``start`` and ``end``. ``score``
    orders the results of the mode searched (hybrid: the fused score; dense: the cosine
    similarity; keyword: BM25). ``similarity`` is always the cosine similarity of the query
    and the chunk (0 in keyword mode, where the query is not embedded).

    ``also_published`` lists the sources (URLs or citations) of the other documents holding
    the same text (see :mod:`assistant.duplicates`) that the search's filters allow: only
    the best-ranked copy of a republished text is returned.
    """

    rank: int
    score: float
    chunk_id: str
    doc_id: str
    text: str
    title: str
    date: str
    region: str
    doc_type: str
    lang: str
    source: str
    section: str
    start: int
    end: int
    similarity: float = 0.0
    keyword_score: float = 0.0
    also_published: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)
