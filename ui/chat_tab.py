"""The chat tab of the web app (filters beside a chat answering with cited quotes) and the stateless ``/chat``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block

from assistant.answer import answer_stream
from assistant.errors import AssistantError
from assistant.model import ANSWER_MODES
from ui import render, texts
from ui.chatbot import InertChatbot
from ui.filters import BadFilter, date_range, doc_language_choices, doc_type_choices, search_filters
from ui.handlers import bind
from ui.service import Service, error_message
from ui.texts import text

logger = logging.getLogger(__name__)

STREAM_PAUSE = 0.08  # seconds between streamed steps, so the browser shows them one by one
DRAFT_INTERVAL = 0.15  # seconds between updates of a generated answer streaming in (fewer, larger steps)


@dataclass(frozen=True)
class ChatTab:
    """The chat tab's components that change after it is made, and where its region choices come from."""

    service: Service
    tab: gr.Tab
    answer_mode: gr.Radio
    filters_heading: gr.Markdown
    doc_types: gr.CheckboxGroup
    regions: gr.Dropdown  # its choices follow the index: the documents tab refreshes them
    date_from: gr.Textbox
    date_to: gr.Textbox
    doc_langs: gr.CheckboxGroup
    chatbot: InertChatbot
    textbox: gr.Textbox

    def relabel(self, lang: str) -> dict[Block, Any]:
        """The tab in the interface language ``lang``: a Gradio update per component."""
        return {
            self.tab: gr.update(label=text(lang, "tab_chat")),
            self.answer_mode: gr.update(label=text(lang, "answer_mode"), choices=_answer_mode_choices(lang)),
            self.filters_heading: _filters_heading(lang),
            self.doc_types: gr.update(label=text(lang, "filter_doc_type"), choices=doc_type_choices(lang)),
            self.regions: gr.update(label=text(lang, "filter_region"), choices=self.service.regions(lang)),
            self.date_from: gr.update(label=text(lang, "filter_date_from")),
            self.date_to: gr.update(label=text(lang, "filter_date_to")),
            self.doc_langs: gr.update(label=text(lang, "filter_lang"), choices=doc_language_choices(lang)),
            self.chatbot: gr.update(
                label=text(lang, "chatbot_label"),
                placeholder=welcome(self.service, lang),
                examples=[{"text": question} for question in texts.examples(lang)],
            ),
            self.textbox: gr.update(placeholder=text(lang, "input_placeholder")),
        }


def add(service: Service, ui_lang: gr.Radio) -> ChatTab:
    """Make the chat tab inside the current ``gr.Tabs``: the filters, the chat and its example questions.

    Args:
        service: the index the chat answers from.
        ui_lang: the interface language selector (an input of every answer).
    """
    settings, lang = service.settings, texts.DEFAULT_LANGUAGE
    with gr.Tab(text(lang, "tab_chat"), id="chat", elem_id="tab-chat") as tab, gr.Row():
        with gr.Column(scale=1, min_width=240, elem_id="filters"):
            answer_mode = gr.Radio(
                _answer_mode_choices(lang),
                value=settings.answer_mode,
                label=text(lang, "answer_mode"),
                visible=settings.llm_configured,  # only with a language model to ask
                elem_id="answer-mode",
            )
            filters_heading = gr.Markdown(_filters_heading(lang))
            doc_types = gr.CheckboxGroup(
                doc_type_choices(lang), label=text(lang, "filter_doc_type"), elem_id="filter-doc-type"
            )
            regions = gr.Dropdown(
                service.regions(lang),
                value=[],
                multiselect=True,
                allow_custom_value=True,  # regions of documents indexed after start-up
                label=text(lang, "filter_region"),
                elem_id="filter-region",
            )
            date_from, date_to = date_range(lang, "filter")
            doc_langs = gr.CheckboxGroup(
                doc_language_choices(lang), label=text(lang, "filter_lang"), elem_id="filter-lang"
            )
        with gr.Column(scale=3):
            chatbot = InertChatbot(
                label=text(lang, "chatbot_label"),
                placeholder=welcome(service, lang),
                render_markdown=False,  # document text is shown as text, never as Markdown
                sanitize_html=True,
                allow_tags=False,
                latex_delimiters=[],
                height=560,
                buttons=["copy"],
                elem_id="chatbot",
            )
            textbox = gr.Textbox(
                placeholder=text(lang, "input_placeholder"),
                show_label=False,
                max_lines=6,
                submit_btn=True,
                stop_btn=True,
                elem_id="question",
            )
            gr.ChatInterface(
                bind(respond, service),
                chatbot=chatbot,
                textbox=textbox,
                additional_inputs=[doc_types, regions, date_from, date_to, doc_langs, ui_lang, answer_mode],
                examples=[[question] for question in texts.examples(lang)],
                # The browser's chat keeps its conversation in the page's session; scripts call the
                # stateless /chat (:func:`chat`), so a client looping over questions neither grows the
                # server's memory nor turns every question into a follow-up.
                api_name="chat_session",
                api_visibility="private",
                analytics_enabled=False,
                # Said, not left to Gradio's defaults and GRADIO_CHAT_FLAGGING_MODE: no flagged
                # conversations written on the server, none kept in the browser's storage.
                flagging_mode="never",
                save_history=False,
                fill_height=False,
                autofocus=False,
            )
    return ChatTab(
        service, tab, answer_mode, filters_heading, doc_types, regions, date_from, date_to, doc_langs, chatbot, textbox
    )


def respond(
    service: Service, message, history, doc_types, regions, date_from, date_to, doc_langs, ui_lang, answer_mode=None
) -> Iterator[str]:
    """The chat in the browser: the conversation comes from the chat component."""
    yield from reply_steps(
        service, message, _previous_questions(history), doc_types, regions, date_from, date_to, doc_langs, ui_lang,
        answer_mode, pause=STREAM_PAUSE,
    )  # fmt: skip


def chat(
    service: Service,
    message: str,
    doc_types: list[str] | None = None,
    regions: list[str] | None = None,
    date_from: str = "",
    date_to: str = "",
    doc_langs: list[str] | None = None,
    ui_lang: str = texts.DEFAULT_LANGUAGE,
    answer_mode: str | None = None,
    history: list[str] | None = None,
) -> str:
    """Answer a question with cited quotes; returns the rendered HTML message. ``history``: the
    earlier questions of the conversation, oldest first, for follow-ups. The server keeps no
    conversation between calls."""
    earlier = [turn for turn in history or [] if isinstance(turn, str) and turn.strip()]
    final = ""
    for step in reply_steps(
        service, message, earlier, doc_types or [], regions or [], date_from or "", date_to or "", doc_langs or [],
        ui_lang, answer_mode, pause=0.0, drafts=False,
    ):  # fmt: skip
        final = step
    return final


def reply_steps(
    service: Service, message, earlier, doc_types, regions, date_from, date_to, doc_langs, ui_lang, answer_mode, *,
    pause: float, drafts: bool = True,
) -> Iterator[str]:  # fmt: skip
    """Successive versions of the reply to ``message`` (``earlier``: the previous questions), as HTML."""
    lang = texts.language(ui_lang)
    mode = answer_mode if answer_mode in ANSWER_MODES else service.settings.answer_mode
    try:
        filters = search_filters(doc_types, regions, date_from, date_to, doc_langs)
    except BadFilter as problem:
        yield render.notice(problem.message(lang), kind="error")
        return
    yield render.notice(text(lang, "searching"))
    reply, shown_at = None, 0.0
    try:
        for draft in answer_stream(
            message,
            history=earlier,
            filters=filters,
            settings=service.settings,
            searcher=service.searcher(),
            mode=mode,
        ):
            if draft.answer is not None:
                reply = draft.answer
            elif drafts and time.monotonic() - shown_at >= DRAFT_INTERVAL:
                shown_at = time.monotonic()
                yield render.draft_html(draft.text, lang)
    except AssistantError as error:
        yield render.notice(error_message(error, lang), kind="error")
        return
    except Exception:
        logger.exception("answering %r failed", message)
        yield render.notice(text(lang, "error_internal"), kind="error")
        return
    if reply is None:
        yield render.notice(text(lang, "error_internal"), kind="error")
        return
    if not reply.found and not reply.related:
        yield render.fallback_note(reply, lang) + render.notice(f"{reply.text} {text(lang, 'no_passages')}")
        return
    for number, step in enumerate(render.answer_steps(reply, lang)):
        if number and pause:
            time.sleep(pause)
        yield step


def welcome(service: Service, lang: str) -> str:
    """What the empty chat says: how to ask, and on a first run (the sample alone indexed) how to get
    the Address and the regional responses."""
    hint = text(lang, "chatbot_placeholder")
    try:
        documents = service.documents()
    except AssistantError:  # a damaged index: the chat says so when asked
        return hint
    # Two documents are enough to tell: this runs on every page load, whatever the corpus's size.
    first_run = texts.first_run([record.doc_id for record in documents[:2]])
    return f"{hint}\n\n{text(lang, 'first_run')}" if first_run else hint


def _previous_questions(history: Sequence[dict]) -> list[str]:
    """The user's earlier questions from the chat history (messages format), oldest first."""
    questions = []
    for message in history or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        words = [
            part.get("text", "") if isinstance(part, dict) else part for part in parts if isinstance(part, (str, dict))
        ]
        question = " ".join(word for word in words if isinstance(word, str)).strip()
        if question:
            questions.append(question)
    return questions


def _filters_heading(lang: str) -> str:
    return f"### {text(lang, 'filters')}\n{text(lang, 'filters_hint')}"


def _answer_mode_choices(lang: str) -> list[tuple[str, str]]:
    return [(text(lang, f"mode_{mode}"), mode) for mode in ANSWER_MODES]
