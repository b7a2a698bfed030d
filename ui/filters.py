"""The search filter inputs of the web app: their choices, and the ``filters`` argument they make."""

from __future__ import annotations

from datetime import date

from assistant.model import DOC_TYPES, LANGUAGES
from ui import texts
from ui.texts import text


class BadFilter(ValueError):
    """A filter input the user must correct; :meth:`message` says how, in the interface language."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key, self.values = key, values

    def message(self, lang: str) -> str:
        return text(lang, self.key, **self.values)


def search_filters(doc_types, regions, date_from, date_to, doc_langs) -> dict[str, object]:
    """The ``filters`` argument of ``answer()`` from the filter inputs; dates checked here for a clear message.

    Raises:
        BadFilter: a date is not ``YYYY-MM-DD``, or the range ends before it starts.
    """
    start, end = _date(date_from), _date(date_to)
    if start and end and start > end:
        raise BadFilter("bad_date_range", start=start, end=end)
    filters = {
        "doc_type": list(doc_types or []),
        "region": list(regions or []),
        "lang": list(doc_langs or []),
        "date_from": start,
        "date_to": end,
    }
    return {key: value for key, value in filters.items() if value}


def _date(value) -> str | None:
    shown = str(value or "").strip()
    if not shown:
        return None
    try:
        if len(shown) != 10:
            raise ValueError(shown)
        return date.fromisoformat(shown).isoformat()
    except ValueError:
        raise BadFilter("bad_date", value=shown) from None


def doc_type_choices(lang: str) -> list[tuple[str, str]]:
    """Document types as (name in the interface language, value)."""
    return [(texts.doc_type_label(lang, doc_type), doc_type) for doc_type in DOC_TYPES]


def doc_language_choices(lang: str) -> list[tuple[str, str]]:
    """Document languages as (name in the interface language, code)."""
    return [(texts.doc_language_label(lang, code), code) for code in LANGUAGES]


def date_range(lang: str, id_prefix: str):
    """The "from" and "to" date inputs of a filter form (``<id_prefix>-date-from``, ``-date-to``),
    made inside the current Gradio layout."""
    import gradio as gr

    date_from = gr.Textbox(
        "", label=text(lang, "filter_date_from"), placeholder="2025-09-01", max_lines=1,
        elem_id=f"{id_prefix}-date-from",
    )  # fmt: skip
    date_to = gr.Textbox(
        "", label=text(lang, "filter_date_to"), placeholder="2025-12-31", max_lines=1,
        elem_id=f"{id_prefix}-date-to",
    )  # fmt: skip
    return date_from, date_to
