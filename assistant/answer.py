"""Answer: a few sentences quoted verbatim from retrieved passages, each with a numbered citation.

Optionally (``answer_mode="generative"``) a language model writes the answer from the same
passages: :mod:`assistant.generation` asks it and checks its citations, and the extractive answer
stands in whenever the model fails or writes nothing usable.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.answerability import AnswerabilityModel, default_model
from assistant.config import Settings
from assistant.errors import InvalidQuery
from assistant.evidence import (
    DATE,
    FEATURES,
    NAMES_READABLE_IN,
    NUMBER,
    PLACE,
    REQUIRED_TYPES,
    Candidate,
    QuestionProfile,
    announces_only,
    gives_instruction,
    gives_reason,
    holds_counted,
    holds_stated,
    is_dateline,
    names_akim,
    names_another_title,
    names_firm,
    names_headed,
    names_person,
    names_the_address,
    names_title,
    of_dated_report,
    on_stage_asked,
    other_year,
    profile_question,
    quotable_sentences,
    sentence_features,
    sentence_stems,
    sentence_vectors,
    states_heading,
    states_money,
)
from assistant.generation import (
    SUPPORTED,
    CheckedSentence,
    GeneratedAnswer,
    generate_answer,
    standalone_question,
)
from assistant.model import ANSWER_MODES, NOT_FOUND_REASONS, plain
from assistant.query import clean_query, recent_history
from assistant.regions import canonical_region, region_label
from assistant.retrieval import Passage, Searcher, searcher_for
from assistant.support import SupportChecker

if TYPE_CHECKING:
    from assistant.llm import ChatClient

logger = logging.getLogger(__name__)

NO_ANSWER = {
    "ru": "В проиндексированных документах нет ответа на этот вопрос. Возможно, связаны эти фрагменты:",
    "kk": "Индекстелген құжаттарда бұл сұраққа жауап табылмады. Мүмкін, мына үзінділер қатысты:",
    "en": "The indexed documents do not answer this question. These passages may be related:",
}
# Why an answer is "not found" (``Answer.reason``), and what the reply says ({region}: its name).
# Nothing retrieved answers the question; the question names a region of which no document is
# indexed; the region's documents are indexed but do not say it.
REASON_NOT_FOUND, REASON_NO_DOCUMENTS, REASON_REGION_SILENT = NOT_FOUND_REASONS
NOT_FOUND_TEXTS = {
    REASON_NOT_FOUND: NO_ANSWER,
    REASON_NO_DOCUMENTS: {
        "ru": "В проиндексированных документах нет материалов по региону «{region}», поэтому ответить нельзя. "
        "Возможно, связаны эти фрагменты о других регионах:",
        "kk": "Индекстелген құжаттарда «{region}» өңірі бойынша материал жоқ, сондықтан жауап беру мүмкін емес. "
        "Мүмкін, басқа өңірлер туралы мына үзінділер қатысты:",
        "en": "The indexed documents include nothing on {region}, so this cannot be answered. "
        "These passages about other regions may be related:",
    },
    REASON_REGION_SILENT: {
        "ru": "В документах по региону «{region}» ответа на этот вопрос нет. Возможно, связаны эти фрагменты:",
        "kk": "«{region}» өңірінің құжаттарында бұл сұраққа жауап жоқ. Мүмкін, мына үзінділер қатысты:",
        "en": "The documents on {region} do not answer this question. These passages may be related:",
    },
}
# Why a generative request got the extractive answer (``Answer.fallback``), beyond the reasons of
# assistant.generation (``GeneratedAnswer.fallback``).
FALLBACK_NO_LLM = "no_llm"  # generative asked for, no language model configured
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

    ``found`` is false when no retrieved sentence answers the question: then ``text`` says so in
    the question's language (and ``reason`` why: see :data:`NOT_FOUND_TEXTS`), ``quotes`` and
    ``sources`` are empty (no markers), and ``related`` holds the closest passages.
    """

    question: str
    text: str
    found: bool
    lang: str
    quotes: tuple[Quote, ...] = field(default=())
    sources: tuple[Source, ...] = field(default=())
    related: tuple[Passage, ...] = field(default=())
    retrieval_query: str = ""
    confidence: float = 0.0  # probability that the best quotable sentence answers (assistant.answerability)
    passage_score: float = 0.0  # cosine of the best retrieved passage with the question
    reason: str = ""  # why not found: REASON_NOT_FOUND, REASON_NO_DOCUMENTS or REASON_REGION_SILENT ("" when found)
    region: str = ""  # the region a "not found" reply is about (canonical name; "" for none)
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
        return plain(self)


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
            generative mode the model rewrites it into a standalone question). Only the last
            ``settings.max_history_turns`` count, ``settings.max_history_chars`` characters in all.
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
        InvalidQuery, IndexNotFound, IndexCorrupt, ModelMismatch: as for :func:`assistant.retrieve`
            (a question over ``settings.max_question_chars`` is refused, the language model not asked).
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
    from assistant.llm import ChatClient

    settings = settings or Settings.from_env()
    mode = mode or settings.answer_mode
    if mode not in ANSWER_MODES:
        raise InvalidQuery(f"answer mode must be one of {', '.join(ANSWER_MODES)}, got {mode!r}")
    clean_query(question, max_chars=settings.max_question_chars)  # refused before any model runs
    history = recent_history(history, turns=settings.max_history_turns, chars=settings.max_history_chars)
    lang = detect_language(question) or "ru"
    lang = lang if lang in NO_ANSWER else "en"
    generative = mode == "generative" and (client is not None or settings.llm_configured)
    if generative and client is None:
        client = ChatClient.from_settings(settings)
    # llm_timeout bounds the model's part of an answer in all: the rewrite and the reply share it.
    deadline = time.monotonic() + settings.llm_timeout
    rewrite_timeout = min(settings.llm_rewrite_timeout, settings.llm_timeout)
    rewritten = standalone_question(question, history, client, settings, timeout=rewrite_timeout) if generative else None
    query = rewritten or resolve_follow_up(question, history, max_chars=settings.max_question_chars)
    if searcher is None:
        searcher = searcher_for(index_dir, settings)
    extractive, weighing = _extractive(question, lang, query, filters, searcher, settings)
    if mode == "generative" and not generative:
        yield Draft("", replace(extractive, fallback=FALLBACK_NO_LLM))
        return
    if not generative or not extractive.found:
        # Below the calibrated thresholds the documents do not answer: the model is not asked.
        yield Draft("", extractive)
        return

    # The model answers the standalone question; a follow-up it could not rewrite comes with the
    # question it follows when the extractive rule searched them together.
    earlier = "" if rewritten or query == question.strip() else next(t for t in reversed(history) if t.strip())
    steps = generate_answer(
        rewritten or question, _most_probable(weighing, settings.llm_passages), lang, client=client, settings=settings,
        checker=SupportChecker(searcher.embedder.embed_passages, searcher.sentence_vectors),
        regions=weighing.profile.regions, earlier=earlier, timeout=deadline - time.monotonic(),
    )  # fmt: skip
    for step in steps:
        yield Draft(step.text, None if step.answer is None else _with_generated(extractive, step.answer))


def _most_probable(weighing: Weighing, count: int) -> list[Passage]:
    """The ``count`` quotable passages whose best sentence most probably answers (what the model is given)."""
    best: dict[int, float] = {}
    for candidate, score in zip(weighing.candidates, weighing.scores):
        best[candidate.passage] = max(best.get(candidate.passage, -np.inf), float(score))
    order = sorted(range(len(weighing.quotable)), key=lambda index: best.get(index, -np.inf), reverse=True)
    return [weighing.quotable[index] for index in order[:count]]


def _with_generated(extractive: Answer, generated: GeneratedAnswer) -> Answer:
    """The checked generative answer, or the extractive one with the reason when nothing usable came back."""
    if generated.fallback:
        generated_text, sentences = generated.generated_text, generated.sentences
        return replace(extractive, fallback=generated.fallback, generated_text=generated_text, sentences=sentences)
    return Answer(
        extractive.question,
        generated.text,
        True,
        extractive.lang,
        sources=tuple(Source(number, passage, quoted) for number, (passage, quoted) in enumerate(generated.sources, 1)),
        retrieval_query=extractive.retrieval_query,
        confidence=extractive.confidence,
        passage_score=extractive.passage_score,
        mode="generative",
        sentences=generated.sentences,
        generated_text=generated.generated_text,
    )


@dataclass(frozen=True, eq=False)
class Weighing:
    """What an extractive answer is decided from: the passages, their sentences and the evidence.

    ``candidates[i]`` is a sentence of ``quotable[candidates[i].passage]``, ``features[i]`` its
    row of :data:`assistant.evidence.FEATURES` and ``scores[i]`` its ranking score, ``-inf``
    where the answer may not quote it: a sentence of another region's document than the one the
    question names, one without a number, a date or an hour when the question asks for one
    (:data:`assistant.evidence.REQUIRED_TYPES`), one of Russian or Kazakh text without a quoted or
    Latin-script name when it asks the name of a project or a company (``QuestionProfile.title_asked``), one
    without a firm when it asks which firm (:func:`assistant.evidence.names_firm`), one without a
    person's name, or not naming what is headed, when it asks who heads something
    (``QuestionProfile.leader``, :func:`assistant.evidence.names_headed`), one not naming the akim
    asked about when it asks who the akim of a place is (:func:`assistant.evidence.names_akim`), one that gives no
    instruction when it asks what was instructed (``QuestionProfile.instruction``), one that gives
    no reason when it asks why (``QuestionProfile.reason``), one offering no person or body when it
    asks who chaired a meeting (``QuestionProfile.chair``), one that states
    only other years than those the question names (:func:`assistant.evidence.other_year`), one
    without an amount of money when it asks for money (``QuestionProfile.money``), one without
    the counted thing when it asks how many (:func:`assistant.evidence.holds_counted`), one that
    only announces a plan when it asks what is already done
    (:func:`assistant.evidence.announces_only`), one about another stage of a project than the one
    asked (:func:`assistant.evidence.on_stage_asked`), one that quotes another title than the one whose
    date, number or head the question asks (:func:`assistant.evidence.names_another_title`), one not
    saying who heads when it asks who heads (:func:`assistant.evidence.states_heading`), a dateline
    when it asks neither when nor where (:func:`assistant.evidence.is_dateline`), one of a region's
    report of another day than the one the question names (:func:`assistant.evidence.of_dated_report`),
    or one of a document that does not name the title the question quotes (see :func:`_naming_titles`).
    ``best`` is the top-ranked candidate that may be quoted and ``probability`` the probability that
    it answers the question. That probability reads its lead over ``rivals``: every sentence about what the question names
    (its region, its title), whether or not it holds the asked fact. When the sentence closest to
    the question lacks the fact ("Smart Astana объединит городские службы", asked when the platform
    starts), the one that has a date is behind it, not alone: the fact is likely not there.
    """

    profile: QuestionProfile
    query: str
    passages: tuple[Passage, ...]  # retrieved for the question (and for the region it names)
    quotable: tuple[Passage, ...]  # the passages whose sentences may be quoted
    candidates: tuple[Candidate, ...]
    features: np.ndarray
    products: np.ndarray  # question vector ⊙ each candidate's vector (what the vector weights read)
    scores: np.ndarray
    rivals: np.ndarray  # ranking scores of the candidates in scope (region, title), -inf outside
    best: int | None
    probability: float
    regions_without_documents: tuple[str, ...]  # named by the question, with no indexed document
    regions_with_documents: tuple[str, ...]  # named by the question, with indexed documents


def weigh(
    question: str,
    *,
    query: str | None = None,
    history: Sequence[str] = (),
    filters: Mapping[str, object] | None = None,
    searcher: Searcher,
    settings: Settings,
    lang: str | None = None,
    model: AnswerabilityModel | None = None,
) -> Weighing:
    """Retrieve passages for ``question`` and weigh every quotable sentence of the best ones.

    When the question names a region that has documents, that region's best passages are
    retrieved too (look-alike reports of other regions must not crowd them out), and sentences
    of documents about another region may not be quoted.

    Args:
        question, history, filters: as for :func:`answer`.
        query: the text to search for (default: the question, with the previous one for a
            follow-up: :func:`resolve_follow_up`).
        searcher: the open index.
        settings: how many passages to retrieve and to quote from.
        lang: the question's language (detected when omitted).
        model: the answerability model (default: the shipped one).
    """
    model = model or default_model()
    if model.vector_weights and not model.uses_vectors(searcher.embedder.identity):
        _warn_other_model(searcher.embedder.identity, model.embedder)
    if query is None:
        history = recent_history(history, turns=settings.max_history_turns, chars=settings.max_history_chars)
        query = resolve_follow_up(question, history, max_chars=settings.max_question_chars)
    # Only what is searched counts.
    profile = profile_question(clean_query(question, max_chars=settings.max_question_chars), lang or "", context=query)
    vector = searcher.embed_query(query)
    passages = searcher.search(query, k=settings.answer_passages, filters=filters, vector=vector)
    indexed = searcher.document_regions()
    with_documents = tuple(region for region in profile.regions if region in indexed)
    without_documents = tuple(region for region in profile.regions if region not in indexed)
    regional: list[Passage] = []
    if with_documents and not (filters or {}).get("region"):
        wanted = {**(filters or {}), "region": list(with_documents)}
        regional = searcher.search(query, k=settings.answer_quote_passages, filters=wanted, vector=vector)
    quotable = list(passages[: settings.answer_quote_passages])
    seen = {passage.chunk_id for passage in quotable}
    quotable += [passage for passage in regional if passage.chunk_id not in seen]
    seen = {passage.chunk_id for passage in passages}
    passages = [*passages, *(passage for passage in regional if passage.chunk_id not in seen)]
    candidates = quotable_sentences(quotable)
    features = np.zeros((0, len(FEATURES)), dtype=np.float32)
    products = np.zeros((0, len(vector)), dtype=np.float32)
    scores = rivals = np.zeros(0, dtype=np.float32)
    best, probability = None, 0.0
    if candidates:
        vectors = sentence_vectors(searcher, quotable, candidates)
        stems = list(sentence_stems(quotable, candidates, address=names_the_address(profile.text)))
        features = sentence_features(profile, quotable, candidates, vectors @ vector, stems)
        products = vectors * vector
        raw = model.scores(features, products, searcher.embedder.identity)
        in_scope, allowed = _may_answer(profile, passages, quotable, candidates, features, stems)
        scores = np.where(allowed, raw, -np.inf).astype(np.float32)
        rivals = np.where(in_scope, raw, -np.inf).astype(np.float32)
        if np.isfinite(scores).any():
            best = int(np.argmax(scores))
            probability = model.probability(features[best], rivals, best)
    return Weighing(
        profile, query, tuple(passages), tuple(quotable), tuple(candidates), features, products, scores, rivals, best,
        probability, without_documents, with_documents,
    )  # fmt: skip


def _may_answer(
    profile: QuestionProfile,
    passages: Sequence[Passage],
    quotable: Sequence[Passage],
    candidates,
    features: np.ndarray,
    stems: Sequence[set[str]],
) -> tuple[np.ndarray, np.ndarray]:
    """Which candidates are about what the question names (its region, its quoted title), and which
    of those the answer may quote first (see :class:`Weighing`); ``stems``: each candidate's
    (:func:`assistant.evidence.sentence_stems`)."""
    in_scope = np.ones(len(candidates), dtype=bool)
    if profile.regions:
        in_scope &= ~((features[:, _MISMATCH] >= 1) & (features[:, _MATCH] <= 0))
    if profile.titles:
        # "Сколько камер подключат к «Алтай Smart Region»?": not another project's cameras.
        in_scope &= _naming_titles(profile, passages, quotable, candidates)
    if profile.dated:
        # "Кто председательствовал на совещании в Жамбылской области 10 декабря?": of the region's
        # September and December reports, the December one.
        reports = [(quotable[c.passage].citation.region, quotable[c.passage].citation.date) for c in candidates]
        in_scope &= of_dated_report(profile.dated, reports)
    allowed = in_scope.copy()
    if profile.answer_type in REQUIRED_TYPES or profile.chair:
        # "Сколько…?", "When…?": a sentence without a number or a date does not answer it; "Кто провёл
        # совещание 1 октября?": one naming nobody ("1 октября состоялось совещание") does not either.
        allowed &= features[:, _OFFERED] > 0
    if profile.title_asked:
        # "Какой оператор запустит 5G?": "операторы связи запустят" names none.
        readable = np.array([quotable[c.passage].lang in NAMES_READABLE_IN for c in candidates], dtype=bool)
        allowed &= (features[:, _OFFERED] > 0) | ~readable
    if profile.answer_type not in (DATE, PLACE):
        # "astana it specialists trained 2025": not "Астана, 12 сентября 2025 года."
        allowed &= ~_each(candidates, is_dateline)
    # "How many villages were connected in 2025?": not the sentence about 2026.
    allowed &= ~np.array(
        [other_year(profile, c.text, quotable[c.passage].citation.date) for c in candidates], dtype=bool
    )
    if profile.leader:
        # "Кто руководит управлением цифровизации?": a name, not "руководители управлений приняли участие".
        allowed &= _each(candidates, names_person)
        # … of what the question names: not the head of education for "who heads the IT academy".
        allowed &= names_headed(profile, candidates, stems)
        # … as its head: not its chief engineer for "Who is the director of Karaganda Smart Systems?".
        allowed &= _each(candidates, states_heading)
    if profile.akim is not None:
        # "Кто аким Талдыкоргана?": not the region's akim, nor "заместителя акима области".
        allowed &= _each(candidates, lambda text: names_akim(text, profile.akim))
    if profile.firm:
        # "Қай компания орнатады?": not «Smart Qonaev» жобасы, nor "mobile operators" in general.
        allowed &= np.array(
            [names_firm(c.text, quotable[c.passage].lang, profile.text) for c in candidates], dtype=bool
        )
    if profile.instruction:
        # "Что поручено руководителю управления образования?": not the list of participants naming him.
        allowed &= _each(candidates, gives_instruction)
    if profile.reason:
        # "Почему выбрали спутниковую связь?": not "26 сёл подключат с использованием спутниковой связи".
        allowed &= _each(candidates, gives_reason)
    if profile.money:
        # "Какой бюджет…?": "три направления" holds a number, not an amount of money.
        allowed &= _each(candidates, states_money)
    if profile.counted:
        # "Сколько камер установят?": "64 базовые станции" is a number of something else.
        allowed &= holds_counted(profile, quotable, candidates, stems)
    if profile.titles and (profile.answer_type in (NUMBER, DATE) or profile.leader):
        # "Когда заработает платформа Digital Akimat?": not "заработает платформа «Ветеринария онлайн»";
        # "«Шығыс Телеком» директоры кім?": not the director of «Шығыс IT Academy».
        allowed &= ~_each(candidates, lambda text: names_another_title(profile, text))
    if profile.done:
        # "Сколько станций 5G уже работает?": not "операторы установят 85 станций до 1 июля".
        allowed &= ~_each(candidates, announces_only)
    if profile.answer_type in (NUMBER, DATE):
        # "қалған 31 ауыл қашан қосылады?": the sentence with the 31 villages, where one has them
        # (not for a name: "ИИ-ассистент службы 109" is called something the sentence need not number).
        allowed &= holds_stated(profile, candidates, in_scope)
    if profile.stages:
        # "Какую площадь охватит второй этап?": not the first stage's 45 тысяч гектаров.
        allowed &= on_stage_asked(profile, candidates, in_scope)
    return in_scope, allowed


def _each(candidates, test: Callable[[str], bool]) -> np.ndarray:
    """``test`` of each candidate's text, as a boolean array."""
    return np.array([test(candidate.text) for candidate in candidates], dtype=bool)


def _naming_titles(profile: QuestionProfile, passages: Sequence[Passage], quotable: Sequence[Passage], candidates) -> np.ndarray:
    """Which candidates may answer a question that quotes a title («Smart Aqtau», "Цифровой порт").

    Sentences of a document whose retrieved passages hold every title the question quotes (name
    keys, so across scripts). When no document holds them, every candidate stays: a title may be
    translated ("Digital Port" for «Цифровой порт») or quoted from memory ("шлемов-аквариумов"
    for "шлем-аквариум"), and refusing those cost XQuAD questions their answers.
    """
    texts: dict[str, list[str]] = {}
    for passage in passages:
        texts.setdefault(passage.doc_id, []).append(f"{passage.title}\n{passage.section}\n{passage.text}")
    naming = {doc_id for doc_id, parts in texts.items() if all(names_title("\n".join(parts), title) for title in profile.titles)}
    return np.array([not naming or quotable[candidate.passage].doc_id in naming for candidate in candidates])


_MATCH, _MISMATCH = FEATURES.index("region_match"), FEATURES.index("region_mismatch")
_OFFERED = FEATURES.index("type_offered")


@functools.lru_cache(maxsize=8)
def _warn_other_model(used: str, fitted: str) -> None:
    logger.warning(
        "the answerability model was fitted for %s, not %s: its vector weights are not used and its "
        "thresholds may not fit; refit it with `python bench/answerability_fit.py --write`",
        fitted,
        used,
    )


def _extractive(
    question: str, lang: str, query: str, filters, searcher: Searcher, settings: Settings
) -> tuple[Answer, Weighing]:
    """The extractive answer and what it was decided from (searched as ``query``)."""
    model = default_model()
    weighing = weigh(question, query=query, filters=filters, searcher=searcher, settings=settings, lang=lang)
    if weighing.best is None or weighing.probability < model.threshold + settings.answer_threshold_shift:
        return _no_answer(question, lang, weighing), weighing
    chosen = _choose(weighing, model, settings)
    return _compose(question, lang, weighing, chosen), weighing


def resolve_follow_up(question: str, history: Sequence[str], *, max_chars: int | None = None) -> str:
    """The text to search for: the question alone, or with the previous question when it is a follow-up.

    A follow-up is a question that opens with a connective ("А что…", "And in…", "Ал…") or
    has at most three words; it borrows the topic (and region) of the previous question, cut so
    that the whole holds at most ``max_chars`` characters (the question itself is never cut).
    """
    previous = [turn.strip() for turn in history if turn and turn.strip()]
    if not previous:
        return question.strip()
    words = _WORD.findall(question)
    elliptic = len(words) <= 3 or _FOLLOW_UP_OPENERS.search(question) or _FOLLOW_UP_ENDINGS.search(question)
    if not elliptic:
        return question.strip()
    room = len(previous[-1]) if max_chars is None else max_chars - len(question.strip()) - 1
    return f"{previous[-1][:room]} {question.strip()}" if room > 0 else question.strip()


def _choose(weighing: Weighing, model: AnswerabilityModel, settings: Settings) -> list[int]:
    """The best sentence, then others ranked nearly as high that say something new (at most ``answer_max_quotes``)."""
    scores = weighing.scores
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    chosen = [order[0]]
    floor = scores[order[0]] - model.quote_margin
    for index in order[1:]:
        if len(chosen) >= settings.answer_max_quotes or not scores[index] >= floor:
            break
        words = set(_WORD.findall(weighing.candidates[index].text.casefold()))
        if all(_overlap(words, set(_WORD.findall(weighing.candidates[c].text.casefold()))) < 0.5 for c in chosen):
            chosen.append(index)
    return chosen


def _compose(question: str, lang: str, weighing: Weighing, chosen: list[int]) -> Answer:
    numbers: dict[int, int] = {}
    quotes = []
    for index in chosen:
        candidate = weighing.candidates[index]
        number = numbers.setdefault(candidate.passage, len(numbers) + 1)
        quotes.append(Quote(candidate.text, number, candidate.start, candidate.end, float(weighing.scores[index])))
    sources = tuple(
        Source(
            number=number,
            passage=weighing.quotable[passage_index],
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
        retrieval_query=weighing.query,
        confidence=weighing.probability,
        passage_score=max(p.similarity for p in weighing.passages),
    )


def _no_answer(question: str, lang: str, weighing: Weighing) -> Answer:
    """The "not found" reply: why, in the question's language, and the closest passages.

    When the question names regions, the reply says whether they have no documents at all or
    their documents do not say, and their passages come first among the related ones.
    """
    reason, region = REASON_NOT_FOUND, ""
    if weighing.regions_with_documents:
        reason, region = REASON_REGION_SILENT, weighing.regions_with_documents[0]
    elif weighing.regions_without_documents:
        reason, region = REASON_NO_DOCUMENTS, weighing.regions_without_documents[0]
    text = NOT_FOUND_TEXTS[reason][lang].format(region=region_label(region, lang))
    named = set(weighing.profile.regions)
    passages = sorted(weighing.passages, key=lambda p: canonical_region(p.region) not in named) if named else list(weighing.passages)
    return Answer(
        question,
        text,
        False,
        lang,
        related=tuple(passages[:3]),
        retrieval_query=weighing.query,
        confidence=weighing.probability,
        passage_score=max((p.similarity for p in weighing.passages), default=0.0),
        reason=reason,
        region=region,
    )


def _overlap(first: set[str], second: set[str]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / min(len(first), len(second))
