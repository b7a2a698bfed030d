"""Sentences: spans of a passage that can be quoted verbatim."""

from __future__ import annotations

import re

# razdel knows Russian abbreviations, initials and numbers ("т.е.", "А.С. Шахаров", "3.5 %",
# "Ст. 12"); Kazakh shares the script, and these Kazakh abbreviations are glued back on top.
_KAZAKH_ABBREVIATIONS = re.compile(
    r"(?:^|\s)(?:ж|жж|т\.б|т\.с\.с|б\.з\.б|б\.з|обл|ш|ғ|мың|млн|млрд|тг|бап|тармақ)\.$", re.IGNORECASE
)
_CYRILLIC = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]")


MIN_INDEXED_CHARS = 12  # shorter pieces (numbering, "Статья 5.") say too little to rank by


def indexed_sentences(text: str, lang: str = "") -> list[tuple[int, int]]:
    """The sentence spans of a chunk that the index embeds on their own (see :mod:`assistant.store`)."""
    return [(start, end) for start, end in split_sentences(text, lang) if len(text[start:end].strip()) >= MIN_INDEXED_CHARS]


def split_sentences(text: str, lang: str = "") -> list[tuple[int, int]]:
    """Sentence spans of ``text`` as ``(start, end)`` offsets, so ``text[start:end]`` is the sentence.

    Cyrillic text (Russian, Kazakh) goes through razdel; other scripts through sentencex
    (Wikimedia's segmenter for ~300 languages). Line breaks between paragraphs always end
    a sentence: headings and list items are not glued to the next paragraph.

    Args:
        text: the passage.
        lang: ``ru``, ``kk``, ``en``...; guessed from the script when empty.
    """
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text):
        block = text[block_start:block_end]
        if lang in ("ru", "kk") or (not lang and _CYRILLIC.search(block)):
            pieces = _razdel(block)
        else:
            pieces = _sentencex(block, lang or "en")
        spans.extend((block_start + start, block_start + end) for start, end in _glue_abbreviations(block, pieces))
    return spans


def _blocks(text: str) -> list[tuple[int, int]]:
    """Non-empty lines, stripped, as spans."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        line = match.group()
        left = len(line) - len(line.lstrip())
        right = len(line.rstrip())
        if right > left:
            spans.append((match.start() + left, match.start() + right))
    return spans


def _razdel(block: str) -> list[tuple[int, int]]:
    from razdel import sentenize

    spans = []
    for piece in sentenize(block):
        start = piece.start
        for code_end in _CODE_THEN_SENTENCE.finditer(block, piece.start, piece.stop):
            spans.append((start, code_end.start() + 1))
            start = code_end.end()
        spans.append((start, piece.stop))
    return spans


# razdel reads "5G." as an initial and runs on into the next sentence ("… станций 5G. Проект …").
_CODE_THEN_SENTENCE = re.compile(r"(?<=\d[A-Za-zА-Яа-я])\.\s+(?=[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ«\"])")


def _sentencex(block: str, lang: str) -> list[tuple[int, int]]:
    from sentencex import segment

    spans, cursor = [], 0
    for sentence in segment(lang, block):
        stripped = sentence.strip()
        if not stripped:
            continue
        start = block.find(stripped, cursor)
        if start < 0:  # the segmenter changed the text: fall back to the whole block
            return [(0, len(block))]
        spans.append((start, start + len(stripped)))
        cursor = start + len(stripped)
    return spans


def _glue_abbreviations(block: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    glued: list[tuple[int, int]] = []
    for start, end in spans:
        following = block[start : start + 1]
        continues = following.isdigit() or following.islower()
        if glued and continues and _KAZAKH_ABBREVIATIONS.search(block[glued[-1][0] : glued[-1][1]]):
            glued[-1] = (glued[-1][0], end)
        else:
            glued.append((start, end))
    return glued
