"""Scale: the vector index kind follows corpus size, approximate indexes keep recall, manifests guard them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from assistant import Searcher, build_index, vector_index
from assistant.config import Settings
from assistant.errors import AssistantError, IndexCorrupt
from assistant.store import BUILDS, MANIFEST, load_index, read_pointer

REGIONS = ("Aktobe region", "Atyrau region", "Almaty city", "Astana")
TOPICS = [
    "зерно пшеница урожай поле фермер орошение элеватор посев",
    "школа учитель ученик образование класс экзамен колледж",
    "больница врач пациент здоровье лечение поликлиника",
    "дорога мост транспорт автобус ремонт трасса",
    "цифровизация интернет искусственный интеллект данные платформа",
    "инвестиции завод предприятие производство экспорт",
    "вода водопровод канализация коммунальный тариф",
    "туризм гостиница озеро курорт гости",
]


def write_corpus(folder, documents=48, paragraphs=12, seed=0):
    """Documents whose paragraphs mix one topic's words with common ones: chunks cluster by topic."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    common = ["регион", "область", "развитие", "программа", "план", "район", "проект", "год"]
    for number in range(documents):
        topic = TOPICS[number % len(TOPICS)].split()
        body = []
        for paragraph in range(paragraphs):
            words = list(rng.choice(topic, 12)) + list(rng.choice(common, 6)) + [f"пункт{number}x{paragraph}"]
            body.append(" ".join(words).capitalize() + ".")
        region = REGIONS[number % len(REGIONS)]
        text = f"---\ntitle: Документ {number}\nregion: {region}\ndate: 2025-09-{number % 28 + 1:02d}\n---\n" + "\n\n".join(body)
        (folder / f"doc{number:03d}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def settings(**changes) -> Settings:
    # Small chunks so the corpus has a few hundred of them; the threshold is what is tested.
    return Settings(chunk_tokens=32, chunk_overlap=0, header_tokens=0, sentence_vectors=False, **changes)


def chunk_count(index) -> int:
    return load_index(index).manifest.chunk_count


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("scale") / "corpus")


def test_index_kind_switches_above_the_threshold(tmp_path, corpus, fake_embedder):
    build_index(corpus, tmp_path / "index", settings=settings(), embedder=fake_embedder)
    count = chunk_count(tmp_path / "index")
    assert count > 300
    assert load_index(tmp_path / "index").manifest.parts["vector_index"]["type"] == "IndexFlatIP"

    build_index(corpus, tmp_path / "same", settings=settings(exact_search_max_chunks=count), embedder=fake_embedder)
    assert load_index(tmp_path / "same").vector_index.kind == "flat"

    embedded = len(fake_embedder.embedded)
    report = build_index(corpus, tmp_path / "index", settings=settings(exact_search_max_chunks=count - 1), embedder=fake_embedder)
    stored = load_index(tmp_path / "index")
    # The corpus did not change: a new build was written for the new index kind, nothing re-embedded.
    assert report.changed and len(fake_embedder.embedded) == embedded
    assert stored.vector_index.kind == "ivf" and type(stored.faiss_index).__name__ == "IndexIVFFlat"
    entry = stored.manifest.parts["vector_index"]
    assert entry["type"] == "IndexIVFFlat" and entry["nlist"] == stored.faiss_index.nlist and entry["nprobe"] >= 1
    assert entry["centroids"] == "trained"

    hnsw = build_index(corpus, tmp_path / "index", settings=settings(exact_search_max_chunks=10, approximate_index="hnsw"), embedder=fake_embedder)
    assert hnsw.changed and load_index(tmp_path / "index").manifest.parts["vector_index"]["type"] == "IndexHNSWFlat"
    again = build_index(corpus, tmp_path / "index", settings=settings(exact_search_max_chunks=10, approximate_index="hnsw"), embedder=fake_embedder)
    assert not again.changed


def test_choose_uses_exact_search_up_to_the_threshold():
    assert vector_index.choose(100_000).kind == "flat"
    assert Settings().exact_search_max_chunks == vector_index.DEFAULT_EXACT_SEARCH_MAX_CHUNKS
    spec = vector_index.choose(100_001)
    assert spec.kind == "ivf" and 1 <= spec.nprobe <= spec.nlist
    assert vector_index.choose(5, exact_max=4, approximate="hnsw").kind == "hnsw"
    assert vector_index.choose(10**6).nlist == 4096  # ~4·sqrt(n), a power of two
    with pytest.raises(AssistantError, match="approximate_index"):
        Settings(approximate_index="lsh")
    with pytest.raises(AssistantError, match="exact_search_max_chunks"):
        Settings(exact_search_max_chunks=-1)


def clustered(count=10_000, dimension=64, clusters=100, spread=0.2, queries=300, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, clusters, count + queries)
    points = centres[labels] + spread * 4 / np.sqrt(dimension) * rng.standard_normal((count + queries, dimension)).astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points[:count], points[count:]


def recall_at_10(index, spec, data, queries, allowed=None) -> float:
    rows = np.arange(len(data)) if allowed is None else allowed
    exact = rows[np.argsort(-(queries @ data[rows].T), axis=1, kind="stable")[:, :10]]
    found = [vector_index.search(index, spec, query, 10, allowed=allowed, vectors=data)[1] for query in queries]
    return float(np.mean([len(set(f.tolist()) & set(e.tolist())) / 10 for f, e in zip(found, exact)]))


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_index_keeps_recall_of_exact_search(kind):
    data, queries = clustered()
    spec = vector_index.choose(len(data), exact_max=0, approximate=kind)
    index = vector_index.build(data, spec)
    assert recall_at_10(index, spec, data, queries) >= 0.98
    # The measurement can fail: scanning too little loses neighbours.
    starved = replace(spec, nprobe=1) if kind == "ivf" else replace(spec, ef_search=10)
    assert recall_at_10(index, starved, data, queries) < 0.95
    # Filtered: a small subset is scored exactly; a large one goes through the index, wider.
    small = np.arange(0, len(data), 50)
    assert recall_at_10(index, spec, data, queries[:100], small) == 1.0
    large = np.flatnonzero(np.arange(len(data)) % 10 < 3)
    assert len(large) > 2000
    original = vector_index.EXACT_FILTERED_MAX_ROWS
    try:
        vector_index.EXACT_FILTERED_MAX_ROWS = 0
        assert recall_at_10(index, spec, data, queries[:100], large) >= 0.98
    finally:
        vector_index.EXACT_FILTERED_MAX_ROWS = original


def test_scores_of_an_approximate_index_are_exact_cosines():
    data, queries = clustered(count=3000)
    spec = vector_index.choose(len(data), exact_max=0)
    index = vector_index.build(data, spec)
    scores, rows = vector_index.search(index, spec, queries[0], 10)
    assert np.allclose(scores, data[rows] @ queries[0], atol=1e-5)
    assert list(scores) == sorted(scores, reverse=True)


def test_a_filter_is_answered_exactly_whether_its_rows_are_whole_documents_or_scattered(tmp_path):
    data, queries = clustered(count=3000)
    np.save(tmp_path / "vectors.npy", data)
    mapped = np.load(tmp_path / "vectors.npy", mmap_mode="r")  # as a served index holds them
    spec = vector_index.choose(len(data), exact_max=0)
    index = vector_index.build(data, spec)
    documents = np.flatnonzero(np.arange(len(data)) // 25 % 7 == 3)  # runs of 25 rows
    scattered = np.flatnonzero(np.arange(len(data)) % 7 == 3)
    mixed = np.union1d(documents[:200], scattered)  # runs of one to 25 rows
    for allowed in (documents, scattered, mixed, documents[:1]):
        for query in queries[:5]:
            scores, rows = vector_index.search(index, spec, query, 10, allowed=allowed, vectors=mapped)
            exact = allowed[np.argsort(-(data[allowed] @ query), kind="stable")[:10]]
            assert list(rows) == list(exact)
            assert np.allclose(scores, data[rows] @ query, atol=1e-5)


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_filters_and_every_mode_work_with_an_approximate_index(tmp_path, corpus, fake_embedder, kind):
    build_index(corpus, tmp_path / "exact", settings=settings(), embedder=fake_embedder)
    build_index(corpus, tmp_path / "approx", settings=settings(exact_search_max_chunks=50, approximate_index=kind), embedder=fake_embedder)
    exact = Searcher(tmp_path / "exact", embedder=fake_embedder, settings=settings())
    approximate = Searcher(tmp_path / "approx", embedder=fake_embedder, settings=settings())
    assert approximate.index.vector_index.kind == kind
    question = "урожай пшеницы и орошение полей"
    for mode in ("dense", "hybrid", "keyword"):
        found = approximate.search(question, k=5, mode=mode)
        assert len(found) == 5
        assert [p.chunk_id for p in found] == [p.chunk_id for p in exact.search(question, k=5, mode=mode)]
    region = approximate.search(question, k=5, mode="hybrid", filters={"region": "Atyrau region"})
    assert region and {p.region for p in region} == {"Atyrau region"}
    assert [p.chunk_id for p in region] == [
        p.chunk_id for p in exact.search(question, k=5, mode="hybrid", filters={"region": "Atyrau region"})
    ]
    # A wide filter goes through the index with a selector rather than an exact scan.
    original = vector_index.EXACT_FILTERED_MAX_ROWS
    try:
        vector_index.EXACT_FILTERED_MAX_ROWS = 0
        wide = approximate.search(question, k=5, mode="dense", filters={"date_from": "2025-09-05"})
        assert wide and all(p.date >= "2025-09-05" for p in wide)
    finally:
        vector_index.EXACT_FILTERED_MAX_ROWS = original
    assert approximate.search(question, k=5, filters={"region": "Mars"}) == []


def _manifest_path(index):
    return index / BUILDS / read_pointer(index) / MANIFEST


def test_manifest_that_disagrees_with_the_index_file_is_refused(tmp_path, corpus, fake_embedder):
    index = tmp_path / "index"
    build_index(corpus, index, settings=settings(exact_search_max_chunks=50), embedder=fake_embedder)
    path = _manifest_path(index)
    original = json.loads(path.read_text())
    for change, message in (
        ({"type": "IndexFlatIP", "kind": "flat"}, "IndexIVFFlat, but the manifest records an IndexFlatIP"),
        ({"nlist": original["vector_index"]["nlist"] * 2, "nprobe": 1}, "lists"),
        ({"kind": "hnsw"}, "contradicts itself|invalid"),
        ({"kind": "pq"}, "invalid"),
    ):
        damaged = {**original, "vector_index": {**original["vector_index"], **change}}
        path.write_text(json.dumps(damaged))
        with pytest.raises(IndexCorrupt, match=message):
            Searcher(index, embedder=fake_embedder)
    # An IVF file under a manifest without the entry (as old builds wrote) is not taken for flat.
    path.write_text(json.dumps({key: value for key, value in original.items() if key != "vector_index"}))
    with pytest.raises(IndexCorrupt, match="IndexFlatIP"):
        load_index(index)
    # The next build repairs it.
    report = build_index(corpus, index, settings=settings(exact_search_max_chunks=50), embedder=fake_embedder)
    assert report.changed and load_index(index).vector_index.kind == "ivf"


def test_old_flat_index_without_index_kind_still_loads(tmp_path, corpus, fake_embedder):
    index = tmp_path / "index"
    build_index(corpus, index, settings=settings(), embedder=fake_embedder)
    before = Searcher(index, embedder=fake_embedder).search("школа учитель", k=3, mode="dense")
    path = _manifest_path(index)
    manifest = json.loads(path.read_text())
    del manifest["vector_index"]  # as written before index kinds existed
    path.write_text(json.dumps(manifest))
    stored = load_index(index)
    assert stored.vector_index == vector_index.EXACT and stored.manifest.parts["vector_index"] == {}
    assert Searcher(index, embedder=fake_embedder).search("школа учитель", k=3, mode="dense") == before
    # Nothing changed: the next build neither re-embeds nor rewrites it.
    report = build_index(corpus, index, settings=settings(), embedder=fake_embedder)
    assert not report.changed


def test_incremental_build_reuses_ivf_centroids(tmp_path, corpus, fake_embedder):
    index = tmp_path / "index"
    chosen = settings(exact_search_max_chunks=50)
    build_index(corpus, index, settings=chosen, embedder=fake_embedder)
    first = load_index(index)
    (corpus / "new.txt").write_text("---\ntitle: Обсерватория\n---\nКвазар пульсар телескоп.\n", encoding="utf-8")
    try:
        report = build_index(corpus, index, settings=chosen, embedder=fake_embedder)
    finally:
        (corpus / "new.txt").unlink()
    second = load_index(index)
    assert report.added == 1 and second.vector_index == first.vector_index
    assert second.manifest.parts["vector_index"]["centroids"] == "reused"
    assert np.array_equal(
        vector_index.reusable_centroids(first.faiss_index, first.vector_index),
        vector_index.reusable_centroids(second.faiss_index, second.vector_index),
    )
    assert Searcher(index, embedder=fake_embedder).search("квазар пульсар телескоп", k=1, mode="dense")[0].doc_id == "new.txt"
