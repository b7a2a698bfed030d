"""Format readers: one module per file format, each turning file bytes into an :class:`Extracted`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.model import Section


@dataclass(frozen=True)
class Extracted:
    """What a format reader found: text, headings, metadata written in the file, and guesses."""

    text: str
    sections: tuple[Section, ...] = ()
    declared: Mapping[str, str] = field(default_factory=dict)  # front matter, date marker
    guessed: Mapping[str, str] = field(default_factory=dict)  # format fallbacks (heading title, html date)
