"""What a search may be asked: the query text, the number of results, the mode and the filters.

Validation shared by :mod:`assistant.retrieval`, :mod:`assistant.overview` and the answer, so a
bad question is refused with the same :class:`~assistant.errors.InvalidQuery` message, before
any model runs, whichever entry point it came through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from assistant.errors import InvalidQuery
from assistant.model import SEARCH_MODES

__all__ = ["FILTER_KEYS", "MAX_QUERY_CHARS", "check_filters", "check_k", "check_mode", "clean_query"]

FILTER_KEYS = ("region", "doc_type", "lang", "doc_id", "date_from", "date_to")
MAX_QUERY_CHARS = 4000  # the model reads 512 tokens; longer input only costs tokenizer time
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_mode(mode: object) -> str:
    """``mode`` if it is one of :data:`assistant.model.SEARCH_MODES`."""
    if mode not in SEARCH_MODES:
        raise InvalidQuery(f"unknown search mode {mode!r}: use one of {', '.join(SEARCH_MODES)}")
    return mode  # type: ignore[return-value]


def check_k(k: object) -> None:
    """Fail unless ``k`` (results wanted) is a positive integer."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidQuery(f"k must be a positive integer, got {k!r}")


def clean_query(query: object) -> str:
    """The query as searched: control characters blanked, stripped, at most :data:`MAX_QUERY_CHARS`."""
    if not isinstance(query, str):
        raise InvalidQuery(f"the query must be text, got {type(query).__name__}")
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in query).strip()
    if not cleaned:
        raise InvalidQuery("the query is empty: type a question or some keywords")
    return cleaned[:MAX_QUERY_CHARS]


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
