"""Answer: a few sentences quoted verbatim from retrieved passages, each with a numbered citation.

Optionally (``answer_mode="generative"``) a language model writes the answer from the same
passages; its citations are checked (:mod:`assistant.generation`) and the extractive answer
stands in whenever the model fails or writes nothing usable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.config import ANSWER_MODES, Settings
from assistant.errors import InvalidQuery
from assistant.generation import (
    SUPPORTED,
    UNCITED,
    CheckedSentence,
    build_messages,
    check_generated,
    is_refusal,
    rewrite_follow_up,
)
from assistant.retrieval import Passage, Searcher, searcher_for
from assistant.sentences import split_sentences

if TYPE_CHECKING:
    from assistant.llm import ChatClient

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
# How a generated sentence that its sources do not back is marked, in the answer's language.
FLAGS = {
    "unsupported": {
        "ru": "не подтверждено источником",
        "kk": "дереккөзбен расталмаған",
        "en": "not supported by the source",
    },
    "uncited": {"ru": "без ссылки на источник", "kk": "дереккөзге сілтемесіз", "en": "no source cited"},
}
# Why a generative request got the extractive answer (``Answer.fallback``), beyond GenerationFailed reasons.
FALLBACK_NO_LLM = "no_llm"  # generative asked for, no language model configured
FALLBACK_MODEL_NO_ANSWER = "model_no_answer"  # the model said the passages hold no answer
FALLBACK_UNSUPPORTED = "unsupported"  # no generated sentence passed the check
FALLBACK_WRONG_LANGUAGE = "wrong_language"  # the model answered in another language than the question's
# Words that mark a follow-up leaning on the previous question ("А что по образованию?").
_FOLLOW_UP_OPENERS = re.compile(
    r"^\s*(а|и|ну|ещё|еще|также|тоже|ал|және|енді|ше|and|also|what about|how about|same)\b", re.IGNORECASE
)
_FOLLOW_UP_ENDINGS = re.compile(r"\b(ше|ше\?)\s*[?]?\s*$", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_MARKERS = re.compile(r"\[[^\]]*\]")


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
    # Generative answers (see the module docstring); an extractive answer keeps the defaults.
    mode: str = "extractive"  # who wrote ``text``: "extractive" (quotes) or "generative" (the model)
    sentences: tuple[CheckedSentence, ...] = field(default=())  # the model's sentences, checked
    generated_text: str = ""  # the model's raw reply (untrusted text; also kept after a fallback)
    fallback: str = ""  # why the extractive answer stands in for a generative one ("" when it does not)

    @property
    def flagged(self) -> tuple[CheckedSentence, ...]:
        """Generated sentences shown with a warning: not backed by their sources, or citing none."""
        return tuple(sentence for sentence in self.sentences if sentence.status != SUPPORTED)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Draft:
    """A step of a streamed answer: the model's text so far; the last step carries the checked ``answer``."""

    text: str
    answer: Answer | None = None


def answer(
    question: str,
    *,
    history: Sequence[str] = (),
    filters: Mapping[str, object] | None = None,
    index_dir: str | Path | None = None,
    settings: Settings | None = None,
    searcher: Searcher | None = None,
    mode: str | None = None,
    client: ChatClient | None = None,
) -> Answer:
    """Answer ``question`` with sentences quoted verbatim from the corpus, each cited.

    Args:
        question: the user's question (Russian, Kazakh, English...).
        history: earlier questions of the same conversation, oldest first; a short or elliptic
            follow-up ("А что по образованию?") is searched together with the previous one (in
            generative mode the model rewrites it into a standalone question).
        filters: as for :func:`assistant.retrieve`.
        index_dir: the index directory (default from settings).
        settings: thresholds, model and language model; ``Settings.from_env()`` when omitted.
        searcher: an open :class:`Searcher` (the web app passes its own).
        mode: ``extractive`` or ``generative`` (default ``settings.answer_mode``).
        client: the language model client (default: one for ``settings.llm_base_url``).

    Returns:
        An :class:`Answer`; ``found`` tells an answer from a "not found" reply, ``mode`` who
        wrote it and ``fallback`` why a generative request got the extractive answer.

    Raises:
        InvalidQuery, IndexNotFound, IndexCorrupt, ModelMismatch: as for :func:`assistant.retrieve`.
        A failing language model never raises: the extractive answer comes back instead.
    """
    final = None
    for draft in answer_stream(
        question, history=history, filters=filters, index_dir=index_dir, settings=settings, searcher=searcher,
        mode=mode, client=client,
    ):  # fmt: skip
        final = draft.answer or final
    if final is None:  # answer_stream always ends with an answer
        raise RuntimeError("answer_stream ended without an answer")
    return final


def answer_stream(
    question: str,
    *,
    history: Sequence[str] = (),
    filters: Mapping[str, object] | None = None,
    index_dir: str | Path | None = None,
    settings: Settings | None = None,
    searcher: Searcher | None = None,
    mode: str | None = None,
    client: ChatClient | None = None,
) -> Iterator[Draft]:
    """Like :func:`answer`, step by step: the generated text as it streams in, then the checked answer.

    The last :class:`Draft` has ``answer`` set; earlier ones (generative mode only) carry the
    model's unchecked text so far, to show progress.
    """
    from assistant.documents import detect_language
    from assistant.llm import ChatClient, GenerationFailed

    settings = settings or Settings.from_env()
    mode = mode or settings.answer_mode
    if mode not in ANSWER_MODES:
        raise InvalidQuery(f"answer mode must be one of {', '.join(ANSWER_MODES)}, got {mode!r}")
    if not isinstance(question, str):
        raise InvalidQuery(f"the question must be text, got {type(question).__name__}")
    lang = detect_language(question) or "ru"
    lang = lang if lang in NO_ANSWER else "en"
    generative = mode == "generative" and (client is not None or settings.llm_configured)
    if generative and client is None:
        client = ChatClient.from_settings(settings)
    query = resolve_follow_up(question, history)
    rewritten = None
    if generative and any(turn.strip() for turn in history):
        rewritten = _rewritten(question, history, client, settings)
        query = rewritten or query
    if searcher is None:
        searcher = searcher_for(index_dir, settings)
    extractive, passages = _extractive(question, lang, query, filters, searcher, settings)
    if mode == "generative" and not generative:
        yield Draft("", replace(extractive, fallback=FALLBACK_NO_LLM))
        return
    if not generative or not extractive.found:
        # Below the calibrated thresholds the documents do not answer: the model is not asked.
        yield Draft("", extractive)
        return

    numbered = dict(enumerate(passages[: settings.llm_passages], 1))
    # The model answers the standalone question; a follow-up it could not rewrite comes with the
    # question it follows when the extractive rule searched them together.
    earlier = "" if rewritten or query == question.strip() else next(t for t in reversed(history) if t.strip())
    messages = build_messages(rewritten or question, list(numbered.values()), lang, earlier=earlier)
    text = ""
    try:
        for piece in client.stream(messages, max_tokens=settings.llm_max_tokens):
            text += piece
            yield Draft(text)
    except GenerationFailed as failure:
        logger.warning("generative answer failed, showing the extractive one: %s", failure)
        yield Draft(text, replace(extractive, fallback=failure.reason, generated_text=text))
        return
    except Exception:  # the model server is outside our control: never let it break an answer
        logger.exception("generative answer failed unexpectedly, showing the extractive one")
        yield Draft(text, replace(extractive, fallback="error", generated_text=text))
        return
    yield Draft(text, _generated(question, lang, text, numbered, searcher, extractive))


def _rewritten(question: str, history: Sequence[str], client: ChatClient, settings: Settings) -> str | None:
    """The model's standalone version of a follow-up, or ``None`` (then the extractive rule decides)."""
    from assistant.llm import GenerationFailed

    try:
        rewritten = rewrite_follow_up(question, history, client, timeout=settings.llm_rewrite_timeout)
    except GenerationFailed as failure:
        logger.info("follow-up rewrite failed, using the previous question instead: %s", failure)
        return None
    logger.info("follow-up %r rewritten as %r", question, rewritten)
    return rewritten


def _generated(
    question: str, lang: str, text: str, numbered: dict[int, Passage], searcher: Searcher, extractive: Answer
) -> Answer:
    """The checked generative answer, or the extractive one with the reason when nothing usable came back."""
    from assistant.documents import detect_language
    from assistant.support import SupportChecker

    if not text.strip():
        return replace(extractive, fallback="empty", generated_text=text)
    if is_refusal(text):
        return replace(extractive, fallback=FALLBACK_MODEL_NO_ANSWER, generated_text=text)
    written_in = detect_language(_MARKERS.sub(" ", text))
    if written_in and written_in != lang:
        # Told which language to use and ignoring it, a small model also tends to ignore the rest.
        return replace(extractive, fallback=FALLBACK_WRONG_LANGUAGE, generated_text=text)
    checker = SupportChecker(searcher.embedder.embed_passages, searcher.sentence_vectors)
    checked = check_generated(text, numbered, lang, checker)
    if not any(sentence.status == SUPPORTED for sentence in checked):
        return replace(extractive, fallback=FALLBACK_UNSUPPORTED, generated_text=text, sentences=tuple(checked))
    # Sources are numbered 1, 2, … in order of first citation, and markers follow.
    renumber: dict[int, int] = {}
    for sentence in checked:
        for number in sentence.sources:
            renumber.setdefault(number, len(renumber) + 1)
    sentences = tuple(
        replace(
            sentence,
            sources=tuple(renumber[n] for n in sentence.sources),
            evidence=(renumber[sentence.evidence[0]], *sentence.evidence[1:]) if sentence.evidence else None,
        )
        for sentence in checked
    )
    sources = tuple(
        Source(
            number=new,
            passage=numbered[old],
            quoted=_evidence_spans(sentences, new),
        )
        for old, new in sorted(renumber.items(), key=lambda item: item[1])
    )
    return Answer(
        question,
        generated_answer_text(sentences, lang),
        True,
        lang,
        sources=sources,
        retrieval_query=extractive.retrieval_query,
        confidence=extractive.confidence,
        passage_score=extractive.passage_score,
        mode="generative",
        sentences=sentences,
        generated_text=text,
    )


def _evidence_spans(sentences: Sequence[CheckedSentence], number: int) -> tuple[tuple[int, int], ...]:
    """The passage sentences of source ``number`` that back supported generated sentences."""
    spans = {
        (sentence.evidence[1], sentence.evidence[2])
        for sentence in sentences
        if sentence.status == SUPPORTED and sentence.evidence and sentence.evidence[0] == number
    }
    return tuple(sorted(spans))


def generated_answer_text(sentences: Sequence[CheckedSentence], lang: str) -> str:
    """Plain text of a checked answer: each sentence with its markers, flagged ones with a note in brackets."""
    parts = []
    for sentence in sentences:
        markers = "".join(f"[{number}]" for number in sentence.sources)
        part = f"{sentence.text} {markers}".rstrip()
        if sentence.status != SUPPORTED:
            flag = FLAGS["uncited" if sentence.status == UNCITED else "unsupported"]
            part += f" ({flag.get(lang, flag['en'])})"
        parts.append(part)
    return " ".join(parts)


def _extractive(
    question: str, lang: str, query: str, filters, searcher: Searcher, settings: Settings
) -> tuple[Answer, list[Passage]]:
    """The extractive answer and the passages retrieved for it."""
    query_vector = searcher.embed_query(query)
    passages = searcher.search(query, k=settings.answer_passages, filters=filters, vector=query_vector)
    if not passages:
        return Answer(question, NO_ANSWER[lang], False, lang, retrieval_query=query), passages

    # Quotes come from the best few passages only: embedding their sentences is the cost of an answer.
    candidates = _candidates(passages[: settings.answer_quote_passages])
    if not candidates:
        return _no_answer(question, lang, passages, query, 0.0), passages
    sentence_vectors = _sentence_vectors(searcher, passages, candidates)
    similarity = sentence_vectors @ query_vector
    passage_scores = np.array([passages[p].similarity for p, _, _, _ in candidates], dtype=np.float32)
    scores = 0.5 * similarity + 0.5 * passage_scores
    best = int(np.argmax(scores))
    confidence = float(similarity[best])
    min_passage, min_sentence = (t + settings.answer_threshold_shift for t in THRESHOLDS.get(lang, THRESHOLDS["en"]))
    best_passage = max(p.similarity for p in passages)
    if best_passage < min_passage or confidence < min_sentence:
        return _no_answer(question, lang, passages, query, confidence), passages

    chosen = _choose(candidates, scores, settings)
    return _compose(question, lang, passages, candidates, scores, chosen, query, confidence), passages


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
