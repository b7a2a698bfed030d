"""Benchmark of extractive answers: no-answer calibration, answer quality, follow-ups, latency.

Calibration: the XQuAD-ru dev articles are split in two halves; only the first half (plus the
12 legal acts as distractors) is indexed. Questions of the first half have their answer in the
corpus; questions of the second half do not (their article was removed). For each threshold
pair we report how often an answerable question is refused (false "not found") and how often
an unanswerable one gets a quoted answer (false answer). English questions (aligned XQuAD-en)
are reported with the same thresholds.

Usage:
    python bench/answer_bench.py [--shared ../shared] [--sweep]

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant import Searcher, Settings, build_index  # noqa: E402
from assistant.answer import THRESHOLDS, answer  # noqa: E402
from assistant.embeddings import load_embedder  # noqa: E402
from assistant.evaluation import latency_summary  # noqa: E402
from latency_bench import padded  # noqa: E402

DIALOGUES = [
    # (first question, follow-up, doc the follow-up must be answered from, text the answer must contain)
    ("Кто председательствовал на заседании в Актюбинской области?", "А кто участвовал?", "sample", "депутаты маслихата"),
    ("Что глава Актюбинской области сказал о Послании?", "А что по образованию?", "sample", "образования"),
    ("Who chaired the Aktobe region meeting on the Address?", "And who took part?", "sample", "депутаты маслихата"),
    ("Ақтөбе облысындағы отырысқа кім төрағалық етті?", "Ал кім қатысты?", "sample", "депутаты маслихата"),
    ("Какие поручения дал аким Актюбинской области?", "А частному сектору?", "sample", "частному сектору"),
    ("Когда президент озвучил Послание об искусственном интеллекте?", "А как оно называется?", "sample", "Казахстан в эпоху искусственного интеллекта"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--sweep", action="store_true", help="print the full threshold sweep")
    args = parser.parse_args()
    eval_dir = args.shared / "data" / "eval"
    if not (eval_dir / "xquad-ru-dev.json").is_file():
        sys.exit(f"no evaluation data under {args.shared}: pass --shared")
    work = Path(tempfile.mkdtemp(prefix="assistant-answer-bench-"))
    try:
        embedder = load_embedder()
        ru = json.loads((eval_dir / "xquad-ru-dev.json").read_text(encoding="utf-8"))["data"]
        en = json.loads((eval_dir / "xquad-en-dev.json").read_text(encoding="utf-8"))["data"]
        half = len(ru) // 2
        corpus = work / "corpus"
        (corpus / "acts").mkdir(parents=True)
        for number, article in enumerate(ru[:half]):
            body = "\n\n".join(p["context"].strip().lstrip("\ufeff") for p in article["paragraphs"])
            title = json.dumps(article["title"].replace("_", " "), ensure_ascii=False)
            (corpus / f"{number:02d}.txt").write_text(f"---\ntitle: {title}\n---\n{body}\n", encoding="utf-8")
        for act in sorted((args.shared / "data" / "official" / "kz-legal-ru").glob("*.docx")):
            shutil.copy(act, corpus / "acts" / act.name)
        settings = Settings()
        build_index(corpus, work / "index", settings=settings, embedder=embedder)
        searcher = Searcher(work / "index", embedder=embedder)

        lenient = settings.with_(answer_threshold_shift=-1.0)
        # Gold answers are Russian text: English questions use the aligned Russian answers.
        ru_answers = {qa["id"]: [a["text"] for a in qa["answers"]] for a in ru for p in a["paragraphs"] for qa in p["qas"]}
        for label, lang, data in (("ru", "ru", ru), ("en→ru", "en", en)):
            answerable = [(qa["question"], ru_answers[qa["id"]]) for a in data[:half] for p in a["paragraphs"] for qa in p["qas"]]
            unanswerable = [(qa["question"], []) for a in data[half:] for p in a["paragraphs"] for qa in p["qas"]]
            # One lenient answer per question: its scores decide "found" for any thresholds,
            # and its quotes are what a found answer would quote.
            replies_yes = [answer(q, settings=lenient, searcher=searcher) for q, _ in answerable]
            replies_no = [answer(q, settings=lenient, searcher=searcher) for q, _ in unanswerable]
            print(f"\n### {label}: {len(answerable)} answerable, {len(unanswerable)} unanswerable questions\n")
            report_thresholds(replies_yes, replies_no, THRESHOLDS[lang], args.sweep)
            report_answers(replies_yes, [golds for _, golds in answerable], THRESHOLDS[lang], label)
        report_dialogues(work, embedder, settings)
        questions = [qa["question"] for a in ru[:half] for p in a["paragraphs"] for qa in p["qas"]][:100]
        build_index(REPO / "corpus", work / "default-index", settings=settings, embedder=embedder)
        default = Searcher(work / "default-index", embedder=embedder)
        report_latency(default, ["Кто председательствовал на заседании в Актюбинской области?", "Что сказал аким о Послании?", "Какие поручения были даны?", "Ақтөбе облысындағы отырысқа кім төрағалық етті?", "Who took part in the meeting?"] * 20, settings, "the default corpus")
        report_latency(searcher, questions, settings, "XQuAD half + 12 acts")
        report_latency(padded(searcher, work / "padded-index", 10_000), questions, settings, "the same padded to 10,000 chunks with synthetic vectors")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report_thresholds(yes, no, thresholds: tuple[float, float], sweep: bool) -> None:
    yes_p, yes_s = np.array([(r.passage_score, r.confidence) for r in yes]).T
    no_p, no_s = np.array([(r.passage_score, r.confidence) for r in no]).T

    def rates(p: float, s: float) -> tuple[float, float]:
        return float(np.mean((yes_p < p) | (yes_s < s))), float(np.mean((no_p >= p) & (no_s >= s)))

    rows = []
    for p in np.arange(0.70, 0.86, 0.01):
        for s in np.arange(0.70, 0.90, 0.005):
            refused, answered = rates(p, s)
            rows.append((refused + answered, round(p, 3), round(s, 3), refused, answered))
    rows.sort()
    refused, answered = rates(*thresholds)
    print("| thresholds (passage, sentence) | answerable refused | unanswerable answered |")
    print("|---|---:|---:|")
    print(f"| **configured** ({thresholds[0]:.3f}, {thresholds[1]:.3f}) | {refused:.3f} | {answered:.3f} |")
    for total, p, s, refused, answered in rows[: 8 if sweep else 3]:
        print(f"| lowest sum ({p:.3f}, {s:.3f}) | {refused:.3f} | {answered:.3f} |")


def report_answers(replies, golds, thresholds: tuple[float, float], label: str) -> None:
    contains = answered = 0
    for reply, gold in zip(replies, golds):
        if reply.passage_score >= thresholds[0] and reply.confidence >= thresholds[1]:
            answered += 1
            quoted = " ".join(q.text for q in reply.quotes).casefold()
            contains += any(g.casefold() in quoted for g in gold)
    n = len(replies)
    print(f"\n{label}: answered {answered / n:.3f} of answerable questions; the quoted sentences contain the gold answer in {contains / n:.3f} of all answerable questions ({contains / max(answered, 1):.3f} of those answered).")


KAZAKH_ABOUT_SAMPLE = [
    "Ақтөбе облысындағы отырысқа кім төрағалық етті?",
    "Ақтөбе облысында Жолдауды іске асыру жолдары талқыланды ма?",
    "Отырысқа кімдер қатысты?",
    "Аудан әкімдері отырысқа қалай қосылды?",
    "Мемлекет басшысы Жолдауды қашан жариялады?",
    "Облыс әкімі Жолдау туралы не деді?",
    "Отырыс қорытындысы бойынша кімге тапсырма берілді?",
    "Жолдауда қандай салаларға ерекше көңіл бөлінді?",
]
KAZAKH_OFF_TOPIC = [
    "Марста ауа райы қандай?",
    "Футбол матчы қашан өтеді?",
    "Палауды қалай дайындайды?",
    "Алматыда нан қанша тұрады?",
    "Ең биік тау қай жерде?",
    "Жаңа смартфонның бағасы қанша?",
    "Мысықтар неше жыл өмір сүреді?",
    "Пианиноны қалай үйренуге болады?",
]


def report_dialogues(work: Path, embedder, settings: Settings) -> None:
    corpus = work / "dialogue-corpus"
    shutil.copytree(REPO / "corpus", corpus)
    for act in (work / "corpus" / "acts").glob("*.docx"):
        shutil.copy(act, corpus / act.name)
    for number, path in enumerate(sorted((work / "corpus").glob("*.txt"))):
        shutil.copy(path, corpus / f"xquad-{number:02d}.txt")
    build_index(corpus, work / "dialogue-index", settings=settings, embedder=embedder)
    searcher = Searcher(work / "dialogue-index", embedder=embedder)
    lenient = settings.with_(answer_threshold_shift=-1.0)
    print(f"\n### kk→ru, scripted and tiny: {len(KAZAKH_ABOUT_SAMPLE)} Kazakh questions about the sample document, {len(KAZAKH_OFF_TOPIC)} off-topic (index: sample + XQuAD half + acts)\n")
    report_thresholds(
        [answer(q, settings=lenient, searcher=searcher) for q in KAZAKH_ABOUT_SAMPLE],
        [answer(q, settings=lenient, searcher=searcher) for q in KAZAKH_OFF_TOPIC],
        THRESHOLDS["kk"],
        sweep=False,
    )
    with_history = without = 0
    for first, follow_up, _, expected in DIALOGUES:
        resolved = answer(follow_up, history=[first], settings=settings, searcher=searcher)
        alone = answer(follow_up, settings=settings, searcher=searcher)
        with_history += _cites(resolved, expected)
        without += _cites(alone, expected)
    print(f"\nFollow-ups ({len(DIALOGUES)} scripted dialogues over the sample + XQuAD half + acts): answer quotes the expected text with history {with_history}/{len(DIALOGUES)}, without history {without}/{len(DIALOGUES)}.")


def _cites(reply, expected: str) -> bool:
    return reply.found and any(expected.casefold() in s.passage.text.casefold() for s in reply.sources)


def report_latency(searcher: Searcher, questions: list[str], settings: Settings, label: str) -> None:
    for question in questions[:5]:
        answer(question, settings=settings, searcher=searcher)  # warm up
    times = []
    for question in questions:
        started = time.perf_counter()
        answer(question, settings=settings, searcher=searcher)
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = latency_summary(times)
    print(f"\nanswer() latency on {label} ({searcher.index.manifest.chunk_count} chunks, {len(times)} questions): p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()
