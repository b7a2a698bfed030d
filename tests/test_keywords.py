"""Keyword search: Russian and Kazakh terms, BM25 stored with the build, keyword and hybrid modes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import assistant.parts as parts_module
from assistant import IndexCorrupt, InvalidQuery, Searcher, Settings, build_index
from assistant.keywords import ANALYZER_VERSION, KeywordIndex, analyze, kazakh_stem
from assistant.retrieval import _rerank_by_sentences, fuse
from assistant.store import KEYWORDS, MANIFEST, SentenceTable, load_index

from .conftest import FakeEmbedder

SETTINGS = Settings(chunk_tokens=60, chunk_overlap=5)

TEXTS = {
    "law.txt": "---\ntitle: Закон о государственном имуществе\ndoc_type: legal_act\n---\n"
    "Закон Республики Казахстан от 1 марта 2011 года № 413-IV. Статья 12. Государственное имущество "
    "закрепляется за государственными юридическими лицами. Статья 13. Права собственника.",
    "aktobe.txt": "---\ntitle: Ақтөбе облысы\nlang: kk\n---\n"
    "Ақтөбе облысында Жолдауды жүзеге асыру жоспары талқыланды. Облыстың әкімдігі цифрландыру "
    "жобаларын ұсынды.",
    "almaty.txt": "---\ntitle: Алматы\n---\nАким Алматы рассказал о строительстве метро и новых школ в городе.",
}


def _corpus(tmp_path, texts=TEXTS):
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, text in texts.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return corpus


@pytest.fixture
def index(tmp_path, fake_embedder):
    build_index(_corpus(tmp_path), tmp_path / "index", settings=SETTINGS, embedder=fake_embedder)
    return tmp_path / "index"


def test_russian_inflections_meet_on_one_stem():
    assert set(analyze("государственного имущества", query=True)) >= set(analyze("государственное имущество", "ru"))


def test_kazakh_case_and_plural_endings_come_off():
    assert kazakh_stem("облыстарындағы") == kazakh_stem("облысы") == kazakh_stem("облыстың") == "облыс"
    assert kazakh_stem("жасушаларының") == "жасуша"
    assert kazakh_stem("ел") == "ел"  # a short root survives
    assert set(analyze("Ақтөбе облысының", query=True)) & set(analyze("Ақтөбе облысында", "kk"))


def test_codes_numbers_and_stop_words():
    terms = analyze("Закон № 413-IV, статья 12, от 12.09.2025 и в", "ru")
    assert "413-iv" in terms and "12.09.2025" in terms and "12" in terms
    assert "и" not in terms and "в" not in terms and "от" not in terms
    assert analyze("и в на по") == []


def test_keyword_index_round_trips_without_pickle(tmp_path):
    rows = [analyze("государственное имущество"), analyze("Ақтөбе облысы", "kk"), []]
    index = KeywordIndex.from_terms(rows)
    files = index.save(tmp_path / "kw")
    assert not [f for f in files if f.suffix in (".pkl", ".pickle")]
    loaded = KeywordIndex.load(tmp_path / "kw")
    query = "имуществом"
    assert loaded.score(query).scores.tolist() == index.score(query).scores.tolist()
    assert loaded.score(query).scores[0] > 0 and loaded.terms_of(1) == rows[1]


def test_coverage_tells_a_known_query_from_a_foreign_one():
    index = KeywordIndex.from_terms([analyze("государственное имущество закон"), analyze("метро и школы")])
    assert index.score("закон об имуществе").coverage == pytest.approx(1.0)
    assert index.score("state property law").coverage == 0.0


def test_keyword_mode_finds_an_article_number_and_a_law_number(index, fake_embedder):
    searcher = Searcher(index, embedder=fake_embedder)
    assert searcher.search("413-IV", k=1, mode="keyword")[0].doc_id == "law.txt"
    best = searcher.search("статья 12", k=1, mode="keyword")[0]
    assert best.doc_id == "law.txt" and "Статья 12" in best.text
    assert best.keyword_score > 0 and best.score == best.keyword_score


def test_keyword_mode_matches_a_kazakh_query_in_another_case(index, fake_embedder):
    passages = Searcher(index, embedder=fake_embedder).search("Ақтөбе облысының жоспары", k=1, mode="keyword")
    assert passages[0].doc_id == "aktobe.txt"


def test_keyword_mode_returns_nothing_rather_than_noise(index, fake_embedder):
    assert Searcher(index, embedder=fake_embedder).search("квантовая хромодинамика", mode="keyword") == []


def test_hybrid_mode_keeps_filters_and_reports_both_scores(index, fake_embedder):
    searcher = Searcher(index, embedder=fake_embedder)
    passages = searcher.search("метро в Алматы", k=3, mode="hybrid", filters={"doc_type": "legal_act"})
    assert passages and {p.doc_id for p in passages} == {"law.txt"}
    best = searcher.search("метро в Алматы", k=1)[0]
    assert best.doc_id == "almaty.txt" and best.similarity > 0 and best.keyword_score > 0


def test_unknown_mode_is_a_clear_error(index, fake_embedder):
    with pytest.raises(InvalidQuery, match="mode"):
        Searcher(index, embedder=fake_embedder).search("метро", mode="semantic")


def test_fusion_ignores_keywords_the_corpus_does_not_know():
    dense = {1: 0.90, 2: 0.88, 3: 0.85}
    keyword = {3: 9.0, 2: 5.0, 4: 1.0}
    similarity = {**dense, 4: 0.5}
    unknown = fuse(dense, keyword, 0.0, similarity)
    assert sorted(unknown, key=unknown.get, reverse=True) == [1, 2, 3, 4]
    known = fuse(dense, keyword, 1.0, similarity)
    assert max(known, key=known.get) == 3  # the best keyword match lifts it across the dense spread
    assert known[4] < known[1]  # a weak keyword match cannot beat a strong dense one


def test_rebuild_analyses_only_new_chunks(tmp_path, fake_embedder, monkeypatch):
    corpus = _corpus(tmp_path)
    build_index(corpus, tmp_path / "index", settings=SETTINGS, embedder=fake_embedder)
    analysed = []
    real = parts_module.analyze
    monkeypatch.setattr(parts_module, "analyze", lambda text, lang="": analysed.append(text) or real(text, lang))
    (corpus / "new.txt").write_text("Новый документ о цифровизации в Павлодаре.", encoding="utf-8")
    build_index(corpus, tmp_path / "index", settings=SETTINGS, embedder=fake_embedder)
    assert len(analysed) == 1 and "Павлодаре" in analysed[0]
    hits = Searcher(tmp_path / "index", embedder=fake_embedder).search("Павлодар", mode="keyword")
    assert hits[0].doc_id == "new.txt"


def test_an_index_from_before_keyword_search_gains_it_without_re_embedding(tmp_path):
    corpus = _corpus(tmp_path)
    build_index(corpus, tmp_path / "index", settings=SETTINGS, embedder=FakeEmbedder())
    build_path = load_index(tmp_path / "index").path
    manifest = json.loads((build_path / MANIFEST).read_text(encoding="utf-8"))
    manifest["keywords"] = {}
    manifest["files"] = {name: size for name, size in manifest["files"].items() if not name.startswith(KEYWORDS)}
    (build_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    shutil.rmtree(build_path / KEYWORDS)

    embedder = FakeEmbedder()
    with pytest.raises(IndexCorrupt, match="assistant build"):
        Searcher(tmp_path / "index", embedder=embedder).search("413-IV", mode="keyword")
    report = build_index(corpus, tmp_path / "index", settings=SETTINGS, embedder=embedder)
    assert report.changed and report.chunks_embedded == 0 and embedder.embedded == []
    assert Searcher(tmp_path / "index", embedder=embedder).search("413-IV", mode="keyword")[0].doc_id == "law.txt"


def test_a_damaged_keyword_file_is_named(index, fake_embedder):
    build_path = load_index(index).path
    (build_path / KEYWORDS / "vocabulary.json").write_text("[]", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="keywords"):
        Searcher(index, embedder=fake_embedder)


def test_sentences_of_every_chunk_are_embedded_once(tmp_path):
    embedder = FakeEmbedder()
    corpus = _corpus(tmp_path)
    report = build_index(corpus, tmp_path / "index", settings=SETTINGS, embedder=embedder)
    stored = load_index(tmp_path / "index")
    table = stored.sentences
    assert table is not None and report.sentences_embedded == len(table.spans) > len(stored.chunks)
    for row, chunk in enumerate(stored.chunks):
        spans, vectors = table.of_chunk(row)
        assert all(0 <= start < end <= len(chunk.text) for start, end in spans)
        assert np.allclose(vectors, embedder.embed_passages([chunk.text[s:e] for s, e in spans]), atol=1e-6)

    (corpus / "new.txt").write_text("Аким Павлодара открыл новую школу. Дети пошли учиться.", encoding="utf-8")
    embedder.embedded.clear()
    again = build_index(corpus, tmp_path / "index", settings=SETTINGS, embedder=embedder)
    assert again.sentences_embedded == 2  # only the new document's sentences
    assert "Дети пошли учиться." in embedder.embedded


def test_sentence_vectors_can_be_switched_off(tmp_path, fake_embedder):
    settings = SETTINGS.with_(sentence_vectors=False)
    build_index(_corpus(tmp_path), tmp_path / "index", settings=settings, embedder=fake_embedder)
    stored = load_index(tmp_path / "index")
    assert stored.sentences is None and not list(stored.path.glob("sentence_*"))
    assert Searcher(tmp_path / "index", embedder=fake_embedder).search("метро в Алматы")[0].doc_id == "almaty.txt"
    build_index(_corpus(tmp_path), tmp_path / "index", settings=SETTINGS, embedder=fake_embedder)
    assert load_index(tmp_path / "index").sentences is not None  # switched back on: added, nothing re-chunked


def test_a_chunk_whose_one_sentence_answers_is_lifted_to_the_top():
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    table = SentenceTable(
        spans=np.array([[0, 10], [10, 20], [0, 10], [10, 20]], dtype=np.int32),
        offsets=np.array([0, 2, 4, 4]),
        vectors=np.array([[0.6, 0.8, 0], [0.6, 0, 0.8], [1.0, 0, 0], [0, 1.0, 0]], dtype=np.float32),
    )
    fused = {0: 0.90, 1: 0.85, 2: 0.80}
    reranked = _rerank_by_sentences(fused, table.of_chunk, query, {0: 0.9, 1: 0.85, 2: 0.7})
    assert sorted(reranked, key=reranked.get, reverse=True) == [1, 0, 2]


def test_analyzer_output_is_pinned_to_its_version():
    # Builds reuse stored terms while ANALYZER_VERSION is unchanged: if this output changes,
    # bump the version (old indexes then re-analyse their chunks) and update the expectation.
    text = "Ақтөбе облысының әкімдігі жобаларын ұсынды; Закон № 413-IV о государственном имуществе. Adopted."
    assert ANALYZER_VERSION == "ru-kk-en-2"
    assert analyze(text, "kk") == [
        "ақтөбе", "облыс", "әкімдіг", "жоба", "ұсын", "зако", "413-iv", "413", "iv",
        "государственно", "имуществе", "adopt",
    ]  # fmt: skip
    assert analyze(text, "ru")[5:9] == ["закон", "413-iv", "413", "iv"]
