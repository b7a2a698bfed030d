"""What a search may be asked: the query text, the number of results, the mode and the filters.

Validation shared by :mod:`assistant.retrieval`, :mod:`assistant.overview` and the answer, so a
bad question is refused with the same :class:`~assistant.errors.InvalidQuery` message, before
any model runs, whichever entry point it came through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from assistant.errors import InvalidQuery
from assistant.model import SEARCH_MODES

__all__ = [
    "FILTER_KEYS",
    "MAX_K",
    "MAX_QUERY_CHARS",
    "check_filters",
    "check_k",
    "check_mode",
    "clean_query",
    "recent_history",
]

FILTER_KEYS = ("region", "doc_type", "lang", "doc_id", "date_from", "date_to")
# The defaults of Settings.max_question_chars and Settings.max_k. The model reads 512 tokens (about
# 2,000 characters of Russian): a longer question only costs tokenizer time, and the language model's.
MAX_QUERY_CHARS = 2000
MAX_K = 50
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_mode(mode: object) -> str:
    """``mode`` if it is one of :data:`assistant.model.SEARCH_MODES`."""
    if mode not in SEARCH_MODES:
        raise InvalidQuery(f"unknown search mode {mode!r}: use one of {', '.join(SEARCH_MODES)}")
    return mode  # type: ignore[return-value]


def check_k(k: object, *, limit: int = MAX_K) -> None:
    """Fail unless ``k`` (results wanted) is a positive integer of at most ``limit`` (``Settings.max_k``).

    A larger ``k`` is refused rather than lowered: a script asking for 1,000 results must not
    take the 50 it gets for all there are.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidQuery(f"k must be a positive integer, got {k!r}")
    if k > limit:
        raise InvalidQuery(f"k={k:,} is more than the {limit} results one search may return (setting max_k)")


def clean_query(query: object, *, max_chars: int = MAX_QUERY_CHARS) -> str:
    """The query as searched: control characters blanked, stripped.

    Raises:
        InvalidQuery: the query is not text, is empty, or is longer than ``max_chars`` once
            stripped (``Settings.max_question_chars``): refused, not cut, so that nobody is
            answered about a question they did not finish.
    """
    if not isinstance(query, str):
        raise InvalidQuery(f"the query must be text, got {type(query).__name__}")
    stripped = query.strip()
    if len(stripped) > max_chars:
        raise InvalidQuery(
            f"the question is {len(stripped):,} characters long, more than the {max_chars:,} allowed "
            "(setting max_question_chars): shorten it"
        )
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in stripped).strip()
    if not cleaned:
        raise InvalidQuery("the query is empty: type a question or some keywords")
    return cleaned


def recent_history(history: object, *, turns: int, chars: int) -> tuple[str, ...]:
    """The earlier questions a follow-up may lean on, oldest first, within the limits.

    The last ``turns`` non-blank questions are kept, newest first, until they hold ``chars``
    characters in all: older ones are dropped and the oldest one kept is cut to what is left. So
    however long a conversation a client sends, at most ``chars`` characters of it are searched
    or reach the language model (``Settings.max_history_turns``, ``Settings.max_history_chars``).

    Raises:
        InvalidQuery: ``history`` is not a list of texts.
    """
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise InvalidQuery("the history must be a list of the earlier questions, oldest first")
    kept: list[str] = []
    room = chars
    for turn in reversed(history):
        if len(kept) >= turns or room <= 0:
            break
        if not isinstance(turn, str):
            raise InvalidQuery(f"each earlier question of the history must be text, got {type(turn).__name__}")
        turn = turn.strip()
        if turn:
            kept.append(turn[:room])
            room -= len(kept[-1])
    return tuple(reversed(kept))


def check_filters(filters: Mapping[str, object] | None) -> dict[str, object]:
    """Validated filters: dates as ``YYYY-MM-DD`` text, other keys as sets of case-folded strings, empty ones dropped."""
    if not filters:
        return {}
    if not isinstance(filters, Mapping):
        raise InvalidQuery(f"filters must be a mapping of {', '.join(FILTER_KEYS)}")
    checked: dict[str, object] = {}
    for key, value in filters.items():
        if key not in FILTER_KEYS:
            raise InvalidQuery(f"unknown filter {key!r}: use one of {', '.join(FILTER_KEYS)}")
        if value is None or value == "" or value == [] or value == ():
            continue
        if key in ("date_from", "date_to"):
            text = str(value)
            if not _DATE.match(text):
                raise InvalidQuery(f"filter {key} must be a date YYYY-MM-DD, got {value!r}")
            checked[key] = text
        else:
            values: Iterable[object] = [value] if isinstance(value, str) else value  # type: ignore[assignment]
            try:
                checked[key] = {str(item).strip().casefold() for item in values}
            except TypeError:
                raise InvalidQuery(f"filter {key} must be a string or a list of strings, got {value!r}") from None
    return checked
