"""Answers on our own question sets: is the first quote the answer, and is "not found" honest?

For each set (``tests/data/answers/fit``, ``holdout``, ``blind``, ``blind2``, ``blind3``, ``blind4``, ``blind5``, ``blind6``, ``blind7``) and each corpus condition, every
question goes through the public ``answer()`` and is judged by ``tests/answer_sets.py``:

* ``single``: each question over one document alone (its answer's, or the document of the
  region it names): a user who loaded one report;
* ``alone``: the set's own documents (13, 8 and 8 look-alike regional reports);
* ``large``: the same plus distractors from ``../shared``: the 12 Russian legal acts, the
  XQuAD-ru and XQuAD-en dev paragraphs and the KazQAD-kk passages (about 1,700 chunks);
* ``padded``: ``large`` padded to 10,000 chunks with synthetic ones (copied texts, random
  vectors: see ``bench/latency_bench.py``).

Indexes are kept in ``--workspace`` and reused while the documents and the model are unchanged.
Only the public API is used, so the script also measures an older checkout (``--repo``).

Usage:
    python bench/answer_dev_bench.py [--sets fit,holdout,blind,blind2,blind3,blind4,blind5,blind6,blind7] [--conditions alone,large,padded]
                                     [--workspace DIR] [--details FILE.jsonl] [--repo PATH]

Prints Markdown tables: by condition and language, by kind of question, and the misses.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

from xquad_documents import article_document

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="fit,holdout,blind,blind2,blind3,blind4,blind5,blind6,blind7")
    parser.add_argument("--conditions", default="single,alone,large")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/answer-dev-bench"))
    parser.add_argument("--details", type=Path, help="write one JSON line per question here")
    parser.add_argument("--repo", type=Path, default=REPO, help="measure the assistant package of this checkout")
    parser.add_argument("--misses", type=int, default=15, help="misses to list per set and condition")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.answer_sets import LANGUAGES, judge, load_questions, lone_document, rates  # before --repo

    sys.path.insert(0, str(args.repo))

    from assistant import Searcher, Settings, build_index
    from assistant.answer import answer
    from assistant.embeddings import load_embedder

    embedder = load_embedder()
    settings = Settings()
    details = args.details.open("w", encoding="utf-8") if args.details else None
    print(f"assistant package: {args.repo}\n")
    for name in args.sets.split(","):
        questions = load_questions(name)
        for condition in args.conditions.split(","):
            searchers = {
                doc: Searcher(index, embedder=embedder)
                for doc, index in prepare(name, condition, args, settings, embedder, build_index, Searcher).items()
            }
            outcomes, times = [], []
            for question in questions:
                searcher = searchers[lone_document(question, name) if condition == "single" else ""]
                started = time.perf_counter()
                reply = answer(question.question, searcher=searcher, settings=settings)
                times.append(time.perf_counter() - started)
                outcome = judge(question, reply)
                outcomes.append(outcome)
                if details:
                    row = {"set": name, "condition": condition, "id": question.id, "verdict": outcome.verdict,
                           "first_doc": outcome.first_doc, "first_quote": outcome.first_quote,
                           "text": reply.text[:300], "confidence": reply.confidence}  # fmt: skip
                    details.write(json.dumps(row, ensure_ascii=False) + "\n")
            chunks = sum(searcher.chunk_count for searcher in searchers.values())
            indexes = f"{len(searchers)} indexes, " if len(searchers) > 1 else ""
            print(f"### {name} · {condition} ({indexes}{chunks} chunks, {len(questions)} questions)\n")
            table(outcomes, LANGUAGES, rates)
            kinds(outcomes)
            times.sort()
            print(f"\nanswer() p50 {1000 * times[len(times) // 2]:.0f} ms, p95 {1000 * times[int(len(times) * 0.95)]:.0f} ms\n")
            misses(outcomes, args.misses)
    if details:
        details.close()


def prepare(name: str, condition: str, args, settings, embedder, build_index, Searcher) -> dict[str, Path]:
    """The indexes of ``name`` under ``condition`` (by document for ``single``, else under ""),
    built (incrementally) in the workspace."""
    from tests.answer_sets import documents

    if condition == "single":
        indexes = {}
        for path in documents(name):
            folder = args.workspace / f"{name}-single" / path.stem
            _fill(folder / "corpus", [path])
            build_index(folder / "corpus", folder / "index", settings=settings, embedder=embedder)
            indexes[path.name] = folder / "index"
        return indexes
    base = "large" if condition == "padded" else condition
    corpus = args.workspace / f"{name}-{base}" / "corpus"
    index = args.workspace / f"{name}-{base}" / "index"
    _fill(corpus, documents(name))
    if base == "large":
        distractors(args.shared, corpus / "distractors")
    build_index(corpus, index, settings=settings, embedder=embedder)
    if condition != "padded":
        return {"": index}
    sys.path.insert(0, str(REPO / "bench"))
    from latency_bench import padded

    target = args.workspace / f"{name}-padded" / "index"
    if target.exists():
        shutil.rmtree(target)
    padded(Searcher(index, embedder=embedder), target, 10_000)
    return {"": target}


def _fill(corpus: Path, paths) -> None:
    """``corpus`` holding exactly copies of ``paths`` (a rebuild then re-reads nothing that did not change)."""
    if corpus.exists():
        shutil.rmtree(corpus)
    corpus.mkdir(parents=True)
    for path in paths:
        shutil.copy(path, corpus / path.name)


def distractors(shared: Path, folder: Path) -> None:
    """The shared data's acts and evaluation passages, as documents without a region."""
    if not (shared / "data").is_dir():
        raise SystemExit(f"no shared data under {shared}: pass --shared, or use --conditions alone")
    folder.mkdir(parents=True)
    for act in sorted((shared / "data" / "official" / "kz-legal-ru").glob("*.docx")):
        shutil.copy(act, folder / act.name)
    for lang in ("ru", "en"):
        data = json.loads((shared / "data" / "eval" / f"xquad-{lang}-dev.json").read_text(encoding="utf-8"))["data"]
        for number, article in enumerate(data):
            text = article_document(article, lang=lang, region="national")
            (folder / f"xquad-{lang}-{number:02d}.txt").write_text(text, encoding="utf-8")
    seen = set()
    for line in (shared / "data" / "eval" / "kazqad-kk-dev.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        doc = row["id"].split("#")[-1]
        if doc in seen:
            continue
        seen.add(doc)
        title = json.dumps(row.get("title") or doc, ensure_ascii=False)
        text = f"---\ntitle: {title}\nlang: kk\nregion: national\n---\n{row['context'].strip()}\n"
        (folder / f"kazqad-{len(seen):04d}.txt").write_text(text, encoding="utf-8")


def table(outcomes, languages, rates) -> None:
    print("| questions | answerable | first quote answers | right document | refused | on-topic unanswerable answered | off-topic answered |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    groups = [("all", outcomes)] + [(lang, [o for o in outcomes if o.question.lang == lang]) for lang in languages]
    for label, group in groups:
        r = rates(group)
        cells = [f"{r[key]:.2f}" if key in r else "–" for key in ("first_quote_answers", "right_document", "refused", "on_topic_answered", "off_topic_answered")]
        print(f"| {label} ({len(group)}) | {r['answerable']} | " + " | ".join(cells) + " |")


def kinds(outcomes) -> None:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for outcome in outcomes:
        counts[outcome.question.kind][outcome.verdict] += 1
    print("\n| kind | n | verdicts |")
    print("|---|---:|---|")
    for kind, verdicts in counts.items():
        total = sum(verdicts.values())
        print(f"| {kind} | {total} | " + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items())) + " |")
    by_type: dict[str, list] = defaultdict(list)
    for outcome in outcomes:
        if outcome.question.answerable:
            by_type[outcome.question.answer_type].append(outcome.verdict == "correct")
    print("\nfirst quote answers, by answer type: " + ", ".join(f"{t} {sum(v)}/{len(v)}" for t, v in sorted(by_type.items())))


def misses(outcomes, limit: int) -> None:
    wrong = [o for o in outcomes if o.verdict in ("wrong", "refused", "answered")]
    if not wrong or limit <= 0:
        return
    print(f"\nMisses ({len(wrong)}; the first {min(limit, len(wrong))}):\n")
    for outcome in wrong[:limit]:
        q = outcome.question
        quote = " ".join(outcome.first_quote.split())[:140]
        print(f"- {q.id} [{q.lang}, {q.kind}, {outcome.verdict}] {q.question} → {outcome.first_doc}: {quote}")
    print()


if __name__ == "__main__":
    main()
