"""The chunk table: a loaded build reads chunk records one row at a time, refuses damage, and
builds made before its columns still load and are upgraded without embedding anything."""

from __future__ import annotations

import gc
import json
import shutil

import pytest

from assistant import IndexCorrupt, Searcher
from assistant.chunk_table import CHUNK_COLUMNS, CHUNKS, ChunkTable
from assistant.keywords import KeywordIndex
from assistant.model import Chunk
from assistant.parts import KEYWORDS
from assistant.store import BUILDS, MANIFEST, load_index, read_pointer

from .conftest import FakeEmbedder
from .test_build import TEXTS, build
from .test_build import write_corpus as write_texts

LONG = (
    "В Атырау обсудили меры по реализации Послания: нефтехимия, дороги и водоснабжение сел. "
    "Аким области рассказал о строительстве новых школ и больниц в районах. "
    "Особое внимание уделено ремонту дорог между Атырау и районными центрами. "
    "Водоснабжение сел улучшится после запуска новых водоводов в следующем году. "
    "Нефтехимический комплекс даст работу тысячам жителей области. "
) * 3


def write_corpus(folder):
    """The test_build corpus with a longer document, so that a build has rows in the middle of its file."""
    return write_texts(folder, {**TEXTS, "atyrau-long.txt": "---\nregion: Atyrau region\n---\n" + LONG})


QUESTIONS = ("метро в Алматы", "Атырау нефтехимия", "пыльная буря в степи")


def _answers(searcher: Searcher) -> list[list[tuple[str, float]]]:
    return [
        [(passage.chunk_id, round(passage.score, 6)) for passage in searcher.search(question, k=5, mode=mode)]
        for question in QUESTIONS
        for mode in ("hybrid", "dense", "keyword")
    ]


def _live_chunks() -> int:
    gc.collect()
    return sum(isinstance(item, Chunk) for item in gc.get_objects())


def test_opening_a_build_reads_no_chunk_record(tmp_path, fake_embedder):
    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build(corpus, index, fake_embedder)
    before = _live_chunks()
    searcher = Searcher(index, embedder=fake_embedder)
    searcher.search("метро в Алматы", k=1, filters={"region": "Almaty city"})
    stored = searcher.index
    assert isinstance(stored.chunks, ChunkTable) and stored.chunks.current_format
    assert len(stored.chunks) == stored.manifest.chunk_count > 3
    assert _live_chunks() == before  # no Chunk held by the open build: each is parsed when shown, then dropped
    rows = list(stored.chunks)
    assert [stored.chunks[row] for row in range(len(rows))] == rows == stored.chunks[:]
    assert [stored.chunks.row_of(chunk.chunk_id) for chunk in rows] == list(range(len(rows)))
    assert [stored.chunks.doc_id(row) for row in range(len(rows))] == [chunk.doc_id for chunk in rows]
    assert stored.chunks.row_of("almaty.txt#999999") is None and stored.chunks[-1] == rows[-1]
    with pytest.raises(IndexError):
        stored.chunks[len(rows)]


def test_a_record_damaged_inside_the_file_is_refused_when_read(tmp_path, fake_embedder):
    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build(corpus, index, fake_embedder)
    path = index / BUILDS / read_pointer(index) / CHUNKS
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) > 2
    row = next(number for number, line in enumerate(lines[1:-1], 1) if b"atyrau.txt" in line)
    lines[row] = lines[row].replace(b'"chunk_id"', b'"chunk_ix"', 1)  # same size: the manifest's check passes
    path.write_bytes(b"".join(lines))
    stored = load_index(index)  # the ends are intact: opening does not read the middle
    with pytest.raises(IndexCorrupt, match=rf"{CHUNKS} line {row + 1} is damaged"):
        stored.chunks[row]
    with pytest.raises(IndexCorrupt, match=CHUNKS):
        Searcher(index, embedder=fake_embedder).search("Атырау нефтехимия водоснабжение", k=10, mode="keyword")


def _as_an_older_build(build_path) -> None:
    """Make a build look like one written before the chunk columns and stored term frequencies."""
    removed = [*CHUNK_COLUMNS, f"{KEYWORDS}/{KeywordIndex.FREQUENCIES}"]
    for name in removed:
        (build_path / name).unlink()
    manifest = json.loads((build_path / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"] = {name: size for name, size in manifest["files"].items() if name not in removed}
    (build_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_a_build_from_before_the_columns_loads_and_the_next_build_upgrades_it_without_embedding(tmp_path):
    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build(corpus, index, FakeEmbedder())
    expected = _answers(Searcher(index, embedder=FakeEmbedder()))
    old = index / BUILDS / read_pointer(index)
    _as_an_older_build(old)
    copy = tmp_path / "older-build"
    shutil.copytree(old, copy)

    stored = load_index(index)
    assert not stored.chunks.current_format and not stored.keywords.frequencies_stored
    assert _answers(Searcher(index, embedder=FakeEmbedder())) == expected  # still served as it was

    embedder = FakeEmbedder()
    report = build(corpus, index, embedder)
    assert report.changed and report.chunks_embedded == 0 and report.sentences_embedded == 0
    assert embedder.embedded == []  # nothing embedded: vectors and sentence vectors reused
    upgraded = load_index(index)
    assert upgraded.path != old and upgraded.chunks.current_format and upgraded.keywords.frequencies_stored
    assert all(name in upgraded.manifest.files for name in CHUNK_COLUMNS)
    assert list(upgraded.chunks) == list(ChunkTable.open(copy, stored.documents, columns=False))
    assert _answers(Searcher(index, embedder=FakeEmbedder())) == expected
    assert not build(corpus, index, FakeEmbedder()).changed  # upgraded once, then up to date


def test_damaged_stored_terms_are_analysed_again_by_the_next_build(tmp_path, fake_embedder):
    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build(corpus, index, fake_embedder)
    stored = load_index(index)
    last = len(stored.chunks) - 1
    expected = stored.keywords.terms_of(last)
    terms = stored.path / KEYWORDS / KeywordIndex.TERMS
    data = terms.read_bytes()
    terms.write_bytes(data[:-4] + (2**31 - 1).to_bytes(4, "little"))  # same size: opening does not read terms
    with pytest.raises(ValueError, match="past the end of the vocabulary"):
        load_index(index).keywords.terms_of(last)
    (corpus / "zz-new.txt").write_text("Павлодар представил план цифровизации.", encoding="utf-8")
    assert build(corpus, index, fake_embedder).added == 1
    rebuilt = load_index(index)
    assert rebuilt.chunks[last].chunk_id == stored.chunks[last].chunk_id  # the new document's rows come after
    assert rebuilt.keywords.terms_of(last) == expected


def test_rows_given_whole_get_the_same_accessors(tmp_path, fake_embedder):
    """A store that reads every row (the database) builds a StoredIndex from a tuple: served alike."""
    from dataclasses import replace

    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build(corpus, index, fake_embedder)
    stored = load_index(index)
    given = replace(stored, chunks=tuple(stored.chunks))
    assert isinstance(given.chunks, ChunkTable) and given.chunks.current_format
    assert list(given.chunks) == list(stored.chunks)
    assert [given.chunks.doc_id(row) for row in range(len(stored.chunks))] == [c.doc_id for c in stored.chunks]
    assert given.chunks.row_of(stored.chunks[-1].chunk_id) == len(stored.chunks) - 1
    assert (given.chunks.document_numbers == stored.chunks.document_numbers).all()
    with pytest.raises(IndexCorrupt, match="not in the manifest"):
        replace(stored, chunks=(*stored.chunks, replace(stored.chunks[0], doc_id="elsewhere.txt")))
