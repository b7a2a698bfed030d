"""The index the web app serves, shared by its tabs and endpoints, and what its failures mean to a user."""

from __future__ import annotations

import logging
import threading

from assistant.config import Settings
from assistant.errors import AssistantError, IndexCorrupt, IndexNotFound, InvalidQuery, ModelMismatch, ModelUnavailable
from assistant.model import DocumentRecord
from assistant.regions import canonical_region
from assistant.retrieval import Searcher
from ui import texts
from ui.access import Access
from ui.texts import text

logger = logging.getLogger(__name__)


class Service:
    """The index the app serves: one Searcher, opened when the first index exists; and who may change it.

    Args:
        settings: index and corpus folders, model, answer thresholds.
        searcher: an open :class:`Searcher` to use (default: one opened on ``settings.index_dir`` at
            the first request that needs it, so the app also starts before any index exists).
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
                    self._searcher = Searcher(self.settings.index_dir, settings=self.settings)
        return self._searcher

    def documents(self) -> tuple[DocumentRecord, ...]:
        """Documents of the build in service; empty when nothing was built yet."""
        try:
            return self.searcher().documents
        except IndexNotFound:
            return ()

    def regions(self, lang: str) -> list[tuple[str, str]]:
        """The regions of the indexed documents as (name in the interface language, value to filter by)."""
        try:
            values = {record.region for record in self.documents() if record.region}
        except AssistantError:
            return []
        choices = ((texts.region_label(lang, canonical_region(value) or value), value) for value in values)
        return sorted(choices, key=lambda choice: choice[0].casefold())


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
    return text(lang, "error_invalid_query", detail=str(error))
