"""Searches from a streaming replica (ASSISTANT_STORE_READ): builds reach it whole, it answers with the
primary down, and an unreachable replica sends searches to the primary."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

import assistant.build
from assistant.build import build_index
from assistant.config import Settings
from assistant.database import connect, redacted
from assistant.database_serving import published_build
from assistant.errors import AssistantError
from assistant.retrieval import Searcher
from tests.postgres import postgres_server, store_dsn, streaming_replica  # noqa: F401
from ui.cli import main

from .conftest import FakeEmbedder
from .test_build import SETTINGS, write_corpus

QUESTION = "цифровизация образования Павлодар"
NEW_TEXT = "---\ntitle: Павлодар\nregion: Pavlodar region\n---\nПавлодар представил план цифровизации образования."


def _replayed(replica: str, primary: str, *, within: float = 60.0) -> int:
    """The primary's build in service, once the replica serves it too (WAL replay lags a little)."""
    with connect(primary, autocommit=True) as connection:
        wanted = published_build(connection)
    deadline = time.monotonic() + within
    with connect(replica, autocommit=True) as connection:
        while published_build(connection) != wanted:
            assert time.monotonic() < deadline, "the replica did not replay the build"
            time.sleep(0.1)
    return wanted


@pytest.mark.postgres
@pytest.mark.slow  # two servers of its own (initdb, pg_basebackup): 10-20 s before the test starts
def test_searches_read_the_replica_see_whole_builds_and_outlive_the_primary(
    tmp_path, streaming_replica, monkeypatch, capsys
):
    primary, replica = streaming_replica.primary_url, streaming_replica.replica_url
    corpus = write_corpus(tmp_path / "corpus")
    build_index(corpus, primary, settings=SETTINGS, embedder=FakeEmbedder())
    _replayed(replica, primary)
    settings = SETTINGS.with_(store=primary, store_read=replica)
    searcher = Searcher(settings=settings, embedder=FakeEmbedder())
    before = {record.doc_id for record in searcher.documents}
    assert searcher.search(QUESTION, k=3) and "pavlodar.txt" not in before

    # A new build on the primary reaches the replica by WAL: until it is replayed the old build is
    # served, then the new one; never a mixture (every answer cites documents of one build).
    (corpus / "pavlodar.txt").write_text(NEW_TEXT, encoding="utf-8")
    build_index(corpus, primary, settings=SETTINGS, embedder=FakeEmbedder())
    after = before | {"pavlodar.txt"}
    deadline = time.monotonic() + 60
    while True:
        # Searched first, then listed: the replica may replay the build between the two calls
        # (each reads the pointer), and builds only move forward, so what a search cited is in
        # the build listed after it.
        cited = {passage.doc_id for passage in searcher.search(QUESTION, k=5)}
        served = {record.doc_id for record in searcher.documents}
        assert served in (before, after) and cited <= served
        if served == after:
            break
        assert time.monotonic() < deadline, "the replica never served the new build"
        time.sleep(0.05)
    assert searcher.search(QUESTION, k=1)[0].doc_id == "pavlodar.txt"

    # The primary dies: the searcher keeps answering from the replica, and a build says in one line why not.
    streaming_replica.stop_primary()
    assert searcher.search(QUESTION, k=1)[0].doc_id == "pavlodar.txt"
    assert Searcher(settings=settings, embedder=FakeEmbedder()).search(QUESTION, k=1)[0].doc_id == "pavlodar.txt"
    monkeypatch.setattr(assistant.build, "load_embedder", lambda *args, **kwargs: FakeEmbedder())
    monkeypatch.delenv("ASSISTANT_STORE_READ", raising=False)
    assert main(["build", "--corpus", str(corpus), "--store", primary]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("assistant: error: cannot connect to postgresql://postgres@")
    assert "Traceback" not in error


@pytest.mark.postgres
def test_an_unreachable_replica_sends_searches_to_the_primary_with_one_line(tmp_path, store_dsn, caplog):
    build_index(write_corpus(tmp_path / "corpus"), store_dsn, settings=SETTINGS, embedder=FakeEmbedder())
    away = f"postgresql://postgres@/postgres?host={tmp_path / 'no-server-here'}"
    with caplog.at_level(logging.WARNING, logger="assistant.retrieval"):
        searcher = Searcher(settings=SETTINGS.with_(store=store_dsn, store_read=away), embedder=FakeEmbedder())
    assert searcher.search("метро Алматы", k=1)[0].doc_id == "almaty.txt"
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and warnings[0].startswith("searches read the primary postgresql://postgres@")
    assert ": cannot connect to postgresql://postgres@" in warnings[0] and "no-server-here" in warnings[0]


def test_a_replica_goes_with_a_database_store():
    with pytest.raises(AssistantError, match="store must be set too"):
        Settings(store_read="postgresql://reader@replica/db")
    with pytest.raises(AssistantError, match="store_read must be a postgresql:// URL"):
        Settings(store="postgresql://writer@primary/db", store_read="replica-folder")
    assert main(["search", "x", "--index", "index", "--store-read", "postgresql://reader@replica/db"]) == 1
    with pytest.raises(SystemExit):  # a build writes to the primary only: it has no such option
        main(["build", "--store-read", "postgresql://reader@replica/db"])


def test_an_evaluation_reads_neither_the_served_database_nor_its_replica(tmp_path, fake_embedder):
    from assistant.evaluation import evaluate, load_eval_set

    from .test_evaluation import PARAGRAPHS, squad

    dataset = load_eval_set(squad(tmp_path / "set.json", PARAGRAPHS))
    nowhere = f"postgresql://postgres@/postgres?host={tmp_path / 'no-server-here'}"
    served = SETTINGS.with_(store=nowhere, store_read=nowhere)  # as ASSISTANT_STORE and ASSISTANT_STORE_READ
    report = evaluate(dataset, workspace=tmp_path / "ws", settings=served, embedder=fake_embedder)
    assert report.questions == 3 and report.recall_at_10 == 1.0


@pytest.mark.postgres
def test_searches_return_to_the_replica_once_it_is_back(tmp_path, store_dsn, caplog, monkeypatch):
    """A searcher that started while its replica was away reads the primary, then the replica again
    once it answers (tried in the background, every REPLICA_RETRY_SECONDS), answering throughout.
    The "replica" here is the same database behind a socket folder that is empty at first."""
    import assistant.retrieval

    build_index(write_corpus(tmp_path / "corpus"), store_dsn, settings=SETTINGS, embedder=FakeEmbedder())
    later = tmp_path / "replica-socket"
    later.mkdir()
    address, _, query = store_dsn.partition("?")
    replica = f"{address}?host={later}"
    settings = SETTINGS.with_(store=store_dsn, store_read=replica)
    with caplog.at_level(logging.INFO, logger="assistant.retrieval"):
        searcher = Searcher(settings=settings, embedder=FakeEmbedder())
        assert searcher.search("метро Алматы", k=1)[0].doc_id == "almaty.txt"  # from the primary
        monkeypatch.setattr(assistant.retrieval, "REPLICA_RETRY_SECONDS", 0.0)
        deadline = time.monotonic() + 30
        while "is still away" not in caplog.text:  # a try in the background, the replica still away
            assert time.monotonic() < deadline, caplog.text
            assert searcher.search("метро Алматы", k=1)[0].doc_id == "almaty.txt"
            time.sleep(0.05)
        (socket,) = (path for path in Path(query.removeprefix("host=")).glob(".s.PGSQL.*") if path.suffix != ".lock")
        (later / socket.name).symlink_to(socket)  # the replica is back
        deadline = time.monotonic() + 30
        while "searches read the replica" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            assert searcher.search("метро Алматы", k=1)[0].doc_id == "almaty.txt"
            time.sleep(0.05)
        assert searcher.search("метро Алматы", k=1)[0].doc_id == "almaty.txt"  # from the replica
    messages = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert messages[0].startswith("searches read the primary postgresql://postgres@")
    assert messages[-1] == f"searches read the replica {redacted(replica)} again"
