"""Benchmark of generative answers against extractive ones, on XQuAD-ru dev questions.

The 24 XQuAD-ru dev articles are indexed (one document per article). For N questions spread
evenly over the 612, each mode answers from the same retrieved passages and we report:

* answered: not refused by the extractive "found" gate (the model is asked only past it);
* all sentences supported: the answer the user sees is a generative one whose every sentence
  passes the support check (extractive quotes are checked the same way, as a control);
* contains gold: the text the user sees contains a gold answer (case-insensitive substring; a
  model that inflects "1990" into "1990-м" misses, so this under-counts paraphrases);
* fallbacks: how often the extractive answer stood in, by reason;
* latency to the first token (generative: the first streamed piece; extractive: the answer)
  and in total, p50 / p95, warm.

Usage:
    python bench/generation_bench.py [--shared ../shared] [--questions 50] [--models NAME ...]
    python bench/generation_bench.py --base-url http://127.0.0.1:8080/v1 --label "my server"

Models are those of ``assistant.tools.llm_models.MODELS`` (fetched with ``assistant llm-model fetch
NAME``), each served by llama-cpp-python for the run. Prints Markdown.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xquad_documents import article_document

from assistant import Searcher, Settings, build_index
from assistant.answer import answer_stream
from assistant.checkpoint import default_cache_dir
from assistant.embeddings import load_embedder
from assistant.generation import SUPPORTED
from assistant.support import SupportChecker
from assistant.tools.llm_models import LocalServer, fetch_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--models", nargs="*", default=["qwen2.5-coder-0.5b-instruct-q4"])
    parser.add_argument("--base-url", help="an already running OpenAI-compatible server instead of --models")
    parser.add_argument("--model-name", default="", help="model name to send to --base-url")
    parser.add_argument("--label", default="external server")
    parser.add_argument("--details", type=Path, help="write every answer as JSON lines here")
    parser.add_argument("--timeout", type=float, default=120.0, help="llm_timeout for the run (seconds)")
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: all cores; 1 when another job holds a core)")
    args = parser.parse_args()
    source = args.shared / "data" / "eval" / "xquad-ru-dev.json"
    if not source.is_file():
        sys.exit(f"no evaluation data at {source}: pass --shared")
    articles = json.loads(source.read_text(encoding="utf-8"))["data"]
    questions = [
        (qa["question"], [a["text"] for a in qa["answers"]])
        for a in articles
        for p in a["paragraphs"]
        for qa in p["qas"]
    ]
    step = len(questions) / args.questions
    chosen = [questions[int(i * step)] for i in range(args.questions)]

    embedder = load_embedder()
    searcher = _index(articles, embedder)
    settings = Settings(index_dir=searcher.index_dir)
    details = open(args.details, "w", encoding="utf-8") if args.details else None  # noqa: SIM115
    rows = [_run("extractive (default)", chosen, searcher, settings.with_(answer_mode="extractive"), details)]
    if args.base_url:
        llm = settings.with_(
            answer_mode="generative", llm_base_url=args.base_url, llm_model=args.model_name, llm_timeout=args.timeout
        )
        rows.append(_run(args.label, chosen, searcher, llm, details))
    else:
        for name in args.models:
            path = fetch_model(name, progress=lambda line: print(line, file=sys.stderr))
            with LocalServer(path, threads=args.threads) as server:
                llm = settings.with_(answer_mode="generative", llm_base_url=server.base_url, llm_timeout=args.timeout)
                rows.append(_run(name, chosen, searcher, llm, details))
    if details:
        details.close()
    print(
        f"\n{len(chosen)} XQuAD-ru dev questions (every {step:.1f}th), index: the 24 dev articles "
        f"({searcher.chunk_count} chunks), {settings.llm_passages} passages given to the model.\n"
    )
    print("Contains gold: in what the user sees (in brackets: in the model's own text, fallbacks included).\n")
    print(
        "| mode / model | answered | all sentences supported | sentences supported | contains gold | fallbacks | first token p50 / p95 s | total p50 / p95 s |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for row in rows:
        print(row)


def _index(articles, embedder) -> Searcher:
    work = default_cache_dir() / "bench" / "generation-xquad-ru"
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for number, article in enumerate(articles):
        path = corpus / f"{number:02d}.txt"
        text = article_document(article, lang="ru")
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    build_index(corpus, work / "index", settings=Settings(), embedder=embedder)  # incremental: reused
    return Searcher(work / "index", embedder=embedder)


def _run(label: str, questions, searcher: Searcher, settings: Settings, details) -> str:
    checker = SupportChecker(searcher.embedder.embed_passages, searcher.sentence_vectors)
    first_times, total_times = [], []
    answered = all_supported = contains = model_contains = sentences = supported_sentences = 0
    fallbacks: collections.Counter[str] = collections.Counter()
    for number, (question, golds) in enumerate(questions):
        started = time.perf_counter()
        first = None
        reply = None
        for draft in answer_stream(question, settings=settings, searcher=searcher):
            if first is None and (draft.text or draft.answer is not None):
                first = time.perf_counter() - started
            if draft.answer is not None:
                reply = draft.answer
        total = time.perf_counter() - started
        first_times.append(first if first is not None else total)
        total_times.append(total)
        answered += reply.found
        if reply.fallback:
            fallbacks[reply.fallback] += 1
        shown = " ".join(reply.text.split()).casefold()
        hit = reply.found and any(" ".join(g.split()).casefold() in shown for g in golds)
        contains += hit
        model_text = " ".join(reply.generated_text.split()).casefold()
        model_contains += bool(model_text) and any(" ".join(g.split()).casefold() in model_text for g in golds)
        if reply.mode == "generative":
            statuses = [s.status for s in reply.sentences]
        elif settings.answer_mode == "generative":
            statuses = []  # the model's answer was not shown: it does not count as supported
        elif reply.found:
            # The control: extractive quotes, checked like generated sentences.
            numbered = {s.number: s.passage for s in reply.sources}
            checks = checker.check(
                [q.text for q in reply.quotes],
                [(q.source,) for q in reply.quotes],
                numbered,
                ["ru"] * len(reply.quotes),
            )
            statuses = [SUPPORTED if c.supported else "unsupported" for c in checks]
        else:
            statuses = []
        sentences += len(statuses)
        supported_sentences += statuses.count(SUPPORTED)
        all_supported += bool(statuses) and all(s == SUPPORTED for s in statuses)
        if details:
            record = {
                "mode": label,
                "question": question,
                "gold": golds,
                "contains_gold": hit,
                "reply_mode": reply.mode,
                "fallback": reply.fallback,
                "text": reply.text,
                "generated": reply.generated_text,
                "statuses": statuses,
                "support": [s.support for s in reply.sentences],
                "first_s": first,
                "total_s": total,
            }
            details.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(
            f"{label}: {number + 1}/{len(questions)} {total:.1f}s {reply.mode} {reply.fallback or ''}", file=sys.stderr
        )
    n = len(questions)
    first_p = np.percentile(first_times, [50, 95])
    total_p = np.percentile(total_times, [50, 95])
    falls = ", ".join(f"{reason} {count}" for reason, count in fallbacks.most_common()) or "–"
    return (
        f"| {label} | {answered}/{n} | {all_supported / n:.2f} | {supported_sentences}/{sentences} "
        f"| {contains / n:.2f}{f' ({model_contains / n:.2f})' if settings.answer_mode == 'generative' else ''} "
        f"| {falls} | {first_p[0]:.2f} / {first_p[1]:.2f} | {total_p[0]:.2f} / {total_p[1]:.2f} |"
    )


if __name__ == "__main__":
    main()
