"""Query latency of each retrieval mode on a real index padded to 10,000 chunks (or more).

The index of ``assistant eval`` over XQuAD-ru dev plus the 12 legal acts (about 1,300 real
chunks) is copied and padded with synthetic chunks: texts copied from the real ones (so the
keyword index grows like a real one) with random unit vectors (so dense search scans them all).
Every query is embedded and searched end to end through :class:`assistant.Searcher`, the path
``retrieve()`` takes. The modes run interleaved question by question, so machine noise hits all
of them alike.

Usage:
    python bench/latency_bench.py [--shared ../shared] [--rows 10000] [--questions 300]

Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant import (  # noqa: E402
    Searcher,
    Settings,
    vector_index,  # noqa: E402
)
from assistant.checkpoint import default_cache_dir  # noqa: E402
from assistant.embeddings import load_embedder  # noqa: E402
from assistant.evaluation import latency_summary, load_eval_set, prepare_index  # noqa: E402
from assistant.keywords import KeywordIndex  # noqa: E402
from assistant.model import Chunk, Citation, DocumentRecord  # noqa: E402
from assistant.parts import SentenceTable, VectorPart  # noqa: E402
from assistant.store import build_lock, write_build  # noqa: E402

MODES = ("dense", "keyword", "hybrid")


def padded(searcher: Searcher, target: Path, rows: int) -> Searcher:
    """A copy of the searcher's index padded with synthetic chunks up to ``rows``.

    Synthetic chunk *n* copies the text, keyword terms and sentence spans of real chunk
    *n mod real*, with a random unit vector (sentences keep the real ones' vectors).
    """
    index = searcher.index
    real = np.asarray(index.vectors(), dtype=np.float32)
    count = len(index.chunks)
    extra = rows - count
    if extra <= 0:
        raise SystemExit(f"the index already has {count} chunks; ask for more than that")
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((extra, real.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    source = [n % count for n in range(extra)]
    filler = DocumentRecord(doc_id="zz-synthetic", content_hash="synthetic", citation=Citation("synthetic filler"), chunks=extra)
    chunks = list(index.chunks) + [
        Chunk(f"zz-synthetic#{n}", "zz-synthetic", 0, 0, "", index.chunks[row].text, f"synthetic-{n}")
        for n, row in enumerate(source)
    ]
    keywords = KeywordIndex.from_terms([index.keywords.terms_of(row) for row in [*range(count), *source]])
    sentences = None
    if index.sentences is not None:
        table = index.sentences
        rows_of = [np.arange(table.offsets[row], table.offsets[row + 1]) for row in [*range(count), *source]]
        offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows_of])])
        order = np.concatenate(rows_of)
        sentences = SentenceTable(table.spans[order], offsets, np.asarray(table.vectors, dtype=np.float32)[order])
    manifest = replace(index.manifest, documents=index.manifest.documents + (filler,), chunk_count=rows, build_id="padded")
    with build_lock(target):
        vectors = np.concatenate([real, noise])
        dense = VectorPart.indexed(vectors, vector_index.choose(len(vectors)))
        write_build(target, manifest, chunks, {"vector_index": dense, "keywords": keywords, "sentences": sentences})
    return Searcher(target, embedder=searcher.embedder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--rows", type=int, default=10_000, help="chunks in the padded index")
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    evalset = args.shared / "data" / "eval" / "xquad-ru-dev.json"
    if not evalset.is_file():
        sys.exit(f"no evaluation data under {args.shared}: pass --shared")
    settings = Settings.from_env()
    embedder = load_embedder(settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision)
    dataset = load_eval_set(evalset)
    workspace = default_cache_dir() / "bench" / "latency"
    index_dir = prepare_index(
        dataset, workspace=workspace, extra_corpus=args.shared / "data" / "official" / "kz-legal-ru", embedder=embedder
    )
    work = Path(tempfile.mkdtemp(prefix="latency-bench-"))
    try:
        searcher = padded(Searcher(index_dir, settings=settings, embedder=embedder), work / "index", args.rows)
        questions = [q.question for q in dataset.questions[: args.questions]]
        for question in questions[:5]:
            for mode in MODES:
                searcher.search(question, k=10, mode=mode)  # warm up
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        for question in questions:
            for mode in MODES:
                started = time.perf_counter()
                searcher.search(question, k=10, mode=mode)
                times[mode].append((time.perf_counter() - started) * 1000)
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.machine())
        print(f"Machine: {cpu}, {os.cpu_count()} cores; embedding precision {embedder.precision}")
        print(f"Index: {searcher.chunk_count} chunks ({len(dataset.passages)} XQuAD-ru passages + 12 acts, padded); {len(questions)} questions, k=10\n")
        print("| mode | p50 ms | p95 ms | mean ms | vs dense (p50) |")
        print("|---|---:|---:|---:|---:|")
        dense_p50 = latency_summary(times["dense"])[0]
        for mode in MODES:
            p50, p95 = latency_summary(times[mode])
            print(f"| {mode} | {p50:.1f} | {p95:.1f} | {np.mean(times[mode]):.1f} | {p50 / dense_p50:.2f}x |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
