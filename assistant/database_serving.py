"""Database serving: the build a PostgreSQL + pgvector store has in service, behind ``serving.Backend``.

:class:`DatabaseBuild` answers every question a search asks with SQL against one build (the
``build`` number the ``current`` row named when the search began), so a search never mixes two
builds and a build published by another process is served from the next search on. What it keeps
in process is what the file backend keeps per document, not per chunk: the document records (the
documents tab and the region view list them anyway) and the duplicate groups. Chunks, vectors,
sentence vectors and the BM25 postings stay in the database.

* **Dense**: the inner product of unit vectors (``<#>``). Up to :data:`EXACT_MAX_ROWS` rows (the
  whole build, or the rows a filter keeps) the scan is exact; above it pgvector's HNSW index with
  :data:`HNSW_EF_SEARCH` and iterative scans, so a filtered query still returns ``k`` rows
  (``docs/scaling.md``, "pgvector: exact or approximate", has the measurements). The index is the
  graph the builds of one embedding model share (``vectors_<m>``, see
  :data:`assistant.database.SHARED_VECTORS_SQL`), walked for the vectors this build has.
* **Keyword**: the query is analysed here (our Russian/Kazakh analyzer has no PostgreSQL
  equivalent); its terms' stored BM25 weights are summed per chunk in SQL, the same sums as the
  file backend's matrix, so the keyword ranking is the same.
* **Filters**: the accepted values are matched against the build's documents here (a region by
  any of its names, case-folded types and languages, exactly as ``serving.FilterColumns``), then
  applied in SQL on the chunk's own indexed columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sized
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.copies import collapse_copies
from assistant.database import (
    HAS_HNSW_INDEX_SQL,
    SCHEMA,
    ConnectionPool,
    borrowed,
    partition_name,
    vectors_table,
)
from assistant.duplicates import DuplicateGroup
from assistant.errors import IndexCorrupt, IndexNotFound, ModelMismatch, StoreUnavailable
from assistant.filters import DocumentFilter
from assistant.keywords import analyze_words
from assistant.model import Citation, DocumentRecord, Passage, Provenance
from assistant.regions import REGIONS, canonical_region

logger = logging.getLogger(__name__)

__all__ = [
    "EXACT_MAX_ROWS",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_BUILD_MEMORY_MAX",
    "HNSW_EF_SEARCH",
    "HNSW_M",
    "DatabaseBuild",
    "RowFilter",
    "hnsw_build_memory",
    "hnsw_index_sql",
    "prepare_session",
    "published_build",
]

# Chosen with bench/pgvector_bench.py (docs/scaling.md, "pgvector: exact or approximate"): up to
# this many rows (a build, or the rows a filter keeps) an exact scan takes about 12 ms and loses
# nothing; above it HNSW with these parameters kept recall@10 at 0.999-1.000 of exact search on
# real e5 vectors (recall@100 0.976-0.998), 0.987 under a filter keeping 10^4 of 10^5 rows.
# pgvector's defaults (ef_construction 64, ef_search 40) lost 5-8 % of the top 10 and return at
# most ef_search rows: 40 of the 100 candidates a search asks for.
EXACT_MAX_ROWS = 10_000
REMEMBERED_ROWS = 100_000  # row -> document of candidates seen, kept for collapsing copies
FILTERS_REMEMBERED = 1_000  # filters whose rows and documents a build keeps worked out
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
# 320 kept 0.999 of the top 10 in bench/pgvector_bench.py's direct scans, but only 0.966 (and
# 0.944 on a build's own index) through DatabaseBuild.dense at 10^5 rows of real e5 vectors plus
# shaped noise (bench/shared_graph_bench.py --vectors real --ef-search 320,640,1000); 640 kept
# 0.998 for 20.7 ms p50 instead of 12.4, 1000 kept 1.000 for 30.7 ms.
HNSW_EF_SEARCH = 640
# pgvector builds the graph fast while it fits in maintenance_work_mem (PostgreSQL's default is
# 64MB), several times slower once it spills: 10^5 rows of 384 dimensions took 335 s at 64MB and
# 102 s at 1GB on this machine. The build raises the setting for its own transaction to what the
# graph needs, up to this much (1.6 million rows of 384 dimensions: a server holding that many
# holds an index of about this size anyway); a larger value set on the server or role is kept.
HNSW_BUILD_MEMORY_MAX = 4 * 1024**3


def hnsw_build_memory(rows: int, dimension: int, m: int = HNSW_M) -> int:
    """Bytes of ``maintenance_work_mem`` pgvector needs to build the graph of ``rows`` vectors in
    memory. Measured: 384 dimensions at m=16 stopped fitting 64MB after 28,366 rows (2,366 bytes
    a row: the vector's 1,536 and about 830 of graph), and 1,000 rows did not fit 2.5MB (a fixed
    part of about half a megabyte); 1,024 bytes a row at m=16 (the graph's part grows with ``m``,
    its neighbour lists) and 1MB more leave some spare."""
    return rows * (4 * dimension + 64 * m) + 2**20


def hnsw_index_sql(table: str, m: int = HNSW_M, ef_construction: int = HNSW_EF_CONSTRUCTION) -> str:
    """The ANN index of the shared vectors ``table`` (in :data:`SCHEMA`, see
    :func:`assistant.database.vectors_table`): the operator class :meth:`DatabaseBuild.dense` orders by.
    ``m`` and ``ef_construction``: ``Settings.store_hnsw_m`` and ``store_hnsw_ef_construction``."""
    return (
        f"CREATE INDEX IF NOT EXISTS {table}_embedding ON {SCHEMA}.{table} "
        f"USING hnsw (embedding vector_cosine_ops) WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
    )


@dataclass(frozen=True)
class RowFilter(Sized):
    """The rows some filters keep, as SQL on the chunk's columns (the Searcher only counts them)."""

    where: str  # conditions on the columns of ``chunks c``, each starting with " AND "
    params: dict  # their named parameters (f0, f1, ...)
    count: int
    rows: Any = None  # the same rows as an int8multirange, where rows follow documents (see DatabaseBuild)

    def __len__(self) -> int:
        return self.count


def published_build(source: Any) -> int | None:
    """The number of the build in service (the ``current`` row), or ``None`` before the first build.

    ``source``: a connection, or a :class:`~assistant.database.ConnectionPool` to borrow one from."""
    import psycopg

    with borrowed(source) as connection:
        try:  # one round trip per search: the schema is missing only before the first build
            row = connection.execute(f"SELECT build FROM {SCHEMA}.current").fetchone()
        except psycopg.errors.UndefinedTable:
            if not connection.autocommit:
                connection.rollback()
            return None
        except psycopg.Error as error:  # the connection is lost (a restart, a failover): one line
            raise StoreUnavailable(
                f"reading the build in service of {_where(connection)} failed: {_first(error)}"
            ) from None
    return None if row is None else int(row[0])


def prepare_session(connection: Any, ef_search: int = HNSW_EF_SEARCH) -> None:
    """The session settings searches need, set once per connection (a transaction around SET
    LOCAL would interleave with other threads' statements on a shared connection). Only HNSW
    scans read them; ``ef_search``: ``Settings.store_hnsw_ef_search``."""
    _rows(connection, f"SET hnsw.ef_search = {int(ef_search)}")
    _rows(connection, "SET hnsw.iterative_scan = relaxed_order")


class DatabaseBuild:
    """One published build of the database, served by SQL (see :class:`assistant.serving.Backend`).

    Args:
        connection: a psycopg connection in autocommit mode with pgvector's types registered, or
            a :class:`~assistant.database.ConnectionPool` of them made with :func:`prepare_session`
            (each statement then borrows one, so threads search side by side).
        build: the build number (``current.build`` when the search began).
        expected_embedder: the querying model's identity; ``None`` skips the check.

    Raises:
        ModelMismatch: the build was made by another embedding model (before any query).
        IndexNotFound: the build is gone (a newer one replaced it and its rows were dropped).
    """

    def __init__(self, connection: Any, build: int, *, expected_embedder: str | None = None) -> None:
        self._connection = connection
        self.build = build
        found = _row(  # to_jsonb: a database made before builds.embedder existed has no such column
            connection,
            f"SELECT build_id, manifest, to_jsonb(b) -> 'embedder' FROM {SCHEMA}.builds b WHERE build = %s",
            (build,),
        )
        if found is None:
            raise IndexNotFound(f"build {build} is no longer in the database: search again")
        self.build_id, manifest, embedder = found
        identity = (manifest.get("embedder") or {}).get("identity")
        if expected_embedder is not None and identity != expected_embedder:
            raise ModelMismatch(
                f"the database's build {self.build_id} was made with embedding model {identity!r}, "
                f"not {expected_embedder!r}: query it with that model or rebuild it"
            )
        self.dimension = int((manifest.get("embedder") or {}).get("dimension") or 0)
        if not isinstance(connection, ConnectionPool):  # a pool prepares each connection it opens
            prepare_session(connection)
        # The shared graph the build's vectors are in, or (a build written before graphs were
        # shared) the HNSW index of its own chunks; neither: every scan is exact.
        self._graph = vectors_table(int(embedder)) if embedder is not None else None
        self._own_graph = self._graph is None and self._has_hnsw_index(partition_name("chunks", build))
        self.has_ann_index = self._own_graph or (self._graph is not None and self._has_hnsw_index(self._graph))
        self.has_keywords = "keywords" in manifest
        self.has_sentences = "sentences" in manifest
        self._documents = self._read_documents()
        self.row_count = int(manifest.get("chunk_count") or 0)
        if self.row_count != sum(record.chunks for record in self._documents.values()):
            raise IndexCorrupt(
                f"the database's build {self.build_id} counts {self.row_count} chunks in its manifest but "
                "its documents disagree: run `assistant build` to rebuild"
            )
        self._groups = self._read_groups()
        self.has_copies = bool(self._groups)
        declared = (canonical_region(record.region) for record in self._documents.values() if record.region)
        self.regions = frozenset(region for region in declared if region in REGIONS)
        self._doc_of: dict[int, str] = {}  # row -> doc_id, filled by the queries that return rows
        # In Python's order of the ids, as a build writes the rows (the database's collation may sort otherwise).
        self._filter = DocumentFilter(sorted(self._documents.values(), key=lambda record: record.doc_id))
        self._chunks_of_document = np.array([record.chunks for record in self._filter.records], dtype=np.int64)
        self._first_rows = np.concatenate([[0], np.cumsum(self._chunks_of_document)])
        self._rows_follow_documents = self._check_row_order()
        self._filters_seen: dict[tuple, tuple[RowFilter, tuple[str, ...]]] = {}

    def _check_row_order(self) -> bool:
        """Whether each document's chunks are the consecutive rows that the documents' chunk counts
        give, in the order of their ids (as every build writes them), checked at up to 64 document
        boundaries: then a filter is also a set of row ranges, which the postings are filtered by
        without a join (:meth:`keyword`)."""
        records = self._filter.records
        if not records:
            return False
        sample = np.unique(np.linspace(0, len(records) - 1, min(len(records), 64)).astype(np.intp))
        expected = {int(self._first_rows[i]): records[i].doc_id for i in sample}
        expected.update({int(self._first_rows[i]) - 1: records[i - 1].doc_id for i in sample if i > 0})
        found = _rows(
            self._connection,
            f"SELECT row, doc_id FROM {SCHEMA}.chunks WHERE build = %s AND row = ANY(%s)",
            (self.build, sorted(expected)),
        )
        return len(found) == len(expected) and all(expected.get(int(row)) == doc_id for row, doc_id in found)

    def _has_hnsw_index(self, table: str) -> bool:
        """Whether ``table`` has an HNSW index (without one every scan is exact: slower above
        :data:`EXACT_MAX_ROWS` rows, never wrong)."""
        return bool(_row(self._connection, HAS_HNSW_INDEX_SQL, (f"{SCHEMA}.{table}",))[0])

    def _read_documents(self) -> dict[str, DocumentRecord]:
        rows = _rows(
            self._connection,
            f"SELECT doc_id, content_hash, title, date, region, doc_type, lang, source, chunks, provenance "
            f"FROM {SCHEMA}.documents WHERE build = %s ORDER BY doc_id",
            (self.build,),
        )
        documents = {}
        for doc_id, content_hash, title, date, region, doc_type, lang, source, chunks, provenance in rows:
            citation = Citation(title=title, date=date, region=region, doc_type=doc_type, lang=lang, source=source)
            try:
                documents[doc_id] = DocumentRecord(
                    doc_id=doc_id,
                    content_hash=content_hash,
                    citation=citation,
                    chunks=chunks,
                    provenance=Provenance(**(provenance or {})),
                )
            except TypeError as error:
                raise IndexCorrupt(
                    f"document {doc_id} of build {self.build_id} has a damaged provenance ({error})"
                ) from None
        return documents

    def _read_groups(self) -> dict[str, DuplicateGroup]:
        rows = _rows(
            self._connection,
            f"SELECT doc_id, canonical FROM {SCHEMA}.duplicates WHERE build = %s ORDER BY canonical, position",
            (self.build,),
        )
        members: dict[str, list[str]] = {}
        for doc_id, canonical in rows:
            members.setdefault(canonical, []).append(doc_id)
        groups = [DuplicateGroup(canonical, tuple(ids)) for canonical, ids in members.items()]
        return {doc_id: group for group in groups for doc_id in group.members}

    def documents(self) -> tuple[DocumentRecord, ...]:
        return tuple(self._documents.values())

    # --- filters ---------------------------------------------------------------------------------

    def allowed_documents(self, filters: dict[str, object]) -> set[str] | None:
        if not filters:
            return None
        return set(self._filtered(filters)[1])

    def allowed_rows(self, filters: dict[str, object]) -> RowFilter | None:
        """The filters as SQL conditions on the chunks, with how many rows they keep."""
        if not filters:
            return None
        return self._filtered(filters)[0]

    def _filtered(self, filters: dict[str, object]) -> tuple[RowFilter, tuple[str, ...]]:
        """The rows and the documents ``filters`` keep (:mod:`assistant.filters`), worked out once
        per build and filter: the row count is the kept records' chunk counts (checked against the
        manifest on opening), the SQL names the field values each filter accepts."""
        key = tuple(
            sorted(
                (name, value if isinstance(value, str) else tuple(sorted(value)))  # type: ignore[arg-type]
                for name, value in filters.items()
            )
        )
        found = self._filters_seen.get(key)
        if found is not None:
            return found
        where, params = "", {}
        for name, value in filters.items():
            parameter = f"f{len(params)}"
            if name in ("date_from", "date_to"):
                where += f" AND c.date <> '' AND c.date {'>=' if name == 'date_from' else '<='} %({parameter})s"
                params[parameter] = value
            else:
                column = {"region": "region", "doc_type": "doc_type", "lang": "lang", "doc_id": "doc_id"}[name]
                where += f" AND c.{column} = ANY(%({parameter})s)"
                params[parameter] = sorted(self._filter.accepted(name, value))
        keep = self._filter.kept(filters)
        documents = tuple(record.doc_id for record, kept in zip(self._filter.records, keep.tolist()) if kept)
        rows = self._row_ranges(keep) if self._rows_follow_documents else None
        found = RowFilter(where, params, int(self._chunks_of_document[keep].sum()), rows), documents
        if len(self._filters_seen) >= FILTERS_REMEMBERED:
            self._filters_seen.clear()
        self._filters_seen[key] = found
        return found

    def _row_ranges(self, keep: np.ndarray) -> Any:
        """The rows of the kept documents as an int8multirange: one range per run of kept documents."""
        from psycopg.types.multirange import Int8Multirange
        from psycopg.types.range import Int8Range

        edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
        return Int8Multirange(
            Int8Range(int(self._first_rows[start]), int(self._first_rows[end]))
            for start, end in zip(edges[0::2], edges[1::2])
        )

    # --- candidates --------------------------------------------------------------------------------

    def dense(self, vector: np.ndarray, k: int, allowed: RowFilter | None) -> dict[int, float]:
        """Exact up to :data:`EXACT_MAX_ROWS` rows or without an HNSW index, else HNSW (scores are
        exact inner products either way)."""
        where, params = (allowed.where, allowed.params) if allowed is not None else ("", {})
        total = self.row_count if allowed is None else allowed.count
        arguments = {"q": np.asarray(vector, dtype=np.float32), "build": self.build, "k": min(k, total), **params}
        if total <= EXACT_MAX_ROWS or not self.has_ann_index:
            sql = self._scan_sql(where, "c.embedding <#> %(q)s")  # an expression no ANN index serves: exact
        elif self._graph is not None:
            sql = self._graph_sql(where)
        else:
            sql = self._scan_sql(where, f"(c.embedding::vector({self.dimension})) <=> %(q)s")  # the build's own HNSW
        return self._remember(_rows(self._connection, sql, arguments))

    @staticmethod
    def _scan_sql(where: str, order: str) -> str:
        # The CTE keeps the scan's rows; ordering them again makes a relaxed iterative scan's order exact.
        return (
            f"WITH found AS MATERIALIZED (SELECT c.row, c.doc_id, -(c.embedding <#> %(q)s) AS score FROM {SCHEMA}.chunks c "
            f"WHERE c.build = %(build)s{where} ORDER BY {order} LIMIT %(k)s) "
            "SELECT row, doc_id, score FROM found ORDER BY score DESC, row"
        )

    def _graph_sql(self, where: str) -> str:
        """The shared graph walked for the ``k`` nearest vectors this build (and filter) has, then
        their rows, scored by the rows' own vectors as an exact scan scores them: a text in two
        chunks is one vector, so the rows are cut to ``k`` again. The build test is a scalar
        subquery so that it stays a filter on the index scan (as a semi-join the planner may read
        every vector and sort)."""
        return (
            f"WITH found AS MATERIALIZED (SELECT v.embed_hash FROM {SCHEMA}.{self._graph} v "
            f"WHERE (SELECT true FROM {SCHEMA}.chunks c "
            f"WHERE c.build = %(build)s AND c.embed_hash = v.embed_hash{where} LIMIT 1) "
            "ORDER BY v.embedding <=> %(q)s LIMIT %(k)s) "
            f"SELECT c.row, c.doc_id, -(c.embedding <#> %(q)s) AS score FROM found f JOIN {SCHEMA}.chunks c "
            f"ON c.build = %(build)s AND c.embed_hash = f.embed_hash{where} "
            "ORDER BY score DESC, c.row LIMIT %(k)s"
        )

    def keyword(self, query: str, k: int, allowed: RowFilter | None) -> tuple[dict[int, float], float]:
        """The stored BM25 weights of the query's terms summed per chunk, and the query's coverage
        (the idf share of its words the build knows, as ``KeywordIndex.score`` computes it)."""
        words = list(dict.fromkeys(tuple(word) for word in analyze_words(query, query=True)))
        wanted = sorted({term for word in words for term in word})
        found = _rows(
            self._connection,
            f"SELECT term, term_id, idf FROM {SCHEMA}.terms WHERE build = %s AND term = ANY(%s)",
            (self.build, wanted),
        )
        ids = {term: (term_id, idf) for term, term_id, idf in found}
        known: list[int] = []
        weight = total = 0.0
        unknown_idf = float(np.log(1 + (self.row_count + 0.5) / 0.5))
        for alternatives in words:
            numbers = [ids[term] for term in alternatives if term in ids]
            if not numbers:
                total += unknown_idf
                continue
            known.extend(number for number, _ in numbers)
            best = max(float(idf) for _, idf in numbers)
            weight += best
            total += best
        known = list(dict.fromkeys(known))
        if not known or self.row_count == 0:
            return {}, 0.0
        # The float4 sum as float8: it reaches Python exact, as numpy's float32 does (as text it would be rounded).
        # Summed in term order whatever the plan: float4 sums depend on their order, and a plan's order
        # would break ties between copies of one text by rounding (the planner's choice changed it
        # once the build's tables were analyzed).
        score = "sum(p.weight ORDER BY p.term_id)::float8"
        arguments = {"build": self.build, "terms": known, "k": k}
        if allowed is not None and allowed.rows is None:  # the filter as conditions on each posting's chunk
            sql = (
                f"SELECT p.row, c.doc_id, {score} AS score FROM {SCHEMA}.postings p "
                f"JOIN {SCHEMA}.chunks c ON c.build = p.build AND c.row = p.row "
                f"WHERE p.build = %(build)s AND p.term_id = ANY(%(terms)s){allowed.where} "
                "GROUP BY p.row, c.doc_id HAVING sum(p.weight) > 0 ORDER BY score DESC, p.row LIMIT %(k)s"
            )
            arguments.update(allowed.params)
        else:  # the postings alone, filtered by row ranges; only the best k rows meet their chunks
            # (joining every posting to its chunk took most of a keyword search at 10^6 chunks)
            ranges = ""
            if allowed is not None:
                ranges, arguments["rows"] = " AND p.row::int8 <@ %(rows)s::int8multirange", allowed.rows
            sql = (
                f"WITH scored AS (SELECT p.row, {score} AS score FROM {SCHEMA}.postings p "
                f"WHERE p.build = %(build)s AND p.term_id = ANY(%(terms)s){ranges} "
                "GROUP BY p.row HAVING sum(p.weight) > 0 ORDER BY score DESC, p.row LIMIT %(k)s) "
                f"SELECT s.row, c.doc_id, s.score FROM scored s JOIN {SCHEMA}.chunks c "
                "ON c.build = %(build)s AND c.row = s.row ORDER BY s.score DESC, s.row"
            )
        rows = _rows(self._connection, sql, arguments)
        return self._remember(rows), (weight / total if total else 0.0)

    def similarities(self, rows: list[int], vector: np.ndarray) -> list[float]:
        found = _rows(
            self._connection,
            f"SELECT row, doc_id, -(embedding <#> %s) FROM {SCHEMA}.chunks WHERE build = %s AND row = ANY(%s)",
            (np.asarray(vector, dtype=np.float32), self.build, list(rows)),
        )
        scores = self._remember(found)
        return [scores[row] for row in rows]

    def sentences(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        found = _rows(
            self._connection,
            f"SELECT start_char, end_char, embedding FROM {SCHEMA}.sentences WHERE build = %s AND row = %s ORDER BY number",
            (self.build, row),
        )
        if not found:
            return np.zeros((0, 2), dtype=np.int32), np.zeros((0, self.dimension), dtype=np.float32)
        spans = np.array([(start, end) for start, end, _ in found], dtype=np.int32)
        vectors = np.stack([np.asarray(vector.to_numpy(), dtype=np.float32) for _, _, vector in found])
        return spans, vectors

    def row_of(self, chunk_id: str) -> int | None:
        found = _row(
            self._connection,
            f"SELECT row FROM {SCHEMA}.chunks WHERE build = %s AND chunk_id = %s",
            (self.build, chunk_id),
        )
        return None if found is None else int(found[0])

    # --- copies and passages -----------------------------------------------------------------------

    def preference(self, row: int) -> int:
        group = self._groups.get(self._doc_id(row))
        return 0 if group is None else group.members.index(self._doc_id(row))

    def collapse(
        self, ranked: list[int], k: int, allowed_documents: set[str] | None
    ) -> tuple[list[int], dict[int, tuple[str, ...]], int]:
        if not self._groups:
            return ranked[:k], {}, 0
        doc_of = self._documents_of(ranked)
        return collapse_copies(
            ranked,
            k,
            allowed_documents,
            doc_of=doc_of.__getitem__,
            group_of=self._groups.get,
            documents=self._documents,
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
        found = _row(
            self._connection,
            f"SELECT chunk_id, doc_id, start_char, end_char, section, text FROM {SCHEMA}.chunks "
            "WHERE build = %s AND row = %s",
            (self.build, row),
        )
        if found is None:
            raise IndexCorrupt(f"row {row} of build {self.build_id} is missing from the database")
        chunk_id, doc_id, start, end, section, text = found
        document = self._documents[doc_id]
        copies: dict[str, DocumentRecord] = {}
        group = self._groups.get(doc_id) if also_published else None
        for member in group.members if group is not None else ():
            copies.setdefault(self._documents[member].source, self._documents[member])
        return Passage(
            rank=rank,
            score=float(score),
            chunk_id=chunk_id,
            doc_id=doc_id,
            text=text,
            citation=document.citation,
            section=section,
            start=start,
            end=end,
            similarity=float(similarity),
            keyword_score=float(keyword_score),
            also_published=also_published,
            provenance=document.provenance,
            also_published_provenance=tuple(
                copies[source].provenance if source in copies else Provenance() for source in also_published
            ),
        )

    def _remember(self, rows: list[tuple]) -> dict[int, float]:
        """Row -> score of ``(row, doc_id, score)`` rows, in order; remembers each row's document."""
        if len(self._doc_of) > REMEMBERED_ROWS:  # a bound on memory, not a cache policy: rows come back
            self._doc_of = {}
        for row, doc_id, _ in rows:
            self._doc_of[int(row)] = doc_id
        return {int(row): float(score) for row, _, score in rows}

    def _documents_of(self, rows: list[int]) -> dict[int, str]:
        """Row -> doc_id of ``rows``: remembered from the candidate queries, else one query."""
        remembered = self._doc_of  # this dict, even if another thread starts a fresh one meanwhile
        known = {row: remembered[row] for row in rows if row in remembered}
        missing = [row for row in rows if row not in known]
        if missing:
            found = _rows(
                self._connection,
                f"SELECT row, doc_id FROM {SCHEMA}.chunks WHERE build = %s AND row = ANY(%s)",
                (self.build, missing),
            )
            known.update((int(row), doc_id) for row, doc_id in found)
            remembered.update(known)
        return known

    def _doc_id(self, row: int) -> str:
        return self._documents_of([row])[row]


def _rows(source: Any, sql: str, params: object = None) -> list[tuple]:
    """The rows of one statement (none for a statement that returns none), on a connection or one
    borrowed from a pool; a driver failure (a lost connection, a server restarting, a dropped
    table) is one :class:`StoreUnavailable` line."""
    import psycopg

    with borrowed(source) as connection:
        try:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as error:
            if not connection.closed and not connection.autocommit:
                connection.rollback()
            raise StoreUnavailable(f"searching {_where(connection)} failed: {_first(error)}") from None


def _row(connection: Any, sql: str, params: object = None) -> tuple | None:
    found = _rows(connection, sql, params)
    return found[0] if found else None


def _first(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _where(connection: Any) -> str:
    """The database a connection reaches, as a message may name it (no password)."""
    try:
        info = connection.info
        return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"
    except Exception:  # a connection closed meanwhile (by another thread) tells nothing more
        return "the database"
