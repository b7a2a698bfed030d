"""Benchmark of extractive answers on XQuAD: "not found" calibration, answer quality, follow-ups, latency.

Calibration: the XQuAD-ru dev articles are split in two halves; only the first half (plus the
12 legal acts as distractors) is indexed. Questions of the first half have their answer in the
corpus; questions of the second half do not (their article was removed). We report how often an
answerable question is refused (false "not found"), how often an unanswerable one gets a quoted
answer (false answer), and how often the quotes contain the gold answer. English questions
(aligned XQuAD-en) are asked over the same Russian text.

Every third XQuAD question (by position, the ones ``bench/answerability_fit.py`` reads) helped
fit the answerability model, so each table has a row for the other two thirds too. Only the
public ``answer()`` is used, with default settings, so ``--repo`` measures an older checkout.

Usage:
    python bench/answer_bench.py [--shared ../shared] [--repo PATH]

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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

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
    parser.add_argument("--repo", type=Path, default=REPO, help="measure the assistant package of this checkout")
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo))
    global Searcher, Settings, build_index, answer, load_embedder, latency_summary, padded
    from assistant import Searcher, Settings, build_index
    from assistant.answer import answer
    from assistant.embeddings import load_embedder
    from assistant.evaluation import latency_summary

    print(f"assistant package: {args.repo}")
    from latency_bench import padded  # after the package: it puts this checkout on the path
    from xquad_documents import article_document
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
            (corpus / f"{number:02d}.txt").write_text(article_document(article), encoding="utf-8")
        for act in sorted((args.shared / "data" / "official" / "kz-legal-ru").glob("*.docx")):
            shutil.copy(act, corpus / "acts" / act.name)
        settings = Settings()
        build_index(corpus, work / "index", settings=settings, embedder=embedder)
        searcher = Searcher(work / "index", embedder=embedder)

        # Gold answers are Russian text: English questions use the aligned Russian answers.
        ru_answers = {qa["id"]: [a["text"] for a in qa["answers"]] for a in ru for p in a["paragraphs"] for qa in p["qas"]}
        for label, data in (("ru", ru), ("en→ru", en)):
            asked = [
                (position, number < half, qa["question"], ru_answers[qa["id"]])
                for position, (number, qa) in enumerate(
                    ((number, qa) for number, a in enumerate(data) for p in a["paragraphs"] for qa in p["qas"]), start=1
                )
            ]
            replies = [answer(question, settings=settings, searcher=searcher) for _, _, question, _ in asked]
            print(f"\n### {label}: {sum(a[1] for a in asked)} answerable, {sum(not a[1] for a in asked)} unanswerable questions\n")
            report_calibration(asked, replies)
        report_dialogues(work, embedder, settings)
        questions = [qa["question"] for a in ru[:half] for p in a["paragraphs"] for qa in p["qas"]][:100]
        build_index(REPO / "corpus", work / "default-index", settings=settings, embedder=embedder)
        default = Searcher(work / "default-index", embedder=embedder)
        report_latency(default, ["Кто председательствовал на заседании в Актюбинской области?", "Что сказал аким о Послании?", "Какие поручения были даны?", "Ақтөбе облысындағы отырысқа кім төрағалық етті?", "Who took part in the meeting?"] * 20, settings, "the default corpus")
        report_latency(searcher, questions, settings, "XQuAD half + 12 acts")
        report_latency(padded(searcher, work / "padded-index", 10_000), questions, settings, "the same padded to 10,000 chunks with synthetic vectors")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report_calibration(asked, replies) -> None:
    """Refusals, false answers and gold in the quotes: for all questions and those not used in fitting."""
    print("| questions | answerable refused | unanswerable answered | quotes contain the gold answer (of answered) | first quote contains it (of answerable) |")
    print("|---|---:|---:|---:|---:|")
    for label, keep in (("all", lambda position: True), ("not used in fitting", lambda position: position % 3 != 0)):
        rows = [(a, r) for a, r in zip(asked, replies) if keep(a[0])]
        yes = [(a, r) for a, r in rows if a[1]]
        no = [r for a, r in rows if not a[1]]
        answered = [(a, r) for a, r in yes if r.found]
        contains = sum(any(g.casefold() in " ".join(q.text for q in r.quotes).casefold() for g in a[3]) for a, r in answered)
        first = sum(any(g.casefold() in r.quotes[0].text.casefold() for g in a[3]) for a, r in answered)
        print(
            f"| {label} ({len(yes)} + {len(no)}) | {1 - len(answered) / len(yes):.3f} | {sum(r.found for r in no) / len(no):.3f} "
            f"| {contains / max(len(answered), 1):.3f} | {first / len(yes):.3f} |"
        )


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
    about = [answer(q, settings=settings, searcher=searcher) for q in KAZAKH_ABOUT_SAMPLE]
    off_topic = [answer(q, settings=settings, searcher=searcher) for q in KAZAKH_OFF_TOPIC]
    print(
        f"\n### kk→ru, scripted and tiny (index: sample + XQuAD half + acts): {sum(r.found for r in about)}/{len(about)} "
        f"Kazakh questions about the sample document answered, {sum(r.found for r in off_topic)}/{len(off_topic)} off-topic ones answered"
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
    print(f"\nanswer() latency on {label} ({searcher.chunk_count} chunks, {len(times)} questions): p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()
