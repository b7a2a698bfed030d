"""Builds in PostgreSQL against a real server: the same build as in files, incremental, atomic, locked."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace

import numpy as np
import pytest

from assistant import (
    BuildInProgress,
    IndexNotFound,
    ModelMismatch,
    Searcher,
    build_index,
    database_serving,
    database_store,
)
from assistant.config import Settings
from assistant.database import PARTITIONED_TABLES, SCHEMA, connect, partition_name
from assistant.database_store import DatabaseStore
from assistant.errors import AssistantError, StoreUnavailable
from assistant.keywords import analyze_words
from assistant.store import load_index
from assistant.stores import copy_index
from tests.postgres import postgres_server, store_dsn  # noqa: F401

from .conftest import REPO, FakeEmbedder
from .test_build import SETTINGS, TEXTS, write_corpus

pytestmark = pytest.mark.postgres

# Two copies of one text make a duplicate group; the rest are the build tests' documents.
COPY = "Правительство утвердило программу развития сельских дорог на пять лет с объёмом финансирования."
CORPUS = {**TEXTS, "copy_a.txt": COPY, "copy_b.txt": COPY + " "}


def _build(corpus, location, embedder, **kwargs):
    return build_index(corpus, location, settings=SETTINGS, embedder=embedder, **kwargs)


def _assert_same_build(left, right):
    """Two loaded builds hold the same rows, documents, vectors (bit for bit), terms, sentences and groups."""
    assert list(left.chunks) == list(right.chunks)
    assert left.documents == right.documents
    assert left.manifest.build_id == right.manifest.build_id
    assert left.manifest.embedder == right.manifest.embedder
    assert np.array_equal(np.asarray(left.vectors()), np.asarray(right.vectors()))
    assert [left.keywords.terms_of(row) for row in range(len(left.chunks))] == [
        right.keywords.terms_of(row) for row in range(len(right.chunks))
    ]
    assert np.array_equal(left.sentences.spans, right.sentences.spans)
    assert np.array_equal(left.sentences.offsets, right.sentences.offsets)
    assert np.array_equal(np.asarray(left.sentences.vectors), np.asarray(right.sentences.vectors))
    assert left.duplicates.groups == right.duplicates.groups
    assert left.duplicates.doc_ids == right.duplicates.doc_ids
    assert np.array_equal(left.duplicates.signatures, right.duplicates.signatures)


def test_a_database_build_reads_back_as_the_file_build(tmp_path, store_dsn):
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    _build(corpus, tmp_path / "index", FakeEmbedder())
    report = _build(corpus, store_dsn, FakeEmbedder())
    assert report.changed and report.build_path is None and report.build_id
    from_files, from_database = load_index(tmp_path / "index"), DatabaseStore(store_dsn).load()
    assert from_database.duplicates.groups, "the corpus has a duplicate group to round-trip"
    assert list(from_files.chunks) == list(from_database.chunks)  # same chunk ids, rows, offsets, texts
    assert np.array_equal(np.asarray(from_files.vectors()), from_database.vectors())
    assert from_files.duplicates.groups == from_database.duplicates.groups
    assert from_files.documents == from_database.documents
    assert not (tmp_path / "corpus" / "index").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "corpus",
        "index",
    ]


def test_a_build_is_published_with_the_planners_statistics(tmp_path, store_dsn):
    """Without statistics the first searches of a new build (until autovacuum gets to it) scan every
    row exactly: each table of the build in service must tell the planner its size already."""
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    _build(corpus, store_dsn, FakeEmbedder())
    with connect(store_dsn, autocommit=True) as connection:
        build = database_store.current_build(connection)
        for table in PARTITIONED_TABLES:
            name = partition_name(table, build)
            (rows,) = connection.execute(f"SELECT count(*) FROM {SCHEMA}.{name}").fetchone()
            (known,) = connection.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (f"{SCHEMA}.{name}",)
            ).fetchone()
            assert known == rows, f"{name}: the planner counts {known} rows of {rows}"


def test_postings_give_the_file_backends_keyword_scores(tmp_path, store_dsn):
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    _build(corpus, tmp_path / "index", FakeEmbedder())
    _build(corpus, store_dsn, FakeEmbedder())
    keywords = load_index(tmp_path / "index").keywords
    words = analyze_words("дороги и водоснабжение сел, метро в Алматы", query=True)
    terms = sorted({term for alternatives in words for term in alternatives})
    with connect(store_dsn) as connection:
        rows = connection.execute(
            f"SELECT p.row, sum(p.weight)::real FROM {SCHEMA}.postings p JOIN {SCHEMA}.terms t "
            "ON t.build = p.build AND t.term_id = p.term_id "
            f"WHERE p.build = (SELECT build FROM {SCHEMA}.current) AND t.term = ANY(%s) GROUP BY p.row",
            (terms,),
        ).fetchall()
        idf = dict(
            connection.execute(
                f"SELECT term, idf FROM {SCHEMA}.terms WHERE build = (SELECT build FROM {SCHEMA}.current)"
            ).fetchall()
        )
    expected = keywords.score(words).scores
    scores = np.zeros(len(expected), dtype=np.float32)
    for row, score in rows:
        scores[row] = score
    assert expected.max() > 0
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert list(np.argsort(-scores, kind="stable")) == list(np.argsort(-expected, kind="stable"))
    assert idf == {term: float(keywords.idf()[number]) for number, term in enumerate(keywords.vocabulary)}


def test_an_incremental_build_embeds_only_changed_documents(tmp_path, store_dsn):
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    embedder = FakeEmbedder()
    _build(corpus, store_dsn, embedder)
    embedder.embedded.clear()
    again = _build(corpus, store_dsn, embedder)
    assert not again.changed and embedder.embedded == []

    (corpus / "weather.md").write_text("# Погода\n\nЗавтра снег и метель в Астане.", encoding="utf-8")
    (corpus / "atyrau.txt").unlink()
    embedder.embedded.clear()
    report = _build(corpus, store_dsn, embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 1, 3)
    assert embedder.embedded and all("метель" in text for text in embedder.embedded)
    served = DatabaseStore(store_dsn).load()
    assert "atyrau.txt" not in served.documents and "метель" in served.chunks[-1].text
    with connect(store_dsn) as connection:
        builds = connection.execute(f"SELECT count(*) FROM {SCHEMA}.builds").fetchone()[0]
    assert builds == 2  # the one in service and the one before


def _graph(connection) -> tuple[int | None, set[str]]:
    """(the shared graph's index oid, the hashes in its table) of the fake model's vectors."""
    (model,) = connection.execute(
        f"SELECT max(embedder) FROM {SCHEMA}.embedders WHERE identity = %s", (FakeEmbedder.identity,)
    ).fetchone()
    table = f"{SCHEMA}.vectors_{model}"
    (oid,) = connection.execute("SELECT to_regclass(%s)::oid", (f"{table}_embedding",)).fetchone()
    return oid, {embed_hash for (embed_hash,) in connection.execute(f"SELECT embed_hash FROM {table}")}


def _hashes(connection, *builds) -> set[str]:
    found = connection.execute(f"SELECT embed_hash FROM {SCHEMA}.chunks WHERE build = ANY(%s)", (list(builds),))
    return {embed_hash for (embed_hash,) in found}


def test_builds_share_one_vector_graph_and_a_change_adds_only_its_vectors(tmp_path, store_dsn, monkeypatch):
    """Building the HNSW graph was 92 of the 108 s of writing 10^5 chunks: it lives across builds,
    a build inserts the vectors it is the first to have, and the vectors of a dropped build go
    with it unless a kept build has them. Searching the graph finds what an exact scan finds."""
    monkeypatch.setattr(database_serving, "EXACT_MAX_ROWS", 0)
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    embedder = FakeEmbedder()
    _build(corpus, store_dsn, embedder)
    with connect(store_dsn) as connection:
        first = connection.execute(f"SELECT build FROM {SCHEMA}.current").fetchone()[0]
        oid, hashes = _graph(connection)
        assert oid is not None and hashes == _hashes(connection, first)

    (corpus / "weather.md").write_text("# Погода\n\nЗавтра снег и метель в Астане.", encoding="utf-8")
    (corpus / "atyrau.txt").unlink()
    _build(corpus, store_dsn, embedder)
    with connect(store_dsn) as connection:
        second = connection.execute(f"SELECT build FROM {SCHEMA}.current").fetchone()[0]
        assert _graph(connection) == (oid, _hashes(connection, first, second))  # the same graph, grown
        gone = _hashes(connection, first) - _hashes(connection, second)
        assert gone  # atyrau.txt's, kept while the build before has them

    (corpus / "weather.md").write_text("# Погода\n\nПослезавтра солнечно и тепло в Астане.", encoding="utf-8")
    _build(corpus, store_dsn, embedder)
    with connect(store_dsn) as connection:
        third = connection.execute(f"SELECT build FROM {SCHEMA}.current").fetchone()[0]
        found_oid, found = _graph(connection)
        assert found_oid == oid and found == _hashes(connection, second, third) and not found & gone

    graph = Searcher(store_dsn, settings=SETTINGS, embedder=embedder)
    for query in ("снег и метель", "сельские дороги программа", "Послезавтра солнечно"):
        through_graph = [p.chunk_id for p in graph.search(query, k=4, mode="dense")]
        monkeypatch.setattr(database_serving, "EXACT_MAX_ROWS", 10**9)
        exact = [p.chunk_id for p in graph.search(query, k=4, mode="dense")]
        monkeypatch.setattr(database_serving, "EXACT_MAX_ROWS", 0)
        assert through_graph == exact, query


def test_a_build_of_mostly_new_vectors_gets_a_graph_of_its_own_built_in_one_go(tmp_path, store_dsn, monkeypatch):
    """Inserting a vector into an HNSW graph costs far more than a vector of a graph built in one go:
    10^6 new vectors inserted into the graph of 10^5 ran for over half an hour. A build whose vectors
    are mostly new gets its own graph; the old one serves the build before and goes with it."""
    monkeypatch.setattr(database_serving, "EXACT_MAX_ROWS", 0)
    monkeypatch.setattr(database_store, "GRAPH_INSERT_MIN", 0)
    embedder = FakeEmbedder()
    first_corpus = write_corpus(tmp_path / "first", CORPUS)
    _build(first_corpus, store_dsn, embedder)
    with connect(store_dsn) as connection:
        first = connection.execute(f"SELECT build FROM {SCHEMA}.current").fetchone()[0]
        old_oid, _ = _graph(connection)
    other = {f"new-{number}.txt": f"Совсем другой документ номер {number}: дороги, школы и связь." for number in range(6)}
    _build(write_corpus(tmp_path / "second", other), store_dsn, embedder)
    with connect(store_dsn) as connection:
        second = connection.execute(f"SELECT build FROM {SCHEMA}.current").fetchone()[0]
        graphs = connection.execute(
            f"SELECT b.build, b.embedder FROM {SCHEMA}.builds b ORDER BY b.build", ()
        ).fetchall()
        assert [build for build, _ in graphs] == [first, second] and graphs[0][1] != graphs[1][1]
        new_oid, hashes = _graph(connection)  # the model's newest graph
        assert new_oid != old_oid and hashes == _hashes(connection, second)
    searcher = Searcher(store_dsn, settings=SETTINGS, embedder=embedder)
    assert searcher.search("дороги, школы и связь", k=3, mode="dense")[0].doc_id.startswith("new-")
    monkeypatch.setattr(database_store, "GRAPH_INSERT_MIN", 10)
    (tmp_path / "second" / "new-0.txt").write_text("Изменённый документ о связи.", encoding="utf-8")
    _build(tmp_path / "second", store_dsn, embedder)  # the first build goes, and its graph with it
    with connect(store_dsn) as connection:
        assert connection.execute(f"SELECT count(*) FROM {SCHEMA}.embedders").fetchone()[0] == 1
        assert connection.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.vectors_{graphs[0][1]}",)).fetchone()[0] is None
        assert _graph(connection)[0] == new_oid  # a one-document change is inserted into the newest graph


def test_another_model_gets_its_own_graph_and_the_old_one_goes_with_its_last_build(tmp_path, store_dsn, monkeypatch):
    class OtherModel(FakeEmbedder):
        identity = "fake-other-model"

    monkeypatch.setattr(database_serving, "EXACT_MAX_ROWS", 0)
    corpus = write_corpus(tmp_path / "corpus")
    _build(corpus, store_dsn, FakeEmbedder())
    for round in range(2):
        (corpus / "changing.txt").write_text(f"Изменение номер {round} в тексте документа.", encoding="utf-8")
        _build(corpus, store_dsn, OtherModel())
    with connect(store_dsn) as connection:
        models = connection.execute(f"SELECT identity FROM {SCHEMA}.embedders").fetchall()
        tables = {
            name
            for (name,) in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,))
            if name.startswith("vectors_")
        }
    assert models == [("fake-other-model",)] and len(tables) == 1
    assert Searcher(store_dsn, settings=SETTINGS, embedder=OtherModel()).search("Изменение номер", k=2, mode="dense")


def test_a_build_with_nothing_to_do_reads_no_row_of_the_build_in_service(tmp_path, store_dsn, monkeypatch):
    """Reading a build back whole takes about 40 s at 10^5 chunks: a build that finds nothing
    changed decides from the manifest and the documents, and reads the rows only when a setting
    changed what the build holds."""
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    embedder = FakeEmbedder()
    first = _build(corpus, store_dsn, embedder)
    read_whole = []
    original = database_store.load_build
    monkeypatch.setattr(database_store, "load_build", lambda *a, **k: read_whole.append(1) or original(*a, **k))

    again = _build(corpus, store_dsn, embedder)
    assert not again.changed and again.build_id == first.build_id and read_whole == []
    assert (again.unchanged, again.chunks) == (len(CORPUS), first.chunks)

    without_sentences = build_index(corpus, store_dsn, settings=replace(SETTINGS, sentence_vectors=False), embedder=embedder)
    assert without_sentences.changed and read_whole == [1] and without_sentences.chunks_embedded == 0
    assert DatabaseStore(store_dsn).load().sentences is None


def test_a_build_whose_previous_rows_are_damaged_reads_every_document_again(tmp_path, store_dsn):
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    embedder = FakeEmbedder()
    first = _build(corpus, store_dsn, embedder)
    with connect(store_dsn, autocommit=True) as connection:  # the head (manifest, documents) stays whole
        connection.execute(f"DELETE FROM {SCHEMA}.chunks WHERE row = 0")
    (corpus / "weather.md").write_text("# Погода\n\nЗавтра снег и метель в Астане.", encoding="utf-8")

    report = _build(corpus, store_dsn, embedder)
    assert report.changed and (report.added, report.updated, report.unchanged) == (len(CORPUS), 0, 0)
    assert any("previous index unusable" in note and "lacks chunk row 0" in note for note in report.notes)
    served = DatabaseStore(store_dsn).load()
    assert len(served.chunks) == report.chunks and report.chunks >= first.chunks


def test_only_the_build_in_service_and_the_one_before_are_kept(tmp_path, store_dsn):
    corpus = write_corpus(tmp_path / "corpus")
    numbers = []
    for round in range(4):
        (corpus / "changing.txt").write_text(f"Изменение номер {round} в тексте документа.", encoding="utf-8")
        _build(corpus, store_dsn, FakeEmbedder())
        with connect(store_dsn) as connection:
            numbers.append(connection.execute(f"SELECT build FROM {SCHEMA}.current").fetchone()[0])
    with connect(store_dsn) as connection:
        kept = [number for (number,) in connection.execute(f"SELECT build FROM {SCHEMA}.builds ORDER BY build")]
        tables = {
            name for (name,) in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,))
        }
    assert kept == numbers[-2:]
    assert {name for name in tables if name.startswith("chunks_")} == {f"chunks_{number}" for number in numbers[-2:]}


def test_a_second_build_is_refused_while_one_holds_the_lock(tmp_path, store_dsn):
    corpus = write_corpus(tmp_path / "corpus")
    _build(corpus, store_dsn, FakeEmbedder())
    with DatabaseStore(store_dsn).lock():
        with pytest.raises(BuildInProgress, match="another build of postgresql://.* is running"):
            _build(corpus, store_dsn, FakeEmbedder())
    assert len(DatabaseStore(store_dsn).load().documents) == 3


def test_a_build_failing_mid_write_leaves_the_previous_build_in_service(tmp_path, store_dsn, monkeypatch):
    monkeypatch.setattr(database_serving, "EXACT_MAX_ROWS", 0)  # both builds put vectors in the shared graph
    corpus = write_corpus(tmp_path / "corpus")
    first = _build(corpus, store_dsn, FakeEmbedder())
    (corpus / "new.txt").write_text("Павлодар представил план цифровизации образования.", encoding="utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("killed while writing the keywords")

    with monkeypatch.context() as patched:
        patched.setattr(database_store, "_copy_keywords", broken)
        with pytest.raises(RuntimeError, match="killed"):
            _build(corpus, store_dsn, FakeEmbedder())
    served = DatabaseStore(store_dsn).load()
    assert served.manifest.build_id == first.build_id and "new.txt" not in served.documents
    with connect(store_dsn) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename ~ '_[0-9]+$'", (SCHEMA,)
        ).fetchone()[0]
        serving = connection.execute(f"SELECT build FROM {SCHEMA}.current").fetchone()[0]
        assert _graph(connection)[1] == _hashes(connection, serving)  # the failed build's vectors rolled back
    assert tables == 6 + 1  # the partitions of the one build and the shared vectors, nothing of the failed one


def test_readers_are_not_blocked_and_see_the_previous_build_while_one_is_written(tmp_path, store_dsn, monkeypatch):
    corpus = write_corpus(tmp_path / "corpus")
    first = _build(corpus, store_dsn, FakeEmbedder())
    (corpus / "new.txt").write_text("Павлодар представил план цифровизации образования.", encoding="utf-8")
    writing, release = threading.Event(), threading.Event()
    copy_sentences = database_store._copy_sentences

    def paused(*args, **kwargs):
        copy_sentences(*args, **kwargs)
        writing.set()
        assert release.wait(60)

    monkeypatch.setattr(database_store, "_copy_sentences", paused)
    builder = threading.Thread(target=_build, args=(corpus, store_dsn, FakeEmbedder()))
    builder.start()
    try:
        assert writing.wait(60)
        # The new build's rows are written but not committed: a reader is not kept waiting and sees the old one.
        with connect(store_dsn, autocommit=True) as connection:
            connection.execute("SET statement_timeout = '5s'")
            rows = connection.execute(f"SELECT count(*) FROM {SCHEMA}.chunks").fetchone()[0]
        served = DatabaseStore(store_dsn).load()
        assert served.manifest.build_id == first.build_id and rows == first.chunks
    finally:
        release.set()
        builder.join(60)
    assert "new.txt" in DatabaseStore(store_dsn).load().documents


def test_a_killed_build_process_leaves_the_previous_build_and_the_next_build_cleans_up(tmp_path, store_dsn):
    corpus = write_corpus(tmp_path / "corpus")
    first = _build(corpus, store_dsn, FakeEmbedder())
    (corpus / "new.txt").write_text("Павлодар представил план цифровизации образования.", encoding="utf-8")
    # The child process dies (SIGKILL: no cleanup of its own) in the middle of writing its build.
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from assistant import build_index, database_store
        from tests.conftest import FakeEmbedder
        from tests.test_build import SETTINGS
        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        database_store._copy_sentences = die
        build_index({str(corpus)!r}, {store_dsn!r}, settings=SETTINGS, embedder=FakeEmbedder())
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr
    assert DatabaseStore(store_dsn).load().manifest.build_id == first.build_id
    # A build left tables behind (as an interrupted removal of an old build would): the next build drops them.
    with connect(store_dsn, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {SCHEMA}.chunks_99 (LIKE {SCHEMA}.chunks)")
    report = _build(corpus, store_dsn, FakeEmbedder())
    assert report.added == 1 and "new.txt" in DatabaseStore(store_dsn).load().documents
    with connect(store_dsn) as connection:
        assert connection.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.chunks_99",)).fetchone()[0] is None


def test_a_database_built_with_another_model_refuses_it(tmp_path, store_dsn):
    _build(write_corpus(tmp_path / "corpus"), store_dsn, FakeEmbedder())
    with pytest.raises(ModelMismatch, match="fake-hashed-words-256"):
        DatabaseStore(store_dsn).load(expected_embedder="another-model")


def test_a_role_that_may_not_read_is_told_the_grants(tmp_path, postgres_server):
    name = postgres_server.new_database()
    _build(write_corpus(tmp_path / "corpus"), postgres_server.url(name), FakeEmbedder())
    postgres_server.execute("DO $$ BEGIN CREATE ROLE outsider LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    with pytest.raises(StoreUnavailable, match=r'GRANT USAGE ON SCHEMA assistant TO "outsider"; GRANT SELECT'):
        DatabaseStore(postgres_server.url(name, user="outsider")).load()


def test_files_over_their_parse_time_are_remembered_in_the_database(store_dsn):
    store = DatabaseStore(store_dsn)
    assert store.reader_timeouts() == {}
    store.save_reader_timeouts({"sha-1": ("slow.pdf", 30.0), "sha-2": ("slower.docx", 30.0)})
    store.save_reader_timeouts({"sha-2": ("slower.docx", 60.0)})
    assert store.reader_timeouts() == {"sha-2": ("slower.docx", 60.0)}


def test_an_empty_database_has_no_index(store_dsn):
    with pytest.raises(IndexNotFound, match="run `assistant build`"):
        DatabaseStore(store_dsn).load()


def test_copy_to_the_database_and_back_keeps_every_vector_and_id(tmp_path, store_dsn):
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    _build(corpus, tmp_path / "index", FakeEmbedder())
    there = copy_index(tmp_path / "index", store_dsn)
    assert there.chunks == len(load_index(tmp_path / "index").chunks)
    back = copy_index(store_dsn, tmp_path / "back")
    assert back.build_path is not None and back.build_path.is_dir()
    original, copied = load_index(tmp_path / "index"), load_index(tmp_path / "back")
    _assert_same_build(original, copied)
    _assert_same_build(original, DatabaseStore(store_dsn).load())
    assert copied.faiss_index.ntotal == len(copied.chunks)
    # Nothing to embed after a copy: the next build in the database reuses every vector.
    embedder = FakeEmbedder()
    assert not _build(corpus, store_dsn, embedder).changed and embedder.embedded == []
    manifest = json.loads((back.build_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["build_id"] == original.manifest.build_id


def _random_build(rows: int, dimension: int = 384):
    """A build of ``rows`` chunks with random unit vectors, one document per ten chunks (no sentences)."""
    from assistant.keywords import KeywordIndex
    from assistant.model import Chunk, Citation, DocumentRecord
    from assistant.parts import DenseVectors
    from assistant.store import Manifest
    from assistant.vector_index import IndexSpec

    citation = Citation("title", "2025-09-08", "Almaty city", "other", "ru", "https://example.kz")
    documents = tuple(DocumentRecord(f"d{number}.txt", f"h{number}", citation, 10) for number in range(rows // 10))
    chunks = [
        Chunk(f"d{row // 10}.txt#{row}", f"d{row // 10}.txt", 0, 5, "", "текст", f"e{row}") for row in range(rows)
    ]
    vectors = np.random.default_rng(0).standard_normal((rows, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    manifest = Manifest("random", "now", {"identity": "random", "dimension": dimension}, {}, documents, rows, "", {})
    parts = {
        "vector_index": DenseVectors(vectors, None, IndexSpec.from_manifest({}), {}),
        "keywords": KeywordIndex.from_terms([["текст"]] * rows),
    }
    return manifest, chunks, parts


def test_the_vector_index_is_built_in_memory_though_the_server_allows_less(store_dsn, monkeypatch, caplog):
    """A server whose maintenance_work_mem is too small for the HNSW graph (here 1MB, from the URL's
    options, for 1,000 rows needing about 3MB) builds it several times slower, on disk: the build
    raises the setting for its own transaction, and beyond HNSW_BUILD_MEMORY_MAX it says how to
    give the building role more."""
    from assistant import database_serving

    monkeypatch.setattr(database_serving, "EXACT_MAX_ROWS", 0)
    small = store_dsn + ("&" if "?" in store_dsn else "?") + "options=-c%20maintenance_work_mem%3D1MB"
    manifest, chunks, parts = _random_build(1_000)
    with caplog.at_level("WARNING", logger="assistant.database_store"):
        DatabaseStore(small).write(manifest, chunks, parts)
    assert not caplog.records  # neither pgvector's "no longer fits" notice nor our advice
    with connect(small) as connection:  # the raise was for the build's transaction only
        assert connection.execute("SHOW maintenance_work_mem").fetchone()[0] == "1MB"
        assert connection.execute(
            f"SELECT count(*) FROM pg_indexes WHERE schemaname = '{SCHEMA}' AND indexdef LIKE '%hnsw%'"
        ).fetchone()[0] == 1  # fmt: skip

    monkeypatch.setattr(database_serving, "HNSW_BUILD_MEMORY_MAX", 0)
    other_model = {**manifest.embedder, "identity": "random-2"}  # the same model's graph would be kept
    with caplog.at_level("WARNING", logger="assistant.database_store"):
        DatabaseStore(small).write(replace(manifest, build_id="random-2", embedder=other_model), chunks, parts)
    messages = [record.getMessage() for record in caplog.records]
    assert any("no longer fits into maintenance_work_mem" in message for message in messages), messages
    assert any("ALTER ROLE <role> SET maintenance_work_mem = '4MB'" in message for message in messages), messages


def test_the_vector_graph_is_built_and_searched_with_the_hnsw_settings(tmp_path, store_dsn, monkeypatch):  # noqa: F811
    """At 10^6 rows the shipped graph keeps 0.90 of the exact top 10 and m 32 / ef_construction 256
    with ef_search 1000 keeps 0.976 (docs/database.md): an operator sets them, not the code."""
    monkeypatch.setattr(database_serving, "EXACT_MAX_ROWS", 0)
    settings = replace(SETTINGS, store_hnsw_m=8, store_hnsw_ef_construction=40, store_hnsw_ef_search=77)
    build_index(write_corpus(tmp_path / "corpus", CORPUS), store_dsn, settings=settings, embedder=FakeEmbedder())
    with connect(store_dsn) as connection:
        (definition,) = connection.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexdef LIKE '%%hnsw%%'", (SCHEMA,)
        ).fetchone()
        assert "m='8'" in definition and "ef_construction='40'" in definition, definition
        database_serving.prepare_session(connection, ef_search=settings.store_hnsw_ef_search)
        assert connection.execute("SHOW hnsw.ef_search").fetchone() == ("77",)
    assert Searcher(store_dsn, settings=settings, embedder=FakeEmbedder()).search("интернет", k=3)
    with pytest.raises(AssistantError, match="store_hnsw_ef_construction must be from twice store_hnsw_m"):
        Settings(store_hnsw_m=32, store_hnsw_ef_construction=40)
    assert Settings.from_env({"ASSISTANT_STORE_HNSW_EF_SEARCH": "1000"}).store_hnsw_ef_search == 1000
    assert (Settings().store_hnsw_m, Settings().store_hnsw_ef_construction, Settings().store_hnsw_ef_search) == (
        database_serving.HNSW_M, database_serving.HNSW_EF_CONSTRUCTION, database_serving.HNSW_EF_SEARCH,
    )
