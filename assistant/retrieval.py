"""Retrieval: passages most similar to a question, with everything a citation needs."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.database import ConnectionPool, is_database_url, redacted
from assistant.database_serving import DatabaseBuild, prepare_session, published_build
from assistant.embeddings import Embedder, load_embedder
from assistant.errors import AssistantError, IndexCorrupt, IndexNotFound, StoreUnavailable
from assistant.model import DocumentRecord, Passage
from assistant.query import check_filters, check_k, check_mode, clean_query
from assistant.serving import Backend, LocalBuild
from assistant.store import StoredIndex, load_index, read_pointer

logger = logging.getLogger(__name__)

CANDIDATES = 100  # per retriever, before fusion
RERANK_DEPTH = 10  # hybrid: the fused top this many are reordered by their best sentence
SENTENCE_WEIGHT = 0.5  # these two were chosen with bench/hybrid_bench.py (docs/quality.md)
KEYWORD_WEIGHT = 2.0
# A searcher that fell back to the primary tries its replica again this often (in the background:
# a search never waits for it), so reads return to the replica once it is back.
REPLICA_RETRY_SECONDS = 30.0
REPLICA_SWITCH_GRACE_SECONDS = 30.0  # then the primary's connections are closed: searches on it have ended


class Searcher:
    """An index in service plus the embedder that queries it.

    Picks up a new build on the next query after ``assistant build`` switches the
    ``CURRENT`` pointer (or, in a database, the ``current`` row), so a long-running process
    never needs a restart. Each search reads the pointer once and asks everything of that one
    build.

    With ``settings.store_read`` (a streaming replica of the database ``settings.store``), searches
    read the replica; while it cannot be reached they read the primary (one logged line, and the
    replica is tried again every :data:`REPLICA_RETRY_SECONDS` in the background), and a replica
    keeps answering when the primary is down (docs/database.md, "Replicas").

    Args:
        index_dir: the index directory, or a ``postgresql://`` URL of a database store (default:
            :func:`served_location`: ``settings.store``, else ``settings.index_dir``).
        settings: model and device; ``Settings.from_env()`` when omitted.
        embedder: a ready embedder (tests pass a fake one).

    Raises:
        IndexNotFound, IndexCorrupt, ModelMismatch: see :func:`assistant.store.load_index`.
        StoreUnavailable: the database cannot be reached or lacks pgvector.
    """

    def __init__(
        self, index_dir: str | Path | None = None, *, settings: Settings | None = None, embedder: Embedder | None = None
    ) -> None:
        self._settings = settings or Settings.from_env()
        location = served_location(index_dir, self._settings)
        self._embedder = embedder
        self._lock = threading.Lock()
        self._loaded: tuple[object, Backend] | None = None
        self._database: ConnectionPool | None = None  # the pool searches borrow from, for a database store
        self._fell_back_at: float | None = None  # when searches last turned to the primary (monotonic)
        self._replica_retry: threading.Thread | None = None
        if is_database_url(location):
            self.index_dir: str | Path = str(location)
            self._shown = redacted(self.index_dir)  # what messages and logs name: never the password
            self._readable = read_order(self.index_dir, self._settings)
            self._database = self._connect()
            if published_build(self._database) is None:
                raise IndexNotFound(f"no build in {self._shown}: run `assistant build` with this store first")
        else:
            self.index_dir = Path(location)
            self._shown = str(self.index_dir)
            if read_pointer(self.index_dir) is None:
                raise IndexNotFound(f"no index in {self.index_dir}: run `assistant build` first")
        self._current()  # open now, so a damaged index or another model's build fails here, not at the first query

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self._settings
            self._embedder = load_embedder(s.model, s.device, s.cache_dir, s.batch_size, s.precision)
        return self._embedder

    @property
    def index(self) -> StoredIndex:
        """The file build in service, reloaded when the pointer has moved.

        Raises:
            AssistantError: the store is a database (it has no index folder to load).
        """
        serving = self._current()[1]
        if not isinstance(serving, LocalBuild):
            raise AssistantError("the store is a database: its builds are not loaded as index folders")
        return serving.index

    @property
    def documents(self) -> tuple[DocumentRecord, ...]:
        """The documents of the build in service, by document id: what the interface lists and
        the region view counts, without reaching into the store."""
        return self._current()[1].documents()

    @property
    def chunk_count(self) -> int:
        """How many passages the build in service holds."""
        return self._current()[1].row_count

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, object] | None = None,
        mode: str | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Passage]:
        """Best ``k`` passages for ``query`` (see :func:`retrieve`).

        Copies of one text published by several outlets count once: the best-ranked copy's
        passages are kept and list the other copies' sources in ``also_published``; the
        search goes deeper when collapsing copies left fewer than ``k`` passages.

        Args:
            vector: the query's embedding when the caller already has it (saves one model call).
        """
        mode = check_mode(mode if mode is not None else self._settings.search_mode)
        check_k(k, limit=self._settings.max_k)
        cleaned = clean_query(query, max_chars=self._settings.max_question_chars)
        serving = self._current()[1]
        if mode != "dense" and not serving.has_keywords:
            raise IndexCorrupt(
                f"index {self._shown} was built before keyword search existed: "
                "run `assistant build` to add it (nothing is re-embedded), or search with mode dense"
            )
        if vector is None and mode != "keyword":
            vector = self.embedder.embed_queries([cleaned])[0]
        checked = check_filters(filters)
        allowed = serving.allowed_rows(checked)
        rows = serving.row_count if allowed is None else len(allowed)
        if rows == 0:
            return []
        # Which copies a filter keeps matters only where there are copies to collapse.
        allowed_documents = serving.allowed_documents(checked) if serving.has_copies else None
        depth = max(k, CANDIDATES)
        while True:
            order, similarity, keyword = _ranked(serving, mode, cleaned, vector, depth, allowed)
            # Equal scores (copies with the same text and title) go to the group's canonical copy.
            ranked = sorted(order, key=lambda row: (-order[row], serving.preference(row), row))
            best, also, dropped = serving.collapse(ranked, k, allowed_documents)
            # Only dropped copies can leave fewer than k: then look further down the ranking.
            if len(best) >= k or not dropped or depth >= rows:
                break
            depth *= 4
        return [
            serving.passage(rank, row, order[row], similarity.get(row, 0.0), keyword.get(row, 0.0), also.get(row, ()))
            for rank, row in enumerate(best, 1)
        ]

    def embed_query(self, query: str) -> np.ndarray:
        """The query's unit vector, after checking and cleaning the text.

        Raises:
            InvalidQuery: the query is not text, is empty or is longer than ``settings.max_question_chars``.
        """
        return self.embedder.embed_queries([clean_query(query, max_chars=self._settings.max_question_chars)])[0]

    def search_vector(
        self, vector: np.ndarray, *, k: int = 5, filters: Mapping[str, object] | None = None
    ) -> list[Passage]:
        """Best ``k`` passages for an already embedded query, by dense similarity alone."""
        check_k(k, limit=self._settings.max_k)
        serving = self._current()[1]
        allowed = serving.allowed_rows(check_filters(filters))
        if serving.row_count == 0 or (allowed is not None and len(allowed) == 0):
            return []
        dense = serving.dense(vector, k, allowed)
        return [serving.passage(rank, row, score, score, 0.0) for rank, (row, score) in enumerate(dense.items(), 1)]

    def document_regions(self) -> frozenset[str]:
        """The canonical regions (:data:`assistant.regions.REGIONS`) that indexed documents belong to."""
        return self._current()[1].regions

    def sentence_vectors(self, chunk_id: str) -> dict[tuple[int, int], np.ndarray]:
        """The stored vectors of a chunk's sentences by ``(start, end)`` in its text (empty if none)."""
        serving = self._current()[1]
        row = serving.row_of(chunk_id)
        if row is None:
            return {}
        spans, vectors = serving.sentences(row)
        return {(int(start), int(end)): np.asarray(vector, dtype=np.float32) for (start, end), vector in zip(spans, vectors)}

    def _current(self) -> tuple[object, Backend]:
        """The build the pointer names now (read once per call), opened when it moved."""
        if self._database is not None:
            pointer: object = self._database_pointer()
        else:
            pointer = read_pointer(self.index_dir)
        loaded = self._loaded
        if loaded is not None and (pointer == loaded[0] or pointer is None):
            return loaded
        with self._lock:
            if self._loaded is None or self._loaded[0] != pointer:
                self._loaded = self._open(pointer)
            return self._loaded

    def _database_pointer(self) -> int | None:
        """The database's build in service; after a lost connection (a server restart, a failover),
        on one new connection, so a long-running process outlives the server's restart."""
        self._retry_replica_when_due()
        pool = self._database
        try:
            return published_build(pool)
        except StoreUnavailable:
            with self._lock:
                if self._database is pool:  # the first thread to find it lost reconnects
                    self._database = self._connect()  # StoreUnavailable: every database is away
                    self._loaded = None  # its build holds the lost connections
                    with contextlib.suppress(Exception):
                        pool.close()
            return published_build(self._database)

    def _connect(self) -> ConnectionPool:
        """Connections to the first database of :func:`read_order` that answers (the replica, else
        the primary, saying so once in the log), as many as ``settings.store_connections``."""
        failures = []
        for location in self._readable:
            try:
                pool = self._pool(location)
            except StoreUnavailable as error:
                failures.append(str(error))
                continue
            if failures:
                logger.warning("searches read the primary %s: %s", redacted(location), failures[0])
            self._fell_back_at = time.monotonic() if failures else None
            return pool
        raise StoreUnavailable("; ".join(failures))

    def _retry_replica_when_due(self) -> None:
        """After a fall back to the primary, try the replica again in a thread every
        :data:`REPLICA_RETRY_SECONDS` (a connection attempt may take seconds)."""
        fell_back_at = self._fell_back_at
        if fell_back_at is None or time.monotonic() - fell_back_at < REPLICA_RETRY_SECONDS:
            return
        with self._lock:
            if self._replica_retry is not None and self._replica_retry.is_alive():
                return
            self._fell_back_at = time.monotonic()  # the next try, if this one fails, is as far away
            self._replica_retry = threading.Thread(target=self._return_to_replica, name="replica-retry", daemon=True)
            self._replica_retry.start()

    def _return_to_replica(self) -> None:
        """Connect to the replica; if it answers, searches read it from their next call on. The
        primary's connections are closed a while later, as a search may still be reading it."""
        replica = self._readable[0]
        try:
            pool = self._pool(replica)
            published_build(pool)  # it answers queries, not only logins
        except StoreUnavailable as error:
            logger.info("the replica %s is still away: %s", redacted(replica), error)
            return
        with self._lock:
            if self._fell_back_at is None:  # meanwhile a reconnect found the replica itself
                pool.close()
                return
            previous, self._database, self._loaded, self._fell_back_at = self._database, pool, None, None
        logger.warning("searches read the replica %s again", redacted(replica))
        closing = threading.Timer(REPLICA_SWITCH_GRACE_SECONDS, previous.close)
        closing.daemon = True
        closing.start()

    def _pool(self, location: str) -> ConnectionPool:
        prepare = functools.partial(prepare_session, ef_search=self._settings.store_hnsw_ef_search)
        return ConnectionPool(location, size=self._settings.store_connections, prepare=prepare)

    def _open(self, pointer: object) -> tuple[object, Backend]:
        if self._database is not None:
            if pointer is None:
                raise IndexNotFound(f"no build in {self._shown}: run `assistant build` with this store first")
            build = DatabaseBuild(self._database, int(pointer), expected_embedder=self.embedder.identity)  # type: ignore[call-overload]
            logger.info("serving build %s from %s", build.build_id, self._shown)
            return pointer, build
        index = load_index(self.index_dir, expected_embedder=self.embedder.identity)
        logger.info("serving build %s from %s", index.path.name, self.index_dir)
        return index.path.name, LocalBuild(index)


_searchers: dict[tuple, Searcher] = {}
_searchers_lock = threading.Lock()


def retrieve(
    query: str,
    *,
    k: int = 5,
    filters: Mapping[str, object] | None = None,
    mode: str | None = None,
    index_dir: str | Path | None = None,
    settings: Settings | None = None,
) -> list[Passage]:
    """Find the passages that best answer ``query``.

    The index and model are opened on first use and kept for the process; a new
    build is picked up automatically.

    Args:
        query: a question or keywords, in any language the model knows (Russian, Kazakh, English...),
            of at most ``settings.max_question_chars`` characters (2,000).
        k: how many passages to return (fewer if the index or the filters hold fewer), at most
            ``settings.max_k`` (50).
        filters: keep only passages whose document matches every key: ``region``, ``doc_type``,
            ``lang``, ``doc_id`` (a string or a list of accepted strings, compared case-insensitively),
            ``date_from`` / ``date_to`` (``YYYY-MM-DD``, inclusive; undated documents are excluded).
        mode: ``hybrid`` (default: meaning and keywords fused), ``dense`` (meaning only, works
            across languages) or ``keyword`` (BM25 with Russian/Kazakh stemming: exact names,
            numbers, article numbers such as "статья 12" or "413-IV").
        index_dir: the index directory or a ``postgresql://`` URL (default: ``settings.store`` when
            set, else ``settings.index_dir``, ``index``).
        settings: model and device; ``Settings.from_env()`` when omitted.

    Returns:
        Passages, best first, ``rank`` from 1 (see :class:`Passage` for the scores).

    Raises:
        InvalidQuery: an empty or too long query, ``k`` < 1 or over ``settings.max_k``, an unknown
            mode, filter key or bad date.
        IndexNotFound, IndexCorrupt, ModelMismatch: the index cannot serve this query.

    Example:
        >>> for p in retrieve("цифровизация в регионах", k=3):  # doctest: +SKIP
        ...     print(p.score, p.title, p.date, p.region, p.source)
    """
    return searcher_for(index_dir, settings).search(query, k=k, filters=filters, mode=mode)


def searcher_for(index_dir: str | Path | None = None, settings: Settings | None = None) -> Searcher:
    """The process-wide :class:`Searcher` for an index directory and model, opened on first use."""
    settings = settings or Settings.from_env()
    location = served_location(index_dir, settings)
    directory = str(location) if is_database_url(location) else Path(location).resolve()
    # The limits are the searcher's own: settings that differ in them get a searcher of their own.
    key = (directory, settings.store_read, settings.model, settings.device, settings.cache_dir)
    key += (settings.max_k, settings.max_question_chars)
    with _searchers_lock:
        searcher = _searchers.get(key)
    if searcher is None:
        searcher = Searcher(directory, settings=settings)
        with _searchers_lock:
            searcher = _searchers.setdefault(key, searcher)
    return searcher


def read_order(location: str, settings: Settings) -> tuple[str, ...]:
    """The databases a search of ``location`` may read, in the order tried: the replica of
    ``settings.store_read`` first when ``location`` is its primary (``settings.store``), then ``location``."""
    if settings.store_read and location == settings.store:
        return (settings.store_read, location)
    return (location,)


def served_location(index_dir: str | Path | None, settings: Settings) -> str | Path:
    """Where searches read: ``index_dir`` when given, else the database of ``settings.store``
    when set (no index files are read then), else ``settings.index_dir``."""
    if index_dir is not None:
        return index_dir
    return settings.store or settings.index_dir


def _ranked(
    serving: Backend, mode: str, query: str, vector: np.ndarray | None, depth: int, allowed: np.ndarray | None
) -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
    """Row -> score of the mode's candidates, with every candidate's cosine and BM25 score.

    Each retriever contributes its ``depth`` best rows.
    """
    dense = serving.dense(vector, depth, allowed) if mode != "keyword" else {}
    keyword: dict[int, float] = {}
    coverage = 0.0
    if mode != "dense":
        keyword, coverage = serving.keyword(query, depth, allowed)
    candidates = list(dict.fromkeys([*dense, *keyword]))
    similarity = dict(dense)
    missing = [row for row in candidates if row not in similarity]
    if vector is not None and missing:
        similarity.update(zip(missing, serving.similarities(missing, vector)))
    if mode == "dense":
        order = {row: score for row, score in dense.items()}
    elif mode == "keyword":
        order = {row: score for row, score in keyword.items() if score > 0}
    else:
        order = fuse(dense, keyword, coverage, similarity)
        if serving.has_sentences and vector is not None:
            order = _rerank_by_sentences(order, serving.sentences, vector, similarity)
    return order, similarity, keyword


def fuse(
    dense: dict[int, float], keyword: dict[int, float], coverage: float, similarity: dict[int, float]
) -> dict[int, float]:
    """Dense similarity plus keyword evidence, weighted by how much of the query the corpus knows.

    The BM25 score is divided by the best BM25 score of the query and multiplied by the spread
    of the top 20 dense similarities, so the best keyword match can lift a chunk across at most
    :data:`KEYWORD_WEIGHT` times that spread. ``coverage`` (0..1, the idf share of the query's
    words found in the corpus), squared, scales the weight: an English question over Russian
    text has almost none, so stray names and numbers cannot push the dense ranking around,
    while a Russian or Kazakh question gets the full benefit of stemmed keyword matching.

    Args:
        dense: row -> cosine similarity of the dense candidates, best first.
        keyword: row -> BM25 score of the keyword candidates, best first.
        coverage: see above.
        similarity: row -> cosine similarity of every candidate of either list.

    Returns:
        row -> fused score, for every row of either list.
    """
    top = list(dense.values())[:20]
    spread = (top[0] - top[-1]) if len(top) > 1 else 0.0
    best_keyword = max(keyword.values(), default=0.0)
    scale = KEYWORD_WEIGHT * coverage**2 * spread / best_keyword if best_keyword > 0 else 0.0
    rows = dict.fromkeys([*dense, *keyword])
    return {row: similarity.get(row, 0.0) + scale * keyword.get(row, 0.0) for row in rows}


def _rerank_by_sentences(
    order: dict[int, float],
    sentences: Callable[[int], tuple[np.ndarray, np.ndarray]],
    vector: np.ndarray,
    similarity: dict[int, float],
) -> dict[int, float]:
    """Lift the fused top :data:`RERANK_DEPTH` by their best sentence's similarity to the query.

    A question usually matches one sentence of a passage; a chunk's single vector blurs it
    with the rest. The reordered rows stay above every row below the reranked depth.
    """
    ranked = sorted(order, key=lambda row: (-order[row], row))
    head, tail = ranked[:RERANK_DEPTH], ranked[RERANK_DEPTH:]
    rescored = {}
    for row in head:
        _, vectors = sentences(row)
        best = float(np.max(np.asarray(vectors, dtype=np.float32) @ vector)) if len(vectors) else similarity.get(row, 0.0)
        rescored[row] = order[row] + SENTENCE_WEIGHT * best
    # Rows below the depth keep their order, under the reranked ones, on a comparable scale.
    ceiling = min(rescored.values(), default=0.0)
    for row in tail:
        ceiling = min(order[row] + SENTENCE_WEIGHT * similarity.get(row, 0.0), ceiling - 1e-6)
        rescored[row] = ceiling
    return rescored
