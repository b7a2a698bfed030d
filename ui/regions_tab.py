"""The by-region tab of the web app (each region's best quote on a topic) and the ``/regions`` endpoint."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block

from assistant.errors import AssistantError
from assistant.overview import regions_overview
from ui import render, texts
from ui.filters import BadFilter, date_range, doc_type_choices, search_filters
from ui.handlers import bind
from ui.service import Service, error_message
from ui.texts import text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegionsTab:
    """The by-region tab's components that a language switch relabels."""

    tab: gr.Tab
    intro: gr.Markdown
    question: gr.Textbox
    button: gr.Button
    examples: gr.Dataset
    filters: gr.Accordion
    doc_types: gr.CheckboxGroup
    date_from: gr.Textbox
    date_to: gr.Textbox

    def relabel(self, lang: str) -> dict[Block, Any]:
        """The tab in the interface language ``lang``: a Gradio update per component."""
        return {
            self.tab: gr.update(label=text(lang, "tab_regions")),
            self.intro: text(lang, "regions_intro"),
            self.question: gr.update(
                label=text(lang, "regions_question"), placeholder=text(lang, "regions_placeholder")
            ),
            self.button: gr.update(value=text(lang, "regions_button")),
            self.examples: gr.update(
                label=text(lang, "regions_examples"), samples=[[topic] for topic in texts.REGION_EXAMPLES[lang]]
            ),
            self.filters: gr.update(label=text(lang, "regions_filters")),
            self.doc_types: gr.update(label=text(lang, "filter_doc_type"), choices=doc_type_choices(lang)),
            self.date_from: gr.update(label=text(lang, "filter_date_from")),
            self.date_to: gr.update(label=text(lang, "filter_date_to")),
        }


def add(service: Service, ui_lang: gr.Radio) -> RegionsTab:
    """Make the by-region tab inside the current ``gr.Tabs``: a topic, its filters, a card per region.

    Args:
        service: the index the overview is drawn from.
        ui_lang: the interface language selector (an input of every overview).
    """
    lang = texts.DEFAULT_LANGUAGE
    with gr.Tab(text(lang, "tab_regions"), id="regions", elem_id="tab-regions") as tab:
        intro = gr.Markdown(text(lang, "regions_intro"))
        with gr.Row(equal_height=True):
            question = gr.Textbox(
                label=text(lang, "regions_question"), placeholder=text(lang, "regions_placeholder"),
                max_lines=2, scale=4, elem_id="regions-question",
            )  # fmt: skip
            button = gr.Button(text(lang, "regions_button"), variant="primary", scale=1, elem_id="regions-button")
        examples = gr.Examples(
            [[topic] for topic in texts.REGION_EXAMPLES[lang]],
            inputs=[question],
            label=text(lang, "regions_examples"),
            elem_id="regions-examples",
        )
        # Open from the start, like the upload form's (ui/documents_tab.py): see there.
        filters = gr.Accordion(text(lang, "regions_filters"), open=True, elem_id="regions-filters")
        with filters, gr.Row():
            doc_types = gr.CheckboxGroup(
                doc_type_choices(lang), label=text(lang, "filter_doc_type"), elem_id="regions-doc-type"
            )
            date_from, date_to = date_range(lang, "regions")
        # Rendered by ui.render.regions_html: document text arrives escaped.
        result = gr.HTML("", js_on_load=None, elem_id="regions-result")
    view, inputs = bind(regions_view, service), [question, doc_types, date_from, date_to, ui_lang]
    button.click(view, inputs, result, api_visibility="private")
    question.submit(view, inputs, result, api_visibility="private")
    return RegionsTab(tab, intro, question, button, examples.dataset, filters, doc_types, date_from, date_to)


def regions_view(service: Service, question, doc_types, date_from, date_to, ui_lang) -> str:
    """The overview of ``question`` for the tab, as HTML; a problem as a notice in the interface language."""
    lang = texts.language(ui_lang)
    try:
        filters = search_filters(doc_types, [], date_from, date_to, [])
    except BadFilter as problem:
        return render.notice(problem.message(lang), kind="error")
    try:
        overview = regions_overview(question, filters=filters, settings=service.settings, searcher=service.searcher())
    except AssistantError as error:
        return render.notice(error_message(error, lang), kind="error")
    except Exception:
        logger.exception("the region overview of %r failed", question)
        return render.notice(text(lang, "error_internal"), kind="error")
    return render.regions_html(overview, lang)


def regions_endpoint(service: Service, question: str, filters: dict | None = None) -> dict:
    """For each region, the best sentence quoted from its documents on ``question``, with the passage
    and its citation; the regions with nothing relevant. ``filters`` as for ``assistant.retrieve``.
    Returns ``RegionOverview.to_dict()``: question, found, missing, other, no_documents, lang, threshold."""
    try:
        overview = regions_overview(
            question, filters=filters or None, settings=service.settings, searcher=service.searcher()
        )
    except (AssistantError, ValueError) as error:
        raise gr.Error(service.without_paths(str(error)), print_exception=False) from None
    return render.overview_record(overview)
