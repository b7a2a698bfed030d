"""Glossary: the words of Kazakhstan's official texts in Russian, Kazakh and English, grouped by meaning.

``glossary.tsv`` beside this file lists one concept per line: an id, then its Russian, Kazakh
and English words (comma-separated). It lets a question in one language find its words in a
document in another: "chaired" and "төрағалық" find "председательством", "village" finds
"сёл" and "ауыл". Words are compared as stems (:func:`assistant.keywords.analyze_words`), so
one form per word is enough. A phrase of several content words ("рабочие места") is one
alternative whose words must all be found: its words' stems joined by spaces, each word's own
alternatives by "|".
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError
from assistant.keywords import analyze_words
from assistant.model import LANGUAGES

__all__ = ["GLOSSARY_FILE", "Glossary", "glossary"]

GLOSSARY_FILE = Path(__file__).with_name("glossary.tsv")
_MIN_STEM = 3
_MIN_PREFIX = 5  # a question stem reaches a glossary stem it starts, or that starts it, from this length


@dataclass(frozen=True)
class Glossary:
    """Concepts as sets of stems, and the concepts each stem belongs to."""

    concepts: dict[str, frozenset[str]]
    by_stem: dict[str, tuple[str, ...]]
    words: frozenset[str]  # every single-word entry, case-folded: these are common words, not names

    def translations(self, stems: Iterable[str]) -> frozenset[str]:
        """The stems of every word that shares a concept with one of ``stems`` (in any language)."""
        found: set[str] = set()
        for stem in stems:
            for concept in self._concepts_of(stem):
                found |= self.concepts[concept]
        return frozenset(found)

    def is_common(self, word: str) -> bool:
        """Whether ``word`` is a word of the glossary (so a capitalised one is a title, not a name)."""
        return word.casefold().replace("ё", "е") in self.words

    def _concepts_of(self, stem: str) -> tuple[str, ...]:
        exact = self.by_stem.get(stem)
        if exact:
            return exact
        if len(stem) < _MIN_PREFIX:
            return ()
        # A longer or shorter form of the same stem ("председательствова" / "председательств").
        concepts: list[str] = []
        for length in range(len(stem) - 1, _MIN_PREFIX - 1, -1):
            concepts.extend(self.by_stem.get(stem[:length], ()))
            if concepts:
                break
        return tuple(dict.fromkeys(concepts))


def parse(text: str, origin: str = "glossary") -> Glossary:
    """Read glossary lines (see the module docstring).

    Raises:
        AssistantError: a line without exactly four columns, an empty column or a repeated id.
    """
    concepts: dict[str, frozenset[str]] = {}
    by_stem: dict[str, list[str]] = {}
    words: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != 4 or not all(column.strip() for column in columns):
            raise AssistantError(f"{origin} line {number}: expected an id and three non-empty word lists")
        concept = columns[0].strip()
        if concept in concepts:
            raise AssistantError(f"{origin} line {number}: concept {concept!r} is listed twice")
        stems: set[str] = set()
        phrases: set[str] = set()  # looked up by no question stem, but found in a text as a whole
        for lang, column in zip(LANGUAGES, columns[1:]):
            for entry in column.split(","):
                groups = analyze_words(entry.strip(), lang, query=True)
                if len(groups) == 1:
                    # A stem of one or two letters ("ау" of "ауыл") would match unrelated words.
                    stems.update(stem for stem in groups[0] if len(stem) >= _MIN_STEM)
                    if len(entry.split()) == 1:
                        words.add(entry.strip().casefold().replace("ё", "е"))
                elif len(groups) > 1:
                    phrases.add(" ".join("|".join(group) for group in groups))
        concepts[concept] = frozenset(stems | phrases)
        for stem in stems:
            by_stem.setdefault(stem, []).append(concept)
    return Glossary(concepts, {stem: tuple(ids) for stem, ids in by_stem.items()}, frozenset(words))


@functools.lru_cache(maxsize=1)
def glossary() -> Glossary:
    """The glossary shipped with the package (``glossary.tsv``), read once."""
    return parse(GLOSSARY_FILE.read_text(encoding="utf-8"), str(GLOSSARY_FILE))
