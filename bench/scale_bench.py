"""Scale of the vector index: build time, query latency, memory and recall@10 against exact search.

At each size (10^4, 10^5 and 10^6 chunks by default) every index kind of
:mod:`assistant.vector_index` is built and searched the way a build and the ``Searcher`` use them
(``vector_index.build`` / ``read`` / ``search``), each in a fresh process so its memory can be
measured alone.

**Vectors.** Real e5 vectors first: the chunk and sentence vectors of two indexes built by
``assistant eval``'s ``prepare_index`` (XQuAD-ru dev passages plus the 12 Russian legal acts, and
KazQAD-kk dev passages). When a size needs more rows than that, the rest are synthetic and near
the real ones: a real vector plus Gaussian noise with the covariance of the real vectors (so the
noise stays in the directions e5 uses), scaled by ``--noise``, then normalised. **Queries** are
real question embeddings (XQuAD-ru, XQuAD-en and KazQAD-kk dev questions, with the ``query:``
prompt), embedded one at a time as the ``Searcher`` does; "with embedding" latency adds each
question's own measured embedding time to its search time.

**Recall@10** is the share of exact search's top 10 (a brute-force dot product over all rows)
that the index returns in its top 10, averaged over all questions; recall@100 does the same
for the 100 candidates hybrid search asks for. **Filtered** recall keeps 10 % or 1 % of the rows
(blocks of 100 consecutive rows, like documents' chunks) and compares with exact search over
those rows only.

With ``--open-bench`` it measures instead what opening a whole file index costs: an index of
each size is written (real passages cycled, synthetic unit vectors, BM25, FAISS of the kind a
default build chooses; no sentence vectors), then opened by a ``Searcher`` in a fresh process
with the code of ``--before`` (a git revision, exported with ``git archive``) and with the
working tree: open time, resident memory after opening and after the questions, and query
latency per mode. No model is needed.

Usage:
    python bench/scale_bench.py [--shared ../shared] [--sizes 10000,100000,1000000]
                                [--kinds flat,ivf,hnsw] [--hnsw-max 100000] [--sweep]
    python bench/scale_bench.py --open-bench [--before main] [--sizes 10000,100000,1000000]

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# --open-bench runs its "before" children on an exported copy of older code (see open_bench).
sys.path.insert(0, os.environ.get("SCALE_BENCH_CODE") or str(REPO))

from assistant import vector_index

FILTER_SHARES = (0.10, 0.01)
BLOCK = 100  # rows per "document" when drawing filters


# --- child processes: one build or one query run, measured alone ------------------------------


def child_build(job: dict) -> dict:
    """Build one index over a vectors file; time it (and an IVF rebuild with reused centroids)."""
    import faiss

    vectors = np.load(job["vectors"], mmap_mode="r")
    spec = vector_index.IndexSpec(**job["spec"])
    started = time.perf_counter()
    index = vector_index.build(np.asarray(vectors), spec)
    seconds = time.perf_counter() - started
    faiss.write_index(index, job["out"])
    result = {"build_s": seconds, "index_mb": os.path.getsize(job["out"]) / 2**20}
    if spec.kind == vector_index.IVF:
        centroids = vector_index.reusable_centroids(index, spec)
        del index
        started = time.perf_counter()
        vector_index.build(np.asarray(vectors), spec, centroids=centroids)
        result["rebuild_s"] = time.perf_counter() - started
    elif spec.kind == vector_index.HNSW:
        result["rebuild_s"] = seconds  # a graph is rebuilt from scratch
    else:
        result["rebuild_s"] = seconds
    result["peak_rss_mb"] = _memory()["VmHWM"]  # ru_maxrss would include the parent's, inherited at fork
    return result


def child_query(job: dict) -> dict:
    """Load one index memory-mapped and search it: latency, recall, filtered recall, memory."""
    vectors = np.load(job["vectors"], mmap_mode="r")
    queries = np.load(job["queries"])
    truth = np.load(job["truth"]) if job["recall"] or job.get("sweep") else None  # exact top-100 rows per query
    spec = vector_index.IndexSpec(**job["spec"])
    before = _memory()
    started = time.perf_counter()
    index = vector_index.read(job["index"], spec, dimension=queries.shape[1])
    load_s = time.perf_counter() - started
    after_load = _memory()
    latency_rows = job["latency_queries"]
    for query in queries[:5]:
        vector_index.search(index, spec, query, 10)  # warm up
    times = []
    for query in queries[:latency_rows]:
        started = time.perf_counter()
        vector_index.search(index, spec, query, 10)
        times.append((time.perf_counter() - started) * 1000)
    result = {"load_s": load_s, "search_ms": times, "rss_before": before, "rss_after_load": after_load}
    if job["recall"]:
        result["recall10"] = _recall(index, spec, queries, truth, 10)
        result["recall100"] = _recall(index, spec, queries, truth, 100)
        filtered = {}
        for name, rows in job["filters"].items():
            allowed = np.load(rows)
            filtered_truth = np.load(job["filter_truth"][name])
            hits, took = 0.0, []
            for query, gold in zip(queries[: job["filter_queries"]], filtered_truth):
                started = time.perf_counter()
                _, found = vector_index.search(index, spec, query, 10, allowed=allowed, vectors=vectors)
                took.append((time.perf_counter() - started) * 1000)
                hits += len(set(found.tolist()) & set(gold.tolist())) / 10
            filtered[name] = {"recall10": hits / len(filtered_truth), "p50_ms": float(np.median(took))}
        result["filtered"] = filtered
    sweep = {}
    for value in job.get("sweep", []):
        variant = _with(spec, value)
        sweep[value] = {
            "recall10": _recall(index, variant, queries[: job["sweep_queries"]], truth, 10),
            "p50_ms": float(np.median(_times(index, variant, queries[:latency_rows]))),
        }
    result["sweep"] = sweep
    result["rss_after_search"] = _memory()
    return result


REGION_NAMES = (
    "Abai region", "Akmola region", "Aktobe region", "Almaty region", "Atyrau region", "East Kazakhstan region",
    "Jambyl region", "Jetisu region", "West Kazakhstan region", "Karaganda region", "Kostanay region",
    "Kyzylorda region", "Mangystau region", "Pavlodar region", "North Kazakhstan region", "Turkistan region",
    "Ulytau region", "Astana", "Almaty city", "Shymkent city",
)  # fmt: skip
CHUNKS_PER_SYNTHETIC_DOCUMENT = 1000


def child_store(job: dict) -> dict:
    """Write a whole index (chunks, keywords, vectors, FAISS) of ``size`` rows padded from a real one.

    Synthetic chunk n copies the text and keyword terms of real chunk n mod real; synthetic
    documents of 1,000 chunks each cycle through the 20 regions, so a region filter keeps ~5 %.
    The index kind is the one a build with default settings chooses.
    """
    from dataclasses import replace

    from assistant.config import Settings
    from assistant.keywords import KeywordIndex
    from assistant.model import Chunk, Citation, DocumentRecord
    from assistant.parts import VectorPart
    from assistant.store import build_lock, load_index, write_build

    real = load_index(Path(job["real_index"]))
    size, count = job["size"], len(real.chunks)
    vectors = np.load(job["vectors"], mmap_mode="r")
    extra = size - count
    documents = list(real.manifest.documents)
    chunks = list(real.chunks)
    for number in range(math.ceil(extra / CHUNKS_PER_SYNTHETIC_DOCUMENT)):
        rows = range(number * CHUNKS_PER_SYNTHETIC_DOCUMENT, min(extra, (number + 1) * CHUNKS_PER_SYNTHETIC_DOCUMENT))
        doc_id = f"zz-synthetic/{number:05d}"
        documents.append(
            DocumentRecord(
                doc_id,
                f"synthetic-{number}",
                Citation(f"synthetic {number}", "2025-09-10", REGION_NAMES[number % 20]),
                chunks=len(rows),
            )
        )
        chunks.extend(
            Chunk(f"{doc_id}#{n}", doc_id, 0, 0, "", real.chunks[n % count].text, f"synthetic-{n}") for n in rows
        )
    started = time.perf_counter()
    keywords = KeywordIndex.from_terms([real.keywords.terms_of(n % count) for n in range(size)])
    keyword_s = time.perf_counter() - started
    manifest = replace(real.manifest, documents=tuple(documents), chunk_count=size, build_id=f"scale-{size}")
    spec = vector_index.planned(size, Settings())
    started = time.perf_counter()
    with build_lock(Path(job["target"])):
        parts = {"vector_index": VectorPart.indexed(np.asarray(vectors), spec), "keywords": keywords}
        path = write_build(Path(job["target"]), manifest, chunks, parts)
    return {
        "keyword_s": keyword_s,
        "write_s": time.perf_counter() - started,
        "index": json.loads((path / "manifest.json").read_text())["vector_index"],
        "disk_mb": sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20,
        "peak_rss_mb": _memory()["VmHWM"],
    }


def _search_times(searcher, job: dict) -> dict[str, list[float]]:
    """Milliseconds of each of the job's questions (with its vector) per search mode; the first three warm the caches."""
    queries = np.load(job["queries"])
    questions = json.loads(Path(job["questions"]).read_text(encoding="utf-8"))
    cases = {
        "dense": {"mode": "dense"},
        "keyword": {"mode": "keyword"},
        "hybrid": {"mode": "hybrid"},
        "hybrid, one region": {"mode": "hybrid", "filters": {"region": "Aktobe region"}},
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for number, (question, vector) in enumerate(zip(questions, queries)):
        for name, options in cases.items():
            started = time.perf_counter()
            searcher.search(question, k=10, vector=vector, **options)
            if number >= 3:
                times[name].append((time.perf_counter() - started) * 1000)
    return times


def child_serve(job: dict) -> dict:
    """Open the padded index with a ``Searcher`` and time each mode (query vectors given)."""
    from assistant.retrieval import Searcher
    from assistant.store import load_index

    manifest = load_index(Path(job["target"])).manifest.embedder  # identity and dimension only
    before = _memory()

    class Stub:  # the real model's identity; queries arrive as vectors, so nothing is embedded here
        identity = manifest["identity"]
        dimension = manifest["dimension"]
        max_tokens = 512

    started = time.perf_counter()
    searcher = Searcher(Path(job["target"]), embedder=Stub())
    load_s = time.perf_counter() - started
    loaded = _memory()
    times = _search_times(searcher, job)
    return {"load_s": load_s, "rss_before": before, "rss_loaded": loaded, "rss_after": _memory(), "times": times}


# --- opening a whole index: before and after the lazy chunk table (--open-bench) -------------------


OPEN_DIMENSION = 384
OPEN_IDENTITY = "synthetic-unit-vectors-384"


def base_texts(shared: Path) -> list[tuple[str, str]]:
    """(text, lang) of real passages to cycle through: XQuAD-ru contexts and KazQAD-kk contexts."""
    data = json.loads((shared / "data" / "eval" / "xquad-ru-dev.json").read_text(encoding="utf-8-sig"))
    texts = [(p["context"].lstrip("\ufeff"), "ru") for article in data["data"] for p in article["paragraphs"]]
    seen = set()
    for line in (shared / "data" / "eval" / "kazqad-kk-dev.jsonl").read_text(encoding="utf-8").splitlines():
        context = json.loads(line)["context"]
        if context not in seen:
            seen.add(context)
            texts.append((context, "kk"))
    return texts


def child_open_store(job: dict) -> dict:
    """Write a whole index of ``size`` rows (chunks, BM25, synthetic unit vectors, FAISS; no sentence
    vectors) with this code's ``write_build``: row n repeats the text and terms of base text n mod
    the base texts; documents of 1,000 chunks cycle through the 20 regions."""
    from assistant.config import Settings
    from assistant.keywords import KeywordIndex, analyze
    from assistant.model import Chunk, Citation, DocumentRecord
    from assistant.parts import VectorPart
    from assistant.store import Manifest, build_lock, write_build

    size = job["size"]
    base = [tuple(item) for item in json.loads(Path(job["texts"]).read_text(encoding="utf-8"))]
    started = time.perf_counter()
    terms = [analyze(text, lang) for text, lang in base]
    keywords = KeywordIndex.from_terms([terms[n % len(base)] for n in range(size)])
    keyword_s = time.perf_counter() - started
    documents, chunks = [], []
    for number in range(math.ceil(size / CHUNKS_PER_SYNTHETIC_DOCUMENT)):
        rows = range(number * CHUNKS_PER_SYNTHETIC_DOCUMENT, min(size, (number + 1) * CHUNKS_PER_SYNTHETIC_DOCUMENT))
        doc_id = f"synthetic/{number:05d}"
        citation = Citation(f"synthetic {number}", "2025-09-10", REGION_NAMES[number % 20])
        documents.append(DocumentRecord(doc_id, f"synthetic-{number}", citation, chunks=len(rows)))
        for n in rows:
            text = base[n % len(base)][0]
            chunks.append(Chunk(f"{doc_id}#{n}", doc_id, 0, len(text), "", text, f"synthetic-{n}"))
    vectors = np.load(job["vectors"], mmap_mode="r")
    manifest = Manifest(
        build_id=f"open-{size}", created_at="2026-01-01T00:00:00+00:00",
        embedder={"identity": OPEN_IDENTITY, "dimension": OPEN_DIMENSION, "max_tokens": 512},
        chunker={}, documents=tuple(documents), chunk_count=size, corpus_fingerprint="synthetic", library_versions={},
    )  # fmt: skip
    started = time.perf_counter()
    with build_lock(Path(job["target"])):
        spec = vector_index.planned(size, Settings())
        parts = {"vector_index": VectorPart.indexed(np.asarray(vectors), spec), "keywords": keywords}
        path = write_build(Path(job["target"]), manifest, chunks, parts)
    return {
        "keyword_s": keyword_s,
        "write_s": time.perf_counter() - started,
        "index": json.loads((path / "manifest.json").read_text())["vector_index"]["type"],
        "disk_mb": sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20,
    }


def child_open_serve(job: dict) -> dict:
    """Open the index with a ``Searcher`` (whichever code ``SCALE_BENCH_CODE`` points at) and time
    each mode over the questions (query vectors given: nothing is embedded)."""
    import bm25s  # noqa: F401 - imported before timing, so both codes' open times leave imports out
    import faiss  # noqa: F401

    import assistant
    from assistant.retrieval import Searcher

    class Stub:  # queries arrive as vectors
        identity = OPEN_IDENTITY
        dimension = OPEN_DIMENSION
        max_tokens = 512

    before = _memory()
    started = time.perf_counter()
    searcher = Searcher(Path(job["target"]), embedder=Stub())
    open_s = time.perf_counter() - started
    opened = _memory()
    times = _search_times(searcher, job)
    return {
        "code_path": str(Path(assistant.__file__).parent.parent),
        "open_s": open_s,
        "rss_before": before,
        "rss_open": opened,
        "rss_queried": _memory(),
        "mapped_files": _mapped_files(),
        "queries": len(np.load(job["queries"], mmap_mode="r")),
        "times": times,
    }


def open_bench(args) -> None:
    """Open time, resident memory and query latency of a whole file index, before and after, side by side."""
    texts = base_texts(args.shared)
    data = json.loads((args.shared / "data" / "eval" / "xquad-ru-dev.json").read_text(encoding="utf-8-sig"))
    questions = [qa["question"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]
    questions = [questions[i] for i in np.random.default_rng(1).permutation(len(questions))[: args.open_queries + 3]]
    work = args.work or Path(tempfile.mkdtemp(prefix="open-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    before_code = work / "before"
    shutil.rmtree(before_code, ignore_errors=True)
    before_code.mkdir()
    export_package(args.before, before_code)
    print(machine())
    print(f"Base texts: {len(texts)} real passages (XQuAD-ru, KazQAD-kk) cycled; {len(questions) - 3} XQuAD-ru questions "
          f"(+3 warm-up) per mode; before = {args.before} ({_commit(args.before)}), after = working tree ({_commit('HEAD')})\n",
          flush=True)  # fmt: skip
    (work / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    (work / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    rows = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            rng = np.random.default_rng(size)
            vectors = np.empty((size, OPEN_DIMENSION), dtype=np.float32)
            for begin in range(0, size, 100_000):
                block = rng.standard_normal((min(100_000, size - begin), OPEN_DIMENSION), dtype=np.float32)
                vectors[begin : begin + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
            np.save(work / "vectors.npy", vectors)
            near = vectors[rng.integers(0, size, len(questions))] + 0.5 * rng.standard_normal(
                (len(questions), OPEN_DIMENSION), dtype=np.float32
            ) / np.sqrt(OPEN_DIMENSION)  # a query near some row, as a real question is near its passage
            np.save(work / "queries.npy", near / np.linalg.norm(near, axis=1, keepdims=True))
            del vectors, near
            target = work / "index"
            shutil.rmtree(target, ignore_errors=True)
            stored = run_child("open-store", {"size": size, "texts": str(work / "texts.json"), "vectors": str(work / "vectors.npy"), "target": str(target)})
            print(json.dumps({"size": size, **stored}), file=sys.stderr, flush=True)
            job = {"target": str(target), "queries": str(work / "queries.npy"), "questions": str(work / "questions.json")}
            for label in args.order.split(","):  # the order can be swapped to see what the first run leaves warm
                code = before_code if label == "before" else None
                served = run_child("open-serve", job, code=code)
                rows.append({"size": size, "code": label, **stored, **served})
                print(json.dumps({k: v for k, v in rows[-1].items() if k != "times"}), file=sys.stderr, flush=True)
            shutil.rmtree(target, ignore_errors=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print_open_table(rows)
    print(f"\nLoad average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")


def print_open_table(rows: list[dict]) -> None:
    print("| chunks | index | disk MB | code | open s | RSS after open MB (heap + mapped) | after the queries "
          "| dense p50 / p95 ms | keyword | hybrid | hybrid, one region |")
    print("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        cell = {name: f"{np.median(v):.1f} / {percentile(v, 0.95):.1f}" for name, v in row["times"].items()}
        opened, queried = row["rss_open"], row["rss_queried"]
        print(
            f"| {row['size']:,} | {row['index']} | {row['disk_mb']:,.0f} | {row['code']} | {row['open_s']:.2f} "
            f"| {opened['RssAnon']:,.0f} + {opened['RssFile']:,.0f} | {queried['RssAnon']:,.0f} + {queried['RssFile']:,.0f} "
            f"| {cell['dense']} | {cell['keyword']} | {cell['hybrid']} | {cell['hybrid, one region']} |"
        )
    for row in rows:
        top = ", ".join(f"{name} {mb:,.0f}" for name, mb in list(row.get("mapped_files", {}).items())[:5])
        print(f"\nMapped after the queries, {row['size']:,} chunks, {row['code']} (MB): {top}")
    if rows:
        base = rows[0]["rss_before"]
        print(f"\n(RSS of the process before opening, imports only: {base['RssAnon']:,.0f} + {base['RssFile']:,.0f} MB.)")


def _mapped_files() -> dict[str, float]:
    """Resident MB of each memory-mapped file of the index (``/proc/self/smaps``), largest first."""
    resident: dict[str, float] = {}
    name = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
            name = fields[5] if len(fields) >= 6 else None
        elif fields and fields[0] == "Rss:" and name and "/builds/" in name:
            key = name.split("/builds/", 1)[1].split("/", 1)[-1]
            resident[key] = resident.get(key, 0.0) + int(fields[1]) / 1024
    return dict(sorted(resident.items(), key=lambda item: -item[1]))


def export_package(revision: str, folder: Path) -> Path:
    """The ``assistant`` package of git ``revision``, exported into ``folder`` (returned), for a
    child process that imports it through ``SCALE_BENCH_CODE``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "assistant"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _commit(revision: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", revision], capture_output=True, text=True, check=True
    ).stdout.strip()


def _with(spec: vector_index.IndexSpec, value: int) -> vector_index.IndexSpec:
    from dataclasses import replace

    return replace(spec, nprobe=min(value, spec.nlist)) if spec.kind == vector_index.IVF else replace(spec, ef_search=value)


def _times(index, spec, queries) -> list[float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        vector_index.search(index, spec, query, 10)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _recall(index, spec, queries, truth, k) -> float:
    hits = 0
    for query, gold in zip(queries, truth):
        _, rows = vector_index.search(index, spec, query, k)
        hits += len(set(rows.tolist()) & set(gold[:k].tolist()))
    return hits / (k * len(queries))


def _memory() -> dict:
    """Resident memory in MB: total, anonymous (heap) and file-backed (memory-mapped files)."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def run_child(kind: str, job: dict, code: Path | None = None) -> dict:
    """Run ``kind`` in a fresh process (importing ``assistant`` from ``code`` when given)."""
    environment = {**os.environ, "SCALE_BENCH_CODE": str(code)} if code is not None else None
    process = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(job)], capture_output=True, text=True, check=False,
        env=environment,
    )  # fmt: skip
    if process.returncode != 0:
        raise SystemExit(f"child {kind} failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


# --- the parent: real vectors, synthetic ones, ground truth, tables ----------------------------


def real_vectors(shared: Path, workspace: Path, embedder) -> tuple[np.ndarray, list[str], int]:
    """(pool of real passage vectors, the dev questions, how many pool rows are chunks)."""
    from assistant.evaluation import load_eval_set, prepare_index
    from assistant.store import load_index

    eval_dir = shared / "data" / "eval"
    ru = load_eval_set(eval_dir / "xquad-ru-dev.json")
    en = load_eval_set(eval_dir / "xquad-en-dev.json", eval_dir / "xquad-ru-dev.json")
    kk = load_eval_set(eval_dir / "kazqad-kk-dev.jsonl")
    chunks, sentences = [], []
    for dataset, extra, name in ((ru, shared / "data" / "official" / "kz-legal-ru", "ru"), (kk, None, "kk")):
        started = time.perf_counter()
        index_dir = prepare_index(dataset, workspace=workspace / name, extra_corpus=extra, embedder=embedder)
        seconds = time.perf_counter() - started
        stored = load_index(index_dir)
        sentence_rows = 0 if stored.sentences is None else len(stored.sentences.spans)
        print(
            f"Real index {name}: {len(stored.chunks)} chunks, {sentence_rows} sentences; prepare_index took {seconds:.0f} s "
            "(a full build on the first run, nothing to do on later runs)",
            flush=True,
        )
        chunks.append(np.asarray(stored.vectors(), dtype=np.float32))
        if stored.sentences is not None:
            sentences.append(np.asarray(stored.sentences.vectors, dtype=np.float32))
    pool = np.concatenate(chunks + sentences)
    questions = [q.question for dataset in (ru, en, kk) for q in dataset.questions]
    return pool, questions, sum(len(c) for c in chunks)


def synthetic(pool: np.ndarray, count: int, noise: float, seed: int = 0) -> np.ndarray:
    """``count`` rows: the real pool first, then real vectors plus covariance-shaped noise, normalised."""
    if count <= len(pool):
        return np.ascontiguousarray(pool[:count])
    rng = np.random.default_rng(seed)
    centred = pool - pool.mean(axis=0)
    values, axes = np.linalg.eigh(centred.T @ centred / len(pool))
    shape = (axes * np.sqrt(np.clip(values, 0, None))).T.astype(np.float32)  # z @ shape ~ N(0, covariance)
    out = np.empty((count, pool.shape[1]), dtype=np.float32)
    out[: len(pool)] = pool
    for begin in range(len(pool), count, 100_000):
        end = min(begin + 100_000, count)
        parents = pool[rng.integers(0, len(pool), end - begin)]
        block = parents + noise * (rng.standard_normal((end - begin, pool.shape[1]), dtype=np.float32) @ shape)
        out[begin:end] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Brute-force top ``k`` rows per query (over ``rows`` only when given)."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_rows = np.full((len(queries), k), -1, dtype=np.int64)
    ids = np.arange(len(vectors)) if rows is None else rows
    for begin in range(0, len(ids), 200_000):
        part = ids[begin : begin + 200_000]
        scores = queries @ np.asarray(vectors[part]).T
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        merged_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, axis=1)], axis=1)
        merged_rows = np.concatenate([best_rows, part[top]], axis=1)
        order = np.argsort(-merged_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(merged_scores, order, axis=1)
        best_rows = np.take_along_axis(merged_rows, order, axis=1)
    return best_rows


def filter_rows(count: int, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blocks = math.ceil(count / BLOCK)
    chosen = np.sort(rng.choice(blocks, max(1, round(blocks * share)), replace=False))
    rows = (chosen[:, None] * BLOCK + np.arange(BLOCK)).ravel()
    return rows[rows < count].astype(np.int64)


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.machine(),
    )
    import faiss

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"Machine: {cpu}, {os.cpu_count()} cores, {memory:.0f} GB RAM; faiss {faiss.__version__}, numpy {np.__version__}; "
        f"load average at start {load}"
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kinds", default="flat,ivf,hnsw")
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest size HNSW is built at (its build is slow)")
    parser.add_argument("--flat-only-sizes", default="", help="extra sizes measured with exact search only (threshold)")
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument("--filter-queries", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.5, help="scale of the covariance-shaped noise of synthetic rows")
    parser.add_argument("--sweep", action="store_true", help="also sweep nprobe / efSearch")
    parser.add_argument("--searcher-sizes", default="100000,1000000", help="sizes also measured end to end through Searcher")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--open-bench", action="store_true", help="only open a whole index, before and after (--before)")
    parser.add_argument("--before", default="main", help="with --open-bench: the code to compare (a git revision)")
    parser.add_argument("--open-queries", type=int, default=100, help="with --open-bench: questions per mode")
    parser.add_argument("--order", default="before,after", help="with --open-bench: which code opens the index first")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, job = args.child
        children = {"build": child_build, "query": child_query, "store": child_store, "serve": child_serve,
                    "open-store": child_open_store, "open-serve": child_open_serve}  # fmt: skip
        print(json.dumps(children[kind](json.loads(job))))
        return
    if args.open_bench:
        open_bench(args)
        return
    if not (args.shared / "data" / "eval" / "xquad-ru-dev.json").is_file():
        sys.exit(f"no evaluation data under {args.shared}: pass --shared")

    from assistant.checkpoint import default_cache_dir
    from assistant.config import Settings
    from assistant.embeddings import load_embedder

    settings = Settings.from_env()
    embedder = load_embedder(settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision)
    pool, questions, real_chunks = real_vectors(args.shared, default_cache_dir() / "bench" / "scale", embedder)
    order = np.random.default_rng(1).permutation(len(questions))
    questions = [questions[i] for i in order]
    embed_ms, vectors_of = [], []
    for question in questions[:5]:
        embedder.embed_queries([question])
    for question in questions:
        started = time.perf_counter()
        vectors_of.append(embedder.embed_queries([question])[0])
        embed_ms.append((time.perf_counter() - started) * 1000)
    queries = np.stack(vectors_of).astype(np.float32)
    print(machine())
    print(
        f"Real vectors: {len(pool)} ({real_chunks} chunks, {len(pool) - real_chunks} sentences); "
        f"queries: {len(queries)} real questions (ru, en, kk); embedding precision {embedder.precision}; "
        f"query embedding p50 {np.median(embed_ms):.1f} ms, p95 {percentile(embed_ms, 0.95):.1f} ms\n",
        flush=True,
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="scale-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "queries.npy", queries)
    np.save(work / "latency-queries.npy", queries[: args.latency_queries])
    (work / "questions.json").write_text(json.dumps(questions[: args.latency_queries], ensure_ascii=False), encoding="utf-8")
    searcher_sizes = [int(s) for s in args.searcher_sizes.split(",") if s]
    served = []
    kinds = args.kinds.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    extra = [int(s) for s in args.flat_only_sizes.split(",") if s]
    rows, sweeps, flat_curve = [], [], []
    try:
        for size in sorted(set(sizes) | set(extra)):
            started = time.perf_counter()
            vectors = synthetic(pool, size, args.noise)
            np.save(work / "vectors.npy", vectors)
            filters, filter_truth = {}, {}
            if size in sizes:  # exact search needs no ground truth: the flat-only sizes skip it
                np.save(work / "truth.npy", exact_top(vectors, queries, 100))
            for share in FILTER_SHARES if size in sizes else ():
                name = f"{share:.0%}"
                allowed = filter_rows(size, share, seed=size)
                np.save(work / f"filter-{name}.npy", allowed)
                np.save(work / f"filter-truth-{name}.npy", exact_top(vectors, queries[: args.filter_queries], 10, allowed))
                filters[name] = str(work / f"filter-{name}.npy")
                filter_truth[name] = str(work / f"filter-truth-{name}.npy")
            del vectors
            prepared = time.perf_counter() - started
            synthetic_rows = max(0, size - len(pool))
            print(f"{size:,} rows ({synthetic_rows:,} synthetic) prepared in {prepared:.0f} s", file=sys.stderr, flush=True)
            size_kinds = kinds if size in sizes else ["flat"]
            for kind in size_kinds:
                if kind == "hnsw" and size > args.hnsw_max:
                    continue
                spec = vector_index.choose(size, exact_max=0, approximate=kind) if kind != "flat" else vector_index.EXACT
                spec_fields = {key: value for key, value in spec.__dict__.items()}
                out = str(work / f"{kind}.index")
                built = run_child("build", {"vectors": str(work / "vectors.npy"), "spec": spec_fields, "out": out})
                sweep_values = []
                if args.sweep and kind == "ivf":
                    sweep_values = sorted({v for v in (8, 16, 32, 64, 128, 256) if v <= spec.nlist})
                elif args.sweep and kind == "hnsw":
                    sweep_values = [16, 32, 64, 128, 256]
                queried = run_child(
                    "query",
                    {
                        "vectors": str(work / "vectors.npy"),
                        "queries": str(work / "queries.npy"),
                        "truth": str(work / "truth.npy"),
                        "spec": spec_fields,
                        "index": out,
                        "latency_queries": args.latency_queries,
                        "recall": kind != "flat",
                        "filters": filters,
                        "filter_truth": filter_truth,
                        "filter_queries": args.filter_queries,
                        "sweep": sweep_values,
                        "sweep_queries": len(queries),
                    },
                )
                os.remove(out)
                search = queried["search_ms"]
                with_embedding = [s + e for s, e in zip(search, embed_ms)]
                if kind == "flat":
                    flat_curve.append((size, float(np.median(search)), percentile(search, 0.95)))
                if size not in sizes:
                    continue
                rows.append(
                    {
                        "size": size,
                        "synthetic": synthetic_rows,
                        "kind": kind,
                        "params": ", ".join(f"{k}={v}" for k, v in spec.to_manifest().items() if k not in ("type", "metric", "kind")),
                        **built,
                        **{k: v for k, v in queried.items() if k != "search_ms"},
                        "p50": float(np.median(search)),
                        "p95": percentile(search, 0.95),
                        "e50": float(np.median(with_embedding)),
                        "e95": percentile(with_embedding, 0.95),
                    }
                )
                for value, measured in queried["sweep"].items():
                    sweeps.append((size, kind, value, measured["recall10"], measured["p50_ms"]))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            if size in searcher_sizes:
                target = work / "store"
                stored = run_child(
                    "store",
                    {"real_index": str(default_cache_dir() / "bench" / "scale" / "ru" / "index"), "size": size,
                     "vectors": str(work / "vectors.npy"), "target": str(target)},
                )  # fmt: skip
                serving = run_child(
                    "serve",
                    {"target": str(target), "queries": str(work / "latency-queries.npy"), "questions": str(work / "questions.json")},
                )
                shutil.rmtree(target, ignore_errors=True)
                served.append({"size": size, **stored, **serving})
                print(json.dumps({k: v for k, v in served[-1].items() if k != "times"}), file=sys.stderr, flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print_tables(rows, sweeps, flat_curve, served, embed_ms)
    print(f"\nLoad average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")


def print_tables(rows, sweeps, flat_curve, served, embed_ms) -> None:
    print(
        "| chunks | synthetic | index | parameters | build s | rebuild s | index MB | load s "
        "| RSS MB (heap + mapped) | search p50 / p95 ms | with embedding p50 / p95 ms | recall@10 | recall@100 "
        "| filtered 10 % / 1 %: recall@10 | filtered 10 % / 1 %: p50 ms |"
    )
    print("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        memory = row["rss_after_search"]
        recall10 = f"{row['recall10']:.3f}" if "recall10" in row else "1 (exact)"
        recall100 = f"{row['recall100']:.3f}" if "recall100" in row else "1 (exact)"
        filtered = row.get("filtered", {})
        frecall = " / ".join(f"{filtered[name]['recall10']:.3f}" for name in filtered) if filtered else "1 / 1 (exact)"
        flat = " / ".join(f"{filtered[name]['p50_ms']:.1f}" for name in filtered) if filtered else "—"
        print(
            f"| {row['size']:,} | {row['synthetic']:,} | {_class(row['kind'])} "
            f"| {row['params'] or '—'} | {row['build_s']:.1f} | {row['rebuild_s']:.1f} | {row['index_mb']:.0f} | {row['load_s']:.2f} "
            f"| {memory['RssAnon']:.0f} + {memory['RssFile']:.0f} | {row['p50']:.2f} / {row['p95']:.2f} "
            f"| {row['e50']:.1f} / {row['e95']:.1f} | {recall10} | {recall100} | {frecall} | {flat} |"
        )
    if flat_curve:
        print("\nExact search (IndexFlatIP) alone, k=10, one query at a time:\n")
        print("| chunks | search p50 ms | p95 ms |")
        print("|---:|---:|---:|")
        for size, p50, p95 in flat_curve:
            print(f"| {size:,} | {p50:.2f} | {p95:.2f} |")
    if sweeps:
        print("\nSearch parameter sweep (recall@10 against exact search over all questions; p50 of one query):\n")
        print("| chunks | index | nprobe / efSearch | recall@10 | search p50 ms |")
        print("|---:|---|---:|---:|---:|")
        for size, kind, value, recall, p50 in sweeps:
            print(f"| {size:,} | {_class(kind)} | {value} | {recall:.3f} | {p50:.2f} |")


    if served:
        print("\nEnd to end through `Searcher` (padded index: chunks, BM25, vectors, FAISS; no sentence vectors), k=10, search only:\n")
        print("| chunks | index | keyword index s | write s (FAISS build s) | disk MB | load s | RSS MB (heap + mapped) "
              "| dense p50 / p95 ms | keyword | hybrid | hybrid, one region | hybrid with embedding p50 ms |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in served:
            times = row["times"]
            cell = {name: f"{np.median(values):.1f} / {percentile(values, 0.95):.1f}" for name, values in times.items()}
            embedded = float(np.median([t + e for t, e in zip(times["hybrid"], embed_ms[3:])]))
            memory = row["rss_after"]
            print(
                f"| {row['size']:,} | {row['index']['type']} | {row['keyword_s']:.0f} | {row['write_s']:.0f} ({row['index']['build_seconds']:.0f}) "
                f"| {row['disk_mb']:.0f} | {row['load_s']:.1f} | {memory['RssAnon']:.0f} + {memory['RssFile']:.0f} "
                f"| {cell['dense']} | {cell['keyword']} | {cell['hybrid']} | {cell['hybrid, one region']} | {embedded:.1f} |"
            )


def _class(kind: str) -> str:
    return {"flat": "IndexFlatIP", "ivf": "IndexIVFFlat", "hnsw": "IndexHNSWFlat"}[kind]


if __name__ == "__main__":
    main()
