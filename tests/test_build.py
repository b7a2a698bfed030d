"""Building and serving an index, with the fake embedder: incremental, atomic, validated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant import (
    BuildInProgress,
    IndexCorrupt,
    IndexNotFound,
    InvalidQuery,
    ModelMismatch,
    Searcher,
    Settings,
    build_index,
)
from assistant.store import BUILDS, build_lock, load_index, read_pointer

from .conftest import SAMPLE, FakeEmbedder

SETTINGS = Settings(chunk_tokens=40, chunk_overlap=5)

TEXTS = {
    "almaty.txt": "---\ntitle: 'Алматы: приоритеты'\nregion: Almaty city\ndate: 2025-09-12\n---\n"
    "Аким Алматы обозначил приоритеты развития города: метро, цифровые сервисы и новые школы.",
    "atyrau.txt": "---\ntitle: Атырау обсудил Послание\nregion: Atyrau region\ndate: 2025-09-11\n---\n"
    "В Атырау обсудили меры по реализации Послания: нефтехимия, дороги и водоснабжение сел.",
    "weather.md": "# Погода\n\nЗавтра в степи ожидается сильный ветер и пыльная буря, температура плюс тридцать.",
}


def write_corpus(folder: Path, texts: dict[str, str] = TEXTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def build(corpus: Path, index: Path, embedder: FakeEmbedder, **kwargs):
    return build_index(corpus, index, settings=SETTINGS, embedder=embedder, **kwargs)


def test_build_then_search_finds_the_matching_document(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus")
    report = build(corpus, tmp_path / "index", fake_embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (3, 0, 0, 0)
    assert report.failed == () and report.changed
    passages = Searcher(tmp_path / "index", embedder=fake_embedder).search("метро и школы в Алматы", k=2)
    assert passages[0].doc_id == "almaty.txt"
    assert passages[0].title == "Алматы: приоритеты"
    assert passages[0].region == "Almaty city" and passages[0].date == "2025-09-12"
    assert passages[0].rank == 1 and passages[0].score >= passages[1].score


def test_rebuild_touches_only_what_changed(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    build(corpus, index, fake_embedder)

    fake_embedder.embedded.clear()
    again = build(corpus, index, fake_embedder)
    assert not again.changed and again.unchanged == 3 and fake_embedder.embedded == []

    (corpus / "weather.md").write_text("# Погода\n\nЗавтра снег и метель в Астане.", encoding="utf-8")
    (corpus / "new.txt").write_text("Павлодар представил план цифровизации образования.", encoding="utf-8")
    (corpus / "atyrau.txt").unlink()
    fake_embedder.embedded.clear()
    report = build(corpus, index, fake_embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 1)
    assert all("Алматы" not in text for text in fake_embedder.embedded)  # unchanged file not re-embedded
    searcher = Searcher(index, embedder=fake_embedder)
    doc_ids = {p.doc_id for p in searcher.search("Атырау нефтехимия", k=10)}
    assert "atyrau.txt" not in doc_ids
    assert searcher.search("метель в Астане", k=1)[0].text.endswith("метель в Астане.")


def test_bad_files_are_reported_and_the_rest_is_indexed(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 this is not really a docx")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "cp1251.txt").write_bytes("Жамбылская область: орошение и фермеры.".encode("cp1251"))
    (corpus / "table.xlsx").write_bytes(b"\x00\x01")
    report = build(corpus, tmp_path / "index", fake_embedder)
    failed = {problem.path: problem.reason for problem in report.failed}
    assert set(failed) == {"broken.docx", "empty.txt"}
    assert all(reason for reason in failed.values())
    assert [problem.path for problem in report.skipped] == ["table.xlsx"]
    assert report.documents == 4
    top = Searcher(tmp_path / "index", embedder=fake_embedder).search("Жамбылская область орошение", k=1)[0]
    assert top.doc_id == "cp1251.txt" and "фермеры" in top.text


def test_round_trip_and_faiss_matches_brute_force(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus", {**TEXTS, "sample.txt": SAMPLE.read_text(encoding="utf-8")})
    build(corpus, tmp_path / "index", fake_embedder)
    first = Searcher(tmp_path / "index", embedder=fake_embedder).search("заседание акима области", k=5, mode="dense")
    second = Searcher(tmp_path / "index", embedder=fake_embedder).search("заседание акима области", k=5, mode="dense")
    assert first == second

    stored = load_index(tmp_path / "index")
    vectors = np.asarray(stored.vectors())
    query = fake_embedder.embed_queries(["заседание акима области"])[0]
    brute = np.argsort(-(vectors @ query), kind="stable")[:5]
    assert [p.chunk_id for p in first] == [stored.chunks[row].chunk_id for row in brute]
    assert np.allclose([p.score for p in first], (vectors @ query)[brute], atol=1e-5)


def test_filters_and_query_validation(tmp_path, fake_embedder):
    build(write_corpus(tmp_path / "corpus"), tmp_path / "index", fake_embedder)
    searcher = Searcher(tmp_path / "index", embedder=fake_embedder)
    only_atyrau = searcher.search("приоритеты развития", k=5, filters={"region": "atyrau REGION"})
    assert {p.doc_id for p in only_atyrau} == {"atyrau.txt"}
    for name in ("Атырауская область", "Атырау облысы", "Atyrau"):  # any name of the region filters the same
        assert searcher.search("приоритеты развития", k=5, filters={"region": name}) == only_atyrau
    dated = searcher.search("развития", k=5, filters={"date_from": "2025-09-12"})
    assert {p.doc_id for p in dated} == {"almaty.txt"}
    assert searcher.search("развития", k=5, filters={"region": "Mars"}) == []
    with pytest.raises(InvalidQuery, match="unknown filter"):
        searcher.search("развитие", filters={"oblast": "x"})
    with pytest.raises(InvalidQuery, match="empty"):
        searcher.search("  \n\t ")
    with pytest.raises(InvalidQuery, match="positive"):
        searcher.search("развитие", k=0)
    with pytest.raises(InvalidQuery, match="YYYY-MM-DD"):
        searcher.search("развитие", filters={"date_to": "12.09.2025"})


def test_index_built_with_another_model_refuses_queries(tmp_path, fake_embedder):
    build(write_corpus(tmp_path / "corpus"), tmp_path / "index", fake_embedder)
    other = FakeEmbedder()
    other.identity = "another-model"
    with pytest.raises(ModelMismatch, match="another-model"):
        Searcher(tmp_path / "index", embedder=other)


def test_missing_index_is_a_clear_error(tmp_path, fake_embedder):
    with pytest.raises(IndexNotFound, match="assistant build"):
        Searcher(tmp_path / "nothing", embedder=fake_embedder)


@pytest.mark.parametrize("damage", ["truncate faiss", "edit manifest", "remove chunks", "bad chunk line"])
def test_damaged_index_names_the_problem_and_a_build_repairs_it(tmp_path, fake_embedder, damage):
    corpus = write_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    build(corpus, index, fake_embedder)
    build_dir = index / BUILDS / read_pointer(index)
    if damage == "truncate faiss":
        data = (build_dir / "faiss.index").read_bytes()
        (build_dir / "faiss.index").write_bytes(data[: len(data) // 2])
        expected = "faiss.index"
    elif damage == "edit manifest":
        manifest = json.loads((build_dir / "manifest.json").read_text())
        manifest["chunk_count"] += 1
        (build_dir / "manifest.json").write_text(json.dumps(manifest))
        expected = "row counts"
    elif damage == "remove chunks":
        (build_dir / "chunks.jsonl").unlink()
        expected = "chunks.jsonl"
    else:
        lines = (build_dir / "chunks.jsonl").read_text().splitlines()
        lines[0] = lines[0][:-3] + "}}"
        (build_dir / "chunks.jsonl").write_text("\n".join(lines) + "\n")
        expected = "chunks.jsonl"
    with pytest.raises(IndexCorrupt, match=expected):
        Searcher(index, embedder=fake_embedder)
    report = build(corpus, index, fake_embedder)
    assert report.changed and report.documents == 3 and report.notes
    assert Searcher(index, embedder=fake_embedder).search("Атырау", k=1)[0].doc_id == "atyrau.txt"


def test_a_running_searcher_picks_up_a_new_build(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus")
    build(corpus, tmp_path / "index", fake_embedder)
    searcher = Searcher(tmp_path / "index", embedder=fake_embedder)
    assert all(p.doc_id != "new.txt" for p in searcher.search("Павлодар цифровизация", k=5))
    (corpus / "new.txt").write_text("Павлодар представил план цифровизации.", encoding="utf-8")
    build(corpus, tmp_path / "index", fake_embedder)
    assert searcher.search("Павлодар цифровизация", k=1)[0].doc_id == "new.txt"


def test_second_concurrent_build_fails_clearly_and_corrupts_nothing(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    build(corpus, index, fake_embedder)
    before = read_pointer(index)
    (corpus / "new.txt").write_text("Павлодар представил план.", encoding="utf-8")
    with build_lock(index):
        with pytest.raises(BuildInProgress, match="another build"):
            build(corpus, index, fake_embedder)
    assert read_pointer(index) == before
    assert build(corpus, index, fake_embedder).added == 1


def test_leftovers_of_a_killed_build_are_cleaned_and_ignored(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    build(corpus, index, fake_embedder)
    leftover = index / BUILDS / ".tmp-killed"
    leftover.mkdir()
    (leftover / "chunks.jsonl").write_text("half a line")
    assert Searcher(index, embedder=fake_embedder).search("Атырау", k=1)
    (corpus / "new.txt").write_text("Павлодар.", encoding="utf-8")
    build(corpus, index, fake_embedder)
    assert not leftover.exists()
    assert len([p for p in (index / BUILDS).iterdir()]) <= 2  # old builds are pruned


def test_missing_corpus_folder_is_a_clear_error(tmp_path, fake_embedder):
    with pytest.raises(Exception, match="does not exist"):
        build(tmp_path / "nope", tmp_path / "index", fake_embedder)


def test_chunk_ids_of_unchanged_documents_survive_a_rebuild(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    build(corpus, index, fake_embedder)
    before = {c.chunk_id for c in load_index(index).chunks if c.doc_id == "almaty.txt"}
    (corpus / "new.txt").write_text("Павлодар.", encoding="utf-8")
    build(corpus, index, fake_embedder)
    after = {c.chunk_id for c in load_index(index).chunks if c.doc_id == "almaty.txt"}
    assert before == after and before


def test_editing_the_end_of_a_long_file_re_embeds_only_the_changed_chunks(tmp_path, fake_embedder):
    paragraphs = [f"Абзац {n}: аким района {n} доложил о ходе работ по программе номер {n}." for n in range(12)]
    corpus = write_corpus(tmp_path / "corpus", {"long.txt": "\n\n".join(paragraphs)})
    first = build(corpus, tmp_path / "index", fake_embedder)
    assert first.chunks >= 3
    (corpus / "long.txt").write_text("\n\n".join(paragraphs[:-1] + ["Абзац 11: новый текст в конце."]), encoding="utf-8")
    fake_embedder.embedded.clear()
    report = build(corpus, tmp_path / "index", fake_embedder)
    assert report.updated == 1
    assert 0 < report.chunks_embedded < report.chunks
    assert all("новый текст" in text for text in fake_embedder.embedded)


def test_provenance_is_stored_with_each_document_and_carried_by_passages(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "almaty.txt.meta.yaml").write_text(
        "origin: uploaded\nadded_by: editor1\nadded_at: '2026-01-05T10:11:12Z'\n", encoding="utf-8"
    )
    build(corpus, tmp_path / "index", fake_embedder)
    records = {record.doc_id: record for record in load_index(tmp_path / "index").manifest.documents}
    assert records["almaty.txt"].provenance.origin == "uploaded"
    assert records["almaty.txt"].provenance.added_by == "editor1"
    assert records["weather.md"].provenance.origin == "shipped"
    (passage,) = Searcher(tmp_path / "index", embedder=fake_embedder).search("метро и школы в Алматы", k=1)
    assert passage.provenance == records["almaty.txt"].provenance
    flat = passage.to_dict()  # the API's and `assistant search --json`'s form: flat, as the citation
    assert (flat["origin"], flat["added_by"], flat["added_at"]) == ("uploaded", "editor1", "2026-01-05T10:11:12Z")
    assert flat["file_sha256"] == records["almaty.txt"].provenance.file_sha256 and "provenance" not in flat


def test_an_index_from_before_provenance_loads_and_the_next_build_reads_it(tmp_path, fake_embedder):
    corpus = write_corpus(tmp_path / "corpus")
    build(corpus, tmp_path / "index", fake_embedder)
    manifest_path = load_index(tmp_path / "index").path / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    provenance_keys = ("origin", "added_by", "added_at", "fetched_from", "file_sha256", "stated_source", "stated_outlet")
    for record in manifest["documents"]:  # as written before provenance was recorded
        for key in provenance_keys:
            del record[key]
    manifest["chunker"]["reader"] = "2"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert {record.provenance.origin for record in load_index(tmp_path / "index").manifest.documents} == {""}

    report = build(corpus, tmp_path / "index", fake_embedder)
    assert report.changed and report.chunks_embedded == 0  # re-read, not re-embedded
    assert {record.provenance.origin for record in load_index(tmp_path / "index").manifest.documents} == {"shipped"}
