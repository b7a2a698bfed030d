"""Benchmark of the retrieval core: quality per chunk size, build throughput, query latency, memory.

Corpus: every XQuAD-ru dev article (one document per article, paragraphs separated by blank
lines, so chunk boundaries matter) plus the 12 Russian legal acts as distractors. Questions:
the XQuAD-ru dev questions. A hit is a retrieved chunk of the question's own article that
contains the gold answer text.

Usage:
    python bench/retrieval_bench.py [--shared ../shared] [--sizes 128,256,384] [--overlap 0.125]

Prints Markdown tables; nothing is timed inside tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xquad_documents import article_document  # noqa: E402

from assistant import Searcher, Settings, build_index  # noqa: E402
from assistant.embeddings import load_embedder  # noqa: E402
from assistant.evaluation import EvalQuestion, latency_summary, score_rankings  # noqa: E402
from assistant.store import load_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--sizes", default="128,256,384", help="chunk sizes in tokens")
    parser.add_argument("--overlap", type=float, default=0.125, help="overlap as a share of the chunk size")
    parser.add_argument("--throughput-size", type=int, default=256, help="chunk size for the speed rows")
    parser.add_argument("--compare-float32", action="store_true", help="also build the throughput size in float32")
    args = parser.parse_args()
    if not (args.shared / "data" / "eval" / "xquad-ru-dev.json").is_file():
        sys.exit(f"no evaluation data under {args.shared}: pass --shared")

    work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    try:
        corpus, questions = make_corpus(args.shared, work / "corpus")
        print(machine())
        print(f"\nCorpus: {sum(1 for _ in corpus.rglob('*.*'))} documents; {len(questions)} XQuAD-ru dev questions\n")
        embedder = load_embedder()
        print(f"Embedding precision: {embedder.precision}")
        speed = None
        print("| chunk tokens | overlap | chunks | R@1 | R@5 | R@10 | MRR@10 | query p50 ms | query p95 ms |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
        for size in [int(s) for s in args.sizes.split(",")]:
            settings = Settings(chunk_tokens=size, chunk_overlap=int(size * args.overlap))
            index = work / f"index-{size}"
            started = time.perf_counter()
            report = build_index(corpus, index, settings=settings, embedder=embedder)
            build_seconds = time.perf_counter() - started
            searcher = Searcher(index, embedder=embedder)
            r1, r5, r10, mrr, p50, p95 = evaluate(searcher, questions)
            print(f"| {size} | {settings.chunk_overlap} | {report.chunks} | {r1:.3f} | {r5:.3f} | {r10:.3f} | {mrr:.3f} | {p50:.1f} | {p95:.1f} |", flush=True)
            if size == args.throughput_size:
                speed = measure_speed(corpus, index, settings, embedder, report, build_seconds, work)
        if args.compare_float32 and embedder.precision != "float32":
            float32 = load_embedder(precision="float32")
            settings = Settings(chunk_tokens=args.throughput_size, chunk_overlap=int(args.throughput_size * args.overlap))
            started = time.perf_counter()
            report = build_index(corpus, work / "index-float32", settings=settings, embedder=float32)
            seconds = time.perf_counter() - started
            r1, r5, r10, mrr, p50, p95 = evaluate(Searcher(work / "index-float32", embedder=float32), questions)
            print(f"| {args.throughput_size} float32 | {settings.chunk_overlap} | {report.chunks} | {r1:.3f} | {r5:.3f} | {r10:.3f} | {mrr:.3f} | {p50:.1f} | {p95:.1f} |", flush=True)
            speed = (speed or []) + [("float32 build of the same corpus, s", f"{seconds:.1f}"),
                                     (f"{embedder.precision} speed-up over float32 (build time ratio)", f"{seconds / float(dict(speed or [])['full build (parse + chunk + embed + write), s']):.2f}x")]
        if speed:
            print()
            print("| measure | value |")
            print("|---|---:|")
            for name, value in speed:
                print(f"| {name} | {value} |")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\nPeak resident memory of the benchmark process: {peak:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def make_corpus(shared: Path, corpus: Path) -> tuple[Path, list[tuple[str, str, list[str]]]]:
    """Write the articles and legal acts; return (corpus, [(question, doc_id, answers)])."""
    (corpus / "xquad").mkdir(parents=True)
    (corpus / "acts").mkdir()
    data = json.loads((shared / "data" / "eval" / "xquad-ru-dev.json").read_text(encoding="utf-8"))
    questions = []
    for number, article in enumerate(data["data"]):
        name = f"xquad/{number:02d}.txt"
        (corpus / name).write_text(article_document(article), encoding="utf-8")
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                questions.append((qa["question"], name, [a["text"] for a in qa["answers"]]))
    for act in sorted((shared / "data" / "official" / "kz-legal-ru").glob("*.docx")):
        shutil.copy(act, corpus / "acts" / act.name)
    return corpus, questions


def evaluate(searcher: Searcher, questions) -> tuple[float, float, float, float, float, float]:
    """R@1, R@5, R@10, MRR@10 and query p50/p95 ms, scored as `assistant eval` scores them."""
    asked = tuple(EvalQuestion(str(n), q, tuple(answers), (doc_id,)) for n, (q, doc_id, answers) in enumerate(questions))
    recall, mrr, latencies = score_rankings(
        asked, lambda question: [(p.doc_id, p.text) for p in searcher.search(question, k=10)]
    )
    return (recall[1], recall[5], recall[10], mrr, *latency_summary(latencies))


def measure_speed(corpus, index, settings, embedder, report, build_seconds, work) -> list[tuple[str, str]]:
    """Our build against raw sentence-transformers encode of the same texts, in this run."""
    from assistant.chunks import embedding_text, header_limiter

    stored = load_index(index)
    limit = header_limiter(embedder.count_tokens)
    texts = [embedding_text(chunk, stored.documents[chunk.doc_id].title, limit) for chunk in stored.chunks]
    model = embedder._model  # the same SentenceTransformer object the build used
    started = time.perf_counter()
    with embedder._autocast():  # the same precision as the build, for a fair comparison
        model.encode_document(texts, batch_size=embedder.batch_size, normalize_embeddings=True, show_progress_bar=False)
    raw_seconds = time.perf_counter() - started

    extra = corpus / "xquad" / "zz-new.txt"
    extra.write_text("Новый документ о цифровизации региона. " * 30, encoding="utf-8")
    started = time.perf_counter()
    incremental = build_index(corpus, index, settings=settings, embedder=embedder)
    incremental_seconds = time.perf_counter() - started
    extra.unlink()
    return [
        ("chunks in the index", f"{report.chunks}"),
        ("full build (parse + chunk + embed + write), s", f"{build_seconds:.1f}"),
        ("our build throughput, chunks/s", f"{report.chunks / build_seconds:.2f}"),
        (f"raw sentence-transformers encode of the same texts ({embedder.precision}), chunks/s", f"{len(texts) / raw_seconds:.2f}"),
        ("pipeline overhead vs raw encode", f"{(build_seconds / raw_seconds - 1) * 100:+.1f} %"),
        (f"incremental rebuild after adding 1 document ({incremental.chunks_embedded} chunks), s", f"{incremental_seconds:.2f}"),
        ("incremental / full build time", f"{incremental_seconds / build_seconds * 100:.1f} %"),
    ]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    import torch

    return (
        f"Machine: {cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
