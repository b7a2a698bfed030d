"""Store: the index on disk (manifest, chunks, vectors, FAISS file), written atomically, loaded loudly.

Layout of an index directory::

    index/
      CURRENT              name of the build in service (replaced atomically)
      .build.lock          held by the one build allowed at a time
      builds/<build_id>/
        manifest.json      format, model, chunker, documents with content hashes, counts, versions
        chunks.jsonl       one chunk per line, row i = FAISS id i = vectors row i
        chunk_*.npy        its columns (line offsets, each row's document, chunk ids), so a build
                           opens without reading any chunk record (see assistant.chunk_table)
        ...                the index parts (see assistant.parts), each recorded in the manifest
                           under its name:
        vectors.npy        float32 unit vectors (kept for incremental rebuilds)
        faiss.index        inner-product index over the same vectors (cosine on unit vectors): exact
                           (flat) or, for large corpora, approximate (IVF/HNSW); the manifest's
                           ``vector_index`` names which (see assistant.vector_index)
        keywords/          terms of every chunk and the BM25 matrix (see assistant.keywords)
        sentence_*.npy     each chunk's sentences: spans in the chunk text and unit vectors
        duplicates/        each document's MinHash signature and the groups of duplicates
                           (see assistant.duplicates); absent in builds made before it existed

A build writes ``builds/.tmp-*``, renames it to ``builds/<build_id>``, then replaces
``CURRENT``. A reader never sees a half-written build, and a crash leaves the
previous build in service. ``CURRENT`` must name a folder inside ``builds/`` and every file the
manifest lists must lie inside its build; anything else is refused as a damaged index, so a
planted pointer cannot make the server read files elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from assistant import files
from assistant.chunk_table import CHUNK_COLUMNS, CHUNKS, ChunkTable, write_chunks
from assistant.duplicates import DuplicateTable
from assistant.errors import AssistantError, BuildInProgress, IndexCorrupt, IndexNotFound, ModelMismatch
from assistant.keywords import KeywordIndex
from assistant.model import Chunk, DocumentRecord
from assistant.parts import (
    DUPLICATES,
    FAISS_FILE,
    KEYWORDS,
    PARTS,
    SENTENCE_OFFSETS,
    SENTENCE_SPANS,
    SENTENCE_VECTORS,
    VECTORS,
    DenseVectors,
    LoadedRows,
    SentenceTable,
)
from assistant.vector_index import IndexSpec

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
POINTER = "CURRENT"
BUILDS = "builds"
LOCK = ".build.lock"
MANIFEST = "manifest.json"
# The parts' file names, importable from here as before: DUPLICATES, FAISS_FILE, KEYWORDS, SENTENCE_*, VECTORS.
__all__ = [
    "CHUNKS", "DUPLICATES", "FAISS_FILE", "KEYWORDS", "MANIFEST", "SENTENCE_OFFSETS", "SENTENCE_SPANS",
    "SENTENCE_VECTORS", "VECTORS", "BuildHead", "Manifest", "SentenceTable", "StoredIndex", "build_lock", "load_index",
    "read_pointer", "write_build",
]  # fmt: skip
KEEP_BUILDS = 2  # the one in service and the one before, for readers that just read the pointer


@dataclass(frozen=True)
class Manifest:
    """Everything needed to trust (or refuse) a build.

    ``parts`` holds each index part's facts under its name (see :mod:`assistant.parts`); the
    JSON spells them at the top level (``"keywords": {...}``), as builds always have, so a part
    added later needs no new field here and older builds still load.
    """

    build_id: str
    created_at: str
    embedder: dict
    chunker: dict
    documents: tuple[DocumentRecord, ...]
    chunk_count: int
    corpus_fingerprint: str
    library_versions: dict
    files: dict = field(default_factory=dict)
    parts: dict = field(default_factory=dict)
    metric: str = "inner_product on unit vectors (cosine)"
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        data = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "parts"}
        data["documents"] = [record.to_dict() for record in self.documents]
        data.update(self.parts)
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexCorrupt(
                f"index format {version!r} is not the format this version reads ({FORMAT_VERSION}): "
                "run `assistant build` to rebuild it"
            )
        own = {item.name for item in fields(cls)} - {"parts"}
        parts = {key: data.pop(key) for key in list(data) if key not in own and isinstance(data[key], dict)}
        data["documents"] = tuple(DocumentRecord.from_dict(record) for record in data["documents"])
        return cls(**data, parts=parts)


@dataclass(frozen=True)
class StoredIndex:
    """A loaded, validated build. Rows of ``chunks``, the FAISS ids, ``vectors()`` and ``keywords`` agree.

    ``chunks`` reads a record when it is asked for (see :class:`~assistant.chunk_table.ChunkTable`):
    nothing holds every chunk in memory.

    ``parts`` holds each index part's data by name (``None`` for a part the build lacks: keywords
    in a build made before keyword search existed, duplicates before duplicate detection; the
    next ``assistant build`` adds them without re-embedding anything). The properties name the
    parts retrieval reads.
    """

    path: Path
    manifest: Manifest
    chunks: ChunkTable
    documents: dict[str, DocumentRecord]
    parts: dict[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.chunks, ChunkTable):  # rows given whole (a store that reads them all): same accessors
            object.__setattr__(self, "chunks", ChunkTable.in_memory(self.chunks, self.documents))

    @property
    def dense(self) -> DenseVectors:
        return self.parts["vector_index"]

    @property
    def faiss_index(self) -> Any:
        return self.dense.faiss_index

    @property
    def vector_index(self) -> IndexSpec:
        """Kind and search parameters of ``faiss_index``."""
        return self.dense.spec

    @property
    def keywords(self) -> KeywordIndex | None:
        return self.parts.get("keywords")

    @property
    def sentences(self) -> SentenceTable | None:
        return self.parts.get("sentences")

    @property
    def duplicates(self) -> DuplicateTable | None:
        return self.parts.get("duplicates")

    def vectors(self) -> np.ndarray:
        """The stored vectors, memory-mapped (read only when a rebuild reuses them)."""
        return self.dense.vectors


@dataclass(frozen=True)
class BuildHead:
    """What a build needs of the build in service before its rows: whether the corpus or the code
    changed since. A store reads it without the chunk rows where it can (a database: the manifest
    and the documents table), so that a build with nothing to do reads no row.

    ``current_format`` is false when the rows are stored as an older version stored them (the
    next build rewrites them); ``index`` is the whole build when the store opened it anyway.
    """

    manifest: Manifest
    documents: dict[str, DocumentRecord]
    current_format: bool
    index: StoredIndex | None = None

    @classmethod
    def of(cls, index: StoredIndex) -> BuildHead:
        """The head of a build already open."""
        keywords = index.keywords
        current = index.chunks.current_format and (keywords is None or keywords.frequencies_stored)
        return cls(index.manifest, index.documents, current, index)


def read_pointer(index_dir: Path) -> str | None:
    """Name of the build in service, or ``None`` when nothing was built yet."""
    try:
        name = (Path(index_dir) / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def load_index(index_dir: Path, *, expected_embedder: str | None = None) -> StoredIndex:
    """Load the build in service and check that its parts agree.

    Args:
        index_dir: the index directory.
        expected_embedder: identity of the embedder that will query it; ``None`` skips the check.

    Raises:
        IndexNotFound: nothing was built in ``index_dir``.
        IndexCorrupt: a missing, truncated or inconsistent file (the message names it), or a
            FAISS file that is not the index the manifest records (kind or parameters).
        ModelMismatch: the index was built by another embedding model.
    """
    index_dir = Path(index_dir)
    name = read_pointer(index_dir)
    if name is None:
        raise IndexNotFound(f"no index in {index_dir}: run `assistant build` first")
    path = _build_folder(index_dir, name)
    try:
        manifest = Manifest.from_json((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorrupt(f"{path / MANIFEST} is missing: run `assistant build` to rebuild") from None
    except (ValueError, TypeError, KeyError) as error:
        raise IndexCorrupt(f"{path / MANIFEST} is damaged ({error}): run `assistant build` to rebuild") from None
    if expected_embedder is not None and manifest.embedder.get("identity") != expected_embedder:
        raise ModelMismatch(
            f"index {index_dir} was built with embedding model {manifest.embedder.get('identity')!r}, "
            f"not {expected_embedder!r}: query it with that model or rebuild it"
        )
    for file_name, size in manifest.files.items():
        file = _file_in_build(path, file_name)
        if not file.is_file():
            raise IndexCorrupt(f"{file} is missing: run `assistant build` to rebuild")
        if file.stat().st_size != size:
            raise IndexCorrupt(
                f"{file} has {file.stat().st_size} bytes, the manifest says {size}: "
                "it is damaged; run `assistant build` to rebuild"
            )
    documents = {record.doc_id: record for record in manifest.documents}
    # A build from before the chunk columns lists only chunks.jsonl: it is read whole (and rewritten by the next build).
    chunks = ChunkTable.open(path, documents, columns=all(name in manifest.files for name in CHUNK_COLUMNS))
    counts = {
        "manifest": manifest.chunk_count,
        CHUNKS: len(chunks),
        "documents": sum(record.chunks for record in manifest.documents),
    }
    if len(set(counts.values())) != 1:
        raise IndexCorrupt(f"index {path} has disagreeing row counts {counts}: run `assistant build`")
    rows = LoadedRows(path, chunks, documents, manifest.embedder.get("dimension"))
    manifest = replace(manifest, parts={**{part.name: {} for part in PARTS}, **manifest.parts})  # {}: not in this build
    parts = {part.name: part.load(manifest.parts[part.name], rows) for part in PARTS}
    return StoredIndex(path, manifest, chunks, documents, parts)


def write_build(index_dir: Path, manifest: Manifest, chunks: Sequence[Chunk], parts: Mapping[str, Any]) -> Path:
    """Write a complete build and put it in service atomically.

    Call only while holding :func:`build_lock`. Returns the new build's directory.

    Args:
        manifest: the build's manifest; its ``files`` and ``parts`` are filled in here.
        chunks: the rows, in order (row i = FAISS id i).
        parts: each index part's data by name (see :data:`assistant.parts.PARTS`); ``None`` or
            absent for a part this build does not have. The vector part is required.
    """
    index_dir = Path(index_dir)
    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    dense = parts.get("vector_index")
    if dense is None or len(dense.vectors) != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but {0 if dense is None else len(dense.vectors)} vectors")
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=builds))
    try:
        written, facts = write_chunks(staging, chunks, [record.doc_id for record in manifest.documents]), {}
        for part in PARTS:
            data = parts.get(part.name)
            if data is not None:
                facts[part.name], part_files = part.save(data, staging)
                written += part_files
        sizes = {file.relative_to(staging).as_posix(): file.stat().st_size for file in written}
        final = replace(manifest, files=sizes, parts={part.name: facts.get(part.name, {}) for part in PARTS})
        with open(staging / MANIFEST, "w", encoding="utf-8") as out:
            out.write(final.to_json())
            files.sync(out)
        files.sync_path(staging)
        target = builds / manifest.build_id
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        files.sync_path(builds)
        _replace_pointer(index_dir, manifest.build_id)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # never put in service: no reader can be using it
        raise
    _remove_old_builds(builds, keep=manifest.build_id)
    return target


@contextlib.contextmanager
def build_lock(index_dir: Path, timeout: float = 0.0) -> Iterator[None]:
    """Hold the index directory's build lock; the OS releases it if the process dies.

    Raises:
        BuildInProgress: another build holds it for longer than ``timeout`` seconds.
        AssistantError: the folder or its lock file cannot be created (a full disk, no permission,
            a file in the way); nothing was changed.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(Path(index_dir) / LOCK), timeout=timeout)
    try:
        Path(index_dir).mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise BuildInProgress(
            f"another build of {index_dir} is running; wait for it to finish (or use --wait)"
        ) from None
    except OSError as error:
        raise AssistantError(
            f"cannot take the build lock in {index_dir}: {error.strerror or error}; the index in service "
            "(if any) is unchanged"
        ) from error
    try:
        _remove_stale_staging(Path(index_dir) / BUILDS)
        yield
    finally:
        lock.release()


def _build_folder(index_dir: Path, name: str) -> Path:
    """The folder of the build ``CURRENT`` names: one plain folder name inside ``builds/``.

    Raises:
        IndexCorrupt: the pointer names anything else (``../../etc``, an absolute path, a staging
            folder): a damaged or planted pointer must not make the server read files outside the index.
    """
    plain = name not in (".", "..") and not name.startswith(".") and not any(char in name for char in "/\\:\0")
    if not plain:
        raise IndexCorrupt(
            f"{index_dir / POINTER} names {name[:200]!r}, which is not a build folder inside {index_dir / BUILDS}: "
            "the index is damaged; run `assistant build` to rebuild"
        )
    return index_dir / BUILDS / name


def _file_in_build(build: Path, file_name: object) -> Path:
    """The file a manifest lists, which must lie inside its ``build`` folder (no ``..``, no absolute
    path, no link leading out).

    Raises:
        IndexCorrupt: the manifest names a file anywhere else.
    """
    parts = PurePosixPath(file_name).parts if isinstance(file_name, str) else ()
    inside = (
        bool(parts)
        and not PurePosixPath(file_name).is_absolute()
        and not any(part in ("..", ".") or "\\" in part or ":" in part for part in parts)
    )
    file = build.joinpath(*parts)
    if not inside or not file.resolve().is_relative_to(build.resolve()):
        raise IndexCorrupt(
            f"{build / MANIFEST} lists the file {str(file_name)[:200]!r}, which is not inside {build}: "
            "the index is damaged; run `assistant build` to rebuild"
        )
    return file


def _replace_pointer(index_dir: Path, build_id: str) -> None:
    files.write_atomically(index_dir / POINTER, build_id + "\n")
    try:
        files.sync_path(index_dir)
    except OSError as error:
        # The new build is in service already; after a crash the old pointer (whose build is kept) may return.
        logger.warning("could not sync %s after switching to build %s: %s", index_dir, build_id, error)


def _remove_old_builds(builds: Path, keep: str) -> None:
    # Build ids start with a UTC timestamp, so name order is age order.
    finished = sorted(path for path in builds.iterdir() if path.is_dir() and not path.name.startswith("."))
    for path in [p for p in finished if p.name != keep][: max(0, len(finished) - KEEP_BUILDS)]:
        shutil.rmtree(path, ignore_errors=True)


def _remove_stale_staging(builds: Path) -> None:
    """Remove what killed builds left behind; safe because we hold the lock."""
    if builds.is_dir():
        for path in builds.glob(".tmp-*"):
            logger.info("removing unfinished build %s", path)
            shutil.rmtree(path, ignore_errors=True)
    for path in builds.parent.glob(f".{POINTER}.*.tmp"):  # a pointer switch killed half-way
        path.unlink(missing_ok=True)
