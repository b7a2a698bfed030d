"""Database: the connection to PostgreSQL + pgvector, its one-line errors, and the schema the project runs.

Everything lives in the schema ``assistant`` (:data:`SCHEMA`); nothing is created outside it. The
``vector`` extension (pgvector ≥ 0.7) must already be installed in the database by an
administrator (``CREATE EXTENSION vector;``): this module checks for it and says so, it never
installs it (an extension is a database-wide object, outside our schema).

Tables (:data:`SCHEMA_SQL` is the exact SQL)::

    builds            one row per build: its number, id, state and manifest (jsonb: model identity,
                      chunker, analyzer and part facts; the documents are in `documents`)
    current           one row: the build in service. Publishing a build writes its rows, then
                      flips this row in the same transaction, so readers never see half a build
    reader_timeouts   corpus files whose reader ran over its time budget (the index folder's
                      over-budget file, for builds that write no files)

    and, LIST-partitioned by `build` (one partition per build, `<table>_<build number>`, so each
    build has its own indexes, ANN index included, and dropping an old build drops its tables):

    documents         citation, provenance, content hash, chunk count, MinHash signature; the
                      filter columns region, doc_type, lang, date indexed
    chunks            row 0..n-1 exactly as the file backend's rows (FAISS ids), chunk_id, doc_id,
                      offsets, section, text, embed_hash, the filter columns copied from the
                      document (so a filtered vector search needs no join), the unit `embedding`
                      (float32 `vector`, dimension in the manifest) and `terms` (the chunk's analysed
                      terms as ids into `terms`, in order, for incremental builds)
    terms             the BM25 vocabulary: term, document frequency, idf (as KeywordIndex computes it)
    postings          (term_id, row, weight): the BM25 matrix of the file backend (bm25s, Lucene
                      variant), weight float32 as stored there, so keyword scores are the same sums
    sentences         each chunk's sentences: span in the chunk text and unit embedding
    duplicates        the groups of near-duplicate documents: member, its group's canonical, position

``embedding`` columns are untyped ``vector`` (the dimension follows the model and is recorded in
the manifest); an ANN index casts them (``(embedding::vector(384)) vector_cosine_ops``) on one
build's partition.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from assistant.errors import StoreUnavailable

logger = logging.getLogger(__name__)

__all__ = [
    "ConnectionPool",
    "PARTITIONED_TABLES",
    "SCHEMA",
    "SCHEMA_SQL",
    "SCHEMA_VERSION",
    "HAS_HNSW_INDEX_SQL",
    "SHARED_VECTORS_SQL",
    "attach_build_tables",
    "borrowed",
    "connect",
    "create_build_tables",
    "drop_build_tables",
    "ensure_schema",
    "failures_explained",
    "is_database_url",
    "partition_name",
    "redacted",
    "vectors_table",
]

SCHEMA = "assistant"
SCHEMA_VERSION = 1
MIN_PGVECTOR = (0, 7)  # halfvec and sparsevec; iterative index scans with filters need 0.8
CONNECT_SECONDS = 10
APPLICATION_NAME = "kz-official-assistant"
# Keys of pg_advisory_lock (one bigint each): the build lock, and schema creation.
BUILD_LOCK_KEY = 0x6B7A_6173_7369_7374  # "kzassist"
SCHEMA_LOCK_KEY = BUILD_LOCK_KEY + 1

# Tables with one partition per build, in the order their rows are written.
PARTITIONED_TABLES = ("documents", "chunks", "terms", "postings", "sentences", "duplicates")

SCHEMA_SQL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};

CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (
    version integer NOT NULL
);

CREATE TABLE IF NOT EXISTS {SCHEMA}.builds (
    build      integer PRIMARY KEY,
    build_id   text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    manifest   jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS {SCHEMA}.current (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    build        integer NOT NULL REFERENCES {SCHEMA}.builds (build),
    published_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS {SCHEMA}.reader_timeouts (
    fingerprint text PRIMARY KEY,
    doc_id      text NOT NULL,
    seconds     double precision NOT NULL
);

CREATE TABLE IF NOT EXISTS {SCHEMA}.documents (
    build        integer NOT NULL,
    doc_id       text NOT NULL,
    content_hash text NOT NULL,
    title        text NOT NULL,
    date         text NOT NULL,
    region       text NOT NULL,
    doc_type     text NOT NULL,
    lang         text NOT NULL,
    source       text NOT NULL,
    chunks       integer NOT NULL,
    provenance   jsonb NOT NULL,
    signature    bigint[],
    PRIMARY KEY (build, doc_id)
) PARTITION BY LIST (build);
CREATE INDEX IF NOT EXISTS documents_region ON {SCHEMA}.documents (build, region);
CREATE INDEX IF NOT EXISTS documents_doc_type ON {SCHEMA}.documents (build, doc_type);
CREATE INDEX IF NOT EXISTS documents_lang ON {SCHEMA}.documents (build, lang);
CREATE INDEX IF NOT EXISTS documents_date ON {SCHEMA}.documents (build, date);

CREATE TABLE IF NOT EXISTS {SCHEMA}.chunks (
    build      integer NOT NULL,
    row        integer NOT NULL,
    chunk_id   text NOT NULL,
    doc_id     text NOT NULL,
    start_char integer NOT NULL,
    end_char   integer NOT NULL,
    section    text NOT NULL,
    text       text NOT NULL,
    embed_hash text NOT NULL,
    region     text NOT NULL,
    doc_type   text NOT NULL,
    lang       text NOT NULL,
    date       text NOT NULL,
    embedding  vector NOT NULL,
    terms      integer[] NOT NULL,
    PRIMARY KEY (build, row),
    UNIQUE (build, chunk_id)
) PARTITION BY LIST (build);
CREATE INDEX IF NOT EXISTS chunks_doc_id ON {SCHEMA}.chunks (build, doc_id);
CREATE INDEX IF NOT EXISTS chunks_region ON {SCHEMA}.chunks (build, region);
CREATE INDEX IF NOT EXISTS chunks_doc_type ON {SCHEMA}.chunks (build, doc_type);
CREATE INDEX IF NOT EXISTS chunks_lang ON {SCHEMA}.chunks (build, lang);
CREATE INDEX IF NOT EXISTS chunks_date ON {SCHEMA}.chunks (build, date);
CREATE INDEX IF NOT EXISTS chunks_embed_hash ON {SCHEMA}.chunks (build, embed_hash);

CREATE TABLE IF NOT EXISTS {SCHEMA}.terms (
    build              integer NOT NULL,
    term_id            integer NOT NULL,
    term               text NOT NULL,
    document_frequency integer NOT NULL,
    idf                double precision NOT NULL,
    PRIMARY KEY (build, term_id),
    UNIQUE (build, term)
) PARTITION BY LIST (build);

CREATE TABLE IF NOT EXISTS {SCHEMA}.postings (
    build   integer NOT NULL,
    term_id integer NOT NULL,
    row     integer NOT NULL,
    weight  real NOT NULL,
    PRIMARY KEY (build, term_id, row)
) PARTITION BY LIST (build);

CREATE TABLE IF NOT EXISTS {SCHEMA}.sentences (
    build      integer NOT NULL,
    row        integer NOT NULL,
    number     integer NOT NULL,
    start_char integer NOT NULL,
    end_char   integer NOT NULL,
    embedding  vector NOT NULL,
    PRIMARY KEY (build, row, number)
) PARTITION BY LIST (build);

CREATE TABLE IF NOT EXISTS {SCHEMA}.duplicates (
    build     integer NOT NULL,
    doc_id    text NOT NULL,
    canonical text NOT NULL,
    position  integer NOT NULL,
    PRIMARY KEY (build, doc_id)
) PARTITION BY LIST (build);
CREATE INDEX IF NOT EXISTS duplicates_canonical ON {SCHEMA}.duplicates (build, canonical, position);
"""

# The vectors that builds share, one table per embedding model (:func:`vectors_table`) whose HNSW
# graph lives across builds: a build adds the vectors it is the first to have, so a one-document
# change does not build the graph of every other chunk again. ``builds.embedder`` names the table
# a build's vectors are all in (NULL: a build of at most EXACT_MAX_ROWS chunks, searched exactly).
# Added after schema version 1 without changing it: a database made before gains them at its next
# build (:func:`ensure_schema`), and its older builds keep their own graphs.
SHARED_VECTORS_SQL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.embedders (
    embedder  integer PRIMARY KEY,
    identity  text NOT NULL,
    dimension integer NOT NULL
);
ALTER TABLE {SCHEMA}.builds ADD COLUMN IF NOT EXISTS embedder integer REFERENCES {SCHEMA}.embedders (embedder);
"""

# Whether the table named by its one parameter ("assistant.vectors_1") has an HNSW index.
HAS_HNSW_INDEX_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = to_regclass(%s) AND a.amname = 'hnsw')"
)

_URL = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)


def is_database_url(store: object) -> bool:
    """Whether ``store`` names a PostgreSQL database (``postgresql://...``) rather than an index folder."""
    return isinstance(store, str) and bool(_URL.match(store.strip()))


def redacted(dsn: str) -> str:
    """``dsn`` as a person may read it: user, host, port and database, never the password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(dsn)
    except Exception:  # a DSN that does not parse: show nothing of it that could be a secret
        return "the database address given"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or "localhost")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


def connect(dsn: str, *, autocommit: bool = False) -> Any:
    """A psycopg connection to ``dsn`` with pgvector's types registered.

    Args:
        dsn: a ``postgresql://user@host:port/database`` URL.
        autocommit: psycopg's autocommit (else every statement runs in a transaction).

    Raises:
        StoreUnavailable: the URL is malformed, the server cannot be reached or refuses the login,
            or the database lacks the ``vector`` extension. One line, without the password.
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    if not is_database_url(dsn):
        raise StoreUnavailable("the store must be a postgresql:// URL (for example postgresql://user@host/db)")
    where = redacted(dsn)
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        raise StoreUnavailable(f"the database URL is malformed ({_first_line(error, dsn)})") from None
    try:
        connection = psycopg.connect(
            dsn, autocommit=autocommit, connect_timeout=CONNECT_SECONDS, application_name=APPLICATION_NAME
        )
    except psycopg.ProgrammingError as error:
        raise StoreUnavailable(f"the database URL is malformed ({_first_line(error, dsn)})") from None
    except psycopg.OperationalError as error:
        raise StoreUnavailable(f"cannot connect to {where}: {_first_line(error, dsn)}") from None
    try:
        _register_vector(connection, where)
    except BaseException:
        connection.close()
        raise
    return connection


class ConnectionPool:
    """Connections to one database for the threads of one process: each statement borrows one.

    A connection runs one statement at a time, so threads sharing one wait for each other: at
    10^5 chunks, two threads made 21 hybrid searches/s over one connection and 35 over this pool
    (``bench/store_bench.py --parts threads``; docs/database.md, "Connections"). Connections are
    opened as threads need them, up to ``size`` (a thread then waits for one to come back), and kept. One that comes back closed or
    broken (the server restarted, a failover) is dropped, and the next borrower opens another:
    an unreachable server is then :func:`connect`'s one line, at once, rather than a wait.

    Args:
        dsn: a ``postgresql://`` URL. The first connection is opened here, so a bad URL, an
            unreachable server or a missing extension fails now (:class:`StoreUnavailable`).
        size: the most connections open at once (at least 1).
        prepare: run on each new connection (session settings), before it is lent.
    """

    def __init__(self, dsn: str, *, size: int, prepare: Callable[[Any], None] | None = None) -> None:
        if size < 1:
            raise ValueError(f"a pool needs room for one connection at least, not {size}")
        self.dsn, self.size, self._prepare = dsn, size, prepare
        self._available = threading.Condition()
        self._idle = [self._open()]
        self._opened = 1
        self._closed = False

    def __str__(self) -> str:
        return redacted(self.dsn)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A connection of the pool for the ``with`` block (autocommit, pgvector's types registered).

        Raises:
            StoreUnavailable: a new connection was needed and the database cannot be reached.
        """
        with self._available:
            while not self._idle and self._opened >= self.size:
                self._available.wait()
            connection = self._idle.pop() if self._idle else None
            if connection is None:
                self._opened += 1  # reserved before connecting, outside the lock
        if connection is None:
            try:
                connection = self._open()
            except BaseException:
                self._give_back(None)
                raise
        try:
            yield connection
        finally:
            self._give_back(connection)

    def close(self) -> None:
        """Close the idle connections now and the borrowed ones when they come back."""
        with self._available:
            self._closed, idle, self._idle = True, self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                connection.close()

    def _open(self) -> Any:
        connection = connect(self.dsn, autocommit=True)
        try:
            if self._prepare is not None:
                self._prepare(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _give_back(self, connection: Any) -> None:
        with self._available:
            if connection is not None and not (self._closed or connection.closed or connection.broken):
                self._idle.append(connection)
                connection = None
            else:
                self._opened -= 1
            self._available.notify()
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


@contextlib.contextmanager
def borrowed(source: Any) -> Iterator[Any]:
    """A connection from ``source``: a :class:`ConnectionPool`'s for the block, or ``source`` itself."""
    if isinstance(source, ConnectionPool):
        with source.connection() as connection:
            yield connection
    else:
        yield source


def ensure_schema(connection: Any) -> None:
    """Create the schema and its tables if they do not exist yet (idempotent, safe to race).

    Raises:
        StoreUnavailable: the role may not create them (with the GRANT an admin must run), or the
            schema was made by another version of this program.
    """
    import psycopg

    try:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            if not _schema_exists(connection):
                connection.execute(SCHEMA_SQL)
                connection.execute(f"INSERT INTO {SCHEMA}.schema_version VALUES (%s)", (SCHEMA_VERSION,))
            found = connection.execute(f"SELECT max(version) FROM {SCHEMA}.schema_version").fetchone()[0]
            if found == SCHEMA_VERSION and _missing(connection, "embedders"):
                connection.execute(SHARED_VECTORS_SQL)
            elif found == SCHEMA_VERSION and _has_constraint(connection, "embedders_identity_key"):
                # Made when a model had one graph (Dec 2026): it may now have several.
                connection.execute(f"ALTER TABLE {SCHEMA}.embedders DROP CONSTRAINT embedders_identity_key")
    except psycopg.errors.InsufficientPrivilege as error:
        raise _no_privilege(connection, error) from None
    if found != SCHEMA_VERSION:
        raise StoreUnavailable(
            f"the schema {SCHEMA} in {_database(connection)} has version {found}, this program uses "
            f"{SCHEMA_VERSION}: build into another database, or drop the schema ({SCHEMA}) to rebuild"
        )


def partition_name(table: str, build: int) -> str:
    """Name (in :data:`SCHEMA`) of ``table``'s partition for build number ``build``."""
    if table not in PARTITIONED_TABLES or not isinstance(build, int) or build < 0:
        raise ValueError(f"no partition of {table!r} for build {build!r}")
    return f"{table}_{build}"


def vectors_table(embedder: int) -> str:
    """Name (in :data:`SCHEMA`) of the shared vectors of embedding model number ``embedder``."""
    if not isinstance(embedder, int) or embedder < 0:
        raise ValueError(f"no vectors table for embedder {embedder!r}")
    return f"vectors_{embedder}"


def create_build_tables(connection: Any, build: int) -> None:
    """Make build ``build``'s tables, not yet attached: nobody reads them until :func:`attach_build_tables`.

    They are made standalone (``LIKE ... INCLUDING ALL``: same columns, defaults, constraints and
    indexes) rather than as partitions, because creating a partition locks its parent against
    readers until the transaction ends; attaching only takes a lock that readers do not wait for.
    """
    for table in PARTITIONED_TABLES:
        name = partition_name(table, build)
        connection.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{name}")
        connection.execute(f"CREATE TABLE {SCHEMA}.{name} (LIKE {SCHEMA}.{table} INCLUDING ALL)")
        # The partition's constraint, proved by this CHECK, so ATTACH needs no scan of the rows.
        connection.execute(f"ALTER TABLE {SCHEMA}.{name} ADD CONSTRAINT {name}_build CHECK (build = {build})")


def attach_build_tables(connection: Any, build: int) -> None:
    """Attach build ``build``'s tables as partitions (in the publishing transaction)."""
    for table in PARTITIONED_TABLES:
        name = partition_name(table, build)
        connection.execute(f"ALTER TABLE {SCHEMA}.{table} ATTACH PARTITION {SCHEMA}.{name} FOR VALUES IN ({build})")


def drop_build_tables(connection: Any, build: int) -> None:
    """Drop build ``build``'s tables, attached or not (dropping a partition waits for its readers)."""
    for table in PARTITIONED_TABLES:
        connection.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{partition_name(table, build)}")


@contextlib.contextmanager
def failures_explained(connection: Any, doing: str, *, reading: bool = False) -> Iterator[None]:
    """Turn a driver error while ``doing`` something into one :class:`StoreUnavailable` line: a
    refused statement names the GRANT (to read, or to change the schema); a lost connection or a
    server error says what failed."""
    import psycopg

    try:
        yield
    except psycopg.errors.InsufficientPrivilege as error:
        raise _no_privilege(connection, error, reading=reading) from None
    except psycopg.Error as error:
        raise StoreUnavailable(f"{doing} failed in {_database(connection)}: {_first_line(error, '')}") from None


def _schema_exists(connection: Any) -> bool:
    return not _missing(connection, "schema_version")


def _has_constraint(connection: Any, name: str) -> bool:
    row = connection.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = %s AND c.conname = %s)",
        (SCHEMA, name),
    ).fetchone()
    return bool(row[0])


def _missing(connection: Any, table: str) -> bool:
    row = connection.execute("SELECT to_regclass(%s) IS NULL", (f"{SCHEMA}.{table}",)).fetchone()
    return bool(row[0])


def _register_vector(connection: Any, where: str) -> None:
    row = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    if not connection.autocommit:
        connection.rollback()
    if row is None:
        raise StoreUnavailable(
            f"the database {where} lacks the pgvector extension: an administrator must run "
            "`CREATE EXTENSION vector;` in it (pgvector 0.7 or later must be installed on the server)"
        )
    version = tuple(int(part) for part in re.findall(r"\d+", row[0])[:2])
    if version < MIN_PGVECTOR:
        raise StoreUnavailable(
            f"the database {where} has pgvector {row[0]}, older than {'.'.join(map(str, MIN_PGVECTOR))}: "
            "an administrator must run `ALTER EXTENSION vector UPDATE;` after installing a newer pgvector"
        )
    from pgvector.psycopg import register_vector

    register_vector(connection)
    if not connection.autocommit:
        connection.rollback()


def _no_privilege(connection: Any, error: BaseException, *, reading: bool = False) -> StoreUnavailable:
    role = connection.info.user
    database = connection.info.dbname
    if reading:
        return StoreUnavailable(
            f"the database role {role!r} may not read the schema {SCHEMA} in {database!r} "
            f'({_first_line(error, "")}): an administrator must run `GRANT USAGE ON SCHEMA {SCHEMA} TO "{role}"; '
            f'GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO "{role}";`'
        )
    return StoreUnavailable(
        f"the database role {role!r} may not change the schema {SCHEMA} in {database!r} "
        f'({_first_line(error, "")}): an administrator must run `GRANT CREATE ON DATABASE "{database}" '
        f'TO "{role}";` once, or create the schema {SCHEMA} owned by that role'
    )


def _database(connection: Any) -> str:
    return repr(connection.info.dbname)


def _first_line(error: BaseException, dsn: str) -> str:
    """The first line of a driver's message, with anything of the DSN's password removed."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    password = _password(dsn)
    if password:
        text = text.replace(password, "***")
    return text


def _password(dsn: str) -> str:
    try:
        from psycopg.conninfo import conninfo_to_dict

        return str(conninfo_to_dict(dsn).get("password") or "")
    except Exception:
        match = re.match(r"^[a-z]+://[^:/@]*:([^@]*)@", dsn.strip(), re.IGNORECASE)
        return match.group(1) if match else ""
