"""Retrieval: passages most similar to a question, with everything a citation needs."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.embeddings import Embedder, load_embedder
from assistant.errors import IndexNotFound, InvalidQuery
from assistant.store import StoredIndex, load_index, read_pointer

logger = logging.getLogger(__name__)

FILTER_KEYS = ("region", "doc_type", "lang", "doc_id", "date_from", "date_to")
MAX_QUERY_CHARS = 4000  # the model reads 512 tokens; longer input only costs tokenizer time
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score and citation metadata.

    ``text`` equals the document's extracted text between ``start`` and ``end``.
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

    def to_dict(self) -> dict:
        return asdict(self)


class Searcher:
    """An index in service plus the embedder that queries it.

    Picks up a new build on the next query after ``assistant build`` switches the
    ``CURRENT`` pointer, so a long-running process never needs a restart.

    Args:
        index_dir: the index directory.
        settings: model and device; ``Settings.from_env()`` when omitted.
        embedder: a ready embedder (tests pass a fake one).

    Raises:
        IndexNotFound, IndexCorrupt, ModelMismatch: see :func:`assistant.store.load_index`.
    """

    def __init__(
        self, index_dir: str | Path | None = None, *, settings: Settings | None = None, embedder: Embedder | None = None
    ) -> None:
        self._settings = settings or Settings.from_env()
        self.index_dir = Path(index_dir if index_dir is not None else self._settings.index_dir)
        if read_pointer(self.index_dir) is None:
            raise IndexNotFound(f"no index in {self.index_dir}: run `assistant build` first")
        self._embedder = embedder
        self._lock = threading.Lock()
        self._loaded: tuple[str, StoredIndex, _FilterColumns] | None = None
        self.index  # noqa: B018 - load now so a damaged index fails here, not at the first query

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self._settings
            self._embedder = load_embedder(s.model, s.device, s.cache_dir, s.batch_size, s.precision)
        return self._embedder

    @property
    def index(self) -> StoredIndex:
        """The build in service, reloaded when the pointer has moved."""
        return self._current()[1]

    def search(self, query: str, *, k: int = 5, filters: Mapping[str, object] | None = None) -> list[Passage]:
        """Best ``k`` passages for ``query`` (see :func:`retrieve`)."""
        return self.search_vector(self.embed_query(query), k=k, filters=filters)

    def embed_query(self, query: str) -> np.ndarray:
        """The query's unit vector, after checking and cleaning the text.

        Raises:
            InvalidQuery: the query is not text or is empty.
        """
        return self.embedder.embed_queries([_clean_query(query)])[0]

    def search_vector(
        self, vector: np.ndarray, *, k: int = 5, filters: Mapping[str, object] | None = None
    ) -> list[Passage]:
        """Best ``k`` passages for an already embedded query (callers that reuse the vector)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidQuery(f"k must be a positive integer, got {k!r}")
        _, index, columns = self._current()
        allowed = columns.allowed_rows(_check_filters(filters))
        if index.faiss_index.ntotal == 0 or (allowed is not None and len(allowed) == 0):
            return []
        vector = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        limit = min(k, index.faiss_index.ntotal if allowed is None else len(allowed))
        scores, rows = _search(index.faiss_index, vector, limit, allowed)
        passages = []
        for score, row in zip(scores, rows):
            if row < 0:
                continue
            chunk = index.chunks[row]
            document = index.documents[chunk.doc_id]
            passages.append(
                Passage(
                    rank=len(passages) + 1,
                    score=float(score),
                    chunk_id=chunk.chunk_id,
                    doc_id=chunk.doc_id,
                    text=chunk.text,
                    title=document.title,
                    date=document.date,
                    region=document.region,
                    doc_type=document.doc_type,
                    lang=document.lang,
                    source=document.source,
                    section=chunk.section,
                    start=chunk.start,
                    end=chunk.end,
                )
            )
        return passages

    def _current(self) -> tuple[str, StoredIndex, _FilterColumns]:
        pointer = read_pointer(self.index_dir)
        loaded = self._loaded
        if loaded is not None and (pointer == loaded[0] or pointer is None):
            return loaded
        with self._lock:
            if self._loaded is None or self._loaded[0] != pointer:
                index = load_index(self.index_dir, expected_embedder=self.embedder.identity)
                self._loaded = (index.path.name, index, _FilterColumns(index))
                logger.info("serving build %s from %s", index.path.name, self.index_dir)
            return self._loaded


_searchers: dict[tuple, Searcher] = {}
_searchers_lock = threading.Lock()


def retrieve(
    query: str,
    *,
    k: int = 5,
    filters: Mapping[str, object] | None = None,
    index_dir: str | Path | None = None,
    settings: Settings | None = None,
) -> list[Passage]:
    """Find the passages that best answer ``query``.

    The index and model are opened on first use and kept for the process; a new
    build is picked up automatically.

    Args:
        query: a question or keywords, in any language the model knows (Russian, Kazakh, English...).
        k: how many passages to return (fewer if the index or the filters hold fewer).
        filters: keep only passages whose document matches every key: ``region``, ``doc_type``,
            ``lang``, ``doc_id`` (a string or a list of accepted strings, compared case-insensitively),
            ``date_from`` / ``date_to`` (``YYYY-MM-DD``, inclusive; undated documents are excluded).
        index_dir: the index directory (default: ``settings.index_dir``, ``index``).
        settings: model and device; ``Settings.from_env()`` when omitted.

    Returns:
        Passages, best first, ``rank`` from 1; ``score`` is the cosine similarity.

    Raises:
        InvalidQuery: empty query, ``k`` < 1, or an unknown filter key or bad date.
        IndexNotFound, IndexCorrupt, ModelMismatch: the index cannot serve this query.

    Example:
        >>> for p in retrieve("цифровизация в регионах", k=3):  # doctest: +SKIP
        ...     print(p.score, p.title, p.date, p.region, p.source)
    """
    return searcher_for(index_dir, settings).search(query, k=k, filters=filters)


def searcher_for(index_dir: str | Path | None = None, settings: Settings | None = None) -> Searcher:
    """The process-wide :class:`Searcher` for an index directory and model, opened on first use."""
    settings = settings or Settings.from_env()
    directory = Path(index_dir if index_dir is not None else settings.index_dir).resolve()
    key = (directory, settings.model, settings.device, settings.cache_dir)
    with _searchers_lock:
        searcher = _searchers.get(key)
    if searcher is None:
        searcher = Searcher(directory, settings=settings)
        with _searchers_lock:
            searcher = _searchers.setdefault(key, searcher)
    return searcher


class _FilterColumns:
    """Per-chunk document metadata as arrays, so filters cost one vectorised pass."""

    def __init__(self, index: StoredIndex) -> None:
        self._doc_ids = sorted(index.documents)
        position = {doc_id: i for i, doc_id in enumerate(self._doc_ids)}
        self._chunk_doc = np.fromiter((position[c.doc_id] for c in index.chunks), dtype=np.int64, count=len(index.chunks))
        self._records = [index.documents[doc_id] for doc_id in self._doc_ids]

    def allowed_rows(self, filters: dict[str, object]) -> np.ndarray | None:
        if not filters:
            return None
        keep = np.ones(len(self._records), dtype=bool)
        for key, value in filters.items():
            if key == "date_from":
                keep &= np.array([bool(r.date) and r.date >= value for r in self._records], dtype=bool)
            elif key == "date_to":
                keep &= np.array([bool(r.date) and r.date <= value for r in self._records], dtype=bool)
            else:
                accepted = value  # a set of casefolded strings, from _check_filters
                keep &= np.array([getattr(r, key).casefold() in accepted for r in self._records], dtype=bool)
        return np.flatnonzero(keep[self._chunk_doc]).astype(np.int64)


def _search(faiss_index, vector: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    if allowed is None:
        scores, rows = faiss_index.search(vector, k)
    else:
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, rows = faiss_index.search(vector, k, params=params)
    return scores[0], rows[0]


def _clean_query(query: object) -> str:
    if not isinstance(query, str):
        raise InvalidQuery(f"the query must be text, got {type(query).__name__}")
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in query).strip()
    if not cleaned:
        raise InvalidQuery("the query is empty: type a question or some keywords")
    return cleaned[:MAX_QUERY_CHARS]


def _check_filters(filters: Mapping[str, object] | None) -> dict[str, object]:
    if not filters:
        return {}
    if not isinstance(filters, Mapping):
        raise InvalidQuery(f"filters must be a mapping of {', '.join(FILTER_KEYS)}")
    checked: dict[str, object] = {}
    for key, value in filters.items():
        if key not in FILTER_KEYS:
            raise InvalidQuery(f"unknown filter {key!r}: use one of {', '.join(FILTER_KEYS)}")
        if value is None or value == "" or value == [] or value == ():
            continue
        if key in ("date_from", "date_to"):
            text = str(value)
            if not _DATE.match(text):
                raise InvalidQuery(f"filter {key} must be a date YYYY-MM-DD, got {value!r}")
            checked[key] = text
        else:
            values: Iterable[object] = [value] if isinstance(value, str) else value  # type: ignore[assignment]
            try:
                checked[key] = {str(item).strip().casefold() for item in values}
            except TypeError:
                raise InvalidQuery(f"filter {key} must be a string or a list of strings, got {value!r}") from None
    return checked
