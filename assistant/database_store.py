"""Database store: a build written into PostgreSQL and published in one transaction, read back, locked, cleaned.

The same data the folder store writes (manifest, chunk rows, each part's data; see
:mod:`assistant.store`) goes into the tables of :mod:`assistant.database`:

* **Writing** happens in one transaction: the build's tables are made (standalone, see
  :func:`assistant.database.create_build_tables`), filled by binary ``COPY``, attached as
  partitions, its ``builds`` row inserted and the ``current`` row flipped to it; then it commits.
  A reader sees the old build or the whole new one; a build killed at any moment (the process,
  the connection, the server) rolls back and leaves nothing behind.
* **The HNSW graph** is not a build's: an embedding model has one, over a table of vectors keyed
  by the embedded text's hash, and a build inserts the vectors it is the first to have
  (:func:`_add_to_graph`), so a one-document change does not build the graph of every chunk again;
  a build whose vectors are mostly new gets a graph of its own, built in one go.
* **Old builds** beyond :data:`assistant.store.KEEP_BUILDS` (the one in service and the one
  before) are dropped after publishing, with the vectors no kept build has, each in a short
  transaction that gives up after :data:`DROP_WAIT` rather than wait for long readers; what is
  left (tables of a build whose removal gave up or was interrupted) is dropped by the next build,
  under the lock.
* **The build lock** is a session advisory lock (``pg_try_advisory_lock``): the server releases
  it when the building process dies, as the OS does for the folder's lock file.
* **Reading back** gives the folder store's :class:`~assistant.store.StoredIndex` (for
  incremental builds and the copy to a folder); its dense part has no FAISS index
  (``faiss_index`` is ``None``), which a copy to a folder builds from the vectors. A build
  first reads only the head (:func:`load_head`: manifest and documents), and the rows only when
  something changed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant import database, database_serving
from assistant.database import SCHEMA
from assistant.duplicates import DuplicateGroup, DuplicateTable
from assistant.errors import BuildInProgress, IndexCorrupt, IndexNotFound, ModelMismatch
from assistant.keywords import ANALYZER_VERSION, KeywordIndex
from assistant.model import Chunk, DocumentRecord
from assistant.parts import DenseVectors, SentenceTable
from assistant.sentences import MIN_INDEXED_CHARS
from assistant.store import KEEP_BUILDS, BuildHead, Manifest, StoredIndex
from assistant.vector_index import IndexSpec

logger = logging.getLogger(__name__)

__all__ = ["DROP_WAIT", "DatabaseStore", "current_build", "load_build", "load_head", "write_build"]

DROP_WAIT = "5s"  # how long removing an old build waits for its readers before leaving it to the next build
_LOCK_POLL_SECONDS = 0.5


class DatabaseStore:
    """The index in a PostgreSQL database: what :func:`assistant.build.build_index` asks of a store.

    Each method opens its own connection (a build holds one for its lock, one for its writes).
    """

    def __init__(
        self,
        dsn: str,
        *,
        hnsw_m: int = database_serving.HNSW_M,
        hnsw_ef_construction: int = database_serving.HNSW_EF_CONSTRUCTION,
    ) -> None:
        if not database.is_database_url(dsn):
            raise ValueError("a DatabaseStore needs a postgresql:// URL")
        self.dsn = dsn.strip()
        self.hnsw = (hnsw_m, hnsw_ef_construction)  # for a graph this store builds (Settings.store_hnsw_*)

    def __str__(self) -> str:
        return database.redacted(self.dsn)

    @contextlib.contextmanager
    def lock(self, timeout: float = 0.0) -> Iterator[None]:
        """Hold the database's build lock; the server releases it if this process dies.

        Raises:
            BuildInProgress: another build holds it for longer than ``timeout`` seconds.
            StoreUnavailable: the database cannot be used (see :func:`assistant.database.connect`).
        """
        with database.connect(self.dsn, autocommit=True) as connection:
            with database.failures_explained(connection, "taking the build lock"):
                database.ensure_schema(connection)
                deadline = time.monotonic() + max(timeout, 0.0)
                while not connection.execute("SELECT pg_try_advisory_lock(%s)", (database.BUILD_LOCK_KEY,)).fetchone()[
                    0
                ]:
                    if time.monotonic() >= deadline:
                        raise BuildInProgress(
                            f"another build of {self} is running; wait for it to finish (or use --wait)"
                        )
                    time.sleep(_LOCK_POLL_SECONDS)
            try:
                with database.failures_explained(connection, "removing old builds"):
                    remove_unused_builds(connection)
                yield
            finally:
                # A lost connection has released the lock already: nothing to undo then.
                with contextlib.suppress(Exception):
                    connection.execute("SELECT pg_advisory_unlock(%s)", (database.BUILD_LOCK_KEY,))

    def head(self) -> BuildHead:
        """The build in service without its rows (see :func:`load_head`)."""
        with (
            database.connect(self.dsn) as connection,
            database.failures_explained(connection, "reading the build", reading=True),
        ):
            return load_head(connection, where=str(self))

    def load(self, *, expected_embedder: str | None = None) -> StoredIndex:
        """The build in service, read back whole (see :func:`load_build`)."""
        with (
            database.connect(self.dsn) as connection,
            database.failures_explained(connection, "reading the build", reading=True),
        ):
            return load_build(connection, expected_embedder=expected_embedder, where=str(self))

    def write(self, manifest: Manifest, chunks: Sequence[Chunk], parts: Mapping[str, Any]) -> Path | None:
        """Publish a build (see :func:`write_build`); no folder holds it, so ``None``."""
        with database.connect(self.dsn) as connection:
            database.ensure_schema(connection)
            write_build(connection, manifest, chunks, parts, hnsw=self.hnsw)
            try:
                connection.autocommit = True
                remove_unused_builds(connection)
            except Exception as error:  # published already: the next build removes what is left
                logger.warning("old builds in %s not removed yet (%s): the next build removes them", self, error)
        return None

    def reader_timeouts(self) -> dict[str, tuple[str, float]]:
        """The files earlier builds refused for their parse time (as ``parsing.load_over_budget``)."""
        with database.connect(self.dsn) as connection, database.failures_explained(connection, "reading"):
            database.ensure_schema(connection)
            rows = connection.execute(f"SELECT fingerprint, doc_id, seconds FROM {SCHEMA}.reader_timeouts").fetchall()
        return {fingerprint: (doc_id, float(seconds)) for fingerprint, doc_id, seconds in rows}

    def save_reader_timeouts(self, files: Mapping[str, tuple[str, float]]) -> None:
        """Replace the remembered files by ``files``, in one transaction."""
        with (
            database.connect(self.dsn) as connection,
            database.failures_explained(connection, "remembering the slow files"),
            connection.transaction(),
        ):
            connection.execute(f"DELETE FROM {SCHEMA}.reader_timeouts")
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {SCHEMA}.reader_timeouts VALUES (%s, %s, %s)",
                    [(fingerprint, doc_id, seconds) for fingerprint, (doc_id, seconds) in files.items()],
                )


# --- writing ---------------------------------------------------------------------------------------


# A build inserts into its model's newest graph only the vectors it lacks, when they are few: at
# most this share of the build's rows, or this many (see _add_to_graph).
GRAPH_INSERT_SHARE = 1 / 16
GRAPH_INSERT_MIN = 1_000


def write_build(
    connection: Any,
    manifest: Manifest,
    chunks: Sequence[Chunk],
    parts: Mapping[str, Any],
    *,
    hnsw: tuple[int, int] = (database_serving.HNSW_M, database_serving.HNSW_EF_CONSTRUCTION),
) -> int:
    """Write a complete build and put it in service, in one transaction; returns its build number.

    Call only while holding :meth:`DatabaseStore.lock`.

    Args:
        manifest: the build's manifest; its ``parts`` facts are filled in here.
        chunks: the rows, in order (row i = FAISS id i in the folder store).
        parts: each index part's data by name (``None`` or absent for a part this build lacks);
            the vector part and the keywords are required.
        hnsw: ``m`` and ``ef_construction`` of a graph this build creates (an existing graph
            keeps those it was built with).
    """
    dense: DenseVectors | None = parts.get("vector_index")
    keywords: KeywordIndex | None = parts.get("keywords")
    if dense is None or len(dense.vectors) != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but {0 if dense is None else len(dense.vectors)} vectors")
    if keywords is None or keywords.rows != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but no keyword index of as many rows")
    sentences: SentenceTable | None = parts.get("sentences")
    duplicates: DuplicateTable | None = parts.get("duplicates")
    facts = _part_facts(dense, keywords, sentences, duplicates)
    final = replace(manifest, files={}, parts=facts)
    stored = json.loads(final.to_json())
    stored.pop("documents")  # in the documents table
    with database.failures_explained(connection, "writing the build"), connection.transaction():
        number = connection.execute(f"SELECT coalesce(max(build), 0) + 1 FROM {SCHEMA}.builds").fetchone()[0]
        database.create_build_tables(connection, number)
        _copy_documents(connection, number, manifest.documents, duplicates)
        _copy_chunks(connection, number, chunks, manifest.documents, dense.vectors, keywords)
        connection.execute(f"ANALYZE {SCHEMA}.{database.partition_name('chunks', number)}")  # for the graph's join
        embedder = None
        if len(chunks) > database_serving.EXACT_MAX_ROWS:  # searched through HNSW: in the graph before readers see it
            embedder = _add_to_graph(connection, number, manifest.embedder, dense.vectors.shape[1], hnsw)
        _copy_keywords(connection, number, keywords)
        if sentences is not None:
            _copy_sentences(connection, number, sentences)
        if duplicates is not None:
            _copy_duplicates(connection, number, duplicates)
        # The planner's statistics, before readers see the build. Until autovacuum gets to new
        # tables (a minute or more), a build without them is searched by exact scans and poor joins:
        # at 3*10^4 chunks 28 ms a dense search instead of 12, 10.9 ms a keyword one instead of 1.5.
        for table in database.PARTITIONED_TABLES:
            if table != "chunks":  # analyzed above
                connection.execute(f"ANALYZE {SCHEMA}.{database.partition_name(table, number)}")
        connection.execute(
            f"INSERT INTO {SCHEMA}.builds (build, build_id, manifest, embedder) VALUES (%s, %s, %s::jsonb, %s)",
            (number, manifest.build_id, json.dumps(stored, ensure_ascii=False), embedder),
        )
        database.attach_build_tables(connection, number)
        connection.execute(
            f"INSERT INTO {SCHEMA}.current (only_row, build) VALUES (true, %s) "
            "ON CONFLICT (only_row) DO UPDATE SET build = excluded.build, published_at = now()",
            (number,),
        )
    logger.info("published build %s as number %d", manifest.build_id, number)
    return number


def _add_to_graph(
    connection: Any, number: int, embedder: Mapping[str, Any], dimension: int, hnsw: tuple[int, int]
) -> int:
    """Put build ``number``'s vectors into a shared graph of its embedding model; returns the
    graph's number (``builds.embedder``).

    A graph is an HNSW index over one table (:data:`assistant.database.SHARED_VECTORS_SQL`) and
    lives across builds, so a build pays only for the vectors the model's newest graph lacks: each
    is inserted into it. Building the graph was 92 of the 108 s of writing 10^5 chunks. But an
    insert costs far more than a vector of a graph built in one go (about 14 ms against 0.8 here),
    so a build whose missing vectors are more than :data:`GRAPH_INSERT_SHARE` of its rows (and
    more than :data:`GRAPH_INSERT_MIN`) gets a graph of its own, filled and then built in one go,
    as the model's first build does; the older graph stays for the builds that use it and goes
    with the last of them (:func:`_remove_shared_vectors`). Inserting 10^6 new vectors into a
    graph of 10^5 ran for over half an hour and had added 130,000 when it was stopped.
    """
    identity = str(embedder.get("identity"))
    chunks = f"{SCHEMA}.{database.partition_name('chunks', number)}"
    found = connection.execute(
        f"SELECT embedder, dimension FROM {SCHEMA}.embedders WHERE identity = %s ORDER BY embedder DESC LIMIT 1",
        (identity,),
    ).fetchone()
    if found is not None and found[1] != dimension:
        raise IndexCorrupt(f"embedding model {identity!r} gives {dimension} dimensions, the database holds {found[1]}")
    model = None
    if found is not None:
        rows, missing = connection.execute(
            f"SELECT count(*), count(*) FILTER (WHERE v.embed_hash IS NULL) "
            f"FROM {chunks} c LEFT JOIN {SCHEMA}.{database.vectors_table(found[0])} v ON v.embed_hash = c.embed_hash"
        ).fetchone()
        if missing <= max(GRAPH_INSERT_MIN, GRAPH_INSERT_SHARE * rows):
            model = found[0]
        else:
            logger.info("build %d: %d of its %d vectors are new, it gets a graph of its own", number, missing, rows)
    fresh = model is None
    if fresh:
        (model,) = connection.execute(
            f"INSERT INTO {SCHEMA}.embedders (embedder, identity, dimension) "
            f"SELECT coalesce(max(embedder), 0) + 1, %s, %s FROM {SCHEMA}.embedders RETURNING embedder",
            (identity, dimension),
        ).fetchone()
        connection.execute(
            f"CREATE TABLE {SCHEMA}.{database.vectors_table(model)} "
            f"(embed_hash text PRIMARY KEY, embedding vector({int(dimension)}) NOT NULL)"
        )
    table = database.vectors_table(model)
    # The primary key turns away the vectors the table has before the graph is touched (not an
    # anti-join: on a table without statistics the planner chose a nested loop over the growing
    # table, 40 min at 10^6 rows). A fresh table has no graph yet: it is built once, after.
    added = connection.execute(
        f"INSERT INTO {SCHEMA}.{table} (embed_hash, embedding) SELECT c.embed_hash, c.embedding "
        f"FROM {chunks} c ON CONFLICT DO NOTHING"
    ).rowcount
    logger.info("build %d: %d vectors added to the shared graph %s", number, added, table)
    if fresh:
        _create_hnsw_index(connection, table, dimension, hnsw)
        connection.execute(f"ANALYZE {SCHEMA}.{table}")
    return model


def _create_hnsw_index(connection: Any, table: str, dimension: int, hnsw: tuple[int, int]) -> None:
    """Build ``table``'s HNSW index (``hnsw``: its ``m`` and ``ef_construction``) with the memory
    its graph needs (see :data:`assistant.database_serving.HNSW_BUILD_MEMORY_MAX`); pgvector's
    notices are logged."""
    (rows,) = connection.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchone()
    needed = database_serving.hnsw_build_memory(rows, dimension, hnsw[0])
    (current,) = connection.execute(  # in kB, as the server, the role or the URL's options set it
        "SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'maintenance_work_mem'"
    ).fetchone()
    granted = max(current, min(needed, database_serving.HNSW_BUILD_MEMORY_MAX))
    if granted > current:
        connection.execute(f"SET LOCAL maintenance_work_mem = '{granted // 1024}kB'")
    if needed > granted:
        logger.warning(
            "the vector index of %d chunks needs about %d MB of maintenance_work_mem to be built in memory; "
            "this build may use %d MB, so it takes several times longer. Give the building role more: "
            "ALTER ROLE <role> SET maintenance_work_mem = '%dMB'",
            rows, needed // 2**20, granted // 2**20, -(-needed // 2**20),
        )  # fmt: skip

    def notice(diagnostic: Any) -> None:  # "hnsw graph no longer fits into maintenance_work_mem after ..."
        logger.warning("PostgreSQL, building the vector index: %s", diagnostic.message_primary)

    connection.add_notice_handler(notice)
    try:
        connection.execute(database_serving.hnsw_index_sql(table, *hnsw))
    finally:
        connection.remove_notice_handler(notice)


def _part_facts(
    dense: DenseVectors, keywords: KeywordIndex, sentences: SentenceTable | None, duplicates: DuplicateTable | None
) -> dict:
    """Each part's manifest facts, as the folder store records them (an absent part: ``{}``)."""
    return {
        "vector_index": dict(dense.facts),
        "keywords": {"analyzer": ANALYZER_VERSION, **keywords.parameters()},
        "sentences": {"min_chars": MIN_INDEXED_CHARS, "rows": len(sentences.spans)} if sentences is not None else {},
        "duplicates": duplicates.facts() if duplicates is not None else {},
    }


def _copy(connection: Any, table: str, columns: Sequence[str], types: Sequence[str], rows: Any) -> None:
    """Binary ``COPY`` of ``rows`` into ``table``'s unattached partition (floats keep every bit)."""
    sql = f"COPY {SCHEMA}.{table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def _copy_documents(
    connection: Any, number: int, documents: Sequence[DocumentRecord], duplicates: DuplicateTable | None
) -> None:
    from psycopg.types.json import Jsonb

    signatures = duplicates.signature_of() if duplicates is not None else {}
    rows = (
        (
            number, record.doc_id, record.content_hash, record.title, record.date, record.region,
            record.doc_type, record.lang, record.source, record.chunks,
            Jsonb(asdict(record.provenance)),
            # uint64 MinHash values kept bit for bit in bigint
            np.asarray(signatures[record.doc_id], dtype=np.uint64).view(np.int64).tolist()
            if record.doc_id in signatures else None,
        )
        for record in documents
    )  # fmt: skip
    columns = (
        "build", "doc_id", "content_hash", "title", "date", "region", "doc_type", "lang", "source", "chunks",
        "provenance", "signature",
    )  # fmt: skip
    types = ("int4", "text", "text", "text", "text", "text", "text", "text", "text", "int4", "jsonb", "int8[]")
    _copy(connection, database.partition_name("documents", number), columns, types, rows)


def _copy_chunks(
    connection: Any,
    number: int,
    chunks: Sequence[Chunk],
    documents: Sequence[DocumentRecord],
    vectors: np.ndarray,
    keywords: KeywordIndex,
) -> None:
    by_id = {record.doc_id: record for record in documents}
    terms, offsets = keywords.term_rows()

    def rows() -> Iterator[tuple]:
        for row, chunk in enumerate(chunks):
            record = by_id[chunk.doc_id]
            yield (
                number, row, chunk.chunk_id, chunk.doc_id, chunk.start, chunk.end, chunk.section, chunk.text,
                chunk.embed_hash, record.region, record.doc_type, record.lang, record.date,
                np.asarray(vectors[row], dtype=np.float32), terms[offsets[row] : offsets[row + 1]].tolist(),
            )  # fmt: skip

    columns = (
        "build", "row", "chunk_id", "doc_id", "start_char", "end_char", "section", "text", "embed_hash",
        "region", "doc_type", "lang", "date", "embedding", "terms",
    )  # fmt: skip
    types = ("int4", "int4", "text", "text", "int4", "int4", "text", "text", "text",
             "text", "text", "text", "text", "vector", "int4[]")  # fmt: skip
    _copy(connection, database.partition_name("chunks", number), columns, types, rows())


def _copy_keywords(connection: Any, number: int, keywords: KeywordIndex) -> None:
    frequency, idf = keywords.document_frequency(), keywords.idf()
    _copy(
        connection,
        database.partition_name("terms", number),
        ("build", "term_id", "term", "document_frequency", "idf"),
        ("int4", "int4", "text", "int4", "float8"),
        (
            (number, term_id, term, int(frequency[term_id]), float(idf[term_id]))
            for term_id, term in enumerate(keywords.vocabulary)
        ),
    )
    term_ids, rows, weights = keywords.postings()
    _copy(
        connection,
        database.partition_name("postings", number),
        ("build", "term_id", "row", "weight"),
        ("int4", "int4", "int4", "float4"),
        zip([number] * len(term_ids), term_ids.tolist(), rows.tolist(), weights.tolist()),
    )


def _copy_sentences(connection: Any, number: int, sentences: SentenceTable) -> None:
    def rows() -> Iterator[tuple]:
        for row in range(len(sentences.offsets) - 1):
            first, last = int(sentences.offsets[row]), int(sentences.offsets[row + 1])
            for position in range(first, last):
                start, end = sentences.spans[position]
                vector = np.asarray(sentences.vectors[position], dtype=np.float32)
                yield number, row, position - first, int(start), int(end), vector

    _copy(
        connection,
        database.partition_name("sentences", number),
        ("build", "row", "number", "start_char", "end_char", "embedding"),
        ("int4", "int4", "int4", "int4", "int4", "vector"),
        rows(),
    )


def _copy_duplicates(connection: Any, number: int, duplicates: DuplicateTable) -> None:
    rows = (
        (number, member, group.canonical, position)
        for group in duplicates.groups
        for position, member in enumerate(group.members)
    )
    _copy(
        connection,
        database.partition_name("duplicates", number),
        ("build", "doc_id", "canonical", "position"),
        ("int4", "text", "text", "int4"),
        rows,
    )


# --- old builds and leftovers --------------------------------------------------------------------


def remove_unused_builds(connection: Any, keep: int = KEEP_BUILDS) -> None:
    """Drop builds older than the ``keep`` newest (never the one in service) and tables of no build.

    ``connection`` is in autocommit; each build is dropped in its own short transaction that
    gives up after :data:`DROP_WAIT` (dropping a partition waits for the queries reading it).
    """
    import psycopg

    builds = [number for (number,) in connection.execute(f"SELECT build FROM {SCHEMA}.builds ORDER BY build DESC")]
    serving = current_build(connection)
    kept = set(builds[:keep]) | ({serving} if serving is not None else set())
    leftover = _build_tables(connection) - set(builds)
    for number in sorted(set(builds) - kept) + sorted(leftover):
        try:
            with connection.transaction():
                connection.execute(f"SET LOCAL lock_timeout = '{DROP_WAIT}'")
                _remove_shared_vectors(connection, number)
                connection.execute(f"DELETE FROM {SCHEMA}.builds WHERE build = %s", (number,))
                database.drop_build_tables(connection, number)
        except psycopg.errors.LockNotAvailable:
            logger.info("build %d is still being read: the next build removes it", number)


def _remove_shared_vectors(connection: Any, number: int) -> None:
    """Delete from the shared graph the vectors only build ``number`` has (before its tables go),
    or the graph itself when no other build uses its model."""
    found = connection.execute(f"SELECT embedder FROM {SCHEMA}.builds WHERE build = %s", (number,)).fetchone()
    if found is None or found[0] is None:  # tables of no build, or a build searched exactly
        return
    (model,) = found
    table = database.vectors_table(model)
    others = [
        build
        for (build,) in connection.execute(
            f"SELECT build FROM {SCHEMA}.builds WHERE embedder = %s AND build <> %s", (model, number)
        )
    ]
    if not others:
        connection.execute(f"UPDATE {SCHEMA}.builds SET embedder = NULL WHERE build = %s", (number,))
        connection.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table}")
        connection.execute(f"DELETE FROM {SCHEMA}.embedders WHERE embedder = %s", (model,))
        return
    connection.execute(
        f"DELETE FROM {SCHEMA}.{table} v USING {SCHEMA}.{database.partition_name('chunks', number)} d "
        f"WHERE v.embed_hash = d.embed_hash AND NOT EXISTS "
        f"(SELECT 1 FROM {SCHEMA}.chunks c WHERE c.build = ANY(%s) AND c.embed_hash = v.embed_hash)",
        (others,),
    )


def _build_tables(connection: Any) -> set[int]:
    """Build numbers that have a table in the schema (attached or left over)."""
    rows = connection.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r'",
        (SCHEMA,),
    ).fetchall()
    numbers = set()
    for (name,) in rows:
        table, _, suffix = name.rpartition("_")
        if table in database.PARTITIONED_TABLES and suffix.isdigit():
            numbers.add(int(suffix))
    return numbers


# --- reading back --------------------------------------------------------------------------------


def current_build(connection: Any) -> int | None:
    """The number of the build in service, or ``None`` when nothing was published yet."""
    if connection.execute("SELECT to_regclass(%s) IS NULL", (f"{SCHEMA}.current",)).fetchone()[0]:
        return None
    row = connection.execute(f"SELECT build FROM {SCHEMA}.current").fetchone()
    return None if row is None else int(row[0])


def load_head(connection: Any, *, where: str = "the database") -> BuildHead:
    """The build in service's manifest and documents, without its rows: what a build with nothing
    to do needs (at 10^5 chunks the whole build takes about 40 s to read back).

    Raises:
        IndexNotFound: nothing was published in this database.
        IndexCorrupt: its documents disagree with the manifest's row count.
    """
    with connection.transaction():
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        number, stored = _published(connection, where)
        documents = _read_documents(connection, number)
    manifest = _manifest(stored, documents)
    if manifest.chunk_count != sum(record.chunks for record in documents):
        raise IndexCorrupt(f"build {number} in {where} has disagreeing row counts: run `assistant build`")
    return BuildHead(manifest, {record.doc_id: record for record in documents}, current_format=True)


def _published(connection: Any, where: str) -> tuple[int, dict]:
    """The number and stored manifest of the build in service (``IndexNotFound`` before the first)."""
    number = current_build(connection)
    if number is None:
        raise IndexNotFound(f"no index in {where}: run `assistant build` first")
    (stored,) = connection.execute(f"SELECT manifest FROM {SCHEMA}.builds WHERE build = %s", (number,)).fetchone()
    return number, stored


def _manifest(stored: dict, documents: Sequence[DocumentRecord]) -> Manifest:
    """The manifest as the folder store keeps it: the stored one with its documents put back."""
    return Manifest.from_json(json.dumps({**stored, "documents": [record.to_dict() for record in documents]}))


def load_build(connection: Any, *, expected_embedder: str | None = None, where: str = "the database") -> StoredIndex:
    """The build in service, read whole into the folder store's :class:`StoredIndex`.

    Raises:
        IndexNotFound: nothing was published in this database.
        IndexCorrupt: the rows disagree (counts, documents).
        ModelMismatch: it was built by another embedding model than ``expected_embedder``.
    """
    with connection.transaction():  # one snapshot: a build published meanwhile is not half read
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        number, stored = _published(connection, where)
        if expected_embedder is not None and stored["embedder"].get("identity") != expected_embedder:
            raise ModelMismatch(
                f"index {where} was built with embedding model {stored['embedder'].get('identity')!r}, "
                f"not {expected_embedder!r}: query it with that model or rebuild it"
            )
        documents = _read_documents(connection, number)
        manifest = _manifest(stored, documents)
        chunks, vectors, term_rows = _read_chunks(connection, number, manifest.embedder.get("dimension"))
        if not manifest.chunk_count == len(chunks) == sum(record.chunks for record in documents):
            raise IndexCorrupt(f"build {number} in {where} has disagreeing row counts: run `assistant build`")
        unknown = {chunk.doc_id for chunk in chunks} - {record.doc_id for record in documents}
        if unknown:
            raise IndexCorrupt(f"build {number} in {where} has chunks of unknown documents {sorted(unknown)[:3]}")
        vocabulary = [term for (term,) in connection.execute(
            f"SELECT term FROM {SCHEMA}.terms WHERE build = %s ORDER BY term_id", (number,)
        )]  # fmt: skip
        keywords = KeywordIndex.from_terms([[vocabulary[term] for term in row] for row in term_rows])
        parts = {
            "vector_index": DenseVectors(vectors, None, IndexSpec.from_manifest(manifest.parts["vector_index"]),
                                         manifest.parts["vector_index"]),
            "keywords": keywords,
            "sentences": _read_sentences(connection, number, len(chunks), vectors.shape[1])
            if manifest.parts.get("sentences") else None,
            "duplicates": _read_duplicates(connection, number, documents, manifest.parts.get("duplicates") or {}),
        }  # fmt: skip
    by_id = {record.doc_id: record for record in documents}
    return StoredIndex(Path(manifest.build_id), manifest, tuple(chunks), by_id, parts)


def _read_documents(connection: Any, number: int) -> list[DocumentRecord]:
    rows = connection.execute(
        "SELECT doc_id, content_hash, title, date, region, doc_type, lang, source, chunks, provenance "
        f"FROM {SCHEMA}.documents WHERE build = %s ORDER BY doc_id",
        (number,),
    ).fetchall()
    names = ("doc_id", "content_hash", "title", "date", "region", "doc_type", "lang", "source", "chunks")
    return [DocumentRecord.from_dict({**dict(zip(names, row[:-1])), **row[-1]}) for row in rows]


def _read_chunks(connection: Any, number: int, dimension: int) -> tuple[list[Chunk], np.ndarray, list[list[int]]]:
    chunks, vectors, term_rows = [], [], []
    with connection.cursor(binary=True) as cursor:
        cursor.execute(
            "SELECT row, chunk_id, doc_id, start_char, end_char, section, text, embed_hash, embedding, terms "
            f"FROM {SCHEMA}.chunks WHERE build = %s ORDER BY row",
            (number,),
        )
        for row, chunk_id, doc_id, start, end, section, text, embed_hash, embedding, terms in cursor:
            if row != len(chunks):
                raise IndexCorrupt(f"build {number} lacks chunk row {len(chunks)}: run `assistant build`")
            chunks.append(Chunk(chunk_id, doc_id, start, end, section, text, embed_hash))
            vectors.append(embedding.to_numpy())
            term_rows.append(terms)
    if any(len(vector) != dimension for vector in vectors):
        raise IndexCorrupt(f"build {number} holds vectors that are not of the manifest's dimension {dimension}")
    return chunks, np.asarray(vectors, dtype=np.float32).reshape(len(chunks), dimension), term_rows


def _read_sentences(connection: Any, number: int, chunk_count: int, dimension: int) -> SentenceTable:
    spans, vectors, counts = [], [], np.zeros(chunk_count, dtype=np.int64)
    with connection.cursor(binary=True) as cursor:
        cursor.execute(
            f"SELECT row, start_char, end_char, embedding FROM {SCHEMA}.sentences WHERE build = %s ORDER BY row, number",
            (number,),
        )
        for row, start, end, embedding in cursor:
            spans.append((start, end))
            vectors.append(embedding.to_numpy())
            counts[row] += 1
    offsets = np.zeros(chunk_count + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts)
    return SentenceTable(
        spans=np.asarray(spans, dtype=np.int32).reshape(-1, 2),
        offsets=offsets,
        vectors=np.asarray(vectors, dtype=np.float32).reshape(len(spans), dimension),
    )


def _read_duplicates(
    connection: Any, number: int, documents: Sequence[DocumentRecord], facts: dict
) -> DuplicateTable | None:
    if not facts:
        return None
    signatures = dict(connection.execute(
        f"SELECT doc_id, signature FROM {SCHEMA}.documents WHERE build = %s", (number,)
    ).fetchall())  # fmt: skip
    doc_ids = tuple(sorted(record.doc_id for record in documents))
    matrix = np.zeros((len(doc_ids), facts["parameters"]["num_perm"]), dtype=np.uint64)
    for row, doc_id in enumerate(doc_ids):
        matrix[row] = np.asarray(signatures[doc_id], dtype=np.int64).view(np.uint64)
    members: dict[str, list[tuple[int, str]]] = {}
    for doc_id, canonical, position in connection.execute(
        f"SELECT doc_id, canonical, position FROM {SCHEMA}.duplicates WHERE build = %s", (number,)
    ):
        members.setdefault(canonical, []).append((position, doc_id))
    groups = tuple(
        DuplicateGroup(canonical, tuple(doc_id for _, doc_id in sorted(members[canonical])))
        for canonical in sorted(members)  # duplicate_groups() sorts them so
    )
    return DuplicateTable(doc_ids, matrix, groups, facts["parameters"], float(facts["threshold"]))
