"""Which documents a search's filters keep: one rule for the file and the database backends.

Filters arrive checked by :func:`assistant.query.check_filters` (dates as ``YYYY-MM-DD`` text,
other keys as sets of case-folded strings). Every filter reads a field of the document, never
of the chunk, so a search decides documents and keeps their chunks.

Documents that agree on region, type, language and date share every decision but ``doc_id``'s,
so :class:`DocumentFilter` applies the rule once per such kind of document. Applied per document,
on every filtered search, the rule cost 50 ms at 10^4 documents and 0.5 s at 10^5 (most of
a region-filtered search in PostgreSQL; docs/database.md, "Scale").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from assistant.model import DocumentRecord
from assistant.regions import canonical_region

__all__ = ["DocumentFilter", "keeps"]

# The fields a kind of document agrees on: every filter key but doc_id reads one of them.
KIND_FIELDS = ("region", "doc_type", "lang", "date")


def keeps(record: DocumentRecord, filters: Mapping[str, object]) -> bool:
    """Whether ``record`` passes every one of ``filters``.

    A region matches by any of its names ("Aktobe region", "Актюбинская область", "Ақтөбе
    облысы" all keep a document whose region is one of them); a date range keeps only dated
    documents; other keys compare case-folded values.
    """
    for key, value in filters.items():
        if key == "date_from":
            keep = bool(record.date) and record.date >= value  # type: ignore[operator]
        elif key == "date_to":
            keep = bool(record.date) and record.date <= value  # type: ignore[operator]
        elif key == "region":
            named = {canonical_region(name) for name in value} - {None}  # type: ignore[attr-defined]
            keep = record.region.casefold() in value or canonical_region(record.region) in named  # type: ignore[operator]
        else:
            keep = getattr(record, key).casefold() in value  # type: ignore[operator]
        if not keep:
            return False
    return True


class DocumentFilter:
    """:func:`keeps` over a fixed sequence of documents, decided once per kind of document.

    Args:
        records: the documents, in the order the answers of :meth:`kept` follow.
    """

    def __init__(self, records: Sequence[DocumentRecord]) -> None:
        self.records = tuple(records)
        kinds: dict[tuple[str, ...], int] = {}
        self._kinds: list[DocumentRecord] = []  # one representative per kind
        self._kind_of = np.empty(len(self.records), dtype=np.intp)
        for position, record in enumerate(self.records):
            fields = tuple(getattr(record, field) for field in KIND_FIELDS)
            kind = kinds.get(fields)
            if kind is None:
                kind = kinds[fields] = len(self._kinds)
                self._kinds.append(record)
            self._kind_of[position] = kind

    def kept(self, filters: Mapping[str, object]) -> np.ndarray:
        """One boolean per document: whether it passes every one of ``filters``."""
        by_kind = {key: value for key, value in filters.items() if key != "doc_id"}
        if by_kind:
            keep = np.array([keeps(kind, by_kind) for kind in self._kinds], dtype=bool)[self._kind_of]
        else:
            keep = np.ones(len(self.records), dtype=bool)
        if "doc_id" in filters:
            named = filters["doc_id"]
            keep &= np.array([record.doc_id.casefold() in named for record in self.records], dtype=bool)  # type: ignore[operator]
        return keep

    def accepted(self, key: str, value: object) -> set[str]:
        """The values of field ``key`` among these documents that the filter ``{key: value}`` keeps
        (a database matches them with ``= ANY``)."""
        if key == "doc_id":
            return {record.doc_id for record in self.records if keeps(record, {key: value})}
        return {getattr(kind, key) for kind in self._kinds if keeps(kind, {key: value})}
