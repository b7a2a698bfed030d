"""The index the web app serves, shared by its tabs and endpoints, and what its failures mean to a user."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from assistant.config import Settings
from assistant.errors import AssistantError, IndexCorrupt, IndexNotFound, InvalidQuery, ModelMismatch, ModelUnavailable
from assistant.model import DocumentRecord
from assistant.regions import canonical_region
from assistant.retrieval import Searcher
from ui import texts
from ui.access import Access
from ui.texts import text

logger = logging.getLogger(__name__)

# An absolute path (POSIX, or Windows with a drive letter) up to its last component: not a link's
# path (after "//" or a host name) nor a relative one (after a word character or a dot).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/\\~-])(?:/|[A-Za-z]:[\\/])(?:[^\s/\\'\"`]+[/\\])+[^\s/\\'\"`]*")


class Service:
    """The index the app serves: one Searcher, opened when the first index exists; and who may change it.

    Args:
        settings: index and corpus folders, model, answer thresholds.
        searcher: an open :class:`Searcher` to use (default: one opened on ``settings.store``, else
            ``settings.index_dir``, at the first request that needs it, so the app also starts
            before any index exists).
        access: who may read and who may change the corpus (default: the rules of ``settings``);
            every handler that changes the corpus calls ``ui.access.require_editor(service.access, ...)``.
    """

    def __init__(self, settings: Settings, searcher: Searcher | None = None, access: Access | None = None) -> None:
        self.settings = settings
        self.access = access if access is not None else Access(settings)
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
                    self._searcher = Searcher(settings=self.settings)  # settings.store, else the index folder
        return self._searcher

    def documents(self) -> tuple[DocumentRecord, ...]:
        """Documents of the build in service; empty when nothing was built yet."""
        try:
            return self.searcher().documents
        except IndexNotFound:
            return ()

    def without_paths(self, message: str) -> str:
        """``message`` as a visitor may read it: the corpus and index folders by their own names, no
        other absolute path of the server (:func:`without_server_paths`)."""
        folders = (self.settings.corpus_dir, self.settings.index_dir, self.settings.cache_dir)
        return without_server_paths(message, folders)

    def regions(self, lang: str) -> list[tuple[str, str]]:
        """The regions of the indexed documents as (name in the interface language, value to filter by)."""
        try:
            values = {record.region for record in self.documents() if record.region}
        except AssistantError:
            return []
        choices = ((texts.region_label(lang, canonical_region(value) or value), value) for value in values)
        return sorted(choices, key=lambda choice: choice[0].casefold())


def without_server_paths(message: str, folders: Iterable[Path | str | None] = ()) -> str:
    """``message`` with no absolute path of the server in it, for a visitor to read.

    A path inside one of ``folders`` (the corpus, the index) keeps its part from that folder on
    (``/srv/kz/index/builds/x/manifest.json`` → ``index/builds/x/manifest.json``); any other absolute
    path is cut to its last component (``/home/op/.cache/model.bin`` → ``model.bin``). Links
    (``https://…``) are left as they are. The server's log keeps the full message.

    Example:
        >>> without_server_paths("no index in /srv/kz/index: run `assistant build` first", ["/srv/kz/index"])
        'no index in index: run `assistant build` first'
    """
    for folder in folders:
        if folder is None:
            continue
        for form in {str(Path(folder)), str(Path(folder).resolve())}:
            if Path(form).is_absolute() and Path(form).name:
                message = message.replace(form, Path(form).name)
    return _ABSOLUTE_PATH.sub(lambda match: re.split(r"[/\\]", match.group().rstrip("/\\"))[-1], message)


def error_message(error: AssistantError, lang: str) -> str:
    """What ``error`` means to the user, in the interface language ``lang`` (plain text)."""
    if isinstance(error, IndexNotFound):
        return text(lang, "error_no_index")
    if isinstance(error, (IndexCorrupt, ModelMismatch)):
        return text(lang, "error_index")
    if isinstance(error, ModelUnavailable):
        return text(lang, "error_model")
    if isinstance(error, InvalidQuery):
        return text(lang, "error_invalid_query", detail=str(error))
    logger.warning("search failed: %s", error)
    return text(lang, "error_invalid_query", detail=without_server_paths(str(error)))
