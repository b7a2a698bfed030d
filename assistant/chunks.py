"""Chunks: passages cut from documents, sized in the embedding model's tokens."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.documents import Document

logger = logging.getLogger(__name__)

# Paragraphs first, then lines, sentences, clauses, words; characters only as a last resort.
SEPARATORS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ": ", ", ", " ", "")
HEADER_TOKENS = 64  # budget for the "title / section" line put in front of every chunk
SPLITTER_NAME = "langchain RecursiveCharacterTextSplitter, per section, token-sized"


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``document.text[start:end] == text``.

    ``chunk_id`` is ``"<doc_id>#<start>"``: it survives rebuilds as long as the
    document does not change before that point, so citations stay valid.
    """

    chunk_id: str
    doc_id: str
    start: int
    end: int
    section: str
    text: str


@dataclass(frozen=True)
class ChunkerSettings:
    """How documents were cut; recorded in the index manifest."""

    chunk_tokens: int
    overlap_tokens: int
    header_tokens: int = HEADER_TOKENS
    splitter: str = SPLITTER_NAME
    # Bumped when reading or metadata rules change (e.g. region detection): the next build
    # re-reads every document; vectors of unchanged texts are reused.
    reader: str = "2"


def split_document(
    document: Document, settings: ChunkerSettings, count_tokens: Callable[[str], int]
) -> list[Chunk]:
    """Cut a document into chunks that never cross a section boundary.

    Args:
        document: the document to cut.
        settings: chunk size and overlap, in tokens of ``count_tokens``.
        count_tokens: the embedding model's token counter (no special tokens).

    Returns:
        Chunks in document order; each one's text is the exact slice of ``document.text``.
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # The splitter measures the same pieces again while merging and overlapping them.
    count_tokens = functools.lru_cache(maxsize=4096)(count_tokens)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_tokens,
        chunk_overlap=settings.overlap_tokens,
        length_function=count_tokens,
        separators=list(SEPARATORS),
        keep_separator="end",  # pieces re-join into exact slices of the source
        strip_whitespace=True,
    )
    chunks: list[Chunk] = []
    for segment_start, segment_end, section in _segments(document):
        segment = document.text[segment_start:segment_end]
        cursor = 0
        for piece in splitter.split_text(segment):
            local = _locate(segment, piece, cursor)
            if local is None:
                logger.warning("chunk of %s not found in its source text; skipped", document.doc_id)
                continue
            begin, finish = local
            cursor = begin + 1
            start, end = segment_start + begin, segment_start + finish
            chunks.append(
                Chunk(
                    chunk_id=f"{document.doc_id}#{start}",
                    doc_id=document.doc_id,
                    start=start,
                    end=end,
                    section=section,
                    text=document.text[start:end],
                )
            )
    return chunks


def embedding_text(chunk: Chunk, title: str, header_limit: Callable[[str], str]) -> str:
    """The text the model embeds: a short "title / section" header, then the chunk.

    Args:
        chunk: the chunk.
        title: its document's title.
        header_limit: cuts the header to the header token budget.
    """
    header = header_limit(" / ".join(part for part in (title.strip(), chunk.section.strip()) if part))
    if not header:
        return chunk.text
    return header + "\n\n" + chunk.text


def header_limiter(count_tokens: Callable[[str], int], budget: int = HEADER_TOKENS) -> Callable[[str], str]:
    """A function that trims a header to ``budget`` tokens (cut at a word boundary)."""
    cache: dict[str, str] = {}

    def limit(header: str) -> str:
        if header in cache:
            return cache[header]
        text = header if budget > 0 else ""
        while text and count_tokens(text) > budget:
            cut = max(len(text) * 3 // 4, 1)
            text = text[:cut].rsplit(" ", 1)[0] if " " in text[:cut] else text[:cut]
        cache[header] = text
        return text

    return limit


def content_hash(text: str) -> str:
    """Hash deciding whether an embedded text must be embedded again."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _segments(document: Document) -> list[tuple[int, int, str]]:
    """(start, end, section title) spans: text before the first heading, then one per heading."""
    bounds = [(0, "")] + [(s.start, s.title) for s in document.sections if 0 <= s.start < len(document.text)]
    bounds.sort(key=lambda bound: bound[0])
    spans = []
    for index, (start, title) in enumerate(bounds):
        end = bounds[index + 1][0] if index + 1 < len(bounds) else len(document.text)
        if end > start and document.text[start:end].strip():
            spans.append((start, end, title))
    return spans


def _locate(haystack: str, needle: str, cursor: int) -> tuple[int, int] | None:
    """Where the splitter's piece sits in the segment, searching from ``cursor``."""
    found = haystack.find(needle, cursor)
    if found < 0:
        found = haystack.find(needle)
    if found >= 0:
        return found, found + len(needle)
    # Fall back to a whitespace-tolerant match, in case the splitter rejoined pieces.
    pattern = r"\s+".join(re.escape(word) for word in needle.split())
    match = re.compile(pattern).search(haystack, cursor) or re.compile(pattern).search(haystack)
    return (match.start(), match.end()) if match else None
