"""Our retrieval (dense, keyword, hybrid) against LangChain's tutorial stack, on the same chunks and questions.

What it measures, in one Markdown table on stdout:

* quality: R@1, R@5, R@10 and MRR@10, answer-in-passage, scored by
  ``assistant.evaluation.score_rankings`` exactly as ``assistant eval`` scores;
* speed: our full index build time; LangChain's ``FAISS.from_documents`` time and the part of
  it spent embedding; query latency p50/p95 (embedding the question plus the search).

Both sides search the chunks of our index: our build chunks the corpus, and LangChain gets the
same chunk texts as ``Document``s (``metadata["passage_id"]``), embedded by the same local
multilingual-e5-small checkpoint through ``HuggingFaceEmbeddings``. LangChain runs twice: with
the tutorial defaults, and with the model card's ``passage: `` / ``query: `` prefixes and
normalized vectors. Its FAISS store stays in memory and is never saved (saving is pickle).

Usage:
    python bench/langchain_baseline.py [--dataset PATH] [--passages PATH] [--extra-corpus DIR]
                                        [--limit N] [--workspace DIR]

    # cross-language: English questions against the aligned Russian paragraphs
    python bench/langchain_baseline.py --dataset ../shared/data/eval/xquad-en-dev.json \\
        --passages ../shared/data/eval/xquad-ru-dev.json

Needs the benchmark extra: ``pip install -e ".[bench]"`` (langchain-community, langchain-huggingface).
"""

from __future__ import annotations

import argparse
import inspect
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from retrieval_bench import machine  # noqa: E402 - the sibling benchmark's machine line

from assistant import Searcher, Settings, build_index  # noqa: E402
from assistant.checkpoint import default_cache_dir, ensure_checkpoint  # noqa: E402
from assistant.embeddings import BUNDLED_MODEL, load_embedder  # noqa: E402
from assistant.errors import AssistantError  # noqa: E402
from assistant.evaluation import CUTOFFS, latency_summary, load_eval_set, score_rankings, write_corpus  # noqa: E402

MODES = ("dense", "keyword", "hybrid")
K = max(CUTOFFS)
MARKER = ".langchain-baseline"  # only a workspace carrying this file is ever emptied
Ranking = Callable[[str], list[tuple[str, str]]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=SHARED / "data" / "eval" / "xquad-ru-dev.json",
                        help="SQuAD JSON or KazQAD-style JSON lines")
    parser.add_argument("--passages", type=Path, help="an aligned file whose passages the questions are asked against")
    parser.add_argument("--extra-corpus", type=lambda text: Path(text) if text else None,
                        default=SHARED / "data" / "official" / "kz-legal-ru", help="distractor documents ('' for none)")
    parser.add_argument("--limit", type=int, help="ask only the first N questions (all passages are indexed)")
    parser.add_argument("--workspace", type=Path, default=default_cache_dir() / "bench" / "langchain")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"no shared data folder at {SHARED}: the defaults read the evaluation data there")
    if args.extra_corpus is not None and not args.extra_corpus.is_dir():
        sys.exit(f"extra corpus {args.extra_corpus} is not a folder")
    try:
        dataset = load_eval_set(args.dataset, args.passages)
    except AssistantError as error:
        sys.exit(str(error))
    questions = dataset.questions[: args.limit] if args.limit else dataset.questions
    if not questions:
        sys.exit(f"{dataset.name} has no questions to ask")
    corpus, index_dir = prepare_workspace(args.workspace)

    settings = Settings.from_env()
    embedder = load_embedder(
        settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision
    )
    write_corpus(dataset, corpus / "dataset")
    if args.extra_corpus is not None:
        shutil.copytree(args.extra_corpus, corpus / "extra")
    # Dense and keyword search need no sentence vectors: time that lean build too, in the same run.
    started = time.perf_counter()
    build_index(corpus, index_dir.with_name("index-lean"), settings=settings.with_(sentence_vectors=False), embedder=embedder)
    lean_build = time.perf_counter() - started
    started = time.perf_counter()
    report = build_index(corpus, index_dir, settings=settings, embedder=embedder)
    our_build = time.perf_counter() - started
    searcher = Searcher(index_dir, settings=settings, embedder=embedder)
    chunks = searcher.index.chunks

    print(machine())
    print(f"Embedding precision: ours {embedder.precision}, LangChain float32 (sentence-transformers default)")
    print(f"\nDataset: {dataset.name}, {len(questions)} questions; corpus: {report.documents} documents "
          f"(distractors: {args.extra_corpus or 'none'}; {len(report.failed)} failed), "
          f"{len(chunks)} chunks of {settings.chunk_tokens} tokens\n")
    print("| system | build s | of it embedding s | R@1 | R@5 | R@10 | MRR@10 | query p50 ms | query p95 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for mode in MODES:
        search = our_search(searcher, mode)
        build_seconds = our_build if mode == "hybrid" else lean_build
        label = f"ours, {mode}" + (" (chunk + sentence vectors)" if mode == "hybrid" else " (chunk vectors only)")
        row(label, questions, search, f"{build_seconds:.1f}", "–")

    from langchain_core.documents import Document

    documents = [
        Document(page_content=chunk.text, metadata={"passage_id": passage_id(chunk.doc_id)}) for chunk in chunks
    ]
    folder = ensure_checkpoint(settings.cache_dir) if settings.model == BUNDLED_MODEL else Path(settings.model)
    for name, options in (
        ("LangChain FAISS, tutorial defaults", {}),
        ("LangChain FAISS, tutorial + e5 prefixes", {
            "encode_kwargs": {"prompt": "passage: ", "normalize_embeddings": True},
            "query_encode_kwargs": {"prompt": "query: ", "normalize_embeddings": True},
        }),
    ):
        search, build_seconds, embed_seconds = langchain_search(str(folder), documents, options)
        row(name, questions, search, f"{build_seconds:.1f}", f"{embed_seconds:.1f}")


def prepare_workspace(workspace: Path) -> tuple[Path, Path]:
    """Empty ``corpus/`` and ``index/`` of a workspace this script made, so every run times a full build."""
    if workspace.is_dir() and any(workspace.iterdir()) and not (workspace / MARKER).is_file():
        sys.exit(f"workspace {workspace} is not empty and was not made by this script: choose another --workspace")
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / MARKER).touch()
    for name in ("corpus", "index", "index-lean"):
        shutil.rmtree(workspace / name, ignore_errors=True)
    return workspace / "corpus", workspace / "index"


def passage_id(doc_id: str) -> str:
    """The evaluation passage id of a chunk's document, as ``assistant.evaluation.evaluate`` derives it."""
    return Path(doc_id).stem if doc_id.startswith("dataset/") else ""


def our_search(searcher: Searcher, mode: str) -> Ranking | None:
    """Our ranking for ``mode``; ``None`` when the Searcher does not offer that mode."""
    if "mode" not in inspect.signature(searcher.search).parameters:  # a checkout from before keyword search
        if mode != "dense":
            return None
        return lambda q: [(passage_id(p.doc_id), p.text) for p in searcher.search(q, k=K)]
    try:
        searcher.search("проверка", k=1, mode=mode)
    except (ValueError, AssistantError) as error:  # e.g. InvalidQuery for a mode this build does not know
        print(f"mode {mode} not available: {error}", file=sys.stderr)
        return None
    return lambda q: [(passage_id(p.doc_id), p.text) for p in searcher.search(q, k=K, mode=mode)]


def langchain_search(model_folder: str, documents: list, options: dict) -> tuple[Ranking, float, float]:
    """Build LangChain's in-memory FAISS store; return its ranking, build seconds and embedding seconds."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.embeddings import Embeddings
    from langchain_huggingface import HuggingFaceEmbeddings

    class TimedEmbeddings(Embeddings):
        """Counts the time spent embedding documents, so from_documents stays the tutorial call."""

        def __init__(self, inner: Embeddings) -> None:
            self.inner, self.seconds = inner, 0.0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            started = time.perf_counter()
            vectors = self.inner.embed_documents(texts)
            self.seconds += time.perf_counter() - started
            return vectors

        def embed_query(self, text: str) -> list[float]:
            return self.inner.embed_query(text)

    embeddings = TimedEmbeddings(HuggingFaceEmbeddings(model_name=model_folder, **options))
    started = time.perf_counter()
    store = FAISS.from_documents(documents, embeddings)
    build_seconds = time.perf_counter() - started

    def search(question: str) -> list[tuple[str, str]]:
        return [(d.metadata["passage_id"], d.page_content) for d in store.similarity_search(question, k=K)]

    return search, build_seconds, embeddings.seconds


def row(name: str, questions, search: Ranking | None, build: str, embedding: str) -> None:
    """Score one system and print its table row (``n/a`` when the system is not available)."""
    if search is None:
        print(f"| {name} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |", flush=True)
        return
    search(questions[0].question)  # warm-up: the first query pays for lazy loading
    recall, mrr, latencies = score_rankings(questions, search)
    p50, p95 = latency_summary(latencies)
    print(f"| {name} | {build} | {embedding} | {recall[1]:.3f} | {recall[5]:.3f} | {recall[10]:.3f} "
          f"| {mrr:.3f} | {p50:.1f} | {p95:.1f} |", flush=True)


if __name__ == "__main__":
    main()
