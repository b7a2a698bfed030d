"""Overview: for one question, each region's best quoted passage, and the regions with nothing relevant."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.evidence import Candidate, profile_question, quotable_sentences, sentence_vectors
from assistant.model import plain
from assistant.query import check_filters, clean_query
from assistant.regions import NATIONAL, REGIONS, canonical_region
from assistant.retrieval import Passage, Searcher, searcher_for

__all__ = ["RegionFinding", "RegionOverview", "regions_overview", "relevant", "word_share"]

logger = logging.getLogger(__name__)

OVERVIEW_PASSAGES = 3  # per region: the best few passages, whose sentences compete for the quote
# A region's passage is relevant from this cosine with the question, by the question's language
# (calibrated with bench/answer_bench.py on XQuAD-ru dev for multilingual-e5-small: passages of the
# question's article against passages of other articles; cross-language questions score lower).
RELEVANCE_THRESHOLDS = {"ru": 0.80, "en": 0.78, "kk": 0.74}
# How the words of the question move the relevance threshold (see relevant()), and how much they
# count when choosing the quote. Measured on the sample corpus with multilingual-e5-small: topic
# words over news texts score 0.80-0.84 where the text is about them and 0.75-0.82 where it is not.
MEANING_MARGIN = 0.04
ALL_WORDS_MARGIN = 0.03
WORD_BONUS = 0.05
MIN_PREFIX_STEM = 5  # shorter stems ("сел", "прав") would match unrelated words by prefix
UNSPECIFIED = ""  # the "other" group of documents whose region is unknown (not detected, not declared)


@dataclass(frozen=True)
class RegionFinding:
    """One region's best evidence: a sentence quoted verbatim from a relevant passage.

    ``passage.text[quote_start:quote_end] == quote``, always.

    Attributes:
        region: a canonical name from :data:`assistant.regions.REGIONS` (in ``RegionOverview.found``),
            or, in ``RegionOverview.other``, ``"national"``, ``""`` (documents whose region is
            unknown) or a region value that names none of the twenty.
        passage: the passage quoted, with its citation (title, date, region, source, section).
        quote: the quoted sentence.
        quote_start, quote_end: the quote's offsets in ``passage.text``.
        score: the passage's cosine similarity with the question, the value its relevance was
            judged on (against :attr:`RegionOverview.threshold`, moved by the words the quote
            names: see :func:`relevant`).
    """

    region: str
    passage: Passage
    quote: str
    quote_start: int
    quote_end: int
    score: float


@dataclass(frozen=True)
class RegionOverview:
    """The region-by-region view of one question.

    Attributes:
        question: the question as asked.
        found: one finding per canonical region with a relevant passage, best (highest score) first.
        missing: the canonical regions with nothing relevant, in :data:`REGIONS` order.
        other: the best relevant passage of each group of documents outside the twenty regions:
            national documents (region ``"national"``, e.g. the Address), documents whose region is
            unknown (``""``), and documents whose region value names no canonical region. Best first.
        no_documents: the regions of ``missing`` that have no indexed document at all that passes
            the filters (as opposed to documents that say nothing relevant), in :data:`REGIONS` order.
        lang: the question's language, which chose the threshold.
        threshold: the cosine similarity a relevant passage must reach when its quote names some of
            the question's words (see :func:`relevant` for the other cases).
    """

    question: str
    found: tuple[RegionFinding, ...]
    missing: tuple[str, ...]
    other: tuple[RegionFinding, ...] = ()
    no_documents: tuple[str, ...] = ()
    lang: str = ""
    threshold: float = 0.0

    def to_dict(self) -> dict:
        return plain(self)


def regions_overview(
    question: str,
    *,
    filters: Mapping[str, object] | None = None,
    index_dir: str | Path | None = None,
    settings: Settings | None = None,
    searcher: Searcher | None = None,
) -> RegionOverview:
    """What each region's documents say about ``question``: the best quoted sentence per region.

    The question is embedded once; then each of the twenty regions (and each group of documents
    outside them, see :attr:`RegionOverview.other`) gets its own hybrid search, filtered to its
    documents, for its best :data:`OVERVIEW_PASSAGES` passages (twenty filtered searches cost less
    than one search deep enough to be sure to reach every region: 23 ms against 83 ms over 8,000 chunks).

    A passage is relevant when its cosine similarity with the question reaches the threshold an
    answer's best passage must reach (:data:`RELEVANCE_THRESHOLDS`, by the question's language,
    plus ``settings.answer_threshold_shift``), moved by the question's words
    (see :func:`relevant`): a little lower when the quoted sentence names every word of the
    question, higher when it names none. The quote is the sentence of the region's relevant
    passages that scores best on its own similarity, its passage's and the words it names.

    Args:
        question: a question or a topic ("цифровизация", "инвестиции в сельское хозяйство").
        filters: as for :func:`assistant.retrieve`. A ``region`` filter limits the overview to the
            regions it names (in any form :func:`assistant.regions.canonical_region` accepts).
        index_dir: the index directory (default from settings).
        settings: threshold shift and model; ``Settings.from_env()`` when omitted.
        searcher: an open :class:`Searcher` (the web app passes its own).

    Returns:
        A :class:`RegionOverview`.

    Raises:
        InvalidQuery: an empty or too long question, an unknown filter or a malformed date.
        IndexNotFound, IndexCorrupt, ModelMismatch: as for :func:`assistant.retrieve`.

    Example:
        >>> overview = regions_overview("цифровизация")  # doctest: +SKIP
        >>> for finding in overview.found:  # doctest: +SKIP
        ...     print(finding.region, finding.quote, finding.passage.title, finding.passage.source)
        >>> print(", ".join(overview.missing))  # doctest: +SKIP
    """
    settings = settings or Settings.from_env()
    check_filters(filters)  # a bad filter fails before the model runs
    asked, question = question, clean_query(question, max_chars=settings.max_question_chars)  # once, not in 20 searches
    if searcher is None:
        searcher = searcher_for(index_dir, settings)
    lang = _question_language(question)
    topic = _Topic(
        searcher=searcher,
        question=question,
        vector=searcher.embed_query(question),
        lang=lang,
        threshold=RELEVANCE_THRESHOLDS.get(lang, RELEVANCE_THRESHOLDS["en"]) + settings.answer_threshold_shift,
        # The question's words with their glossary translations: a Russian topic names a Kazakh report's words.
        words=tuple(profile_question(question, lang).words),
        filters=dict(filters or {}),
    )
    canonical, other_groups = _region_groups(searcher)
    found, missing, no_documents = _regional_findings(topic, canonical)
    other = _other_findings(topic, other_groups)
    order = {region: number for number, region in enumerate(REGIONS)}
    found.sort(key=lambda finding: (-finding.score, order[finding.region]))
    other.sort(key=lambda finding: (-finding.score, finding.region))
    logger.info("overview of %r: %d regions found, %d missing", question, len(found), len(missing))
    return RegionOverview(
        question=asked,
        found=tuple(found),
        missing=tuple(missing),
        other=tuple(other),
        no_documents=tuple(no_documents),
        lang=lang,
        threshold=topic.threshold,
    )


@dataclass(frozen=True)
class _Topic:
    """What every region's search of one overview shares: the question, its vector and words, the filters."""

    searcher: Searcher
    question: str
    vector: np.ndarray
    lang: str
    threshold: float
    words: tuple[tuple[str, ...], ...]
    filters: dict[str, object]

    def best(self, label: str, filters: dict[str, object]) -> tuple[RegionFinding | None, bool]:
        """The group's finding (``None`` when nothing is relevant), and whether it had any passage."""
        passages = self.searcher.search(self.question, k=OVERVIEW_PASSAGES, filters=filters, vector=self.vector)
        finding = _finding(self.searcher, label, passages, self.vector, self.lang, self.threshold, self.words)
        return finding, bool(passages)

    @property
    def base(self) -> dict[str, object]:
        """The filters that apply to every group (those on region and document apply per group)."""
        return {key: value for key, value in self.filters.items() if key not in ("region", "doc_id")}


def _regional_findings(topic: _Topic, canonical: dict[str, set[str]]) -> tuple[list[RegionFinding], list[str], list[str]]:
    """Each wanted region's finding; the regions without one; those of them without any document."""
    wanted = _wanted_regions(topic.filters.get("region"))
    found: list[RegionFinding] = []
    missing: list[str] = []
    no_documents: list[str] = []
    for region in REGIONS:
        if wanted is not None and region not in wanted:
            continue
        finding, any_passage = None, False
        if canonical.get(region):
            group_filters = {**topic.base, "region": sorted(canonical[region]), "doc_id": topic.filters.get("doc_id")}
            finding, any_passage = topic.best(region, group_filters)
        if finding is not None:
            found.append(finding)
            continue
        missing.append(region)
        if not any_passage:
            no_documents.append(region)
    return found, missing, no_documents


def _other_findings(topic: _Topic, other_groups: dict[str, list[str]]) -> list[RegionFinding]:
    """The finding of each group of documents outside the regions (national, unknown, other values)."""
    wanted = _wanted_regions(topic.filters.get("region"))
    wanted_doc_ids = _casefolded(topic.filters.get("doc_id"))
    other: list[RegionFinding] = []
    for label, doc_ids in other_groups.items():
        if wanted is not None and label.casefold() not in wanted:
            continue
        if wanted_doc_ids is not None:
            doc_ids = [doc_id for doc_id in doc_ids if doc_id.casefold() in wanted_doc_ids]
        if doc_ids:
            finding, _ = topic.best(label, {**topic.base, "doc_id": doc_ids})
            if finding is not None:
                other.append(finding)
    return other


def _question_language(question: str) -> str:
    """The language whose thresholds judge ``question``: ``ru``, ``kk`` or ``en`` (as :func:`assistant.answer`)."""
    from assistant.documents import detect_language

    lang = detect_language(question) or "ru"
    return lang if lang in RELEVANCE_THRESHOLDS else "en"


def _finding(
    searcher: Searcher,
    region: str,
    passages: list[Passage],
    vector: np.ndarray,
    lang: str,
    threshold: float,
    words: Sequence[tuple[str, ...]],
) -> RegionFinding | None:
    """The best quote among ``passages`` that passes the relevance rule, or ``None``.

    Each quotable sentence scores like a quote of an answer (half its own similarity, half its
    passage's) plus :data:`WORD_BONUS` times the share of the question's words it contains, so
    a region's card quotes the sentence that names the topic rather than a generic one nearby.
    """
    usable = [passage for passage in passages if passage.similarity >= _for(threshold, lang, passage) - ALL_WORDS_MARGIN]
    if not usable:
        return None
    candidates = quotable_sentences(usable)
    if candidates:
        sentence_similarity = sentence_vectors(searcher, usable, candidates) @ vector
    else:
        # Only headings or list stubs: a whole passage is quoted rather than nothing.
        candidates = [Candidate(index, *_stripped(passage.text)) for index, passage in enumerate(usable)]
        sentence_similarity = np.array([passage.similarity for passage in usable], dtype=np.float32)
    best: tuple[float, int] | None = None
    for number, candidate in enumerate(candidates):
        similarity = usable[candidate.passage].similarity
        share = word_share(words, candidate.text, usable[candidate.passage].lang)
        if not relevant(similarity, share, _for(threshold, lang, usable[candidate.passage])):
            continue
        score = 0.5 * float(sentence_similarity[number]) + 0.5 * similarity + WORD_BONUS * share
        if best is None or score > best[0]:
            best = (score, number)
    if best is None:
        return None
    chosen = candidates[best[1]]
    passage = usable[chosen.passage]
    return RegionFinding(region, passage, chosen.text, chosen.start, chosen.end, passage.similarity)


def _for(threshold: float, lang: str, passage: Passage) -> float:
    """The threshold for ``passage`` of a question in ``lang`` whose own threshold is ``threshold``.

    A passage in another language gets the lower threshold of the two languages: cosines run
    lower across languages, so a Russian topic scores against a Kazakh report as a Kazakh
    question does against Russian text.
    """
    if passage.lang and passage.lang != lang and passage.lang in RELEVANCE_THRESHOLDS:
        own = RELEVANCE_THRESHOLDS.get(lang, RELEVANCE_THRESHOLDS["en"])
        return threshold - max(0.0, own - RELEVANCE_THRESHOLDS[passage.lang])
    return threshold


def relevant(similarity: float, share: float, threshold: float) -> bool:
    """Whether a passage with this cosine ``similarity``, quoted by a sentence containing this
    ``share`` of the question's words, counts as evidence.

    Single-word topics ("инвестиции") sit close to everything in cosine terms (short and odd
    texts reach the threshold for any topic), so the words decide near the threshold: a quote
    that names every word of the question needs ``threshold - ALL_WORDS_MARGIN``, one that names
    some ``threshold``, and meaning alone (a synonym, another language) ``threshold + MEANING_MARGIN``.
    """
    if share >= 1.0:
        return similarity >= threshold - ALL_WORDS_MARGIN
    if share > 0.0:
        return similarity >= threshold
    return similarity >= threshold + MEANING_MARGIN


def word_share(words: Sequence[tuple[str, ...]], text: str, lang: str = "") -> float:
    """The share of the question's words that ``text`` contains, 0 for a question without words.

    ``words`` come from :func:`assistant.keywords.analyze_words` (stop words dropped, stemmed,
    alternatives per word). A word also counts when its stem and a stem of the text, both at
    least :data:`MIN_PREFIX_STEM` letters, start one with the other: Russian derivation changes
    the stem (``цифровизация`` → ``цифровизац``, ``цифровых`` → ``цифров``), and the topic is the same.
    """
    if not words:
        return 0.0
    terms, long_terms = _terms(text, lang)
    named = 0
    for alternatives in words:
        if terms.intersection(alternatives) or any(
            len(stem) >= MIN_PREFIX_STEM and (term.startswith(stem) or stem.startswith(term))
            for stem in alternatives
            for term in long_terms
        ):
            named += 1
    return named / len(words)


@functools.lru_cache(maxsize=65536)
def _terms(text: str, lang: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """A text's index terms, and those long enough to match by prefix (the same sentences come
    back question after question: the top passages of each region)."""
    from assistant.keywords import analyze

    terms = frozenset(analyze(text, lang))
    return terms, tuple(term for term in terms if len(term) >= MIN_PREFIX_STEM)


def _stripped(text: str) -> tuple[int, int, str]:
    """``(start, end, text[start:end])`` of ``text`` without its surrounding whitespace."""
    start, end = len(text) - len(text.lstrip()), len(text.rstrip())
    return start, end, text[start:end]


def _region_groups(searcher: Searcher) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """How the index spells each canonical region, and the documents outside the twenty by group.

    Builds normalise declared regions to the canonical names, but an index may hold other
    spellings (an older build, a value naming no region): filtering on every spelling that
    means a region finds all of its documents.

    Returns:
        canonical region -> the region values of its documents; other group label
        (``"national"``, ``""`` or the value as written) -> its documents' ids.
    """
    canonical: dict[str, set[str]] = {}
    other: dict[str, list[str]] = {}
    for record in searcher.documents:
        value = " ".join(record.region.split())
        name = canonical_region(value) if value else None
        if name is not None and name != NATIONAL:
            canonical.setdefault(name, set()).add(record.region)
        else:
            label = NATIONAL if name == NATIONAL else (value or UNSPECIFIED)
            other.setdefault(label, []).append(record.doc_id)
    return canonical, other


def _wanted_regions(value: object) -> set[str] | None:
    """The canonical regions (and other group labels, casefolded) a ``region`` filter asks for."""
    names = _casefolded(value)
    if names is None:
        return None
    wanted: set[str] = set()
    for name in names:
        region = canonical_region(name)
        wanted.add(region if region is not None else name)
    return wanted


def _casefolded(value: object) -> set[str] | None:
    """The non-empty strings of a filter value, casefolded; ``None`` when the filter is absent."""
    if value is None or value == "" or value == [] or value == ():
        return None
    values = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    names = {str(item).strip().casefold() for item in values if str(item).strip()}
    return names or None
