"""Chunks: passages cut from documents, sized in the embedding model's tokens."""

from __future__ import annotations

import collections
import functools
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from assistant.model import REGION_CHARS, SECTION_CHARS, TITLE_CHARS, Chunk, Document

logger = logging.getLogger(__name__)

# Paragraphs first, then lines, sentences, clauses, words; characters only as a last resort.
SEPARATORS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ": ", ", ", " ", "")
HEADER_TOKENS = 64  # budget for the "title / section" line put in front of every chunk
SPLITTER_NAME = "langchain RecursiveCharacterTextSplitter, per section, token-sized, exact offsets"


@dataclass(frozen=True)
class ChunkerSettings:
    """How documents were cut; recorded in the index manifest."""

    chunk_tokens: int
    overlap_tokens: int
    header_tokens: int = HEADER_TOKENS
    splitter: str = SPLITTER_NAME
    # Bumped when reading or metadata rules change (e.g. region detection): the next build
    # re-reads every document; vectors of unchanged texts are reused.
    reader: str = "3"
    # The longest title, region and section title kept (Settings.max_title_chars...): another limit,
    # or an index from before the limits, re-reads every document as the reading rules do.
    title_chars: int = TITLE_CHARS
    region_chars: int = REGION_CHARS
    section_chars: int = SECTION_CHARS


def split_document(document: Document, settings: ChunkerSettings, count_tokens: Callable[[str], int]) -> list[Chunk]:
    """Cut a document into chunks that never cross a section boundary.

    The pieces are those of langchain's ``RecursiveCharacterTextSplitter`` (separators
    :data:`SEPARATORS`, ``keep_separator="end"``, ``strip_whitespace=True``, lengths in
    ``count_tokens``), computed as offsets rather than as strings: finding each piece again in
    the text put pieces of repetitive text (rules of ``____``, repeated clauses, a repeated
    word) at an earlier occurrence, leaving the rest of the text in no chunk and giving two
    chunks one id. ``tests/test_properties.py`` checks the pieces equal langchain's.

    Args:
        document: the document to cut.
        settings: chunk size and overlap, in tokens of ``count_tokens``.
        count_tokens: the embedding model's token counter (no special tokens).

    Returns:
        Chunks in document order; each one's text is the exact slice of ``document.text``.
    """
    # The splitter measures the same pieces again while merging and overlapping them.
    count_tokens = functools.lru_cache(maxsize=4096)(count_tokens)
    splitter = _Splitter(document.text, settings.chunk_tokens, settings.overlap_tokens, count_tokens)
    chunks: list[Chunk] = []
    for segment_start, segment_end, section in _segments(document):
        for start, end in splitter.spans(segment_start, segment_end):
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


class _Splitter:
    """langchain's recursive character splitter over ``text``, yielding ``(start, end)`` spans.

    Mirrors ``RecursiveCharacterTextSplitter._split_text`` and ``TextSplitter._merge_splits``
    (langchain-text-splitters 1.x) with ``keep_separator="end"``, whose pieces join with no
    separator, so a merged piece is the span from its first split to its last, then stripped.
    Merging streams over the splits: a run of millions of one-character splits (a long line
    without spaces) holds only the current piece in memory.
    """

    def __init__(self, text: str, size: int, overlap: int, count_tokens: Callable[[str], int]) -> None:
        self.text = text
        self.size = size
        self.overlap = overlap
        self.count = count_tokens

    def spans(self, begin: int, end: int, separators: tuple[str, ...] = SEPARATORS) -> Iterator[tuple[int, int]]:
        separator, deeper = separators[-1], ()
        for number, candidate in enumerate(separators):
            if not candidate:
                separator = candidate
                break
            if self.text.find(candidate, begin, end) >= 0:
                separator, deeper = candidate, separators[number + 1 :]
                break
        current: collections.deque[tuple[int, int, int]] = collections.deque()  # (start, end, tokens)
        total = 0
        for start, stop in self._splits(begin, end, separator):
            tokens = self.count(self.text[start:stop])
            if tokens < self.size:
                # _merge_splits: close the current piece when this split does not fit, then keep
                # at most ``overlap`` tokens of its end to open the next one.
                if total + tokens > self.size and current:
                    yield from self._stripped(current[0][0], current[-1][1])
                    while total > self.overlap or (total + tokens > self.size and total > 0):
                        total -= current.popleft()[2]
                current.append((start, stop, tokens))
                total += tokens
                continue
            if current:
                yield from self._stripped(current[0][0], current[-1][1])
                current.clear()
                total = 0
            if deeper:
                yield from self.spans(start, stop, deeper)
            else:
                yield start, stop  # langchain keeps an oversized last-resort split as it is
        if current:
            yield from self._stripped(current[0][0], current[-1][1])

    def _splits(self, begin: int, end: int, separator: str) -> Iterator[tuple[int, int]]:
        """``re.split`` on ``separator`` keeping it at the end of each split; characters for ``""``."""
        if not separator:
            yield from ((position, position + 1) for position in range(begin, end))
            return
        start = begin
        while (found := self.text.find(separator, start, end)) >= 0:
            yield start, found + len(separator)
            start = found + len(separator)
        if start < end:
            yield start, end

    def _stripped(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        text = self.text
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            yield start, end


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
