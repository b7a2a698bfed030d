"""Stores: where an index lives — a folder (the default) or a PostgreSQL database — behind one interface.

:func:`store_at` picks the store for a location: a ``postgresql://`` URL is a
:class:`~assistant.database_store.DatabaseStore`, anything else a folder (:class:`FolderStore`).
:func:`assistant.build.build_index` asks a store for its lock, the build in service (its head
first: whether anything changed can be told without reading the rows), the files over their
parse time, and to publish a new build; :func:`copy_index` moves a build from one store to
another without re-embedding anything.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant import database
from assistant.database_store import DatabaseStore
from assistant.model import Chunk
from assistant.parsing import load_over_budget, save_over_budget
from assistant.parts import VectorPart
from assistant.store import BuildHead, Manifest, StoredIndex, build_lock, load_index, write_build

if TYPE_CHECKING:
    from assistant.config import Settings

logger = logging.getLogger(__name__)

__all__ = ["CopyReport", "FolderStore", "IndexStore", "copy_index", "store_at"]


class IndexStore(Protocol):
    """What a build asks of the place its index lives (see the module docstring)."""

    def lock(self, timeout: float = 0.0) -> contextlib.AbstractContextManager[None]:
        """Hold the one build lock (``BuildInProgress`` after ``timeout`` seconds)."""

    def head(self) -> BuildHead:
        """What a build checks before reading any row (``IndexNotFound``, ``IndexCorrupt``)."""

    def load(self, *, expected_embedder: str | None = None) -> StoredIndex:
        """The build in service (``IndexNotFound``, ``IndexCorrupt``, ``ModelMismatch``)."""

    def write(self, manifest: Manifest, chunks: Sequence[Chunk], parts: Mapping[str, Any]) -> Path | None:
        """Publish a complete build atomically; its folder, when it has one."""

    def reader_timeouts(self) -> dict[str, tuple[str, float]]:
        """Files earlier builds refused for their parse time: content hash -> (doc_id, seconds)."""

    def save_reader_timeouts(self, files: Mapping[str, tuple[str, float]]) -> None:
        """Replace the remembered files by ``files``."""


class FolderStore:
    """The index in a folder (``index/``): :mod:`assistant.store`'s functions as an :class:`IndexStore`."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)

    def __str__(self) -> str:
        return str(self.index_dir)

    @contextlib.contextmanager
    def lock(self, timeout: float = 0.0) -> Iterator[None]:
        with build_lock(self.index_dir, timeout):
            yield

    def head(self) -> BuildHead:
        return BuildHead.of(self.load())  # opening a folder build reads no row (and checks every file)

    def load(self, *, expected_embedder: str | None = None) -> StoredIndex:
        return load_index(self.index_dir, expected_embedder=expected_embedder)

    def write(self, manifest: Manifest, chunks: Sequence[Chunk], parts: Mapping[str, Any]) -> Path | None:
        return write_build(self.index_dir, manifest, chunks, parts)

    def reader_timeouts(self) -> dict[str, tuple[str, float]]:
        return load_over_budget(self.index_dir)

    def save_reader_timeouts(self, files: Mapping[str, tuple[str, float]]) -> None:
        save_over_budget(self.index_dir, files)


def store_at(location: str | Path, settings: Settings | None = None) -> FolderStore | DatabaseStore:
    """The store at ``location``: a ``postgresql://`` URL is a database, anything else an index
    folder. ``settings``: the HNSW parameters of a graph a database build creates (defaults: the
    shipped ones)."""
    if database.is_database_url(location):
        if settings is None:
            return DatabaseStore(str(location))
        return DatabaseStore(
            str(location), hnsw_m=settings.store_hnsw_m, hnsw_ef_construction=settings.store_hnsw_ef_construction
        )
    return FolderStore(location)


@dataclass(frozen=True)
class CopyReport:
    """What :func:`copy_index` copied: the build, its rows, and where to."""

    build_id: str
    documents: int
    chunks: int
    target: str
    build_path: Path | None


def copy_index(source: str | Path, target: str | Path, *, lock_timeout: float = 0.0) -> CopyReport:
    """Put the build in service at ``source`` in service at ``target``, without embedding anything.

    The chunk ids, rows, texts, vectors (float32, bit for bit), keyword terms, sentence vectors
    and duplicate groups are copied as they are; the manifest is the source's (same build id and
    model), so a later incremental build at ``target`` reuses every vector. A copy into a folder
    builds the FAISS index the manifest records from the vectors (a database keeps none).

    Raises:
        IndexNotFound: nothing is in service at ``source``.
        BuildInProgress: a build holds ``target``'s lock.
        StoreUnavailable: a database cannot be used.
    """
    origin, destination = store_at(source), store_at(target)
    index = origin.load()
    parts = dict(index.parts)
    dense = parts["vector_index"]
    if isinstance(destination, FolderStore) and dense.faiss_index is None:
        parts["vector_index"] = replace(VectorPart.indexed(dense.vectors, dense.spec), facts=dense.facts)
    with destination.lock(lock_timeout):
        written = destination.write(index.manifest, index.chunks, parts)
    logger.info("copied build %s from %s to %s", index.manifest.build_id, origin, destination)
    return CopyReport(index.manifest.build_id, len(index.documents), len(index.chunks), str(destination), written)
