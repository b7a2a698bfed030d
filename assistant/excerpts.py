"""Excerpts: the quoted sentences of a passage with a sentence of context on each side."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.sentences import split_sentences

CONTEXT_CHARS = 150  # at most this much of the neighbouring sentence on each side of a quote
OPENING_CHARS = 300  # of a passage shown without quotes (a "not found" reply's related passages)

_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Excerpt:
    """``text[start:end]`` of a passage, to be shown with the ``quoted`` spans in it marked.

    Offsets index the passage text. Text left out before ``start`` or after ``end`` is more than
    whitespace: a reader should be told it was cut.
    """

    start: int
    end: int
    quoted: tuple[tuple[int, int], ...] = ()


def excerpts(
    text: str,
    spans: Iterable[tuple[int, int]] = (),
    *,
    lang: str = "",
    context: int = CONTEXT_CHARS,
    whole: bool = False,
) -> list[Excerpt]:
    """What to show of a passage so that its quoted spans can be read in context.

    Each quoted span comes with the sentence before and the sentence after it (sentences as
    :func:`~assistant.sentences.split_sentences` finds them), each at most ``context``
    characters, cut at a space. Spans whose excerpts overlap or touch share one excerpt.

    Args:
        text: the passage text.
        spans: quoted ``(start, end)`` offsets into ``text``; overlapping ones are merged, ones out
            of range clipped.
        lang: the passage's language, for sentence splitting.
        context: the most characters of context on each side.
        whole: show the whole passage as one excerpt, spans marked.

    Returns:
        Excerpts in text order; with no spans (and not ``whole``), the passage's opening (about
        :data:`OPENING_CHARS`, cut at a space). Empty for a blank text.

    Example:
        >>> excerpts("One. Two here. Three. Four.", [(5, 14)])
        [Excerpt(start=0, end=21, quoted=((5, 14),))]
    """
    quoted = _merged(text, spans)
    if not text.strip():
        return []
    if whole:
        return [Excerpt(0, len(text), tuple(quoted))]
    if not quoted:
        return [_trimmed(text, 0, _cut_before(text, OPENING_CHARS, 0) or OPENING_CHARS, ())]
    sentences = split_sentences(text, lang)
    shown: list[Excerpt] = []
    for start, end in quoted:
        left, right = _context_start(text, sentences, start, context), _context_end(text, sentences, end, context)
        if shown and not text[shown[-1].end : left].strip():  # overlapping or touching: one excerpt
            previous = shown.pop()
            left, right, spans_so_far = previous.start, max(previous.end, right), previous.quoted
        else:
            spans_so_far = ()
        shown.append(_trimmed(text, left, right, (*spans_so_far, (start, end))))
    return shown


def _merged(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans clipped to the text, sorted, and joined where they overlap or only whitespace parts them."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((max(0, int(s)), min(len(text), int(e))) for s, e in spans):
        if start >= end:
            continue
        if merged and not text[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _context_start(text: str, sentences: list[tuple[int, int]], start: int, context: int) -> int:
    """Where the context before a quote starting at ``start`` begins."""
    own = max((s for s, _ in sentences if s <= start), default=start)  # the sentence the quote begins in
    before = max((s for s, _ in sentences if s < own), default=own)
    if before >= start - context:
        return before
    space = _SPACE.search(text, start - context, start)  # cut mid-sentence: at the next word
    return space.end() if space else start


def _context_end(text: str, sentences: list[tuple[int, int]], end: int, context: int) -> int:
    """Where the context after a quote ending at ``end`` ends."""
    own = min((e for _, e in sentences if e >= end), default=end)  # the sentence the quote ends in
    after = min((e for _, e in sentences if e > own), default=own)
    return after if after <= end + context else _cut_before(text, end + context, end)


def _cut_before(text: str, limit: int, floor: int) -> int:
    """The last word boundary at or before ``limit`` (the end of the text if it comes first), not before ``floor``."""
    if limit >= len(text):
        return len(text)
    spaces = [match.start() for match in _SPACE.finditer(text, floor, limit + 1)]
    return spaces[-1] if spaces else floor


def _trimmed(text: str, start: int, end: int, quoted: tuple[tuple[int, int], ...]) -> Excerpt:
    """The excerpt, reaching the text's ends when only whitespace lies beyond, so "cut" means cut."""
    if not text[:start].strip():
        start = 0
    if not text[end:].strip():
        end = len(text)
    return Excerpt(start, end, quoted)
