"""Web chat: a Gradio app over ``assistant.answer``, ``Searcher`` and ``build_index`` (no retrieval logic here)."""

from __future__ import annotations

import html
import logging
import os
import threading
import time
from abc import ABCMeta
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import gradio as gr

from assistant.answer import answer_stream
from assistant.build import build_index
from assistant.config import ANSWER_MODES, Settings
from assistant.errors import (
    AssistantError,
    BuildInProgress,
    IndexCorrupt,
    IndexNotFound,
    InvalidQuery,
    ModelMismatch,
    ModelUnavailable,
)
from assistant.metadata import DOC_TYPES
from assistant.model import LANGUAGES
from assistant.overview import regions_overview
from assistant.regions import canonical_region
from assistant.retrieval import Searcher
from assistant.store import DocumentRecord
from ui import render, texts, uploads
from ui.texts import text

logger = logging.getLogger(__name__)

STREAM_PAUSE = 0.08  # seconds between streamed steps, so the browser shows them one by one
DRAFT_INTERVAL = 0.15  # seconds between updates of a generated answer streaming in (fewer, larger steps)
SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "Arial", "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Consolas", "Liberation Mono", "monospace")
# Gradio keeps each session's state (its own copy of the app's config, the chat history) until
# this many newer sessions push it out: about 0.14 MB per session before any conversation, so up
# to about 1.4 GB (docs/performance.md, "Load"). Not lower: a browser chat whose session was
# pushed out stops showing its answers (Gradio 6.31), and a user must never lose a question.
MAX_SESSIONS = 10_000
# Gradio records every queued request (time, status, endpoint, session) for its /monitoring page and
# the latency figures on the "Use via API" page. By default it keeps the last 10,000 and summarises
# all of them again with pandas after every request: with 10,000 kept, the server spent 84 ms of CPU
# per request instead of 60, and a few MB more (docs/performance.md, "Load"). The last 1,000,
# summarised every 100th request, keep those figures. Gradio reads these when the queue is made
# (build_app); the user's own values win.
GRADIO_ANALYTICS = {"GRADIO_ANALYTICS_MAX_EVENTS": "1000", "GRADIO_ANALYTICS_CACHE_FREQUENCY": "100"}
CSS = """
.kz-cite { font-weight: 600; color: var(--color-accent); white-space: nowrap; }
.kz-sources, .kz-related { margin-top: 0.6em; }
.kz-sources > summary, .kz-related > summary { cursor: pointer; font-weight: 600; }
.kz-source { border-left: 3px solid var(--border-color-accent); padding: 0.2em 0.7em; margin: 0.5em 0; }
.kz-facts, .kz-link { font-size: 0.85em; opacity: 0.85; }
.kz-passage { margin: 0.3em 0 0 0; font-size: 0.92em; }
.kz-passage mark { background: #fde68a; color: inherit; padding: 0 0.1em; }
.kz-notice { opacity: 0.75; font-style: italic; }
.kz-error { color: var(--error-text-color, #b91c1c); }
.kz-draft { opacity: 0.8; }
.kz-flagged { text-decoration: underline dotted #b45309; }
.kz-flag { font-size: 0.85em; color: #b45309; margin-left: 0.3em; white-space: nowrap; }
.kz-fallback { margin-bottom: 0.4em; }
.kz-regions-summary { font-weight: 600; margin: 0.2em 0 0.6em 0; }
.kz-region-card { border-left: 3px solid var(--border-color-accent); padding: 0.3em 0.8em; margin: 0.7em 0; }
.kz-region-name { font-size: 1.05em; margin-right: 0.3em; }
.kz-regions-other { font-weight: 600; margin-top: 1.2em; }
.kz-missing { margin-top: 1.2em; padding-top: 0.6em; border-top: 1px solid var(--border-color-primary); }
"""


class _NoStubComponentMeta(type(gr.Chatbot)):
    """Gradio's component metaclass writes a ``.pyi`` stub beside the module of every component class
    it creates, at import time, into the source tree. Its only other work is wrapping ``__init__`` and
    registering ``EVENTS``, which a subclass defining neither does not need, so such a subclass is
    created as the plain ABC it is."""

    def __new__(mcls, name, bases, attrs):
        if "__init__" in attrs or "EVENTS" in attrs:
            raise TypeError(f"{name}: use gradio's own metaclass for a component with a constructor or events")
        return ABCMeta.__new__(mcls, name, bases, attrs)


class InertChatbot(gr.Chatbot, metaclass=_NoStubComponentMeta):
    """A Chatbot that shows user messages as plain text: questions are escaped on the way to the page
    and restored on the way back, so the chat function and the history always see what was typed.

    The assistant's messages are HTML built by :mod:`ui.render` (document text already escaped). A
    subclass rather than a patched instance, because Gradio rebuilds a session's copy of a component
    from its class when an event updates it (e.g. the label, on a language switch).
    """

    is_template = True  # rendered by the frontend's ordinary chatbot

    def postprocess(self, value):
        data = super().postprocess(value)
        for message in data.root:
            if message.role == "user":
                for content in message.content:
                    if getattr(content, "type", None) == "text":
                        content.text = render.inert(content.text)
        return data

    def preprocess(self, payload):
        messages = super().preprocess(payload)
        for message in messages:
            if message.get("role") == "user":
                for content in message.get("content") or []:
                    if isinstance(content, dict) and content.get("type") == "text":
                        content["text"] = html.unescape(str(content["text"]).replace("<br>", "\n"))
        return messages


class _Service:
    """The index the app serves: one Searcher, opened when the first index exists."""

    def __init__(self, settings: Settings, searcher: Searcher | None) -> None:
        self.settings = settings
        self._searcher = searcher
        self._lock = threading.Lock()

    def searcher(self) -> Searcher:
        """The Searcher (it follows the index's ``CURRENT`` pointer by itself).

        Raises:
            IndexNotFound, IndexCorrupt, ModelMismatch: no usable index yet.
        """
        if self._searcher is None:
            with self._lock:
                if self._searcher is None:
                    self._searcher = Searcher(self.settings.index_dir, settings=self.settings)
        return self._searcher

    def documents(self) -> tuple[DocumentRecord, ...]:
        """Documents of the build in service; empty when nothing was built yet."""
        try:
            return tuple(self.searcher().index.manifest.documents)
        except IndexNotFound:
            return ()

    def regions(self, lang: str) -> list[tuple[str, str]]:
        """The regions of the indexed documents as (name in the interface language, value to filter by)."""
        try:
            values = {record.region for record in self.documents() if record.region}
        except AssistantError:
            return []
        return sorted(((texts.region_label(lang, canonical_region(v) or v), v) for v in values), key=lambda c: c[0].casefold())


def build_app(settings: Settings, *, searcher: Searcher | None = None) -> gr.Blocks:
    """The web chat for ``settings.index_dir``, with uploads into ``settings.corpus_dir``.

    Args:
        settings: index and corpus folders, model, answer thresholds.
        searcher: an open :class:`Searcher` to use (default: one opened on ``settings.index_dir``
            at the first request that needs it, so the app also starts before any index exists).

    Returns:
        The Gradio app (not launched): call ``.launch(**launch_options())`` or use :func:`serve`.
        Endpoints for scripts: ``/chat`` (question plus the filter inputs and the earlier questions
        → the rendered answer; stateless)
        and ``/search`` (question, k → passages as dicts), ``/regions`` (question, filters → the
        region-by-region overview as a dict).

    Sets ``GRADIO_ANALYTICS_MAX_EVENTS`` and ``GRADIO_ANALYTICS_CACHE_FREQUENCY`` in this process's
    environment where unset (:data:`GRADIO_ANALYTICS`), for this and later Gradio queues.
    """
    service = _Service(settings, searcher)
    lang0 = texts.DEFAULT_LANGUAGE

    def respond(
        message, history, doc_types, regions, date_from, date_to, doc_langs, ui_lang, answer_mode=None
    ) -> Iterator[str]:
        """The chat in the browser: the conversation comes from the chat component."""
        yield from reply_steps(
            message, _previous_questions(history), doc_types, regions, date_from, date_to, doc_langs, ui_lang,
            answer_mode, pause=STREAM_PAUSE,
        )  # fmt: skip

    def chat(
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
            message, earlier, doc_types or [], regions or [], date_from or "", date_to or "", doc_langs or [],
            ui_lang, answer_mode, pause=0.0, drafts=False,
        ):  # fmt: skip
            final = step
        return final

    def reply_steps(
        message, earlier, doc_types, regions, date_from, date_to, doc_langs, ui_lang, answer_mode, *,
        pause: float, drafts: bool = True,
    ) -> Iterator[str]:  # fmt: skip
        """Successive versions of the reply to ``message`` (``earlier``: the previous questions)."""
        lang = texts.language(ui_lang)
        mode = answer_mode if answer_mode in ANSWER_MODES else settings.answer_mode
        try:
            filters = _filters(doc_types, regions, date_from, date_to, doc_langs)
        except _BadFilter as problem:
            yield render.notice(problem.message(lang), kind="error")
            return
        yield render.notice(text(lang, "searching"))
        reply, shown_at = None, 0.0
        try:
            for draft in answer_stream(
                message,
                history=earlier,
                filters=filters,
                settings=settings,
                searcher=service.searcher(),
                mode=mode,
            ):
                if draft.answer is not None:
                    reply = draft.answer
                elif drafts and time.monotonic() - shown_at >= DRAFT_INTERVAL:
                    shown_at = time.monotonic()
                    yield render.draft_html(draft.text, lang)
        except AssistantError as error:
            yield render.notice(_friendly(error, lang), kind="error")
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

    def regions_view(question, doc_types, date_from, date_to, ui_lang) -> str:
        lang = texts.language(ui_lang)
        try:
            filters = _filters(doc_types, [], date_from, date_to, [])
        except _BadFilter as problem:
            return render.notice(problem.message(lang), kind="error")
        try:
            overview = regions_overview(question, filters=filters, settings=settings, searcher=service.searcher())
        except AssistantError as error:
            return render.notice(_friendly(error, lang), kind="error")
        except Exception:
            logger.exception("the region overview of %r failed", question)
            return render.notice(text(lang, "error_internal"), kind="error")
        return render.regions_html(overview, lang)

    def regions_endpoint(question: str, filters: dict | None = None) -> dict:
        """For each region, the best sentence quoted from its documents on ``question``, with the passage
        and its citation; the regions with nothing relevant. ``filters`` as for ``assistant.retrieve``.
        Returns ``RegionOverview.to_dict()``: question, found, missing, other, no_documents, lang, threshold."""
        try:
            overview = regions_overview(
                question, filters=filters or None, settings=settings, searcher=service.searcher()
            )
        except (AssistantError, ValueError) as error:
            raise gr.Error(str(error), print_exception=False) from None
        return render.overview_record(overview)

    def search(question: str, k: int = 5, filters: dict | None = None) -> list[dict]:
        """Best ``k`` passages for ``question``: rank, score, text, title, date, region, doc_type, lang,
        source, section, start, end, chunk_id, doc_id. ``filters`` as for ``assistant.retrieve``."""
        try:
            passages = service.searcher().search(question, k=int(k), filters=filters or None)
        except (AssistantError, ValueError) as error:
            raise gr.Error(str(error), print_exception=False) from None
        return [render.passage_record(passage) for passage in passages]

    # delete_cache: uploads wait in Gradio's temporary folder only until they are copied into the corpus.
    with gr.Blocks(title=text(lang0, "title"), analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        with gr.Row(equal_height=True):
            header = gr.Markdown(_header(lang0))
            ui_lang = gr.Radio(
                [(name, code) for code, name in texts.LANGUAGE_NAMES.items()],
                value=lang0,
                label=text(lang0, "interface_language"),
                scale=0,
                min_width=380,
                elem_id="ui-lang",
            )
        with gr.Tabs():
            with gr.Tab(text(lang0, "tab_chat"), id="chat", elem_id="tab-chat") as chat_tab:  # noqa: SIM117
                with gr.Row():
                    with gr.Column(scale=1, min_width=240, elem_id="filters"):
                        answer_mode = gr.Radio(
                            _answer_mode_choices(lang0),
                            value=settings.answer_mode,
                            label=text(lang0, "answer_mode"),
                            visible=settings.llm_configured,  # only with a language model to ask
                            elem_id="answer-mode",
                        )
                        filters_heading = gr.Markdown(_filters_heading(lang0))
                        doc_types = gr.CheckboxGroup(
                            _doc_type_choices(lang0), label=text(lang0, "filter_doc_type"), elem_id="filter-doc-type"
                        )
                        regions = gr.Dropdown(
                            service.regions(lang0),
                            value=[],
                            multiselect=True,
                            allow_custom_value=True,  # regions of documents indexed after start-up
                            label=text(lang0, "filter_region"),
                            elem_id="filter-region",
                        )
                        date_from = gr.Textbox(
                            "", label=text(lang0, "filter_date_from"), placeholder="2025-09-01", max_lines=1,
                            elem_id="filter-date-from",
                        )  # fmt: skip
                        date_to = gr.Textbox(
                            "", label=text(lang0, "filter_date_to"), placeholder="2025-12-31", max_lines=1,
                            elem_id="filter-date-to",
                        )  # fmt: skip
                        doc_langs = gr.CheckboxGroup(
                            _doc_language_choices(lang0), label=text(lang0, "filter_lang"), elem_id="filter-lang"
                        )
                    with gr.Column(scale=3):
                        chatbot = InertChatbot(
                            label=text(lang0, "chatbot_label"),
                            placeholder=text(lang0, "chatbot_placeholder"),
                            render_markdown=False,  # document text is shown as text, never as Markdown
                            sanitize_html=True,
                            allow_tags=False,
                            latex_delimiters=[],
                            height=560,
                            buttons=["copy"],
                            elem_id="chatbot",
                        )
                        textbox = gr.Textbox(
                            placeholder=text(lang0, "input_placeholder"),
                            show_label=False,
                            max_lines=6,
                            submit_btn=True,
                            stop_btn=True,
                            elem_id="question",
                        )
                        gr.ChatInterface(
                            respond,
                            chatbot=chatbot,
                            textbox=textbox,
                            additional_inputs=[doc_types, regions, date_from, date_to, doc_langs, ui_lang, answer_mode],
                            examples=[[question] for question in texts.EXAMPLES],
                            # The browser's chat keeps its conversation in the page's session; scripts
                            # call the stateless /chat below, so a client looping over questions
                            # neither grows the server's memory nor turns every question into a follow-up.
                            api_name="chat_session",
                            api_visibility="private",
                            analytics_enabled=False,
                            fill_height=False,
                            autofocus=False,
                        )
            with gr.Tab(text(lang0, "tab_regions"), id="regions", elem_id="tab-regions") as regions_tab:
                regions_intro = gr.Markdown(text(lang0, "regions_intro"))
                with gr.Row(equal_height=True):
                    regions_question = gr.Textbox(
                        label=text(lang0, "regions_question"), placeholder=text(lang0, "regions_placeholder"),
                        max_lines=2, scale=4, elem_id="regions-question",
                    )  # fmt: skip
                    regions_button = gr.Button(
                        text(lang0, "regions_button"), variant="primary", scale=1, elem_id="regions-button"
                    )
                regions_examples = gr.Examples(
                    [[topic] for topic in texts.REGION_EXAMPLES],
                    inputs=[regions_question],
                    label=text(lang0, "regions_examples"),
                    elem_id="regions-examples",
                )
                # Open from the start, like the upload form's below: see there.
                regions_filters = gr.Accordion(text(lang0, "regions_filters"), open=True, elem_id="regions-filters")
                with regions_filters, gr.Row():
                    regions_doc_types = gr.CheckboxGroup(
                        _doc_type_choices(lang0), label=text(lang0, "filter_doc_type"), elem_id="regions-doc-type"
                    )
                    regions_date_from = gr.Textbox(
                        "", label=text(lang0, "filter_date_from"), placeholder="2025-09-01", max_lines=1,
                        elem_id="regions-date-from",
                    )  # fmt: skip
                    regions_date_to = gr.Textbox(
                        "", label=text(lang0, "filter_date_to"), placeholder="2025-12-31", max_lines=1,
                        elem_id="regions-date-to",
                    )  # fmt: skip
                # Rendered by ui.render.regions_html: document text arrives escaped.
                regions_result = gr.HTML("", js_on_load=None, elem_id="regions-result")
            with gr.Tab(text(lang0, "tab_documents"), id="documents", elem_id="tab-documents") as documents_tab:
                totals = gr.Markdown(_totals(service, lang0), elem_id="totals")
                table = gr.Dataframe(
                    _table(service, lang0),
                    datatype="str",
                    interactive=False,
                    wrap=True,
                    column_widths=["34%", "10%", "13%", "15%", "8%", "7%", "13%"],
                    elem_id="documents-table",
                )
                refresh = gr.Button(text(lang0, "refresh"), size="sm")
                upload_heading = gr.Markdown(f"### {text(lang0, 'upload_heading')}")
                files = gr.File(
                    label=text(lang0, "upload_label", limit=uploads.MAX_UPLOAD_MB),
                    file_count="multiple",
                    type="filepath",
                    elem_id="upload",
                )
                # Open from the start. A closed accordion mounts its fields only when opened, and Gradio
                # then applies the page-load relabelling to them: a value typed at once could be wiped,
                # or kept on screen but sent empty (lost in 5 of 120 scripted tries, 0 of 140 when open).
                metadata_box = gr.Accordion(text(lang0, "upload_meta"), open=True, elem_id="upload-meta")
                with metadata_box, gr.Row():
                    upload_doc_type = gr.Dropdown(
                            _doc_type_choices(lang0), value=None, label=text(lang0, "upload_doc_type"),
                            elem_id="upload-doc-type",
                        )  # fmt: skip
                    upload_region = gr.Textbox(
                        "", label=text(lang0, "upload_region"), max_lines=1, elem_id="upload-region"
                    )
                    upload_date = gr.Textbox(
                            "", label=text(lang0, "upload_date"), placeholder="2025-09-10", max_lines=1,
                            elem_id="upload-date",
                        )  # fmt: skip
                    upload_lang = gr.Dropdown(
                            _doc_language_choices(lang0), value=None, label=text(lang0, "upload_lang"),
                            elem_id="upload-lang",
                        )  # fmt: skip
                with gr.Row():
                    upload_button = gr.Button(text(lang0, "upload_button"), elem_id="upload-button")
                    rebuild_button = gr.Button(text(lang0, "rebuild_button"), variant="primary", elem_id="rebuild")
                status = gr.Textbox(
                    label=text(lang0, "status"), interactive=False, lines=4, max_lines=20, elem_id="status"
                )

        gr.api(chat, api_name="chat")
        gr.api(search, api_name="search")
        gr.api(regions_endpoint, api_name="regions")

        def relabel(ui_lang_value: str) -> dict:
            lang = texts.language(ui_lang_value)
            return {
                header: _header(lang),
                ui_lang: gr.update(label=text(lang, "interface_language")),
                chat_tab: gr.update(label=text(lang, "tab_chat")),
                documents_tab: gr.update(label=text(lang, "tab_documents")),
                regions_tab: gr.update(label=text(lang, "tab_regions")),
                regions_intro: text(lang, "regions_intro"),
                regions_question: gr.update(
                    label=text(lang, "regions_question"), placeholder=text(lang, "regions_placeholder")
                ),
                regions_button: gr.update(value=text(lang, "regions_button")),
                regions_examples.dataset: gr.update(label=text(lang, "regions_examples")),
                regions_filters: gr.update(label=text(lang, "regions_filters")),
                regions_doc_types: gr.update(label=text(lang, "filter_doc_type"), choices=_doc_type_choices(lang)),
                regions_date_from: gr.update(label=text(lang, "filter_date_from")),
                regions_date_to: gr.update(label=text(lang, "filter_date_to")),
                filters_heading: _filters_heading(lang),
                answer_mode: gr.update(label=text(lang, "answer_mode"), choices=_answer_mode_choices(lang)),
                doc_types: gr.update(label=text(lang, "filter_doc_type"), choices=_doc_type_choices(lang)),
                regions: gr.update(label=text(lang, "filter_region"), choices=service.regions(lang)),
                date_from: gr.update(label=text(lang, "filter_date_from")),
                date_to: gr.update(label=text(lang, "filter_date_to")),
                doc_langs: gr.update(label=text(lang, "filter_lang"), choices=_doc_language_choices(lang)),
                chatbot: gr.update(label=text(lang, "chatbot_label"), placeholder=text(lang, "chatbot_placeholder")),
                textbox: gr.update(placeholder=text(lang, "input_placeholder")),
                totals: _totals(service, lang),
                table: _table(service, lang),
                refresh: gr.update(value=text(lang, "refresh")),
                upload_heading: f"### {text(lang, 'upload_heading')}",
                files: gr.update(label=text(lang, "upload_label", limit=uploads.MAX_UPLOAD_MB)),
                metadata_box: gr.update(label=text(lang, "upload_meta")),
                upload_doc_type: gr.update(label=text(lang, "upload_doc_type"), choices=_doc_type_choices(lang)),
                upload_region: gr.update(label=text(lang, "upload_region")),
                upload_date: gr.update(label=text(lang, "upload_date")),
                upload_lang: gr.update(label=text(lang, "upload_lang"), choices=_doc_language_choices(lang)),
                upload_button: gr.update(value=text(lang, "upload_button")),
                rebuild_button: gr.update(value=text(lang, "rebuild_button")),
                status: gr.update(label=text(lang, "status")),
            }

        relabelled = [
            header, ui_lang, chat_tab, documents_tab, filters_heading, doc_types, regions, date_from, date_to,
            doc_langs, chatbot, textbox, totals, table, refresh, upload_heading, files, metadata_box,
            upload_doc_type, upload_region, upload_date, upload_lang, upload_button, rebuild_button, status,
            regions_tab, regions_intro, regions_question, regions_button, regions_examples.dataset, regions_filters,
            regions_doc_types, regions_date_from, regions_date_to, answer_mode,
        ]  # fmt: skip

        def on_load(request: gr.Request) -> dict:
            # ``?lang=kk`` opens the page in Kazakh; the table and regions are refreshed for this visitor.
            lang = texts.language(request.query_params.get("lang") if request else None)
            updates = relabel(lang)
            updates[ui_lang] = gr.update(value=lang, label=text(lang, "interface_language"))
            return updates

        def save_files(paths, doc_type, region, when, doc_lang, ui_lang_value) -> tuple[str, None]:
            lang = texts.language(ui_lang_value)
            if not paths:
                return text(lang, "upload_none"), None
            try:
                metadata = uploads.check_metadata(
                    {"doc_type": doc_type, "region": region, "date": when, "lang": doc_lang}
                )
            except ValueError:
                return text(lang, "bad_date", value=when or ""), gr.skip()
            lines, saved_any = [], False
            for path in paths if isinstance(paths, list) else [paths]:
                original = Path(str(path)).name
                try:
                    saved = uploads.save_upload(path, settings.corpus_dir, original_name=original)
                    uploads.write_sidecar(saved.path, metadata)
                except uploads.UploadRejected as rejected:
                    reason = _rejection(rejected, original, lang)
                    lines.append(text(lang, "upload_rejected", name=original, reason=reason))
                    continue
                except OSError as error:
                    logger.warning("cannot save upload %s: %s", original, error)
                    reason = error.strerror or str(error)
                    lines.append(text(lang, "upload_rejected", name=original, reason=reason))
                    continue
                saved_any = True
                if saved.renamed:
                    lines.append(text(lang, "upload_renamed", name=saved.name, original=original))
                else:
                    lines.append(text(lang, "upload_saved", name=saved.name))
            if saved_any:
                lines.append(text(lang, "upload_next"))
            return "\n".join(lines), None

        def rebuild(ui_lang_value, progress=gr.Progress()) -> dict:  # noqa: B008 - how gradio injects a tracker
            lang = texts.language(ui_lang_value)

            def report(stage: str, done: int, total: int) -> None:
                label = text(lang, "progress_chunks" if stage == "chunks" else "progress_documents")
                progress((done, total) if total else None, desc=label)

            try:
                result = build_index(settings=settings, progress=report)
            except BuildInProgress:
                return {status: text(lang, "rebuild_running")}
            except AssistantError as error:
                return {status: text(lang, "rebuild_error", detail=str(error))}
            except Exception:
                logger.exception("rebuilding the index failed")
                return {status: text(lang, "error_internal")}
            key = "rebuild_done" if result.changed else "rebuild_unchanged"
            lines = [text(lang, key, summary=result.summary())]
            lines += [text(lang, "rebuild_failed_file", path=p.path, reason=p.reason) for p in result.failed]
            lines += [text(lang, "rebuild_skipped_file", path=p.path, reason=p.reason) for p in result.skipped]
            lines += list(result.notes)
            return {
                status: "\n".join(lines),
                totals: _totals(service, lang),
                table: _table(service, lang),
                regions: gr.update(choices=service.regions(lang)),
            }

        def refresh_documents(ui_lang_value) -> dict:
            lang = texts.language(ui_lang_value)
            return {
                totals: _totals(service, lang),
                table: _table(service, lang),
                regions: gr.update(choices=service.regions(lang)),
            }

        demo.load(on_load, None, relabelled, api_visibility="private", queue=False)
        regions_inputs = [regions_question, regions_doc_types, regions_date_from, regions_date_to, ui_lang]
        regions_button.click(regions_view, regions_inputs, regions_result, api_visibility="private")
        regions_question.submit(regions_view, regions_inputs, regions_result, api_visibility="private")
        ui_lang.change(relabel, ui_lang, relabelled, api_visibility="private", queue=False)
        refresh.click(refresh_documents, ui_lang, [totals, table, regions], api_visibility="private")
        upload_button.click(
            save_files,
            [files, upload_doc_type, upload_region, upload_date, upload_lang, ui_lang],
            [status, files],
            api_visibility="private",
        )
        # Its own concurrency group with room for two, so a second click gets "already running"
        # (BuildInProgress) at once instead of waiting in the queue behind the first.
        rebuild_button.click(
            rebuild,
            ui_lang,
            [status, totals, table, regions],
            api_visibility="private",
            concurrency_id="rebuild",
            concurrency_limit=2,
        )
    for name, value in GRADIO_ANALYTICS.items():
        os.environ.setdefault(name, value)
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


def launch_options() -> dict:
    """Keyword arguments for ``Blocks.launch``: system fonts only (nothing fetched from the internet),
    no stack traces to users, upload size limit, threads sized for a small CPU, sessions kept capped."""
    return {
        "theme": gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS)),
        "css": CSS,
        "show_error": False,
        "max_threads": 8,
        "max_file_size": f"{uploads.MAX_UPLOAD_MB}mb",
        "footer_links": ["api", "settings"],
        "ssr_mode": False,
        "state_session_capacity": MAX_SESSIONS,
    }


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Start the web chat and block until it is stopped (Ctrl+C).

    Args:
        settings: index and corpus folders, model and thresholds.
        host: address to listen on (``0.0.0.0`` to accept other machines).
        port: TCP port.
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build_app(settings)
    demo.launch(server_name=host, server_port=port, **launch_options())


class _BadFilter(ValueError):
    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key, self.values = key, values

    def message(self, lang: str) -> str:
        return text(lang, self.key, **self.values)


def _filters(doc_types, regions, date_from, date_to, doc_langs) -> dict[str, object]:
    """The ``filters`` argument of ``answer()`` from the filter inputs; dates checked here for a clear message."""
    start, end = _date(date_from), _date(date_to)
    if start and end and start > end:
        raise _BadFilter("bad_date_range", start=start, end=end)
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
        raise _BadFilter("bad_date", value=shown) from None


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


def _friendly(error: AssistantError, lang: str) -> str:
    if isinstance(error, IndexNotFound):
        return text(lang, "error_no_index")
    if isinstance(error, (IndexCorrupt, ModelMismatch)):
        return text(lang, "error_index")
    if isinstance(error, ModelUnavailable):
        return text(lang, "error_model")
    if isinstance(error, InvalidQuery):
        return text(lang, "error_invalid_query", detail=str(error))
    logger.warning("search failed: %s", error)
    return text(lang, "error_invalid_query", detail=str(error))


def _rejection(rejected: uploads.UploadRejected, original: str, lang: str) -> str:
    values = {
        "type": {"allowed": ", ".join(uploads.ALLOWED_SUFFIXES)},
        "size": {"limit": uploads.MAX_UPLOAD_MB},
        "content": {"suffix": Path(original).suffix.lower()},
        "duplicate": {"existing": rejected.existing},
    }
    return text(lang, f"reject_{rejected.reason}", **values.get(rejected.reason, {}))


def _header(lang: str) -> str:
    return f"## {text(lang, 'title')}\n{text(lang, 'description')}"


def _filters_heading(lang: str) -> str:
    return f"### {text(lang, 'filters')}\n{text(lang, 'filters_hint')}"


def _doc_type_choices(lang: str) -> list[tuple[str, str]]:
    return [(texts.doc_type_label(lang, doc_type), doc_type) for doc_type in DOC_TYPES]


def _answer_mode_choices(lang: str) -> list[tuple[str, str]]:
    return [(text(lang, f"mode_{mode}"), mode) for mode in ANSWER_MODES]


def _doc_language_choices(lang: str) -> list[tuple[str, str]]:
    return [(texts.doc_language_label(lang, code), code) for code in LANGUAGES]


def _table(service: _Service, lang: str) -> dict:
    headers = [
        text(lang, key)
        for key in ("col_title", "col_date", "col_region", "col_type", "col_lang", "col_chunks", "col_file")
    ]
    try:
        documents = service.documents()
    except AssistantError:
        documents = ()
    rows = [
        [
            record.title,
            record.date,
            texts.region_label(lang, canonical_region(record.region) or record.region) if record.region else "",
            texts.doc_type_label(lang, record.doc_type),
            texts.doc_language_label(lang, record.lang),
            str(record.chunks),
            record.doc_id,
        ]
        for record in documents
    ]
    return {"headers": headers, "data": rows}


def _totals(service: _Service, lang: str) -> str:
    try:
        documents = service.documents()
    except AssistantError as error:
        return render.inert(_friendly(error, lang))
    if not documents:
        return text(lang, "docs_empty")
    return text(lang, "docs_totals", documents=len(documents), chunks=sum(record.chunks for record in documents))
