"""Types shared between the pipeline's stages, in one leaf module that imports nothing of the package.

Readers produce :class:`Section` headings and a :class:`Document`; the chunker cuts it into
:class:`Chunk` rows; the index remembers each document as a :class:`DocumentRecord`; retrieval
returns :class:`Passage`, which the answer, the support check, the region view and the
interface read. A document, its record and every passage from it carry the same
:class:`Citation` (title, date, region, type, language, source), spelled out once here, and the
same :class:`Provenance` (how the document entered the corpus).
Keeping the types here lets each of those modules import them without importing the others
(the support check does not need the search module for a type).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING

__all__ = [
    "ANONYMOUS",
    "ANSWER_MODES",
    "AUDIT_ACTIONS",
    "CITATION_FIELDS",
    "DOC_TYPES",
    "FALLBACK_REASONS",
    "LANGUAGES",
    "NOT_FOUND_REASONS",
    "READ_ACCESS",
    "ROLES",
    "ORIGINS",
    "PROVENANCE_FIELDS",
    "SEARCH_MODES",
    "REGION_CHARS",
    "SECTION_CHARS",
    "SECTION_PART_CHARS",
    "SECTION_SEPARATOR",
    "SIDECAR_SUFFIX",
    "SUPPORTED_SUFFIXES",
    "TITLE_CHARS",
    "Chunk",
    "Citation",
    "Cited",
    "Document",
    "DocumentRecord",
    "Passage",
    "Provenance",
    "Section",
    "plain",
]

# The vocabularies, each spelled once: the code validates against these tuples, and the
# interface has a text for every value in every language (tests/test_architecture.py checks).
# The languages of questions, documents and the interface (ISO 639-1).
LANGUAGES = ("ru", "kk", "en")
DOC_TYPES = ("address", "regional_response", "legal_act", "other")
SEARCH_MODES = ("hybrid", "dense", "keyword")  # meaning and keywords fused; meaning only; BM25 only
ANSWER_MODES = ("extractive", "generative")  # quotes; the local language model's text, checked
# Why an answer is "not found": nothing answers; the region named has no documents; its documents don't say.
NOT_FOUND_REASONS = ("not_found", "no_documents", "region_silent")
# Why the quotes stand in for a generative answer: no model configured; the model failed
# (timeout, unreachable, interrupted, error, garbage, empty, a reply over Settings.llm_max_chars);
# its answer failed the checks.
FALLBACK_REASONS = (
    "no_llm", "timeout", "unreachable", "interrupted", "error", "garbage", "empty", "too_long",
    "unsupported", "model_no_answer", "wrong_language",
)  # fmt: skip
# How a document entered the corpus: put in the corpus folder by whoever installed or runs the
# server (the repository's sample, files copied in); written by `assistant fetch` from a listed
# URL; saved from the web upload form.
ORIGINS = ("shipped", "fetched", "uploaded")
ANONYMOUS = "anonymous"  # who uploaded a file when nobody was logged in
AUDIT_ACTIONS = ("upload", "delete")  # what the audit log records (assistant/audit.py)
# Files the corpus may hold, by suffix (lower case); a file's metadata may sit beside it in a sidecar.
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".docx", ".html", ".htm", ".pdf")
SIDECAR_SUFFIX = ".meta.yaml"
# Who may do what in the web chat: a reader asks and searches; an editor also changes the corpus.
ROLES = ("reader", "editor")
# Whether reading (chat, search, regions) is open to anyone who reaches the server or needs a login.
READ_ACCESS = ("open", "login")

SECTION_SEPARATOR = " › "  # between the parts of a hierarchical section title
SECTION_PART_CHARS = 120  # each part of a hierarchical section title is cut to about this length
# The longest title, region and section title a document keeps (the defaults of Settings.max_title_chars,
# max_region_chars and max_section_chars): longer ones are cut when the file is read. The longest
# titles of real acts run to about 300 characters, their sections to about 330.
TITLE_CHARS, REGION_CHARS, SECTION_CHARS = 500, 100, 500


@dataclass(frozen=True)
class Section:
    """A heading inside a document and where its text starts (character offset in ``Document.text``)."""

    start: int
    title: str


@dataclass(frozen=True)
class Citation:
    """What a reader needs to find and check a quoted text: the document's title, date
    (``YYYY-MM-DD``), region (canonical English name), type, language and source (a URL, or the
    file's path in the corpus). Empty strings where unknown."""

    title: str
    date: str = ""
    region: str = ""
    doc_type: str = "other"
    lang: str = ""
    source: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


CITATION_FIELDS = tuple(item.name for item in fields(Citation))


@dataclass(frozen=True)
class Provenance:
    """How a document entered the corpus, and what it claimed on its own.

    Attributes:
        origin: one of :data:`ORIGINS`; empty in an index built before provenance was recorded.
        added_by: who uploaded it (the logged-in user's name, or :data:`ANONYMOUS`).
        added_at: when it was uploaded, or when its current text was fetched (ISO 8601, UTC).
        fetched_from: the listed URL ``assistant fetch`` read it from.
        file_sha256: SHA-256 of the file's bytes as indexed (hex).
        stated_source, stated_outlet: what an uploaded file says of itself (front matter
            ``source``/``outlet``, an HTML page's ``og:url``): shown as stated by the uploader,
            never used as the document's source.
    """

    origin: str = ""
    added_by: str = ""
    added_at: str = ""
    fetched_from: str = ""
    file_sha256: str = ""
    stated_source: str = ""
    stated_outlet: str = ""

    @property
    def uploaded(self) -> bool:
        return self.origin == "uploaded"


PROVENANCE_FIELDS = tuple(item.name for item in fields(Provenance))
# What plain() spreads flat into their carrier (their field names never collide with the carrier's).
_SPREAD = ("citation", "provenance")


class Cited:
    """The citation's fields, read on whatever carries it: ``passage.title`` is ``passage.citation.title``."""

    if TYPE_CHECKING:
        citation: Citation

    @property
    def title(self) -> str:
        return self.citation.title

    @property
    def date(self) -> str:
        return self.citation.date

    @property
    def region(self) -> str:
        return self.citation.region

    @property
    def doc_type(self) -> str:
        return self.citation.doc_type

    @property
    def lang(self) -> str:
        return self.citation.lang

    @property
    def source(self) -> str:
        return self.citation.source


@dataclass(frozen=True)
class Document(Cited):
    """One corpus file, read and ready to chunk.

    Attributes:
        doc_id: path relative to the corpus root, with forward slashes (stable across rebuilds).
        text: the extracted main text; chunk offsets point into this string.
        citation: title, date, region, type, language and source (see :class:`Citation`).
        sections: headings in order of ``start`` ("Глава 3. ...", "Статья 12. ...", "page 4").
        content_hash: hash of the file bytes plus its sidecar, used to skip unchanged files.
        cut: what was cut to its limit when the file was read ("title cut to 500 characters (it
            had 2,000,000)"), for the build report.
        provenance: how the file entered the corpus (see :class:`Provenance`).
    """

    doc_id: str
    text: str
    citation: Citation
    sections: tuple[Section, ...] = field(default=())
    content_hash: str = ""
    cut: tuple[str, ...] = field(default=())
    provenance: Provenance = field(default_factory=Provenance)


@dataclass(frozen=True)
class DocumentRecord(Cited):
    """A document as the index remembers it: its citation, the hash it was built from, its chunk
    count, and how it entered the corpus."""

    doc_id: str
    content_hash: str
    citation: Citation
    chunks: int = 0
    provenance: Provenance = field(default_factory=Provenance)

    def to_dict(self) -> dict:
        """The flat form the manifest stores: ``doc_id``, ``content_hash``, the citation's fields,
        ``chunks``, the provenance's fields."""
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict) -> DocumentRecord:
        """Inverse of :meth:`to_dict` (a record of an older manifest has no provenance); ``TypeError``
        or ``KeyError`` for a damaged entry."""
        citation = Citation(**{name: data[name] for name in CITATION_FIELDS if name in data})
        provenance = Provenance(**{name: data[name] for name in PROVENANCE_FIELDS if name in data})
        spread = (*CITATION_FIELDS, *PROVENANCE_FIELDS)
        rest = {name: value for name, value in data.items() if name not in spread}
        return cls(citation=citation, provenance=provenance, **rest)


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``document.text[start:end] == text``.

    ``chunk_id`` is ``"<doc_id>#<start>"``: it survives rebuilds as long as the document does
    not change before that point, so citations stay valid. ``embed_hash`` is the hash of the
    text that was embedded for it (the chunk under its title and section header); empty until
    the build computes it.
    """

    chunk_id: str
    doc_id: str
    start: int
    end: int
    section: str
    text: str
    embed_hash: str = ""


@dataclass(frozen=True)
class Passage(Cited):
    """A retrieved chunk with its score and citation metadata.

    ``text`` equals the document's extracted text between ``start`` and ``end``. ``score``
    orders the results of the mode searched (hybrid: the fused score; dense: the cosine
    similarity; keyword: BM25). ``similarity`` is always the cosine similarity of the query
    and the chunk (0 in keyword mode, where the query is not embedded).

    ``also_published`` lists the sources (URLs or citations) of the other documents holding
    the same text (see :mod:`assistant.duplicates`) that the search's filters allow: only
    one copy of a republished text is returned, the best-ranked one that was not uploaded.
    ``also_published_provenance`` is how each of those entered the corpus, in the same order.
    ``provenance`` is the passage's own document's.
    """

    rank: int
    score: float
    chunk_id: str
    doc_id: str
    text: str
    citation: Citation
    section: str
    start: int
    end: int
    similarity: float = 0.0
    keyword_score: float = 0.0
    also_published: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=Provenance)
    also_published_provenance: tuple[Provenance, ...] = ()

    def to_dict(self) -> dict:
        """The flat form the API returns: the citation's and provenance's fields sit beside the passage's own."""
        return plain(self)


def plain(value):
    """``value`` as JSON-ready data: dataclasses become dicts (a ``citation`` and a ``provenance``
    spread flat into their carrier, as the API and the manifest have always shown the citation),
    tuples stay tuples, lists lists."""
    if is_dataclass(value) and not isinstance(value, type):
        data = {}
        for item in fields(value):
            converted = plain(getattr(value, item.name))
            data.update(converted if item.name in _SPREAD else {item.name: converted})
        return data
    if isinstance(value, (tuple, list)):
        return type(value)(plain(item) for item in value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value
