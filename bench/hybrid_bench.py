"""Which fusion of dense and keyword retrieval wins: every variant scored on the same chunks.

For each question set (XQuAD-ru, XQuAD en questions over ru paragraphs, KazQAD-kk), the
evaluation index of ``assistant eval`` is built (or reused) over the dev passages plus the
12 Russian legal acts as distractors. Dense scores (every question against every chunk) and
BM25 scores are computed once; each fusion variant is then a few numpy operations, so all
variants are compared on identical inputs in one run.

Usage:
    python bench/hybrid_bench.py [--shared ../shared] [--workspace DIR] [--cross-language]

Prints one Markdown table: R@1, R@5, R@10 and MRR@10 per variant and set. With
``--cross-language``, the XQuAD questions (English over Russian, and Russian) are split by
article, even-numbered articles (A) to choose on and odd ones (B) kept aside, and levers for
English questions over Russian text are scored on each half: a deeper sentence rerank,
pseudo-relevance feedback, and names matched across scripts.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.checkpoint import default_cache_dir  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.embeddings import load_embedder  # noqa: E402
from assistant.evaluation import load_eval_set, prepare_index  # noqa: E402
from assistant.evidence import name_key  # noqa: E402
from assistant.keywords import KeywordIndex, analyze  # noqa: E402
from assistant.store import load_index  # noqa: E402


@dataclass(frozen=True)
class Inputs:
    """One question set over one index: dense and keyword scores, and which chunks are hits."""

    name: str
    dense: np.ndarray  # questions x chunks, cosine
    keyword: np.ndarray  # questions x chunks, BM25
    coverage: np.ndarray  # questions, idf share of query terms the corpus holds
    hits: list[set[int]]  # per question, rows that count as a hit
    sentence_scores: list[np.ndarray]  # per chunk: its sentences' similarity to every question (questions x n)


def load_inputs(name: str, questions_file: Path, passages_file: Path | None, acts: Path, workspace: Path, embedder, analyzer) -> Inputs:
    dataset = load_eval_set(questions_file, passages_file)
    index_dir = prepare_index(dataset, workspace=workspace, extra_corpus=acts, embedder=embedder)
    index = load_index(index_dir)
    langs = {doc_id: record.lang for doc_id, record in index.documents.items()}
    rows = [analyzer(chunk.text, langs[chunk.doc_id], False, index.documents[chunk.doc_id].title, chunk.section) for chunk in index.chunks]
    keywords = KeywordIndex.from_terms(rows)
    vectors = np.asarray(index.vectors(), dtype=np.float32)
    queries = embedder.embed_queries([q.question for q in dataset.questions])
    dense = queries @ vectors.T
    keyword = np.zeros_like(dense)
    coverage = np.zeros(len(dataset.questions), dtype=np.float32)
    for number, question in enumerate(dataset.questions):
        found = keywords.score(question.question)
        keyword[number], coverage[number] = found.scores, found.coverage
    passage_of = [Path(c.doc_id).stem if c.doc_id.startswith("dataset/") else "" for c in index.chunks]
    hits = []
    for question in dataset.questions:
        answers = [a.casefold() for a in question.answers if a.strip()]
        gold = set(question.gold)
        hits.append(
            {
                row
                for row, chunk in enumerate(index.chunks)
                if passage_of[row] in gold and (not answers or any(a in chunk.text.casefold() for a in answers))
            }
        )
    sentence_scores = []
    if index.sentences is not None:
        every = queries @ np.asarray(index.sentences.vectors, dtype=np.float32).T
        offsets = index.sentences.offsets
        sentence_scores = [every[:, offsets[row] : offsets[row + 1]] for row in range(len(index.chunks))]
    return Inputs(name, dense, keyword, coverage, hits, sentence_scores)


def score(inputs: Inputs, fused: np.ndarray) -> tuple[float, float, float, float]:
    order = np.argsort(-fused, axis=1, kind="stable")[:, :10]
    r1 = r5 = r10 = mrr = 0.0
    for row, hits in zip(order, inputs.hits):
        rank = next((i for i, chunk in enumerate(row, 1) if chunk in hits), None)
        if rank:
            mrr += 1 / rank
            r1 += rank <= 1
            r5 += rank <= 5
            r10 += rank <= 10
    n = len(inputs.hits)
    return r1 / n, r5 / n, r10 / n, mrr / n


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every chunk per question."""
    order = np.argsort(-scores, axis=1, kind="stable")
    result = np.empty_like(order)
    np.put_along_axis(result, order, np.arange(1, scores.shape[1] + 1)[None, :].repeat(scores.shape[0], 0), axis=1)
    return result


def rrf(inputs: Inputs, weight: np.ndarray | float, k: int = 60) -> np.ndarray:
    weight = np.broadcast_to(np.asarray(weight, dtype=np.float32).reshape(-1, 1), (inputs.dense.shape[0], 1))
    keyword_part = np.where(inputs.keyword > 0, 1 / (k + ranks(inputs.keyword)), 0.0)
    return 1 / (k + ranks(inputs.dense)) + weight * keyword_part


def convex(inputs: Inputs, weight: np.ndarray | float) -> np.ndarray:
    """Dense cosine plus the keyword score scaled to the dense score range of the question."""
    weight = np.asarray(weight, dtype=np.float32).reshape(-1, 1)
    top = np.sort(inputs.dense, axis=1)[:, -20:]
    spread = (top[:, -1] - top[:, 0]).reshape(-1, 1)
    best = inputs.keyword.max(axis=1, keepdims=True)
    scaled = np.divide(inputs.keyword, best, out=np.zeros_like(inputs.keyword), where=best > 0)
    return inputs.dense + weight * spread * scaled


def sentence_rerank(inputs: Inputs, fused: np.ndarray, weight: float = 0.5, depth: int = 10) -> np.ndarray:
    """The fused top ``depth`` reordered by fused score + weight x best sentence similarity."""
    if not inputs.sentence_scores:
        return np.full_like(fused, np.nan)
    result = fused - 1e3  # everything below the reranked head
    head = np.argsort(-fused, axis=1, kind="stable")[:, :depth]
    for question, rows in enumerate(head):
        for row in rows:
            sentences = inputs.sentence_scores[row][question]
            best = sentences.max() if sentences.size else inputs.dense[question, row]
            result[question, row] = fused[question, row] + weight * best
    return result


VARIANTS: dict[str, Callable[[Inputs], np.ndarray]] = {
    "dense": lambda x: x.dense,
    "keyword (BM25)": lambda x: x.keyword,
    "RRF k=60": lambda x: rrf(x, 1.0),
    "RRF, keyword weight = coverage": lambda x: rrf(x, x.coverage),
    "RRF, keyword weight = coverage²": lambda x: rrf(x, x.coverage**2),
    "RRF, gated: coverage ≥ 0.5": lambda x: rrf(x, (x.coverage >= 0.5).astype(np.float32)),
    "convex w=0.5": lambda x: convex(x, 0.5),
    "convex w=0.5·coverage": lambda x: convex(x, 0.5 * x.coverage),
    "convex w=1·coverage": lambda x: convex(x, 1.0 * x.coverage),
    "convex w=1·coverage²": lambda x: convex(x, x.coverage**2),
    "convex w=1.5·coverage": lambda x: convex(x, 1.5 * x.coverage),
    "convex w=2·coverage": lambda x: convex(x, 2.0 * x.coverage),
    "dense + sentence rerank": lambda x: sentence_rerank(x, x.dense),
    "convex w=1·coverage + sentence rerank 0.5": lambda x: sentence_rerank(x, convex(x, x.coverage)),
    "convex w=1·coverage + sentence rerank 1.0": lambda x: sentence_rerank(x, convex(x, x.coverage), 1.0),
    "convex w=1.5·coverage + sentence rerank 0.5": lambda x: sentence_rerank(x, convex(x, 1.5 * x.coverage)),
    "convex w=2·coverage + sentence rerank 0.5": lambda x: sentence_rerank(x, convex(x, 2.0 * x.coverage)),
    "convex w=2·coverage + sentence rerank 0.25": lambda x: sentence_rerank(x, convex(x, 2.0 * x.coverage), 0.25),
    "convex w=2·coverage + sentence rerank 0.5, depth 5": lambda x: sentence_rerank(x, convex(x, 2.0 * x.coverage), 0.5, 5),
    "convex w=2·coverage² + sentence rerank 0.5 (default)": lambda x: sentence_rerank(x, convex(x, 2.0 * x.coverage**2)),
    "convex w=2·coverage² + sentence rerank 0.5, depth 5": lambda x: sentence_rerank(x, convex(x, 2.0 * x.coverage**2), 0.5, 5),
    "convex w=1.5·coverage² + sentence rerank 0.5": lambda x: sentence_rerank(x, convex(x, 1.5 * x.coverage**2)),
    "RRF, coverage² + sentence rerank 0.5": lambda x: sentence_rerank(x, rrf(x, x.coverage**2) * 30),
}


# ---------------------------------------------------------------------------------------------
# --cross-language: levers for English questions over Russian text, on two halves by article
# ---------------------------------------------------------------------------------------------

_CAPITALISED = re.compile(r"\b[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][\w-]*")
_NUMBER = re.compile(r"\b\d+\b")


@dataclass(frozen=True)
class CrossInputs:
    """One question set's inputs with what the extra levers need."""

    inputs: Inputs
    articles: np.ndarray  # per question, the XQuAD article of its gold passage
    chunk_similarity: np.ndarray  # chunks x chunks, cosine (pseudo-relevance feedback)
    names: np.ndarray  # questions x chunks: idf share of the question's name keys the chunk holds
    shift: tuple = ()  # (questions·d, chunks·d, per chunk sentences·d, d·d): d = a language's mean question minus Russian's


def cross_inputs(inputs: Inputs, questions, index, queries=None, difference=None) -> CrossInputs:
    vectors = np.asarray(index.vectors(), dtype=np.float32)
    keys = []
    for chunk in index.chunks:
        words = _CAPITALISED.findall(f"{index.documents[chunk.doc_id].title} {chunk.text}") + _NUMBER.findall(chunk.text)
        keys.append({name_key(word) for word in words if len(word) >= 3})
    frequency: dict[str, int] = {}
    for chunk_keys in keys:
        for key in chunk_keys:
            frequency[key] = frequency.get(key, 0) + 1
    idf = {key: np.log((len(keys) + 1) / (count + 0.5)) for key, count in frequency.items()}
    names = np.zeros_like(inputs.dense)
    for number, question in enumerate(questions):
        words = _CAPITALISED.findall(question.question)[1:] + _NUMBER.findall(question.question)  # not the first word
        asked = [key for key in {name_key(word) for word in words if len(word) >= 3} if key in idf]
        total = sum(idf[key] for key in asked)
        for row, chunk_keys in enumerate(keys):
            names[number, row] = sum(idf[key] for key in asked if key in chunk_keys) / total if total else 0.0
    articles = np.array([int(question.gold[0][1:4]) for question in questions])
    shift = ()
    if difference is not None:
        sentence_vectors = np.asarray(index.sentences.vectors, dtype=np.float32) @ difference
        offsets = index.sentences.offsets
        shift = (
            queries @ difference,
            vectors @ difference,
            [sentence_vectors[offsets[row] : offsets[row + 1]] for row in range(len(index.chunks))],
            float(difference @ difference),
        )
    return CrossInputs(inputs, articles, vectors @ vectors.T, names, shift)


def _subset(x: CrossInputs, keep: np.ndarray) -> CrossInputs:
    i = x.inputs
    inputs = Inputs(
        i.name, i.dense[keep], i.keyword[keep], i.coverage[keep], [h for h, k in zip(i.hits, keep) if k],
        [scores[keep] for scores in i.sentence_scores],
    )  # fmt: skip
    shift = (x.shift[0][keep], *x.shift[1:]) if x.shift else ()
    return CrossInputs(inputs, x.articles[keep], x.chunk_similarity, x.names[keep], shift)


def _with_dense(inputs: Inputs, dense: np.ndarray) -> Inputs:
    return Inputs(inputs.name, dense, inputs.keyword, inputs.coverage, inputs.hits, inputs.sentence_scores)


def _default(inputs: Inputs, depth: int = 10) -> np.ndarray:
    return sentence_rerank(inputs, convex(inputs, 2.0 * inputs.coverage**2), 0.5, depth)


def _feedback(x: CrossInputs, alpha: float, top: int) -> np.ndarray:
    """Rocchio: the question vector plus ``alpha`` × the mean of its ``top`` chunks' vectors."""
    best = np.argsort(-x.inputs.dense, axis=1)[:, :top]
    dense = (x.inputs.dense + alpha * x.chunk_similarity[best].mean(axis=1)) / (1 + alpha)
    return _default(_with_dense(x.inputs, dense))


def _every_sentence(x: CrossInputs, weight: float) -> np.ndarray:
    i = x.inputs
    best = np.stack([s.max(axis=1) if s.shape[1] else np.full(s.shape[0], np.nan) for s in i.sentence_scores], axis=1)
    return convex(i, 2.0 * i.coverage**2) + weight * np.where(np.isnan(best), i.dense, best)


def _names(x: CrossInputs, weight: float) -> np.ndarray:
    i = x.inputs
    top = np.sort(i.dense, axis=1)[:, -20:]
    spread = (top[:, -1] - top[:, 0]).reshape(-1, 1)
    return _default(_with_dense(i, i.dense + weight * spread * x.names))


def _shifted(x: CrossInputs, alpha: float) -> Inputs:
    """The question vector minus ``alpha`` × (its language's mean question − the Russian mean question),
    normalised again: dense and sentence cosines of the shifted question."""
    i = x.inputs
    qd, vd, sd, dd = x.shift
    norm = np.sqrt(1.0 - 2.0 * alpha * qd + alpha**2 * dd).reshape(-1, 1)
    dense = (i.dense - alpha * vd[None, :]) / norm
    sentences = [(s - alpha * d[None, :]) / norm for s, d in zip(i.sentence_scores, sd)]
    return Inputs(i.name, dense, i.keyword, i.coverage, i.hits, sentences)


CROSS_VARIANTS: dict[str, Callable[[CrossInputs], np.ndarray]] = {
    "default (sentence rerank of the fused top 10)": lambda x: _default(x.inputs),
    "sentence rerank of the top 20": lambda x: _default(x.inputs, 20),
    "sentence rerank of the top 40": lambda x: _default(x.inputs, 40),
    "every chunk: fused + 0.5 × best sentence": lambda x: _every_sentence(x, 0.5),
    "every chunk: fused + 1.0 × best sentence": lambda x: _every_sentence(x, 1.0),
    **{
        f"feedback: query + {alpha} × mean of top {top} chunks": (lambda a, t: lambda x: _feedback(x, a, t))(alpha, top)
        for alpha in (0.3, 0.5, 1.0)
        for top in (1, 3, 5)
    },
    **{f"names across scripts, weight {w}": (lambda w: lambda x: _names(x, w))(w) for w in (0.25, 0.5, 1.0)},
    "dense alone": lambda x: x.inputs.dense,
    "dense alone, question shifted by 0.5 × (its language's mean − Russian mean)": lambda x: _shifted(x, 0.5).dense,
    **{
        f"question shifted by {a} × (its language's mean − Russian mean)": (lambda a: lambda x: _default(_shifted(x, a)))(a)
        for a in (0.25, 0.5, 0.75, 1.0)
    },
}


def cross_language(evalset: Path, acts: Path, workspace: Path, embedder) -> None:
    sets = [
        ("en→ru", evalset / "xquad-en-dev.json", evalset / "xquad-ru-dev.json"),
        ("ru", evalset / "xquad-ru-dev.json", None),
    ]
    halves = []
    own = [
        json.loads(line)
        for part in ("fit", "holdout")
        for line in (REPO / "tests/data/answers" / part / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    means = {lang: embedder.embed_queries([q["question"] for q in own if q["lang"] == lang]).mean(axis=0) for lang in ("ru", "en")}
    for name, questions_file, passages_file in sets:
        inputs = load_inputs(name, questions_file, passages_file, acts, workspace / "xquad-ru-dev", embedder, analyzer_with_title)
        dataset = load_eval_set(questions_file, passages_file)
        index = load_index(prepare_index(dataset, workspace=workspace / "xquad-ru-dev", extra_corpus=acts, embedder=embedder))
        queries = embedder.embed_queries([q.question for q in dataset.questions])
        difference = means["en" if name.startswith("en") else "ru"] - means["ru"]
        x = cross_inputs(inputs, dataset.questions, index, queries, difference)
        even = x.articles % 2 == 0
        halves += [(f"{name} A ({even.sum()})", _subset(x, even)), (f"{name} B ({(~even).sum()})", _subset(x, ~even))]
    print("| variant | " + " | ".join(f"{label} R@1 | R@5" for label, _ in halves) + " |")
    print("|---|" + "---:|---:|" * len(halves))
    for name, variant in CROSS_VARIANTS.items():
        cells = []
        for _, x in halves:
            r1, r5, _, _ = score(x.inputs, variant(x))
            cells.append(f"{r1:.3f} | {r5:.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def analyzer_text_only(text, lang, query, title, section):
    return analyze(text, lang, query=query)


def analyzer_with_title(text, lang, query, title, section):
    return analyze(" ".join(part for part in (title, section, text) if part), lang, query=query)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--workspace", type=Path, default=default_cache_dir() / "bench" / "hybrid")
    parser.add_argument("--quick", action="store_true", help="only the BM25 field set the build uses")
    parser.add_argument("--cross-language", action="store_true", help="levers for English over Russian, on two halves")
    args = parser.parse_args()
    evalset = args.shared / "data" / "eval"
    if not (evalset / "xquad-ru-dev.json").is_file():
        sys.exit(f"no evaluation data under {args.shared}: pass --shared")
    acts = args.shared / "data" / "official" / "kz-legal-ru"
    settings = Settings.from_env()
    embedder = load_embedder(settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision)
    print(f"Machine: {platform.processor() or platform.machine()}, embedding precision {embedder.precision}\n")
    if args.cross_language:
        cross_language(evalset, acts, args.workspace, embedder)
        return
    sets = [
        ("ru", evalset / "xquad-ru-dev.json", None, args.workspace / "xquad-ru-dev"),
        ("en→ru", evalset / "xquad-en-dev.json", evalset / "xquad-ru-dev.json", args.workspace / "xquad-ru-dev"),
        ("kk", evalset / "kazqad-kk-dev.jsonl", None, args.workspace / "kazqad-kk-dev"),
    ]
    analyzers = (("BM25 over title + section + text (default)", analyzer_with_title), ("BM25 over chunk text", analyzer_text_only))
    for analyzer_name, analyzer in analyzers[: 1 if args.quick else 2]:
        inputs = [load_inputs(name, q, p, acts, ws, embedder, analyzer) for name, q, p, ws in sets]
        print(f"\n### {analyzer_name}\n")
        print("| variant | " + " | ".join(f"{x.name} R@1 | R@5 | MRR" for x in inputs) + " |")
        print("|---|" + "---:|---:|---:|" * len(inputs))
        for name, variant in VARIANTS.items():
            cells = []
            for x in inputs:
                r1, r5, _, mrr = score(x, variant(x))
                cells.append(f"{r1:.3f} | {r5:.3f} | {mrr:.3f}")
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
        for x in inputs:
            print(f"{x.name}: coverage mean {x.coverage.mean():.2f}, median {np.median(x.coverage):.2f}")


if __name__ == "__main__":
    main()
