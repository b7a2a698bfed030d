"""Searching a PostgreSQL store gives what searching the file index of the same build gives.

One small corpus (copies of one report, regions, languages, dates) is built into an index folder
with the fake embedder, copied into a real database, and every search is run over both.
"""

from __future__ import annotations

import pytest

from assistant import database
from assistant.answer import answer
from assistant.build import build_index
from assistant.config import Settings
from assistant.database_serving import DatabaseBuild, published_build
from assistant.database_store import write_build
from assistant.errors import IndexNotFound, ModelMismatch
from assistant.query import check_filters
from assistant.retrieval import Searcher
from assistant.serving import LocalBuild
from assistant.store import load_index
from assistant.stores import copy_index
from tests.postgres import postgres_server, store_dsn  # noqa: F401
from tests.test_build import TEXTS as BUILD_TEXTS
from tests.test_duplicates import TEXTS as COPY_TEXTS

from .conftest import FakeEmbedder

pytestmark = pytest.mark.postgres

SETTINGS = Settings(chunk_tokens=40, chunk_overlap=5, answer_threshold_shift=-1.0)  # quote what the fake model finds
TEXTS = {
    **BUILD_TEXTS,
    **COPY_TEXTS,
    "kk.txt": "---\ntitle: Ақтөбе облысы\nregion: Aktobe region\nlang: kk\ndate: 2025-09-12\n---\n"
    "Ақтөбе облысының әкімі Жолдауды орындау жөніндегі кеңес өткізді. Цифрландыру мен жасанды интеллект басым.",
    "en.md": "---\ntitle: Digital Kazakhstan\nregion: Astana\nlang: en\ndate: 2025-09-08\n---\n"
    "The President announced a course of digital transformation and artificial intelligence for the regions.",
}
QUERIES = ("Послание Президента совещание аким", "метро и новые школы Алматы", "Жолдауды орындау әкімі", "digital transformation")
FILTERS = (
    None,
    {"region": "Актюбинская область"},
    {"region": ["Almaty city", "Atyrau region"]},
    {"lang": "kk"},
    {"doc_type": ["other", "news"]},
    {"date_from": "2025-09-11"},
    {"date_to": "2025-09-10"},
    {"doc_id": ["zakon.txt", "mgorod.txt", "almaty.txt"]},
)


def _corpus(tmp_path, texts=TEXTS):
    corpus = tmp_path / "corpus"
    for name, text in texts.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    return corpus


def _publish(index_dir, dsn) -> None:
    """Copy the file index's build into the database and put it in service (its own connection)."""
    copy_index(index_dir, dsn)


@pytest.fixture
def both(tmp_path, store_dsn):  # noqa: F811
    """(a Searcher over the file index, a Searcher over the same build in the database)."""
    corpus = _corpus(tmp_path)
    build_index(corpus, tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    _publish(tmp_path / "index", store_dsn)
    embedder = FakeEmbedder()
    return (
        Searcher(tmp_path / "index", settings=SETTINGS, embedder=embedder),
        Searcher(store_dsn, settings=SETTINGS, embedder=embedder),
    )


def _same(files, stored) -> None:
    assert [p.chunk_id for p in stored] == [p.chunk_id for p in files]
    for mine, theirs in zip(stored, files):
        assert mine.score == pytest.approx(theirs.score, rel=1e-5, abs=1e-6)
        assert mine.similarity == pytest.approx(theirs.similarity, rel=1e-5, abs=1e-6)
        assert mine.keyword_score == pytest.approx(theirs.keyword_score, rel=1e-5, abs=1e-6)
        assert (mine.text, mine.start, mine.end, mine.section) == (theirs.text, theirs.start, theirs.end, theirs.section)
        assert (mine.citation, mine.provenance) == (theirs.citation, theirs.provenance)
        assert (mine.also_published, mine.also_published_provenance) == (
            theirs.also_published,
            theirs.also_published_provenance,
        )


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_the_database_ranks_exactly_as_the_file_index(both, mode):
    files, stored = both
    compared = 0
    for query in QUERIES:
        for filters in FILTERS:
            expected = files.search(query, k=8, filters=filters, mode=mode)
            _same(expected, stored.search(query, k=8, filters=filters, mode=mode))
            compared += len(expected)
    assert compared > 40  # the queries and filters do find passages
    assert stored.documents == files.documents and stored.chunk_count == files.chunk_count
    assert stored.document_regions() == files.document_regions()


def test_keyword_filters_are_row_ranges_and_a_build_that_breaks_the_order_is_filtered_by_its_columns(
    both, store_dsn, monkeypatch
):  # noqa: F811
    """A filter reaches the postings as row ranges (no join to the chunks), since a build's rows
    follow its documents; a build whose rows did not would be filtered on the chunks' columns:
    the same results either way."""
    files, stored = both
    with database.connect(store_dsn, autocommit=True) as connection:
        assert DatabaseBuild(connection, published_build(connection)).allowed_rows({"lang": "kk"}).rows is not None
        monkeypatch.setattr(DatabaseBuild, "_check_row_order", lambda self: False)
        assert DatabaseBuild(connection, published_build(connection)).allowed_rows({"lang": "kk"}).rows is None
    columns = Searcher(store_dsn, settings=SETTINGS, embedder=FakeEmbedder())
    for query in QUERIES:
        for filters in FILTERS:
            expected = files.search(query, k=8, filters=filters, mode="keyword")
            _same(expected, stored.search(query, k=8, filters=filters, mode="keyword"))
            _same(expected, columns.search(query, k=8, filters=filters, mode="keyword"))


def test_a_filter_counts_the_rows_it_keeps_without_asking_the_database(both, tmp_path, store_dsn):  # noqa: F811
    files = LocalBuild(load_index(tmp_path / "index"))
    with database.connect(store_dsn, autocommit=True) as connection:
        stored = DatabaseBuild(connection, published_build(connection))
        for filters in FILTERS[1:]:
            checked = check_filters(filters)
            kept = stored.allowed_rows(checked)
            counted = connection.execute(
                f"SELECT count(*) FROM {database.SCHEMA}.chunks c WHERE c.build = %(build)s{kept.where}",
                {"build": stored.build, **kept.params},
            ).fetchone()[0]
            assert 0 < len(kept) == counted == len(files.allowed_rows(checked)), filters


def test_a_build_past_the_exact_size_is_searched_through_its_hnsw_index(tmp_path, store_dsn, monkeypatch):  # noqa: F811
    """The writer puts the vectors of a build of more than EXACT_MAX_ROWS chunks into the shared
    HNSW graph (a smaller build: not), and the approximate path's SQL (the graph walked for this
    build's vectors, iterative scans under a filter; an older build's own index) returns what the
    file index does; this few rows, HNSW finds every neighbour."""
    from assistant import database_serving

    build_index(_corpus(tmp_path, BUILD_TEXTS), tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    _publish(tmp_path / "index", store_dsn)
    build_index(_corpus(tmp_path), tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    files = Searcher(tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    monkeypatch.setattr(database_serving, "EXACT_MAX_ROWS", 0)
    _publish(tmp_path / "index", store_dsn)
    connection = database.connect(store_dsn, autocommit=True)
    try:
        latest = published_build(connection)
        assert database_serving.DatabaseBuild(connection, latest).has_ann_index
        assert not database_serving.DatabaseBuild(connection, latest - 1).has_ann_index
    finally:
        connection.close()
    approximate = Searcher(store_dsn, settings=SETTINGS, embedder=FakeEmbedder())
    for query in QUERIES:
        for filters in FILTERS:
            expected = files.search(query, k=5, filters=filters, mode="dense")
            _same(expected, approximate.search(query, k=5, filters=filters, mode="dense"))

    # A build written before the graph was shared has an HNSW index of its own partition.
    with database.connect(store_dsn, autocommit=True) as connection:
        connection.execute(f"UPDATE {database.SCHEMA}.builds SET embedder = NULL WHERE build = %s", (latest,))
        connection.execute(
            f"CREATE INDEX ON {database.SCHEMA}.chunks_{latest} "
            f"USING hnsw ((embedding::vector({FakeEmbedder.dimension})) vector_cosine_ops)"
        )
        assert database_serving.DatabaseBuild(connection, latest).has_ann_index
    older = Searcher(store_dsn, settings=SETTINGS, embedder=FakeEmbedder())
    for query in QUERIES:
        for filters in FILTERS:
            _same(files.search(query, k=5, filters=filters, mode="dense"), older.search(query, k=5, filters=filters, mode="dense"))


def test_threads_share_one_database_searcher(both, monkeypatch):
    """The web server searches from several threads at once over the Searcher's one connection,
    here with the row -> document memory emptied at every query."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant import database_serving

    monkeypatch.setattr(database_serving, "REMEMBERED_ROWS", 0)
    files, stored = both
    jobs = [(query, filters, mode) for query in QUERIES for filters in FILTERS[:4] for mode in ("dense", "hybrid")]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda job: stored.search(job[0], k=5, filters=job[1], mode=job[2]), jobs))
    for (query, filters, mode), got in zip(jobs, results):
        _same(files.search(query, k=5, filters=filters, mode=mode), got)


def test_search_by_vector_is_the_same(both):
    """The same scores; among equal scores (copies of one text) neither backend promises an order."""
    files, stored = both
    for query in QUERIES:
        vector = files.embed_query(query)
        for filters in FILTERS:
            expected, got = (s.search_vector(vector, k=6, filters=filters) for s in (files, stored))
            assert [p.score for p in got] == pytest.approx([p.score for p in expected], rel=1e-5, abs=1e-6)
            score_of = {p.chunk_id: p.score for p in expected}
            for passage in got:  # a passage either file search returned, or one tied with the last
                assert score_of.get(passage.chunk_id, expected[-1].score) == pytest.approx(passage.score, abs=1e-6)


def test_copies_collapse_as_in_the_file_index(both):
    files, stored = both
    expected = files.search(COPY_TEXTS["zakon.txt"][-300:], k=5, mode="hybrid")
    assert any(p.also_published for p in expected)  # the corpus's copies do meet in one ranking
    _same(expected, stored.search(COPY_TEXTS["zakon.txt"][-300:], k=5, mode="hybrid"))


def test_sentence_vectors_and_answers_are_the_same(both):
    files, stored = both
    chunk_id = files.search(QUERIES[0], k=1)[0].chunk_id
    mine, theirs = stored.sentence_vectors(chunk_id), files.sentence_vectors(chunk_id)
    assert mine.keys() == theirs.keys() and mine
    assert all((mine[span] == theirs[span]).all() for span in mine)
    for question in ("Что обсудили на совещании в Актобе?", "Что строят в Алматы?"):
        expected = answer(question, searcher=files, settings=SETTINGS)
        got = answer(question, searcher=stored, settings=SETTINGS)
        assert got.text == expected.text and got.quotes == expected.quotes and expected.quotes


def test_the_store_setting_sends_every_reader_to_the_database(tmp_path, store_dsn, monkeypatch):  # noqa: F811
    """With ``settings.store`` set, retrieve(), answer(), the regions view and the web app's
    Service read the database; the index folder they would otherwise read is gone."""
    from dataclasses import replace

    import assistant.retrieval
    from assistant.overview import regions_overview
    from assistant.retrieval import retrieve
    from ui.service import Service

    monkeypatch.setattr(assistant.retrieval, "load_embedder", lambda *args, **kwargs: FakeEmbedder())
    folder = tmp_path / "index"
    build_index(_corpus(tmp_path), folder, settings=SETTINGS, embedder=FakeEmbedder())
    files = Searcher(folder, settings=SETTINGS, embedder=FakeEmbedder())
    question = "Что обсудили на совещании в Актобе?"
    expected = (
        files.search(question, k=5),
        answer(question, searcher=files, settings=SETTINGS),
        regions_overview(question, searcher=files, settings=SETTINGS),
    )
    _publish(folder, store_dsn)
    (folder / "CURRENT").unlink()
    settings = replace(SETTINGS, store=store_dsn, index_dir=folder)
    _same(expected[0], retrieve(question, k=5, settings=settings))
    got = answer(question, settings=settings)
    assert (got.text, got.quotes) == (expected[1].text, expected[1].quotes) and got.quotes
    assert regions_overview(question, settings=settings) == expected[2]
    assert Service(settings).documents() == files.documents


def test_the_commands_answer_the_same_from_a_database_built_directly(tmp_path, store_dsn, monkeypatch, capsys):  # noqa: F811
    """`assistant build --store` (not a copy) then search, ask and regions with `--store` print
    what the same commands print over an index folder built from the same corpus."""
    import json

    import assistant.build
    import assistant.retrieval
    from ui.cli import main

    embedder = FakeEmbedder()
    for module in (assistant.build, assistant.retrieval):
        monkeypatch.setattr(module, "load_embedder", lambda *args, **kwargs: embedder)
    monkeypatch.setenv("ASSISTANT_CHUNK_TOKENS", "40")
    monkeypatch.setenv("ASSISTANT_CHUNK_OVERLAP", "5")
    monkeypatch.setenv("ASSISTANT_ANSWER_THRESHOLD_SHIFT", "-1")
    monkeypatch.delenv("ASSISTANT_STORE", raising=False)
    corpus = _corpus(tmp_path)
    folder, store = ["--index", str(tmp_path / "index")], ["--store", store_dsn]

    def run(*arguments: str) -> list[dict]:
        assert main(list(arguments)) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    for where in (folder, store):
        run("build", "--corpus", str(corpus), *where, "--json")
    for mode in ("dense", "keyword", "hybrid"):
        files, stored = (run("search", QUERIES[0], "-k", "8", "--mode", mode, "--json", *where) for where in (folder, store))
        assert [p["chunk_id"] for p in stored] == [p["chunk_id"] for p in files] and files
        assert [p["score"] for p in stored] == pytest.approx([p["score"] for p in files], rel=1e-5, abs=1e-6)
    question = "Что обсудили на совещании в Актобе?"
    files, stored = (run("ask", question, "--json", *where)[0] for where in (folder, store))
    assert (stored["text"], stored["quotes"]) == (files["text"], files["quotes"]) and files["quotes"]
    files, stored = (run("regions", question, "--json", *where)[0] for where in (folder, store))
    assert stored == files


def test_a_build_made_with_another_model_is_refused_before_any_query(tmp_path, store_dsn):  # noqa: F811
    build_index(_corpus(tmp_path), tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    _publish(tmp_path / "index", store_dsn)

    class Other(FakeEmbedder):
        identity = "another-model"

    with pytest.raises(ModelMismatch, match="fake-hashed-words-256"):
        Searcher(store_dsn, settings=SETTINGS, embedder=Other())


def test_an_open_searcher_serves_a_new_build_without_restart(tmp_path, store_dsn):  # noqa: F811
    build_index(_corpus(tmp_path, BUILD_TEXTS), tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    _publish(tmp_path / "index", store_dsn)
    searcher = Searcher(store_dsn, settings=SETTINGS, embedder=FakeEmbedder())
    assert {p.doc_id for p in searcher.search("digital transformation", k=10, mode="keyword")} == set()
    build_index(_corpus(tmp_path), tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    _publish(tmp_path / "index", store_dsn)  # another connection, another build number
    assert "en.md" in {p.doc_id for p in searcher.search("digital transformation", k=10, mode="keyword")}


def test_a_build_being_written_is_never_served(tmp_path, store_dsn):  # noqa: F811
    """While another connection has written every row of a new build but not committed, an open
    searcher keeps serving the previous build whole; after the rollback, still the previous one."""
    import psycopg

    build_index(_corpus(tmp_path, BUILD_TEXTS), tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    _publish(tmp_path / "index", store_dsn)
    searcher = Searcher(store_dsn, settings=SETTINGS, embedder=FakeEmbedder())
    before = searcher.search("метро и новые школы", k=3)
    build_index(_corpus(tmp_path), tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    newer = load_index(tmp_path / "index")
    writer = database.connect(store_dsn)
    try:
        with writer.transaction() as transaction:
            number = write_build(writer, newer.manifest, newer.chunks, newer.parts)
            assert published_build(writer) == number  # the writer sees its build in service...
            for _ in range(2):  # ...the searcher, reading the pointer on each search, does not
                _same(before, searcher.search("метро и новые школы", k=3))
                assert not searcher.search("digital transformation", k=5, mode="keyword")
            raise psycopg.Rollback(transaction)  # the build dies before its commit
    finally:
        writer.close()
    _same(before, searcher.search("метро и новые школы", k=3))


def _drop_connections(store_dsn: str) -> int:
    """Terminate every connection of the program to the test's database (as a restart would)."""
    import psycopg

    with psycopg.connect(store_dsn, autocommit=True) as admin:
        return len(
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = %s AND pid <> pg_backend_pid()",
                (database.APPLICATION_NAME,),
            ).fetchall()
        )


def test_a_searcher_outlives_a_lost_connection(both, store_dsn):  # noqa: F811
    """A server restart or failover drops the connection: the next search connects again, and a
    statement on a lost connection is one StoreUnavailable line, not a driver traceback."""
    from assistant.database_serving import DatabaseBuild
    from assistant.errors import StoreUnavailable

    files, stored = both
    expected = files.search(QUERIES[0], k=5)
    assert _drop_connections(store_dsn) >= 1
    _same(expected, stored.search(QUERIES[0], k=5))
    connection = database.connect(store_dsn, autocommit=True)
    try:
        build = DatabaseBuild(connection, published_build(connection))
        _drop_connections(store_dsn)
        with pytest.raises(StoreUnavailable, match="^searching postgresql://") as raised:
            build.passage(1, 0, 1.0, 1.0, 0.0)
        assert "\n" not in str(raised.value)
    finally:
        connection.close()


def test_a_database_without_a_build_is_a_clear_error(store_dsn):  # noqa: F811
    with pytest.raises(IndexNotFound, match="run `assistant build`") as raised:
        Searcher(store_dsn, settings=SETTINGS, embedder=FakeEmbedder())
    assert "postgresql://" in str(raised.value) and "?" not in str(raised.value)  # the address, redacted


def test_a_search_on_a_connection_closed_meanwhile_fails_in_one_line(tmp_path, store_dsn):
    """A connection another thread closed (the primary's, after searches returned to the replica)
    fails the search with StoreUnavailable, which the Searcher answers by reconnecting."""
    import numpy as np

    from assistant import database_serving
    from assistant.errors import StoreUnavailable

    build_index(_corpus(tmp_path), tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    _publish(tmp_path / "index", store_dsn)
    connection = database.connect(store_dsn, autocommit=True)
    build = database_serving.DatabaseBuild(connection, published_build(connection))
    connection.close()
    with pytest.raises(StoreUnavailable, match="^searching the database failed: .*closed"):
        build.dense(np.ones(FakeEmbedder.dimension, dtype=np.float32), 3, None)


def test_searches_from_several_threads_at_once_find_what_they_find_one_by_one(both, store_dsn):  # noqa: F811
    """Each search borrows a connection of the searcher's pool (``store_connections``), so
    threads search side by side; what each finds is what it finds alone."""
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    files, _ = both
    pooled = Searcher(store_dsn, settings=replace(SETTINGS, store_connections=2), embedder=FakeEmbedder())
    asked = [(query, filters) for query in QUERIES for filters in FILTERS] * 2
    alone = [[p.chunk_id for p in files.search(q, k=5, filters=f)] for q, f in asked]
    with ThreadPoolExecutor(max_workers=4) as threads:
        together = list(threads.map(lambda item: [p.chunk_id for p in pooled.search(item[0], k=5, filters=item[1])], asked))
    assert together == alone


def test_a_searcher_needs_one_connection_at_least():
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="store_connections must be 1 or more, got 0"):
        Settings(store_connections=0)
