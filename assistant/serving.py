"""Serving: what a search asks of the build in service, behind one interface.

:class:`~assistant.retrieval.Searcher` validates the query, embeds it, fuses the dense and
keyword rankings, reranks by sentences and collapses republished copies; everything it needs
from the stored build goes through :class:`Backend`: the candidates of each retriever under
the filters, cosines of extra rows, each chunk's sentence vectors, duplicate groups, and the
passage (chunk + citation) of a row. Rows are the build's chunk numbers (``0 .. row_count-1``).

:class:`LocalBuild` serves a build loaded from the index folder (``assistant.store``): FAISS
for the dense candidates, the BM25 matrix for the keyword ones, NumPy columns for the
filters. A backend on a database server implements the same methods (``docs/scaling.md``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from assistant import vector_index
from assistant.copies import collapse_copies
from assistant.filters import DocumentFilter
from assistant.model import DocumentRecord, Passage, Provenance
from assistant.regions import REGIONS, canonical_region
from assistant.store import StoredIndex

__all__ = ["Backend", "LocalBuild"]


class Backend(Protocol):
    """What a search needs from a build. ``allowed`` is ``None`` (every row) or the rows the
    filters keep, as given by :meth:`allowed_rows`: an array of rows here, SQL conditions in
    :class:`~assistant.database_serving.DatabaseBuild`; the Searcher only counts it (``len``) and
    hands it back. Candidate dicts are ordered best first."""

    row_count: int  # chunks in the build
    regions: frozenset[str]  # canonical regions its documents belong to
    has_keywords: bool  # False for a build made before keyword search existed
    has_sentences: bool  # whether sentence vectors were stored
    has_copies: bool  # whether some documents are copies of others (duplicate groups)

    def documents(self) -> tuple[DocumentRecord, ...]:
        """Every document of the build, by document id."""

    def allowed_rows(self, filters: dict[str, object]) -> np.ndarray | None:
        """The rows whose documents pass the (checked) filters; ``None`` without filters."""

    def allowed_documents(self, filters: dict[str, object]) -> set[str] | None:
        """Ids of the documents the filters keep; ``None`` without filters."""

    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None) -> dict[int, float]:
        """Row -> cosine similarity of the ``k`` nearest chunks."""

    def keyword(self, query: str, k: int, allowed: np.ndarray | None) -> tuple[dict[int, float], float]:
        """Row -> BM25 score of the ``k`` best keyword matches, and the query's coverage (0..1)."""

    def similarities(self, rows: list[int], vector: np.ndarray) -> list[float]:
        """Cosine similarity of ``vector`` with each of ``rows``."""

    def sentences(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(spans in the chunk's text, unit vectors) of row ``row``'s sentences (empty when none stored)."""

    def row_of(self, chunk_id: str) -> int | None:
        """The row of a chunk id, or ``None``."""

    def collapse(
        self, ranked: list[int], k: int, allowed_documents: set[str] | None
    ) -> tuple[list[int], dict[int, tuple[str, ...]], int]:
        """The first ``k`` of ``ranked`` with copies of one text counted once, an uploaded copy
        never standing for a shipped or fetched one (see LocalBuild)."""

    def preference(self, row: int) -> int:
        """0 for the canonical copy of a text (and any document without copies), then 1, 2, ..."""

    def passage(
        self, rank: int, row: int, score: float, similarity: float, keyword_score: float, also_published: tuple[str, ...] = ()
    ) -> Passage:
        """Row ``row`` as a ranked passage with its citation and provenance, and the provenance of
        each copy in ``also_published``."""


class LocalBuild:
    """A build loaded from the index folder, served in process (see :class:`Backend`)."""

    def __init__(self, index: StoredIndex) -> None:
        self.index = index
        self.columns = FilterColumns(index)
        self.vectors = index.vectors()
        self.row_count = len(index.chunks)  # chunk records are read per row (ChunkTable), never all at once
        self.has_keywords = index.keywords is not None
        self.has_sentences = index.sentences is not None
        self.has_copies = index.duplicates is not None and bool(index.duplicates.groups)
        declared = (canonical_region(record.region) for record in index.documents.values() if record.region)
        self.regions = frozenset(region for region in declared if region in REGIONS)
        groups = index.duplicates.groups if index.duplicates is not None else ()
        self._position_in_group = {doc_id: at for group in groups for at, doc_id in enumerate(group.members)}

    def documents(self) -> tuple[DocumentRecord, ...]:
        return self.index.manifest.documents

    def allowed_rows(self, filters: dict[str, object]) -> np.ndarray | None:
        return self.columns.allowed_rows(filters)

    def allowed_documents(self, filters: dict[str, object]) -> set[str] | None:
        return self.columns.allowed_documents(filters)

    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None) -> dict[int, float]:
        """Exact below ``Settings.exact_search_max_chunks``; above it the build made an approximate
        index whose scores are still exact cosines (see :mod:`assistant.vector_index`)."""
        total = self.row_count if allowed is None else len(allowed)
        scores, rows = vector_index.search(
            self.index.faiss_index, self.index.vector_index, vector, min(k, total), allowed=allowed, vectors=self.vectors
        )
        return {int(row): float(score) for score, row in zip(scores, rows) if row >= 0}

    def keyword(self, query: str, k: int, allowed: np.ndarray | None) -> tuple[dict[int, float], float]:
        hits = self.index.keywords.score(query)  # type: ignore[union-attr]
        scores = hits.scores
        if allowed is not None:
            masked = np.zeros_like(scores)
            masked[allowed] = scores[allowed]
            scores = masked
        matching = np.flatnonzero(scores > 0)
        if len(matching) > k:
            matching = matching[np.argpartition(-scores[matching], k - 1)[:k]]
        ordered = sorted(matching.tolist(), key=lambda row: (-scores[row], row))
        return {row: float(scores[row]) for row in ordered}, hits.coverage

    def similarities(self, rows: list[int], vector: np.ndarray) -> list[float]:
        return (self.vectors[rows] @ vector).tolist()

    def sentences(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        table = self.index.sentences
        if table is None:
            return np.zeros((0, 2), dtype=np.int32), np.zeros((0, self.vectors.shape[1]), dtype=np.float32)
        return table.of_chunk(row)

    def row_of(self, chunk_id: str) -> int | None:
        return self.index.chunks.row_of(chunk_id)

    def preference(self, row: int) -> int:
        return self._position_in_group.get(self.index.chunks.doc_id(row), 0)

    def collapse(
        self, ranked: list[int], k: int, allowed_documents: set[str] | None
    ) -> tuple[list[int], dict[int, tuple[str, ...]], int]:
        """The first ``k`` rows of ``ranked`` with copies of one text counted once (the rule of
        :func:`assistant.copies.collapse_copies`, which the database backend shares)."""
        table = self.index.duplicates
        if table is None or not table.groups:
            return ranked[:k], {}, 0
        return collapse_copies(
            ranked,
            k,
            allowed_documents,
            doc_of=self.index.chunks.doc_id,  # from the column: no record read
            group_of=table.group_of,
            documents=self.index.documents,
        )

    def passage(
        self,
        rank: int,
        row: int,
        score: float,
        similarity: float,
        keyword_score: float,
        also_published: tuple[str, ...] = (),
    ) -> Passage:
        chunk = self.index.chunks[row]
        document = self.index.documents[chunk.doc_id]
        copies: dict[str, DocumentRecord] = {}
        if also_published:
            group = self.index.duplicates.group_of(chunk.doc_id)  # type: ignore[union-attr]
            for member in group.members if group is not None else ():
                copies.setdefault(self.index.documents[member].source, self.index.documents[member])
        return Passage(
            rank=rank,
            score=float(score),
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            text=chunk.text,
            citation=document.citation,
            section=chunk.section,
            start=chunk.start,
            end=chunk.end,
            similarity=float(similarity),
            keyword_score=float(keyword_score),
            also_published=also_published,
            provenance=document.provenance,
            also_published_provenance=tuple(
                copies[source].provenance if source in copies else Provenance() for source in also_published
            ),
        )


class FilterColumns:
    """Per-chunk document numbers, so the filters' decision on documents becomes rows in one pass."""

    def __init__(self, index: StoredIndex) -> None:
        self._doc_ids = sorted(index.documents)
        # Positions in the sorted ids. Copied as intp (8 bytes a row, 8 MB at 10^6): indexing with the
        # mapped int32 column casts it on every filtered query, 20 ms at 10^6 chunks.
        self._chunk_doc = np.asarray(index.chunks.document_numbers, dtype=np.intp)
        self._filter = DocumentFilter([index.documents[doc_id] for doc_id in self._doc_ids])

    def allowed_rows(self, filters: dict[str, object]) -> np.ndarray | None:
        if not filters:
            return None
        return np.flatnonzero(self._filter.kept(filters)[self._chunk_doc]).astype(np.int64)

    def allowed_documents(self, filters: dict[str, object]) -> set[str] | None:
        """Ids of the documents the filters keep (``None``: no filter, all of them)."""
        if not filters:
            return None
        return {doc_id for doc_id, keep in zip(self._doc_ids, self._filter.kept(filters).tolist()) if keep}
