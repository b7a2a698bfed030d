"""Evaluation: answer-in-passage recall and MRR of retrieval on a question set with gold passages.

Two input formats are read:

* **SQuAD** JSON (``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
  "answers": [{"text"}]}]}]}]}``), as XQuAD. Each paragraph is a passage.
* **KazQAD-style** JSON lines: one object per (question, gold passage) with ``id``
  (``"<question id>#<passage id>"``), ``title``, ``context``, ``question`` and ``answers`` (a list,
  or a string holding a Python/JSON list). A question may have several gold passages: rows with
  the same question id are merged, and a hit on any of them counts.

Cross-language runs take the questions from one file and the passages from an aligned other
(XQuAD-en questions against XQuAD-ru paragraphs): SQuAD files are aligned by question ``id``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.errors import AssistantError

logger = logging.getLogger(__name__)

CUTOFFS = (1, 5, 10)


@dataclass(frozen=True)
class EvalPassage:
    """A passage of the evaluation corpus; ``passage_id`` becomes its document's file name."""

    passage_id: str
    title: str
    text: str


@dataclass(frozen=True)
class EvalQuestion:
    """A question, the texts that answer it, and the passages that hold an answer."""

    question_id: str
    question: str
    answers: tuple[str, ...]
    gold: tuple[str, ...]


@dataclass(frozen=True)
class EvalSet:
    """Questions and the passages they are asked against."""

    name: str
    questions: tuple[EvalQuestion, ...]
    passages: tuple[EvalPassage, ...]

    def fingerprint(self) -> str:
        """Hash of the passages: an index built for one set can be reused for the same passages."""
        digest = hashlib.sha256()
        for passage in self.passages:
            digest.update(f"{passage.passage_id}\0{passage.title}\0{passage.text}\0".encode())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class EvalReport:
    """Recall at 1/5/10 and MRR@10 (answer-in-passage), with query latency."""

    dataset: str
    mode: str
    questions: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    latency_p50_ms: float
    latency_p95_ms: float

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        """A Markdown table of the numbers."""
        return (
            "| dataset | mode | questions | R@1 | R@5 | R@10 | MRR@10 | p50 ms | p95 ms |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
            f"| {self.dataset} | {self.mode} | {self.questions} | {self.recall_at_1:.3f} | {self.recall_at_5:.3f} "
            f"| {self.recall_at_10:.3f} | {self.mrr_at_10:.3f} | {self.latency_p50_ms:.1f} | {self.latency_p95_ms:.1f} |"
        )


def load_eval_set(questions_file: Path, passages_file: Path | None = None) -> EvalSet:
    """Read a question set; with ``passages_file``, ask its questions against that file's passages.

    Raises:
        AssistantError: the file is missing, is in neither format, or the two files are not aligned.
    """
    questions_file = Path(questions_file)
    asked = _read(questions_file)
    if passages_file is None:
        return EvalSet(questions_file.name, asked.questions, asked.passages)
    against = _read(Path(passages_file))
    gold_of = {q.question_id: q for q in against.questions}
    missing = [q.question_id for q in asked.questions if q.question_id not in gold_of]
    if missing:
        raise AssistantError(
            f"{questions_file.name} and {Path(passages_file).name} are not aligned: "
            f"{len(missing)} question ids (e.g. {missing[0]!r}) have no counterpart"
        )
    # Gold passages and answer texts come from the passages' side: the answer must be found in them.
    questions = tuple(
        EvalQuestion(q.question_id, q.question, gold_of[q.question_id].answers, gold_of[q.question_id].gold)
        for q in asked.questions
    )
    return EvalSet(f"{questions_file.name} → {Path(passages_file).name}", questions, against.passages)


def score_rankings(
    questions: tuple[EvalQuestion, ...],
    search: Callable[[str], list[tuple[str, str]]],
) -> tuple[dict[int, float], float, list[float]]:
    """Recall@k, MRR@10 and per-query latency for a search function.

    Args:
        questions: the questions.
        search: returns up to 10 ``(passage_id, chunk text)`` pairs for a question, best first.

    Returns:
        ``({1: r1, 5: r5, 10: r10}, mrr, latencies_ms)``. A hit is a chunk of a gold passage
        containing one of the answer texts (case-insensitive).
    """
    hits = dict.fromkeys(CUTOFFS, 0)
    reciprocal = 0.0
    latencies = []
    for question in questions:
        started = time.perf_counter()
        ranked = search(question.question)
        latencies.append((time.perf_counter() - started) * 1000)
        answers = [answer.casefold() for answer in question.answers if answer.strip()]
        gold = set(question.gold)
        rank = next(
            (
                position
                for position, (passage_id, text) in enumerate(ranked[: max(CUTOFFS)], 1)
                if passage_id in gold and (not answers or any(a in text.casefold() for a in answers))
            ),
            None,
        )
        if rank is not None:
            reciprocal += 1 / rank
            for cutoff in CUTOFFS:
                hits[cutoff] += rank <= cutoff
    count = max(len(questions), 1)
    return {cutoff: hits[cutoff] / count for cutoff in CUTOFFS}, reciprocal / count, latencies


def latency_summary(latencies: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    if not latencies:
        return 0.0, 0.0
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def write_corpus(dataset: EvalSet, folder: Path) -> None:
    """Write every passage as a text document (title in front matter) named by its passage id."""
    folder.mkdir(parents=True, exist_ok=True)
    for passage in dataset.passages:
        body = passage.text.lstrip("\ufeff").strip()
        title = json.dumps(passage.title, ensure_ascii=False)
        (folder / f"{passage.passage_id}.txt").write_text(f"---\ntitle: {title}\n---\n{body}\n", encoding="utf-8")


def _read(path: Path) -> EvalSet:
    if not path.is_file():
        raise AssistantError(f"evaluation file {path} does not exist")
    text = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        return _read_squad(path.name, data)
    return _read_jsonl(path, text)


def _read_squad(name: str, data: dict) -> EvalSet:
    passages, questions = [], []
    for article_number, article in enumerate(data["data"]):
        for paragraph_number, paragraph in enumerate(article.get("paragraphs", [])):
            passage_id = f"p{article_number:03d}-{paragraph_number:03d}"
            passages.append(EvalPassage(passage_id, str(article.get("title", "")).replace("_", " "), paragraph["context"]))
            for qa in paragraph.get("qas", []):
                answers = tuple(str(a["text"]) for a in qa.get("answers", []) if str(a.get("text", "")).strip())
                questions.append(EvalQuestion(str(qa["id"]), qa["question"], answers, (passage_id,)))
    if not passages:
        raise AssistantError(f"{name} has no paragraphs")
    return EvalSet(name, tuple(questions), tuple(passages))


def _read_jsonl(path: Path, text: str) -> EvalSet:
    passages: dict[str, EvalPassage] = {}
    merged: dict[str, dict] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question_id, _, passage_key = str(row["id"]).partition("#")
            context, question = row["context"], row["question"]
        except (ValueError, KeyError, TypeError) as error:
            raise AssistantError(
                f"{path.name} line {number}: neither SQuAD JSON nor KazQAD-style JSON lines ({error})"
            ) from None
        passage_id = "d-" + hashlib.sha256((passage_key or context).encode()).hexdigest()[:16]
        passages.setdefault(passage_id, EvalPassage(passage_id, str(row.get("title", "")), context))
        entry = merged.setdefault(question_id, {"question": question, "answers": [], "gold": []})
        entry["answers"].extend(a for a in _answers(row.get("answers")) if a not in entry["answers"])
        if passage_id not in entry["gold"]:
            entry["gold"].append(passage_id)
    if not passages:
        raise AssistantError(f"{path.name} holds no rows")
    questions = tuple(
        EvalQuestion(question_id, entry["question"], tuple(entry["answers"]), tuple(entry["gold"]))
        for question_id, entry in merged.items()
    )
    return EvalSet(path.name, questions, tuple(passages.values()))


def _answers(value: object) -> list[str]:
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)  # KazQAD stores a Python literal; literal_eval runs no code
        except (ValueError, SyntaxError):
            return [value] if value.strip() else []
    if isinstance(value, dict):
        value = value.get("text", [])
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(item["text"] if isinstance(item, dict) else item) for item in value if str(item).strip()]
    return []


def prepare_index(
    dataset: EvalSet,
    *,
    workspace: Path | None = None,
    extra_corpus: Path | None = None,
    settings=None,
    embedder=None,
    store: str = "",
) -> Path | str:
    """Build (or bring up to date) the index over the dataset's passages plus optional distractors.

    The corpus and index live in ``workspace`` (default: a per-dataset folder in the user cache),
    so a second run over the same passages embeds nothing: builds are incremental. With ``store``
    (a ``postgresql://`` URL, given explicitly: ``settings.store`` is not used, since this build
    replaces what the database serves) the index is built in that database instead.

    Returns:
        The index directory, or ``store``.

    Raises:
        AssistantError: the extra corpus is not a folder.
    """
    import shutil

    from assistant.build import build_index
    from assistant.checkpoint import default_cache_dir

    workspace = Path(workspace) if workspace else default_cache_dir() / "eval" / dataset.fingerprint()
    corpus = workspace / "corpus"
    write_corpus(dataset, corpus / "dataset")
    if extra_corpus is not None:
        if not Path(extra_corpus).is_dir():
            raise AssistantError(f"extra corpus {extra_corpus} is not a folder")
        shutil.copytree(extra_corpus, corpus / "extra", dirs_exist_ok=True)
    location = store or workspace / "index"
    report = build_index(corpus, location, settings=settings, embedder=embedder)
    logger.info("evaluation index: %s", report.summary())
    return location


def evaluate(
    dataset: EvalSet,
    *,
    workspace: Path | None = None,
    extra_corpus: Path | None = None,
    mode: str = "hybrid",
    settings=None,
    embedder=None,
    store: str = "",
) -> EvalReport:
    """Index the dataset's passages (plus an optional corpus of distractors) and score retrieval.

    The corpus and index live in ``workspace`` (default: a per-dataset folder in the user cache),
    so a second run over the same passages reuses the index: builds are incremental.

    Args:
        dataset: questions and passages (:func:`load_eval_set`).
        workspace: folder for the evaluation corpus (``corpus/``) and index (``index/``).
        extra_corpus: a folder of documents added as distractors.
        mode: retrieval mode: ``hybrid``, ``dense`` or ``keyword`` (see :func:`assistant.retrieve`).
        settings: chunking and model settings (``Settings.from_env()`` when omitted).
        embedder: a ready embedder (tests pass a fake one).
        store: build and search the index in this ``postgresql://`` database (see :func:`prepare_index`).

    Raises:
        AssistantError: unknown mode or unreadable extra corpus.
    """
    from assistant.config import Settings
    from assistant.model import SEARCH_MODES

    if mode not in SEARCH_MODES:
        raise AssistantError(f"unknown mode {mode!r}: use one of {', '.join(SEARCH_MODES)}")
    # Never the database ASSISTANT_STORE serves, nor its replica (ASSISTANT_STORE_READ).
    settings = (settings or Settings.from_env()).with_(store=store, store_read="")
    index_dir = prepare_index(
        dataset, workspace=workspace, extra_corpus=extra_corpus, settings=settings, embedder=embedder, store=store
    )
    return evaluate_index(dataset, index_dir, mode=mode, settings=settings, embedder=embedder)


def evaluate_index(
    dataset: EvalSet, index: Path | str, *, mode: str = "hybrid", settings=None, embedder=None
) -> EvalReport:
    """Score retrieval over an index that already holds the dataset's passages (an index folder
    or a ``postgresql://`` URL), as :func:`evaluate` does after building it: the same index in
    two stores gives comparable reports (``bench/store_bench.py``).

    Raises:
        AssistantError: unknown mode; ``IndexNotFound`` and the like when the index cannot serve.
    """
    from assistant.config import Settings
    from assistant.model import SEARCH_MODES
    from assistant.retrieval import Searcher

    if mode not in SEARCH_MODES:
        raise AssistantError(f"unknown mode {mode!r}: use one of {', '.join(SEARCH_MODES)}")
    searcher = Searcher(index, settings=settings or Settings.from_env(), embedder=embedder)

    def search(question: str) -> list[tuple[str, str]]:
        return [
            (Path(p.doc_id).stem if p.doc_id.startswith("dataset/") else "", p.text)
            for p in searcher.search(question, k=max(CUTOFFS), mode=mode)
        ]

    recall, mrr, latencies = score_rankings(dataset.questions, search)
    p50, p95 = latency_summary(latencies)
    return EvalReport(
        dataset=dataset.name,
        mode=mode,
        questions=len(dataset.questions),
        recall_at_1=recall[1],
        recall_at_5=recall[5],
        recall_at_10=recall[10],
        mrr_at_10=mrr,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
    )
