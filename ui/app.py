"""Web chat: a Gradio app over ``assistant.answer``, ``Searcher`` and ``build_index`` (no retrieval logic here).

The page is a header and three tabs, each made by its own module (``ui/<name>_tab.py``); this module
puts them together, adds the API endpoints and says how to serve the app.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block
from starlette.middleware import Middleware

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.retrieval import Searcher
from ui import chat_tab, documents_tab, regions_tab, render, texts, uploads
from ui.access import Access, check_exposure
from ui.chat_tab import ChatTab
from ui.chatbot import InertChatbot
from ui.documents_tab import DocumentsTab
from ui.handlers import bind
from ui.hosts import HostGuard, is_address, is_loopback
from ui.login import login_redirect, login_routes
from ui.regions_tab import RegionsTab
from ui.service import Service
from ui.texts import text

__all__ = ["InertChatbot", "build_app", "launch_options", "serve"]

logger = logging.getLogger(__name__)

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
.kz-facts, .kz-link, .kz-provenance { font-size: 0.85em; opacity: 0.85; }
.kz-stated { font-style: italic; }
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


def build_app(settings: Settings, *, searcher: Searcher | None = None, access: Access | None = None) -> gr.Blocks:
    """The web chat for ``settings.index_dir``, with uploads into ``settings.corpus_dir``.

    Args:
        settings: index and corpus folders, model, answer thresholds.
        searcher: an open :class:`Searcher` to use (default: one opened on ``settings.index_dir``
            at the first request that needs it, so the app also starts before any index exists).
        access: who may read and who may change the corpus (default: the rules of ``settings``).
            Launch with ``launch_options(access)`` (the same object), as :func:`serve` does, or no
            one is known to be an editor once a user exists.

    Returns:
        The Gradio app (not launched): call ``.launch(**launch_options())`` or use :func:`serve`.
        Endpoints for scripts: ``/chat`` (question plus the filter inputs and the earlier questions
        → the rendered answer; stateless)
        and ``/search`` (question, k → passages as dicts), ``/regions`` (question, filters → the
        region-by-region overview as a dict).

    Sets ``GRADIO_ANALYTICS_MAX_EVENTS`` and ``GRADIO_ANALYTICS_CACHE_FREQUENCY`` in this process's
    environment where unset (:data:`GRADIO_ANALYTICS`), for this and later Gradio queues.
    """
    service, lang = Service(settings, searcher, access), texts.DEFAULT_LANGUAGE
    # delete_cache: uploads wait in Gradio's temporary folder only until they are copied into the corpus.
    with gr.Blocks(title=text(lang, "title"), analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        header = _add_header(lang)
        with gr.Tabs():
            chat = chat_tab.add(service, header.ui_lang)
            regions = regions_tab.add(service, header.ui_lang)
            documents = documents_tab.add(service, header.ui_lang, region_filter=chat.regions)

        gr.api(bind(chat_tab.chat, service), api_name="chat")
        gr.api(bind(search, service), api_name="search")
        gr.api(bind(regions_tab.regions_endpoint, service), api_name="regions")

        parts = (header, chat, regions, documents)
        relabelled = list(relabel(parts, lang))  # what a language switch updates, from each part's own list
        demo.load(bind(on_load, parts, header.ui_lang), None, relabelled, api_visibility="private", queue=False)
        header.ui_lang.change(bind(relabel, parts), header.ui_lang, relabelled, api_visibility="private", queue=False)
    for name, value in GRADIO_ANALYTICS.items():
        os.environ.setdefault(name, value)
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


@dataclass(frozen=True)
class Header:
    """The page's title and the interface language selector."""

    title: gr.Markdown
    ui_lang: gr.Radio

    def relabel(self, lang: str) -> dict[Block, Any]:
        """The header in the interface language ``lang``: a Gradio update per component."""
        return {self.title: _header(lang), self.ui_lang: gr.update(label=text(lang, "interface_language"))}


Part = Header | ChatTab | RegionsTab | DocumentsTab  # a part of the page: it relabels its own components


def relabel(parts: Sequence[Part], ui_lang_value: str) -> dict:
    """Every label, choice and text of the page's ``parts`` in the interface language ``ui_lang_value``."""
    lang = texts.language(ui_lang_value)
    return {block: update for part in parts for block, update in part.relabel(lang).items()}


def on_load(parts: Sequence[Part], ui_lang: gr.Radio, request: gr.Request) -> dict:
    """The page as a visitor opens it: ``?lang=kk`` opens it in Kazakh; the table and regions are refreshed."""
    lang = texts.language(request.query_params.get("lang") if request else None)
    return relabel(parts, lang) | {ui_lang: gr.update(value=lang, label=text(lang, "interface_language"))}


def search(service: Service, question: str, k: int = 5, filters: dict | None = None) -> list[dict]:
    """Best ``k`` passages for ``question``: rank, score, text, title, date, region, doc_type, lang,
    source, section, start, end, chunk_id, doc_id, and how the document entered the corpus (origin,
    added_by, added_at, fetched_from, file_sha256, stated_source, stated_outlet). ``filters`` as for
    ``assistant.retrieve``."""
    try:
        passages = service.searcher().search(question, k=int(k), filters=filters or None)
    except (AssistantError, ValueError) as error:
        raise gr.Error(service.without_paths(str(error)), print_exception=False) from None
    return [render.passage_record(passage) for passage in passages]


def launch_options(
    access: Access | None = None, allowed_hosts: Sequence[str] = (), settings: Settings | None = None
) -> dict:
    """Keyword arguments for ``Blocks.launch``: system fonts only (nothing fetched from the internet),
    no stack traces to users, upload size limit (``settings.upload_max_mb``, by default 20 MB),
    threads sized for a small CPU, sessions kept capped;
    requests for another host or from another site's page refused (:class:`ui.hosts.HostGuard`, which
    answers IP addresses, ``localhost`` and the ``allowed_hosts`` names); no monitoring page and no run
    history (who asked what stays out of reach of visitors and of the browser's storage); with
    ``access`` (the app's, given to :func:`build_app`), its rules on every request: who the visitor
    is (``gr.Request.username``), the ``/login`` and ``/logout`` pages unless a proxy signs users
    in, and a browser sent to ``/login`` where reading needs one.

    Args:
        access: the app's access rules (``None``: no logins, as for a script's own launch).
        allowed_hosts: host names served besides IP addresses and ``localhost`` (``Settings.allowed_hosts``).
        settings: the upload limit's source (``None``: the default limit).
    """
    upload_mb = settings.upload_max_mb if settings is not None else uploads.MAX_UPLOAD_MB
    access_options = _access_options(access)
    return access_options | {
        "theme": gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS)),
        "css": CSS,
        "show_error": False,
        "max_threads": 8,
        "max_file_size": f"{upload_mb:g}mb",
        "footer_links": ["api", "settings"],
        "ssr_mode": False,
        "state_session_capacity": MAX_SESSIONS,
        "enable_monitoring": False,
        "run_history": False,
        # Gradio adds its CORS middleware outside this one: it answers preflights, which run nothing,
        # and every request that does reach the app passes the guard first.
        "app_kwargs": {
            **access_options.get("app_kwargs", {}),
            "middleware": [Middleware(HostGuard, allowed_hosts=tuple(allowed_hosts))],
        },
    }


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, *, allow_open_editing: bool = False) -> None:
    """Start the web chat and block until it is stopped (Ctrl+C).

    Args:
        settings: index and corpus folders, model and thresholds, who may read and edit, the host
            names served (``allowed_hosts``).
        host: address to listen on (``0.0.0.0`` to accept other machines); a name given here is served too.
        port: TCP port.
        allow_open_editing: serve beyond loopback although anyone could change the corpus.

    Raises:
        AssistantError: ``host`` is not loopback and editing would be open (no users, no proxy
            mode) without ``allow_open_editing``; a damaged users file.
    """
    access = Access(settings)
    check_exposure(access, host, allow_open_editing=allow_open_editing)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    allowed = (*settings.allowed_hosts, *([] if is_address(host) else [host]))
    if not is_loopback(host) and not settings.allowed_hosts:
        logger.warning(
            "listening on %s: requests are answered for IP addresses and localhost only; list the names "
            "this server is reached by (its DNS name, a reverse proxy's public name) in ASSISTANT_ALLOWED_HOSTS",
            host,
        )
    demo = build_app(settings, access=access)
    demo.launch(server_name=host, server_port=port, **launch_options(access, allowed, settings))


def _access_options(access: Access | None) -> dict:
    if access is None:
        return {}
    if access.proxy is not None:
        return {"auth_dependency": access.identity}
    routes = {"routes": login_routes(access), "exception_handlers": {401: login_redirect}}
    return {"auth_dependency": access.identity, "app_kwargs": routes}


def _add_header(lang: str) -> Header:
    with gr.Row(equal_height=True):
        title = gr.Markdown(_header(lang))
        ui_lang = gr.Radio(
            [(name, code) for code, name in texts.LANGUAGE_NAMES.items()],
            value=lang,
            label=text(lang, "interface_language"),
            scale=0,
            min_width=380,
            elem_id="ui-lang",
        )
    return Header(title, ui_lang)


def _header(lang: str) -> str:
    return f"## {text(lang, 'title')}\n{text(lang, 'description')}"
