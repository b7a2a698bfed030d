"""Our own question sets for answers (``tests/data/answers/<set>/``), and how a reply is judged on them.

Each set is a folder of regional-report documents (``docs/*.txt`` with front matter: our own
words and invented facts, look-alike across regions) and ``questions.jsonl``: answerable
questions with the fragments of the sentences that answer them, and unanswerable ones of four
kinds. ``fit`` is used to fit the answerability model, ``holdout`` (another author, other
regions) only to report. ``blind`` (a third author, 8 reports) was written after the model and
every rule had been chosen, without reading the code, and is only reported: unlike ``holdout``,
whose misses suggested some rules, nothing was ever chosen on it. ``blind2`` (a fourth author, 9
reports of 7 regions, two regions with a later progress report beside the first) was written the
same way once ``blind``'s misses had suggested rules in turn, ``blind3`` (a fifth author, 10
reports of 8 regions, one from a town akimat, one a numbered plan) once ``blind2``'s had, and
``blind4`` (a sixth author, 10 reports of 8 other regions: an interview, two numbered plans, a
town's report and the region's later one) once ``blind3``'s had, and ``blind5`` (a seventh author,
11 look-alike press releases of meetings, one per region, 9 Russian and 2 Kazakh, as issue #17
describes the set kept outside the repository) once ``blind4``'s had, and ``blind6`` (an eighth
author, 11 press releases of other regions, 8 Russian and 3 Kazakh) once ``blind5``'s had, and ``blind7`` (a ninth
author, 11 reports of 9 regions, 7 Russian and 4 Kazakh: a town's report, a region's later progress report, numbered
plans, direct speech) once ``blind6``'s had. Shared by the tests and
``bench/answerability_fit.py``, ``bench/answer_dev_bench.py``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "answers"
SETS = ("fit", "holdout", "blind", "blind2", "blind3", "blind4", "blind5", "blind6", "blind7")
KINDS = ("answerable", "absent", "other_region", "no_documents", "off_topic")
UNANSWERABLE = KINDS[1:]
LANGUAGES = ("ru", "kk", "en")


@dataclass(frozen=True)
class Gold:
    """A document that answers, and verbatim fragments of its answering sentences."""

    doc: str
    accept: tuple[str, ...]


@dataclass(frozen=True)
class AnswerQuestion:
    """One question of a set (see the module docstring for the kinds)."""

    id: str
    lang: str
    kind: str
    question: str
    region: str
    answer_type: str
    answers: tuple[Gold, ...] = ()
    trap: Gold | None = None

    @property
    def answerable(self) -> bool:
        return self.kind == "answerable"


def set_folder(name: str) -> Path:
    return DATA / name


def load_questions(name: str) -> list[AnswerQuestion]:
    """The questions of set ``name``, checked: known kind and language, gold fragments present.

    Raises:
        ValueError: a malformed line, or a gold fragment that is not in its document.
    """
    folder = set_folder(name)
    texts = {path.name: path.read_text(encoding="utf-8") for path in (folder / "docs").glob("*.txt")}
    questions = []
    for number, line in enumerate((folder / "questions.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        question = AnswerQuestion(
            id=row["id"],
            lang=row["lang"],
            kind=row["kind"],
            question=row["question"],
            region=row.get("region", ""),
            answer_type=row.get("answer_type", "other"),
            answers=tuple(Gold(a["doc"], tuple(a["accept"])) for a in row.get("answers", ())),
            trap=Gold(row["trap"]["doc"], tuple(row["trap"]["accept"])) if row.get("trap") else None,
        )
        if question.kind not in KINDS or question.lang not in LANGUAGES:
            raise ValueError(f"{name} line {number}: unknown kind or language in {row}")
        if question.answerable != bool(question.answers):
            raise ValueError(f"{name} line {number}: answerable questions, and only they, list answers")
        for gold in (*question.answers, *([question.trap] if question.trap else [])):
            if gold.doc not in texts or not all(fragment in texts[gold.doc] for fragment in gold.accept):
                raise ValueError(f"{name} line {number}: a fragment is not in {gold.doc}")
        questions.append(question)
    return questions


def documents(name: str) -> list[Path]:
    return sorted((set_folder(name) / "docs").glob("*.txt"))


def lone_document(question: AnswerQuestion, name: str) -> str:
    """The document ``question`` is asked against when the corpus is one document alone.

    Its answer's document; for an unanswerable question the named region's first document, and
    otherwise (a region without documents, no region) one picked by the question's id.
    """
    if question.answers:
        return question.answers[0].doc
    paths = documents(name)
    of_region = [path.name for path in paths if _region_of(path) == question.region and question.region]
    if of_region:
        return of_region[0]
    return paths[zlib.crc32(question.id.encode()) % len(paths)].name


def _region_of(path: Path) -> str:
    found = re.search(r"^region: (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return found[1].strip() if found else ""


def answers_at(question: AnswerQuestion, doc_id: str, passage_text: str, start: int, end: int) -> bool:
    """Whether ``passage_text[start:end]`` (a sentence of document ``doc_id``) answers ``question``.

    It does when it overlaps one of the gold fragments of that document where the fragment
    occurs in the passage (sentence splitting may cut a fragment; overlapping it is enough).
    """
    name = Path(doc_id).name
    for gold in question.answers:
        if gold.doc != name:
            continue
        for fragment in gold.accept:
            at = passage_text.find(fragment)
            while at >= 0:
                if at < end and start < at + len(fragment):
                    return True
                at = passage_text.find(fragment, at + 1)
    return False


@dataclass(frozen=True)
class Outcome:
    """How one reply fared: ``correct`` (first quote answers, from a gold document), ``wrong``,
    ``refused`` (answerable but "not found"), ``declined`` (unanswerable and "not found") or
    ``answered`` (unanswerable but answered)."""

    question: AnswerQuestion
    verdict: str
    right_document: bool = False
    first_quote: str = ""
    first_doc: str = ""


def judge(question: AnswerQuestion, reply) -> Outcome:
    """Judge an :class:`assistant.answer.Answer` to ``question``."""
    if not reply.found:
        return Outcome(question, "refused" if question.answerable else "declined")
    quote = reply.quotes[0]
    passage = reply.sources[quote.source - 1].passage
    if not question.answerable:
        return Outcome(question, "answered", first_quote=quote.text, first_doc=passage.doc_id)
    right_document = Path(passage.doc_id).name in {gold.doc for gold in question.answers}
    correct = answers_at(question, passage.doc_id, passage.text, quote.start, quote.end)
    return Outcome(question, "correct" if correct else "wrong", right_document, quote.text, passage.doc_id)


def rates(outcomes: Sequence[Outcome]) -> dict[str, float | int]:
    """The issue's figures over ``outcomes``: first-quote accuracy and refusals of the answerable,
    and the share of each unanswerable kind that got an answer."""
    answerable = [o for o in outcomes if o.question.answerable]
    result: dict[str, float | int] = {"answerable": len(answerable)}
    if answerable:
        result["first_quote_answers"] = _share(o.verdict == "correct" for o in answerable)
        result["right_document"] = _share(o.right_document for o in answerable)
        result["refused"] = _share(o.verdict == "refused" for o in answerable)
    unanswerable = [o for o in outcomes if not o.question.answerable]
    result["unanswerable"] = len(unanswerable)
    if unanswerable:
        on_topic = [o for o in unanswerable if o.question.kind != "off_topic"]
        off_topic = [o for o in unanswerable if o.question.kind == "off_topic"]
        if on_topic:
            result["on_topic_answered"] = _share(o.verdict == "answered" for o in on_topic)
        if off_topic:
            result["off_topic_answered"] = _share(o.verdict == "answered" for o in off_topic)
    return result


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0
