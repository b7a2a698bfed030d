"""Headings of normative acts and the hierarchical section titles built from them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.metadata import shorten
from assistant.model import SECTION_PART_CHARS, SECTION_SEPARATOR

_HEADING_LEVELS = {
    "раздел": 1, "бөлім": 1, "section": 1,
    "глава": 2, "тарау": 2, "chapter": 2,
    "параграф": 3,
    "статья": 4, "бап": 4, "article": 4,
}  # fmt: skip
_HEADING_WORDS = "раздел|глава|параграф|статья|бөлім|тарау|бап|section|chapter|article"
_NUMBER = r"\d+(?:-\d+)*"
_LEGAL_HEADING = re.compile(rf"(?P<word>{_HEADING_WORDS})\s+(?P<number>{_NUMBER})\.(?!\d)", re.I)
_KAZAKH_HEADING = re.compile(rf"(?P<number>{_NUMBER})-(?P<word>бөлім|тарау|параграф|бап)\.(?!\d)", re.I)
_BARE_HEADING = re.compile(rf"(?P<word>{_HEADING_WORDS})\s+(?P<number>{_NUMBER}|[IVXLC]+)\.?", re.I)


@dataclass(frozen=True)
class Heading:
    """A heading found in a document, with its depth (1 = outermost)."""

    level: int
    title: str
    bare: bool = False  # only "Article 12": the following short line may be its name
    carried: bool = True  # repeated in the titles of the headings below it


def legal_heading(line: str) -> Heading | None:
    """A heading of a normative act at the start of ``line`` (``Статья 1. ...``, ``1-бап. ...``)."""
    line = " ".join(line.split())
    match = _LEGAL_HEADING.match(line) or _KAZAKH_HEADING.match(line)
    bare = False
    if match is None:
        match = _BARE_HEADING.fullmatch(line)
        bare = match is not None
    if match is None:
        return None
    level = _HEADING_LEVELS[match["word"].lower()]
    # Chapter numbers run through a whole act, so "Раздел N" adds length, not precision, to a citation.
    return Heading(level, line, bare=bare, carried=level != 1)


def _continues_heading(heading: Heading, following: str) -> bool:
    """Whether ``following`` is the wrapped rest of a heading ("Глава 1. ОБЩИЕ ..." / "ИМУЩЕСТВОМ")."""
    if not following or "\n" in following or len(following) > 150 or legal_heading(following):
        return False
    if following.endswith((".", ":", ";", "!", "?")) or following.startswith(("Сноска", "Примечание")):
        return False
    if heading.bare:
        return True  # "Section I" / "General Provisions"
    if following[0].islower():
        return True
    heading_words = heading.title.split(None, 2)[2:] if len(heading.title.split()) > 2 else []
    return bool(heading_words) and _is_upper(heading_words[0]) and _is_upper(following)


def _is_upper(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return bool(letters) and all(char.isupper() for char in letters)


def with_continuations(heading: Heading, following: Sequence[str]) -> Heading:
    """``heading`` with the wrapped rest of its title appended from the (up to three) ``following`` lines."""
    title = heading.title
    current = heading
    for line in following[:3]:
        if not _continues_heading(current, line):
            break
        joiner = ". " if current.bare else " "
        title = f"{title}{joiner}{line}"
        current = Heading(heading.level, title, bare=False, carried=heading.carried)
    return current


class Trail:
    """The headings above the current point, to give each section a hierarchical title."""

    def __init__(self) -> None:
        self._open: list[Heading] = []

    def enter(self, heading: Heading) -> str:
        """Open ``heading`` (closing those at its level or deeper) and return its hierarchical title."""
        self._open = [open_ for open_ in self._open if open_.level < heading.level]
        parts = [shorten(open_.title, SECTION_PART_CHARS) for open_ in self._open if open_.carried]
        self._open.append(heading)
        return SECTION_SEPARATOR.join([*parts, shorten(heading.title, SECTION_PART_CHARS)])
