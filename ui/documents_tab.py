"""The documents tab of the web app: what is indexed and where it came from, uploads into the corpus,
removing a document, the audit log of both, and rebuilding the index."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.blocks import Block

from assistant import audit
from assistant.build import build_index
from assistant.errors import AssistantError, BuildInProgress
from assistant.model import ANONYMOUS
from assistant.regions import canonical_region
from ui import render, texts, uploads
from ui.access import Access, require_editor
from ui.filters import doc_language_choices, doc_type_choices
from ui.handlers import bind
from ui.service import Service, error_message
from ui.texts import text

logger = logging.getLogger(__name__)

MEGABYTE = 1024 * 1024
AUDIT_ROWS = 200  # the newest entries of the audit log the tab shows
# What refresh_documents returns (totals, table, region choices, removable documents, audit log),
# and so what rebuild updates after its status.
LISTING_OUTPUTS = 5


@dataclass(frozen=True)
class DocumentsTab:
    """The documents tab's components that a language switch relabels, and where its listing comes from."""

    service: Service
    tab: gr.Tab
    totals: gr.Markdown
    table: gr.Dataframe
    refresh: gr.Button
    upload_heading: gr.Markdown
    access_note: gr.Markdown
    files: gr.File
    metadata_box: gr.Accordion
    upload_doc_type: gr.Dropdown
    upload_region: gr.Textbox
    upload_date: gr.Textbox
    upload_lang: gr.Dropdown
    upload_button: gr.Button
    rebuild_button: gr.Button
    status: gr.Textbox
    remove_heading: gr.Markdown
    remove_choice: gr.Dropdown
    remove_button: gr.Button
    audit_box: gr.Accordion
    audit_log: gr.Dataframe

    def relabel(self, lang: str) -> dict[Block, Any]:
        """The tab in the interface language ``lang``: a Gradio update per component."""
        return {
            self.tab: gr.update(label=text(lang, "tab_documents")),
            self.totals: _totals(self.service, lang),
            self.table: _table(self.service, lang),
            self.refresh: gr.update(value=text(lang, "refresh")),
            self.upload_heading: f"### {text(lang, 'upload_heading')}",
            self.access_note: _access_note(self.service.access, lang),
            self.files: gr.update(label=text(lang, "upload_label", limit=f"{self.service.settings.upload_max_mb:g}")),
            self.metadata_box: gr.update(label=text(lang, "upload_meta")),
            self.upload_doc_type: gr.update(label=text(lang, "upload_doc_type"), choices=doc_type_choices(lang)),
            self.upload_region: gr.update(label=text(lang, "upload_region")),
            self.upload_date: gr.update(label=text(lang, "upload_date")),
            self.upload_lang: gr.update(label=text(lang, "upload_lang"), choices=doc_language_choices(lang)),
            self.upload_button: gr.update(value=text(lang, "upload_button")),
            self.rebuild_button: gr.update(value=text(lang, "rebuild_button")),
            self.status: gr.update(label=text(lang, "status")),
            self.remove_heading: f"### {text(lang, 'remove_heading')}",
            self.remove_choice: gr.update(label=text(lang, "remove_choice"), choices=_removable(self.service)),
            self.remove_button: gr.update(value=text(lang, "remove_button")),
            self.audit_box: gr.update(label=text(lang, "audit_heading")),
            self.audit_log: audit_table(self.service, lang),
        }


def add(service: Service, ui_lang: gr.Radio, region_filter: gr.Dropdown) -> DocumentsTab:
    """Make the documents tab inside the current ``gr.Tabs``: the indexed documents, uploads, rebuilding.

    Args:
        service: the index listed and rebuilt, and the corpus uploads go to (``service.settings``).
        ui_lang: the interface language selector (an input of every action).
        region_filter: a region selector elsewhere on the page whose choices follow the index.
    """
    lang = texts.DEFAULT_LANGUAGE
    with gr.Tab(text(lang, "tab_documents"), id="documents", elem_id="tab-documents") as tab:
        totals = gr.Markdown(_totals(service, lang), elem_id="totals")
        table = gr.Dataframe(
            _table(service, lang),
            datatype="str",
            interactive=False,
            wrap=True,
            column_widths=["24%", "8%", "10%", "11%", "6%", "5%", "11%", "15%", "10%"],
            elem_id="documents-table",
        )
        refresh = gr.Button(text(lang, "refresh"), size="sm")
        upload_heading = gr.Markdown(f"### {text(lang, 'upload_heading')}")
        access_note = gr.Markdown(_access_note(service.access, lang), elem_id="access-note")
        files = gr.File(
            label=text(lang, "upload_label", limit=f"{service.settings.upload_max_mb:g}"),
            file_count="multiple",
            type="filepath",
            elem_id="upload",
        )
        # Open from the start. A closed accordion mounts its fields only when opened, and Gradio
        # then applies the page-load relabelling to them: a value typed at once could be wiped,
        # or kept on screen but sent empty (lost in 5 of 120 scripted tries, 0 of 140 when open).
        metadata_box = gr.Accordion(text(lang, "upload_meta"), open=True, elem_id="upload-meta")
        with metadata_box, gr.Row():
            upload_doc_type = gr.Dropdown(
                doc_type_choices(lang), value=None, label=text(lang, "upload_doc_type"), elem_id="upload-doc-type"
            )
            upload_region = gr.Textbox("", label=text(lang, "upload_region"), max_lines=1, elem_id="upload-region")
            upload_date = gr.Textbox(
                "", label=text(lang, "upload_date"), placeholder="2025-09-10", max_lines=1, elem_id="upload-date"
            )
            upload_lang = gr.Dropdown(
                doc_language_choices(lang), value=None, label=text(lang, "upload_lang"), elem_id="upload-lang"
            )
        with gr.Row():
            upload_button = gr.Button(text(lang, "upload_button"), elem_id="upload-button")
            rebuild_button = gr.Button(text(lang, "rebuild_button"), variant="primary", elem_id="rebuild")
        status = gr.Textbox(label=text(lang, "status"), interactive=False, lines=4, max_lines=20, elem_id="status")
        remove_heading = gr.Markdown(f"### {text(lang, 'remove_heading')}")
        with gr.Row(equal_height=True):
            # Custom values: documents indexed after start-up; remove_document checks every value.
            remove_choice = gr.Dropdown(
                _removable(service), value=None, label=text(lang, "remove_choice"), allow_custom_value=True,
                scale=4, elem_id="remove-document",
            )  # fmt: skip
            remove_button = gr.Button(text(lang, "remove_button"), variant="stop", scale=1, elem_id="remove-button")
        audit_box = gr.Accordion(text(lang, "audit_heading"), open=False, elem_id="audit")
        with audit_box:
            audit_log = gr.Dataframe(
                audit_table(service, lang), datatype="str", interactive=False, wrap=True, elem_id="audit-log"
            )
    documents = DocumentsTab(
        service, tab, totals, table, refresh, upload_heading, access_note, files, metadata_box, upload_doc_type,
        upload_region, upload_date, upload_lang, upload_button, rebuild_button, status, remove_heading, remove_choice,
        remove_button, audit_box, audit_log,
    )  # fmt: skip
    _wire(documents, ui_lang, region_filter)
    return documents


def _wire(documents: DocumentsTab, ui_lang: gr.Radio, region_filter: gr.Dropdown) -> None:
    """The tab's buttons: refresh the listing, save the uploads, remove a document, rebuild the index."""
    service = documents.service
    listing = [documents.totals, documents.table, region_filter, documents.remove_choice, documents.audit_log]
    documents.refresh.click(bind(refresh_documents, service), ui_lang, listing, api_visibility="private")
    documents.upload_button.click(
        bind(save_files, service),
        [documents.files, documents.upload_doc_type, documents.upload_region, documents.upload_date,
         documents.upload_lang, ui_lang],
        [documents.status, documents.files],
        api_visibility="private",
    ).then(bind(audit_table, service), ui_lang, documents.audit_log, api_visibility="private")
    documents.remove_button.click(
        bind(remove_file, service),
        [documents.remove_choice, ui_lang],
        [documents.status, documents.remove_choice, documents.audit_log],
        api_visibility="private",
    )  # fmt: skip
    # Its own concurrency group with room for two, so a second click gets "already running"
    # (BuildInProgress) at once instead of waiting in the queue behind the first.
    documents.rebuild_button.click(
        bind(rebuild, service),
        ui_lang,
        [documents.status, *listing],
        api_visibility="private",
        concurrency_id="rebuild",
        concurrency_limit=2,
    )


def refresh_documents(service: Service, ui_lang_value) -> tuple[str, dict, dict, dict, dict]:
    """The count of indexed documents, their table, the region choices, the documents that may be
    removed and the audit log, in the interface language."""
    lang = texts.language(ui_lang_value)
    return (
        _totals(service, lang), _table(service, lang), gr.update(choices=service.regions(lang)),
        gr.update(choices=_removable(service)), audit_table(service, lang),
    )  # fmt: skip


def save_files(
    service: Service, paths, doc_type, region, when, doc_lang, ui_lang_value, request: gr.Request
) -> tuple[str, None]:
    """Copy the uploaded files into the corpus with their metadata and who sent them (the logged-in
    user, else anonymous), within the limits of ``service.settings``; returns the status text and
    clears the upload.

    Raises:
        gradio.Error: the request is not an editor's (:func:`ui.access.require_editor`).
    """
    lang = texts.language(ui_lang_value)
    uploader = require_editor(service.access, request, lang) or ANONYMOUS
    settings = service.settings
    paths = [] if not paths else paths if isinstance(paths, list) else [paths]
    if not paths:
        return text(lang, "upload_none"), None
    if len(paths) > settings.upload_max_files:
        return text(lang, "upload_too_many", limit=settings.upload_max_files, count=len(paths)), gr.skip()
    try:
        metadata = uploads.check_metadata({"doc_type": doc_type, "region": region, "date": when, "lang": doc_lang})
    except ValueError:
        return text(lang, "bad_date", value=when or ""), gr.skip()
    room = int(settings.corpus_max_mb * MEGABYTE) - uploads.corpus_bytes(settings.corpus_dir)
    lines, saved_any = [], False
    for path in paths:
        original = Path(str(path)).name
        try:
            saved = uploads.save_upload(
                path, settings.corpus_dir, original_name=original, max_bytes=int(settings.upload_max_mb * MEGABYTE),
                metadata=metadata, uploader=uploader, room_bytes=room, audit_log=settings.audit_log_path,
            )  # fmt: skip
        except uploads.UploadRejected as rejected:
            reason = _rejection(service, rejected, original, lang)
            lines.append(text(lang, "upload_rejected", name=original, reason=reason))
            continue
        except OSError as error:
            logger.warning("cannot save upload %s: %s", original, error)
            reason = error.strerror or service.without_paths(str(error))
            lines.append(text(lang, "upload_rejected", name=original, reason=reason))
            continue
        saved_any = True
        room -= saved.path.stat().st_size + saved.sidecar.stat().st_size
        key = "upload_renamed" if saved.renamed else "upload_saved"
        lines.append(text(lang, key, name=saved.name, original=original))
    if saved_any:
        lines.append(text(lang, "upload_next"))
    return "\n".join(lines), None


def remove_file(service: Service, doc_id, ui_lang_value, request: gr.Request) -> tuple[str, dict, dict]:
    """Delete a document and its sidecar from the corpus and log who did it; returns the status
    text, the cleared choice and the audit log. The document leaves the search at the next build.

    Raises:
        gradio.Error: the request is not an editor's (:func:`ui.access.require_editor`).
    """
    lang = texts.language(ui_lang_value)
    editor = require_editor(service.access, request, lang) or ANONYMOUS
    if not doc_id:
        return text(lang, "remove_none"), gr.skip(), gr.skip()
    doc_id = str(doc_id)
    title = _indexed_title(service, doc_id)
    try:
        uploads.remove_document(
            service.settings.corpus_dir, doc_id, user=editor, title=title,
            audit_log=service.settings.audit_log_path,
        )  # fmt: skip
    except uploads.RemovalRefused:
        return text(lang, "remove_unknown"), gr.update(value=None), gr.skip()
    except OSError as error:
        logger.warning("cannot remove %s: %s", doc_id, error)
        return text(lang, "remove_failed", reason=error.strerror or type(error).__name__), gr.skip(), gr.skip()
    done = text(lang, "remove_done", title=title or Path(doc_id).name)
    return done, gr.update(value=None), audit_table(service, lang)


def audit_table(service: Service, ui_lang_value) -> dict:
    """The newest entries of the audit log as a plain table (never HTML), in the interface language."""
    lang = texts.language(ui_lang_value)
    keys = ("audit_time", "audit_action", "audit_user", "col_file", "audit_detail", "col_sha256")
    headers = [text(lang, key) for key in keys]
    try:
        entries = audit.read_entries(service.settings.audit_log_path, last=AUDIT_ROWS)
    except OSError as error:
        logger.warning("cannot read the audit log: %s", error)
        entries = ()
    rows = [
        [
            entry.time.replace("T", " ").removesuffix("Z"),
            text(lang, f"audit_{entry.action}"),
            texts.user_label(lang, entry.user),
            entry.document,
            entry.title or entry.name,
            entry.sha256[:16],
        ]
        for entry in entries
    ]
    return {"headers": headers, "data": rows}


def rebuild(service: Service, ui_lang_value, request: gr.Request, progress=gr.Progress()) -> tuple:  # noqa: B008 - how gradio injects a tracker
    """Rebuild the index from the corpus; returns the status text and, after a build, the refreshed listing.

    Raises:
        gradio.Error: the request is not an editor's (:func:`ui.access.require_editor`).
    """
    lang = texts.language(ui_lang_value)
    require_editor(service.access, request, lang)

    def report(stage: str, done: int, total: int) -> None:
        label = text(lang, "progress_chunks" if stage == "chunks" else "progress_documents")
        progress((done, total) if total else None, desc=label)

    try:
        result = build_index(settings=service.settings, progress=report)
    except BuildInProgress:
        status = text(lang, "rebuild_running")
    except AssistantError as error:
        logger.warning("rebuilding the index failed: %s", error)
        status = text(lang, "rebuild_error", detail=service.without_paths(str(error)))
    except Exception:
        logger.exception("rebuilding the index failed")
        status = text(lang, "error_internal")
    else:
        key = "rebuild_done" if result.changed else "rebuild_unchanged"
        lines = [text(lang, key, summary=result.summary())]
        lines += [text(lang, "rebuild_failed_file", path=p.path, reason=p.reason) for p in result.failed]
        lines += [text(lang, "rebuild_skipped_file", path=p.path, reason=p.reason) for p in result.skipped]
        lines += list(result.notes)
        return service.without_paths("\n".join(lines)), *refresh_documents(service, lang)
    return status, *(gr.skip(),) * LISTING_OUTPUTS  # nothing was built: the listing stays


def _rejection(service: Service, rejected: uploads.UploadRejected, original: str, lang: str) -> str:
    """Why a file was refused, in the interface language; a duplicate is named by its title (by its
    file name while it is not indexed yet), never by where it lies on the server."""
    settings = service.settings
    values = {
        "type": {"allowed": ", ".join(uploads.ALLOWED_SUFFIXES)},
        "size": {"limit": f"{settings.upload_max_mb:g}"},
        "quota": {"limit": f"{settings.corpus_max_mb:g}"},
        "content": {"suffix": Path(original).suffix.lower()},
        "duplicate": {"existing": _title_of(service, rejected.existing)},
    }
    return text(lang, f"reject_{rejected.reason}", **values.get(rejected.reason, {}))


def _access_note(access: Access, lang: str) -> str:
    """Who may change the corpus, with the sign-in and sign-out links where the app has them."""
    if access.editing_open:
        return ""
    if access.proxy is not None:
        return text(lang, "access_editors")
    key = "access_sign_in" if access.read == "open" else "access_sign_out"
    return f"{text(lang, 'access_editors')} {text(lang, key)}"


def _title_of(service: Service, doc_id: str) -> str:
    return _indexed_title(service, doc_id) or Path(doc_id).name


def _indexed_title(service: Service, doc_id: str) -> str:
    """The title of ``doc_id`` in the index served, or ``""`` (not indexed, or no usable index)."""
    try:
        return next((record.title for record in service.documents() if record.doc_id == doc_id), "")
    except AssistantError:
        return ""


def _removable(service: Service) -> list[tuple[str, str]]:
    """The indexed documents as (title and file, document id) choices for removal."""
    try:
        documents = service.documents()
    except AssistantError:
        documents = ()
    return [(f"{record.title} — {record.doc_id}", record.doc_id) for record in documents]


def _table(service: Service, lang: str) -> dict:
    headers = [
        text(lang, key)
        for key in (
            "col_title", "col_date", "col_region", "col_type", "col_lang", "col_chunks", "col_file", "col_origin",
            "col_sha256",
        )
    ]  # fmt: skip
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
            texts.provenance_text(lang, record.provenance, stated=True),
            record.provenance.file_sha256[:16],
        ]
        for record in documents
    ]
    return {"headers": headers, "data": rows}


def _totals(service: Service, lang: str) -> str:
    try:
        documents = service.documents()
    except AssistantError as error:
        return render.inert(error_message(error, lang))
    if not documents:
        return text(lang, "docs_empty")
    return text(lang, "docs_totals", documents=len(documents), chunks=sum(record.chunks for record in documents))
