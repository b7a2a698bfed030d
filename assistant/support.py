"""Support: how well a generated sentence is backed by the passages it cites.

A sentence written by a language model is *supported* by the passages its markers ``[n]``
point to when

* its meaning is close to one sentence of those passages: the cosine similarity of the
  two sentence embeddings (the passage sentences' vectors are stored by the build), mapped
  from ``[COSINE_FLOOR, COSINE_CEILING]`` onto ``[0, 1]`` because the embedding model
  rates even unrelated text of one domain around 0.8 (a lower band across languages); and
* its content words come from those passages: the share of its stemmed content words
  (:func:`assistant.keywords.analyze`, stop words dropped) found among the cited passages'
  words;

combined as ``DENSE_WEIGHT · meaning + (1 - DENSE_WEIGHT) · words``. A sentence written in
another language than the passage (a Kazakh answer over Russian text) cannot share its words,
so its support is the meaning part alone.

Whatever the score, the *fact* a sentence states must be in the passage sentence it rests on
(the evidence: the cited passage's sentence closest in meaning, one per cited passage), or the
sentence is unsupported, with the missing terms named:

* every number it states, and every month it names (in any of the three languages), must be in
  the evidence sentence: small models invent figures, move a deadline to another date, or join
  the number of one sentence to the subject of another;
* every name (a capitalised word after the first that is not a common word of the domain
  glossary) must occur in the cited passages, compared across scripts ("Shakharov",
  "Шахарова");
* every region it names, and the region the question asks about, must be the region of the
  cited passage's document or be named in that passage: a report of one region does not back
  a sentence about another.

The constants were chosen with ``bench/support_bench.py`` (docs/quality.md, "Generative answers").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.evidence import months_of, name_key, names_of
from assistant.keywords import analyze, analyze_words
from assistant.model import Passage
from assistant.regions import canonical_region, find_regions, region_label
from assistant.sentences import split_sentences

COSINE_FLOOR = 0.80  # multilingual-e5-small: sentences of one topic that say different things
COSINE_CEILING = 0.93  # … and a sentence against a shortened copy or paraphrase of it
# Across languages every cosine is lower (a translation scores about 0.89, another sentence of
# the same article in the other language about 0.79), so meaning is mapped from a lower band.
CROSS_COSINE_FLOOR = 0.78
CROSS_COSINE_CEILING = 0.91
DENSE_WEIGHT = 0.5
SUPPORT_THRESHOLD = 0.5
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MIN_SENTENCE_CHARS = 12


@dataclass(frozen=True)
class Support:
    """The support of one generated sentence by its cited passages.

    ``score`` is in ``[0, 1]``; ``supported`` is ``score >= SUPPORT_THRESHOLD`` with no
    ``missing_terms`` (numbers, and names of a same-language sentence, absent from the cited text). ``evidence`` is ``(source number, start, end)`` of the passage
    sentence closest in meaning (offsets in that passage's text), ``None`` without one.
    """

    score: float
    cosine: float
    overlap: float
    same_language: bool
    missing_terms: tuple[str, ...]
    evidence: tuple[int, int, int] | None

    @property
    def supported(self) -> bool:
        return self.score >= SUPPORT_THRESHOLD and not self.missing_terms


class SupportChecker:
    """Scores sentences against numbered passages.

    Args:
        embed: turns texts into unit vectors of the index's model (``Embedder.embed_passages``).
        stored_vectors: a passage's stored sentence vectors by ``(start, end)``
            (``Searcher.sentence_vectors(chunk_id)``); sentences missing there are embedded now.
    """

    def __init__(
        self,
        embed: Callable[[Sequence[str]], np.ndarray],
        stored_vectors: Callable[[str], Mapping[tuple[int, int], np.ndarray]] | None = None,
    ) -> None:
        self._embed = embed
        self._stored = stored_vectors or (lambda chunk_id: {})
        self._passage_cache: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}

    def check(
        self,
        sentences: Sequence[str],
        citations: Sequence[Sequence[int]],
        passages: Mapping[int, Passage],
        languages: Sequence[str],
        regions: Sequence[str] = (),
    ) -> list[Support]:
        """The support of each sentence by the passages it cites.

        Args:
            sentences: generated sentences, markers removed.
            citations: for each sentence, the numbers (keys of ``passages``) it cites.
            passages: the numbered passages the model was given.
            languages: for each sentence, the language it is written in (``ru``, ``kk``, ``en``).
            regions: the canonical regions the question asks about (a cited passage must be about one).

        Returns:
            One :class:`Support` per sentence; a sentence citing nothing scores 0.
        """
        cited = [i for i, numbers in enumerate(citations) if numbers]
        vectors = self._embed([sentences[i] for i in cited]) if cited else np.zeros((0, 1), np.float32)
        results: list[Support] = [Support(0.0, 0.0, 0.0, True, (), None)] * len(sentences)
        for row, index in enumerate(cited):
            results[index] = self._support(
                sentences[index], vectors[row], citations[index], passages, languages[index], regions
            )
        return results

    def _support(
        self,
        sentence: str,
        vector: np.ndarray,
        numbers: Sequence[int],
        passages: Mapping[int, Passage],
        lang: str,
        regions: Sequence[str],
    ) -> Support:
        best_cosine, evidence = -1.0, None
        cited_text, evidence_text = [], []
        for number in numbers:
            passage = passages[number]
            cited_text.append(passage.text)
            spans, matrix = self._sentences_of(passage)
            if not spans:
                continue
            cosines = matrix @ vector
            top = int(np.argmax(cosines))
            evidence_text.append(passage.text[spans[top][0] : spans[top][1]])
            if cosines[top] > best_cosine:
                best_cosine, evidence = float(cosines[top]), (number, *spans[top])
        same_language = all(passages[n].lang in ("", lang) for n in numbers)
        floor, ceiling = (COSINE_FLOOR, COSINE_CEILING) if same_language else (CROSS_COSINE_FLOOR, CROSS_COSINE_CEILING)
        meaning = float(np.clip((best_cosine - floor) / (ceiling - floor), 0.0, 1.0))
        overlap = word_overlap(sentence, " ".join(cited_text), lang)
        score = DENSE_WEIGHT * meaning + (1 - DENSE_WEIGHT) * overlap if same_language else meaning
        stated = " ".join(evidence_text)
        missing = missing_numbers(sentence, stated) + missing_months(sentence, stated)
        missing += missing_names(sentence, " ".join(cited_text), lang)
        missing += missing_regions(sentence, regions, [passages[n] for n in numbers], lang)
        return Support(
            round(score, 4), round(max(best_cosine, 0.0), 4), round(overlap, 4), same_language, missing, evidence
        )

    def _sentences_of(self, passage: Passage) -> tuple[list[tuple[int, int]], np.ndarray]:
        cached = self._passage_cache.get(passage.chunk_id)
        if cached is not None:
            return cached
        spans = [
            (start, end)
            for start, end in split_sentences(passage.text, passage.lang)
            if len(passage.text[start:end].strip()) >= _MIN_SENTENCE_CHARS
        ] or ([(0, len(passage.text))] if passage.text.strip() else [])
        stored = self._stored(passage.chunk_id)
        found = [stored.get(span) for span in spans]
        missing = [i for i, vector in enumerate(found) if vector is None]
        if missing:
            fresh = self._embed([passage.text[spans[i][0] : spans[i][1]] for i in missing])
            for i, vector in zip(missing, fresh):
                found[i] = vector
        matrix = np.stack(found).astype(np.float32) if found else np.zeros((0, 1), np.float32)
        self._passage_cache[passage.chunk_id] = (spans, matrix)
        return spans, matrix


def word_overlap(sentence: str, source: str, lang: str = "") -> float:
    """Share of the sentence's stemmed content words that occur in ``source`` (1.0 for a sentence without any)."""
    # In query mode a Cyrillic word gives both its Russian and its Kazakh stem: it is found
    # when either occurs in the source.
    groups = {group for group in analyze_words(sentence, lang, query=True)}
    if not groups:
        return 1.0
    known = set(analyze(source, "", query=True))
    return sum(1 for group in groups if any(stem in known for stem in group)) / len(groups)


def missing_numbers(sentence: str, source: str) -> tuple[str, ...]:
    """Numbers written in ``sentence`` that ``source`` does not contain (digits compared, separators ignored)."""
    available = {_digits(number) for number in _NUMBER.findall(source.replace("\u00a0", " ").replace(" ", ""))}
    available |= {_digits(number) for number in _NUMBER.findall(source)}
    wanted = [number for number in _NUMBER.findall(sentence) if _digits(number) not in available]
    return tuple(dict.fromkeys(wanted))


def missing_names(sentence: str, source: str, lang: str = "") -> tuple[str, ...]:
    """Names in ``sentence`` (capitalised words after the first, not common words) that ``source`` lacks.

    Names are compared by :func:`assistant.evidence.name_key`, so a name written in another script
    or case form counts as present ("Shakharov", "Шахарова", "Павлодара" and "Павлодарская").
    """
    known = {name_key(word) for word in re.findall(r"\w+", source)}
    return tuple(dict.fromkeys(name for name in names_of(sentence, lang) if name_key(name) not in known))


def missing_months(sentence: str, source: str) -> tuple[str, ...]:
    """Months named in ``sentence`` (Russian, Kazakh or English) that ``source`` does not name."""
    available = {month for month, _ in months_of(source)}
    return tuple(dict.fromkeys(word for month, word in months_of(sentence) if month not in available))


def missing_regions(sentence: str, asked: Sequence[str], passages: Sequence[Passage], lang: str = "") -> tuple[str, ...]:
    """Regions (those the question asks about, and those ``sentence`` names) that no cited passage is about.

    A passage is about a region when its document's region is that region, or when it names it
    (a national document); a region is reported by its name in ``lang``.
    """
    wanted = dict.fromkeys([*asked, *(mention.region for mention in find_regions(sentence))])
    if not wanted:
        return ()
    covered = {canonical_region(passage.region) for passage in passages if passage.region}
    covered.update(mention.region for passage in passages for mention in find_regions(passage.text))
    return tuple(region_label(region, lang) for region in wanted if region not in covered)


def _digits(number: str) -> str:
    return number.replace(",", ".")
