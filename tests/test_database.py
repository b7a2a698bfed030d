"""The PostgreSQL connection and schema against a real server: idempotent schema, one clear line per failure."""

from __future__ import annotations

import threading

import pytest

from assistant import database
from assistant.errors import StoreUnavailable
from tests.postgres import postgres_server, store_dsn  # noqa: F401

from .conftest import REPO

pytestmark = pytest.mark.postgres


def _tables(connection) -> set[str]:
    rows = connection.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
        (database.SCHEMA,),
    ).fetchall()
    return {name for (name,) in rows}


def test_schema_is_created_once_and_again_without_change(store_dsn):
    with database.connect(store_dsn) as connection:
        database.ensure_schema(connection)
        first = _tables(connection)
        database.ensure_schema(connection)
        assert _tables(connection) == first
        versions = connection.execute(f"SELECT version FROM {database.SCHEMA}.schema_version").fetchall()
    assert versions == [(database.SCHEMA_VERSION,)]
    assert set(database.PARTITIONED_TABLES) | {"builds", "current", "schema_version"} <= first


def test_a_database_where_a_model_had_one_graph_may_now_have_several(store_dsn):
    """Databases made when each model had one graph (identity unique) lose that constraint."""
    with database.connect(store_dsn) as connection:
        database.ensure_schema(connection)
        connection.execute(
            f"ALTER TABLE {database.SCHEMA}.embedders ADD CONSTRAINT embedders_identity_key UNIQUE (identity)"
        )
        connection.commit()
        database.ensure_schema(connection)
        for number in (1, 2):
            connection.execute(f"INSERT INTO {database.SCHEMA}.embedders VALUES (%s, 'one-model', 384)", (number,))
        connection.rollback()


def test_nothing_is_created_outside_the_schema(store_dsn):
    with database.connect(store_dsn) as connection:
        before = connection.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        ).fetchone()
        database.ensure_schema(connection)
        after = connection.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        ).fetchone()
    assert before == after


def test_a_build_partition_attaches_with_its_indexes(store_dsn):
    with database.connect(store_dsn) as connection:
        database.ensure_schema(connection)
        with connection.transaction():
            database.create_build_tables(connection, 7)
            database.attach_build_tables(connection, 7)
        attached = connection.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
            (f"{database.SCHEMA}.chunks",),
        ).fetchall()
        assert attached == [(f"{database.SCHEMA}.chunks_7",)]
        with connection.transaction():
            database.drop_build_tables(connection, 7)
        assert not {f"{table}_7" for table in database.PARTITIONED_TABLES} & _tables(connection)


def test_missing_pgvector_names_the_statement_an_admin_runs(postgres_server):
    url = postgres_server.url(postgres_server.new_database(vector=False))
    with pytest.raises(StoreUnavailable, match=r"`CREATE EXTENSION vector;`"):
        database.connect(url)


def test_a_role_without_privileges_is_told_the_grant(postgres_server):
    name = postgres_server.new_database()
    postgres_server.execute("DO $$ BEGIN CREATE ROLE reader LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    with database.connect(postgres_server.url(name, user="reader")) as connection:
        with pytest.raises(StoreUnavailable, match=rf'GRANT CREATE ON DATABASE "{name}" TO "reader";'):
            database.ensure_schema(connection)


@pytest.mark.parametrize(
    "url, says",
    [
        ("postgresql://user:s3cret@[::1/db", "malformed"),
        ("postgresql://user:s3cret@localhost/db?no_such_option=1", "malformed"),
        ("postgresql://user:s3cret@127.0.0.1:1/db", "cannot connect to postgresql://user@127.0.0.1:1/db"),
        ("index/", "must be a postgresql:// URL"),
    ],
)
def test_a_bad_url_is_one_line_without_the_password(url, says):
    with pytest.raises(StoreUnavailable) as raised:
        database.connect(url)
    message = str(raised.value)
    assert says in message
    assert "s3cret" not in message
    assert "\n" not in message


def test_redacted_drops_the_password():
    assert (
        database.redacted("postgresql://ann:pw@db.example:5433/assistant")
        == "postgresql://ann@db.example:5433/assistant"
    )
    assert database.is_database_url("postgres://h/db") and not database.is_database_url("index")


def test_the_documented_schema_is_the_one_the_code_runs():
    documented = (REPO / "docs" / "database.md").read_text(encoding="utf-8")
    assert database.SCHEMA_SQL.strip() in documented
    assert database.SHARED_VECTORS_SQL.strip() in documented


def _backend(connection) -> int:
    return connection.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_a_pool_lends_each_concurrent_borrower_its_own_connection_up_to_its_size(store_dsn):
    """Threads sharing one connection wait for each other's statements; a pool lends another."""
    pool = database.ConnectionPool(store_dsn, size=2, prepare=lambda c: c.execute("SET application_name = 'pooled'"))
    held, release, third_done = threading.Event(), threading.Event(), threading.Event()
    backends = []

    def hold():
        with pool.connection() as connection:
            backends.append(_backend(connection))
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    with pool.connection() as second:  # the first is lent: a second connection, opened and prepared
        backends.append(_backend(second))
        assert second.execute("SHOW application_name").fetchone()[0] == "pooled"

        def third():
            with pool.connection() as connection:
                backends.append(_backend(connection))
            third_done.set()

        waiting = threading.Thread(target=third)
        waiting.start()
        assert not third_done.wait(0.3)  # both lent, at the pool's size: the third borrower waits...
    assert third_done.wait(10)  # ...for the second to come back, and gets it
    release.set()
    holder.join()
    waiting.join()
    assert len(set(backends)) == 2 and backends[2] == backends[1]
    pool.close()


def test_a_pool_drops_a_connection_the_server_ended_and_opens_another(store_dsn):
    pool = database.ConnectionPool(store_dsn, size=2)
    with pool.connection() as connection:
        lost = _backend(connection)
    with database.connect(store_dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (lost,))
    import psycopg

    with pytest.raises(psycopg.OperationalError), pool.connection() as connection:  # the idle one is lent, and fails
        connection.execute("SELECT 1")
    with pool.connection() as connection:  # dropped: a new one
        assert _backend(connection) != lost and connection.execute("SELECT 1").fetchone() == (1,)
    pool.close()
    with pytest.raises(StoreUnavailable, match="cannot connect"):
        database.ConnectionPool(store_dsn.replace(store_dsn.rsplit("/", 1)[0], "postgresql://x@127.0.0.1:1"), size=1)
