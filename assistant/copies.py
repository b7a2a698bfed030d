"""Copies: which document of a group of republished texts stands for it in a ranking.

The rule every backend applies (:meth:`serving.Backend.collapse`), written once over plain
lookups so a backend that keeps its rows in a database keeps exactly the file backend's choices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from assistant.duplicates import DuplicateGroup
from assistant.model import DocumentRecord

__all__ = ["collapse_copies", "other_sources"]


def collapse_copies(
    ranked: list[int],
    k: int,
    allowed_documents: set[str] | None,
    *,
    doc_of: Callable[[int], str],
    group_of: Callable[[str], DuplicateGroup | None],
    documents: Mapping[str, DocumentRecord],
) -> tuple[list[int], dict[int, tuple[str, ...]], int]:
    """The first ``k`` rows of ``ranked`` with copies of one text counted once.

    The document of a group's best-ranked row stands for the group, unless it was uploaded and a
    shipped or fetched member of the group is ranked too: then the best-ranked of those stands for
    it (an upload's title or front matter must not let it pass for the original). Its rows stay,
    rows of the group's other documents are dropped.

    Args:
        ranked: rows, best first.
        k: how many rows to keep.
        allowed_documents: the documents the filters keep (``None``: all), for ``also_published``.
        doc_of: a row's document id.
        group_of: a document's duplicate group, or ``None``.
        documents: every document of the build by id.

    Returns:
        The rows kept, the ``also_published`` sources of each kept row of a group, and how many
        rows were dropped.
    """
    standing: dict[str, str] = {}  # group canonical -> the document standing for the group
    for row in ranked:
        doc_id = doc_of(row)
        group = group_of(doc_id)
        if group is None:
            continue
        current = standing.get(group.canonical)
        uploaded = documents[doc_id].provenance.uploaded
        if current is None or (documents[current].provenance.uploaded and not uploaded):
            standing[group.canonical] = doc_id
    kept: list[int] = []
    also: dict[int, tuple[str, ...]] = {}
    dropped = 0
    for row in ranked:
        doc_id = doc_of(row)
        group = group_of(doc_id)
        if group is not None:
            if standing[group.canonical] != doc_id:
                dropped += 1
                continue
            also[row] = other_sources(group.members, doc_id, allowed_documents, documents)
        kept.append(row)
        if len(kept) == k:
            break
    return kept, also, dropped


def other_sources(
    members: tuple[str, ...], doc_id: str, allowed_documents: set[str] | None, documents: Mapping[str, DocumentRecord]
) -> tuple[str, ...]:
    """The sources of a group's other documents that the filters keep, without repeats or ``doc_id``'s own."""
    own = documents[doc_id].source
    sources = (
        documents[member].source
        for member in members
        if member != doc_id and (allowed_documents is None or member in allowed_documents)
    )
    return tuple(source for source in dict.fromkeys(sources) if source and source != own)
