"""Answer: a few sentences quoted verbatim from retrieved passages, each with a numbered citation."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.retrieval import Passage, Searcher, searcher_for
from assistant.sentences import split_sentences

logger = logging.getLogger(__name__)

# "Not found" below these cosines (best passage, best quotable sentence), by question language.
# Calibrated with bench/answer_bench.py for multilingual-e5-small: questions whose article is
# in the corpus against questions whose article was removed (XQuAD-ru dev). Cross-language
# questions score lower against Russian text, so they get their own thresholds.
THRESHOLDS = {"ru": (0.80, 0.845), "en": (0.78, 0.76), "kk": (0.74, 0.80)}
MIN_QUOTE_CHARS = 25  # headings and list stubs ("Глава 1.", "2) и др.") are not answers
NO_ANSWER = {
    "ru": "В проиндексированных документах нет ответа на этот вопрос. Возможно, связаны эти фрагменты:",
    "kk": "Индекстелген құжаттарда бұл сұраққа жауап табылмады. Мүмкін, мына үзінділер қатысты:",
    "en": "The indexed documents do not answer this question. These passages may be related:",
}
# Words that mark a follow-up leaning on the previous question ("А что по образованию?").
_FOLLOW_UP_OPENERS = re.compile(
    r"^\s*(а|и|ну|ещё|еще|также|тоже|ал|және|енді|ше|and|also|what about|how about|same)\b", re.IGNORECASE
)
_FOLLOW_UP_ENDINGS = re.compile(r"\b(ше|ше\?)\s*[?]?\s*$", re.IGNORECASE)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Quote:
    """A sentence of the answer: ``source.passage.text[start:end] == text``."""

    text: str
    source: int
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Source:
    """A numbered source: the passage the markers ``[number]`` point to, with its quoted spans."""

    number: int
    passage: Passage
    quoted: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Answer:
    """The reply to a question.

    ``found`` is false when nothing retrieved was relevant enough: then ``text`` says so in the
    question's language, ``quotes`` and ``sources`` are empty (no markers), and ``related`` holds
    the closest passages.
    """

    question: str
    text: str
    found: bool
    lang: str
    quotes: tuple[Quote, ...] = field(default=())
    sources: tuple[Source, ...] = field(default=())
    related: tuple[Passage, ...] = field(default=())
    retrieval_query: str = ""
    confidence: float = 0.0  # cosine of the best quotable sentence with the question
    passage_score: float = 0.0  # cosine of the best retrieved passage with the question

    def to_dict(self) -> dict:
        return asdict(self)


def answer(
    question: str,
    *,
    history: Sequence[str] = (),
    filters: Mapping[str, object] | None = None,
    index_dir: str | Path | None = None,
    settings: Settings | None = None,
    searcher: Searcher | None = None,
) -> Answer:
    """Answer ``question`` with sentences quoted verbatim from the corpus, each cited.

    Args:
        question: the user's question (Russian, Kazakh, English...).
        history: earlier questions of the same conversation, oldest first; a short or elliptic
            follow-up ("А что по образованию?") is searched together with the previous one.
        filters: as for :func:`assistant.retrieve`.
        index_dir: the index directory (default from settings).
        settings: thresholds and model; ``Settings.from_env()`` when omitted.
        searcher: an open :class:`Searcher` (the web app passes its own).

    Returns:
        An :class:`Answer`; ``found`` tells an answer from a "not found" reply.

    Raises:
        InvalidQuery, IndexNotFound, IndexCorrupt, ModelMismatch: as for :func:`assistant.retrieve`.
    """
    from assistant.documents import detect_language

    from assistant.errors import InvalidQuery

    if not isinstance(question, str):
        raise InvalidQuery(f"the question must be text, got {type(question).__name__}")
    settings = settings or Settings.from_env()
    lang = detect_language(question) or "ru"
    lang = lang if lang in NO_ANSWER else "en"
    query = resolve_follow_up(question, history)
    if searcher is None:
        searcher = searcher_for(index_dir, settings)
    query_vector = searcher.embed_query(query)
    passages = searcher.search(query, k=settings.answer_passages, filters=filters, vector=query_vector)
    if not passages:
        return Answer(question, NO_ANSWER[lang], False, lang, retrieval_query=query)

    # Quotes come from the best few passages only: embedding their sentences is the cost of an answer.
    candidates = _candidates(passages[: settings.answer_quote_passages])
    if not candidates:
        return _no_answer(question, lang, passages, query, 0.0)
    sentence_vectors = _sentence_vectors(searcher, passages, candidates)
    similarity = sentence_vectors @ query_vector
    passage_scores = np.array([passages[p].similarity for p, _, _, _ in candidates], dtype=np.float32)
    scores = 0.5 * similarity + 0.5 * passage_scores
    best = int(np.argmax(scores))
    confidence = float(similarity[best])
    min_passage, min_sentence = (t + settings.answer_threshold_shift for t in THRESHOLDS.get(lang, THRESHOLDS["en"]))
    best_passage = max(p.similarity for p in passages)
    if best_passage < min_passage or confidence < min_sentence:
        return _no_answer(question, lang, passages, query, confidence)

    chosen = _choose(candidates, scores, settings)
    return _compose(question, lang, passages, candidates, scores, chosen, query, confidence)


def resolve_follow_up(question: str, history: Sequence[str]) -> str:
    """The text to search for: the question alone, or with the previous question when it is a follow-up.

    A follow-up is a question that opens with a connective ("А что…", "And in…", "Ал…") or
    has at most three words; it borrows the topic (and region) of the previous question.
    """
    previous = [turn.strip() for turn in history if turn and turn.strip()]
    if not previous:
        return question.strip()
    words = _WORD.findall(question)
    elliptic = len(words) <= 3 or _FOLLOW_UP_OPENERS.search(question) or _FOLLOW_UP_ENDINGS.search(question)
    if not elliptic:
        return question.strip()
    return f"{previous[-1]} {question.strip()}"


def _sentence_vectors(searcher: Searcher, passages: list[Passage], candidates) -> np.ndarray:
    """Vectors of the candidate sentences: stored by the build when it embedded them, else embedded now."""
    stored = {index: searcher.sentence_vectors(passages[index].chunk_id) for index in {c[0] for c in candidates}}
    found = [stored[index].get((start, end)) for index, start, end, _ in candidates]
    missing = [number for number, vector in enumerate(found) if vector is None]
    if missing:
        fresh = searcher.embedder.embed_passages([candidates[number][3] for number in missing])
        for number, vector in zip(missing, fresh):
            found[number] = vector
    return np.stack(found).astype(np.float32)


def _candidates(passages: list[Passage]) -> list[tuple[int, int, int, str]]:
    """(passage index, start, end, sentence) for every quotable sentence of the passages."""
    found = []
    for index, passage in enumerate(passages):
        for start, end in split_sentences(passage.text, passage.lang):
            sentence = passage.text[start:end]
            words = len(_WORD.findall(sentence))
            # A line without closing punctuation and few words is a heading, not a statement.
            statement = sentence.rstrip()[-1:] in ".!?…»\"')" or words >= 8
            if len(sentence) >= MIN_QUOTE_CHARS and words >= 4 and statement:
                found.append((index, start, end, sentence))
    return found


def _choose(candidates, scores: np.ndarray, settings: Settings) -> list[int]:
    """Best sentence, then others nearly as good that say something new (at most ``answer_max_quotes``)."""
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    chosen = [order[0]]
    for index in order[1:]:
        if len(chosen) >= settings.answer_max_quotes or scores[index] < scores[order[0]] - settings.answer_quote_margin:
            break
        words = set(_WORD.findall(candidates[index][3].casefold()))
        if all(_overlap(words, set(_WORD.findall(candidates[c][3].casefold()))) < 0.5 for c in chosen):
            chosen.append(index)
    return chosen


def _compose(question, lang, passages, candidates, scores, chosen, query, confidence) -> Answer:
    numbers: dict[int, int] = {}
    quotes = []
    for index in chosen:
        passage_index, start, end, sentence = candidates[index]
        number = numbers.setdefault(passage_index, len(numbers) + 1)
        quotes.append(Quote(sentence, number, start, end, float(scores[index])))
    sources = tuple(
        Source(
            number=number,
            passage=passages[passage_index],
            quoted=tuple(sorted((q.start, q.end) for q in quotes if q.source == number)),
        )
        for passage_index, number in sorted(numbers.items(), key=lambda item: item[1])
    )
    text = " ".join(f"{quote.text} [{quote.source}]" for quote in quotes)
    return Answer(
        question,
        text,
        True,
        lang,
        tuple(quotes),
        sources,
        retrieval_query=query,
        confidence=confidence,
        passage_score=max(p.similarity for p in passages),
    )


def _no_answer(question: str, lang: str, passages: list[Passage], query: str, confidence: float) -> Answer:
    return Answer(
        question,
        NO_ANSWER[lang],
        False,
        lang,
        related=tuple(passages[:3]),
        retrieval_query=query,
        confidence=confidence,
        passage_score=max(p.similarity for p in passages),
    )


def _overlap(first: set[str], second: set[str]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / min(len(first), len(second))
