"""Store: the index on disk (manifest, chunks, vectors, FAISS file), written atomically, loaded loudly.

Layout of an index directory::

    index/
      CURRENT              name of the build in service (replaced atomically)
      .build.lock          held by the one build allowed at a time
      builds/<build_id>/
        manifest.json      format, model, chunker, documents with content hashes, counts, versions
        chunks.jsonl       one chunk per line, row i = FAISS id i = vectors row i
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
previous build in service.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant import files, vector_index
from assistant.duplicates import DuplicateTable
from assistant.errors import AssistantError, BuildInProgress, IndexCorrupt, IndexNotFound, ModelMismatch
from assistant.keywords import ANALYZER_VERSION, KeywordIndex
from assistant.model import Chunk, DocumentRecord
from assistant.vector_index import EXACT, IndexSpec

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
POINTER = "CURRENT"
BUILDS = "builds"
LOCK = ".build.lock"
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
FAISS_FILE = "faiss.index"
KEYWORDS = "keywords"
SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_SPANS = "sentence_spans.npy"
SENTENCE_OFFSETS = "sentence_offsets.npy"
DUPLICATES = "duplicates"
KEEP_BUILDS = 2  # the one in service and the one before, for readers that just read the pointer


@dataclass(frozen=True)
class Manifest:
    """Everything needed to trust (or refuse) a build."""

    build_id: str
    created_at: str
    embedder: dict
    chunker: dict
    documents: tuple[DocumentRecord, ...]
    chunk_count: int
    corpus_fingerprint: str
    library_versions: dict
    files: dict = field(default_factory=dict)
    keywords: dict = field(default_factory=dict)
    sentences: dict = field(default_factory=dict)
    duplicates: dict = field(default_factory=dict)
    # Kind and parameters of faiss.index (IndexSpec.to_manifest()); empty in builds made before
    # the kind was chosen by size, which are all flat.
    vector_index: dict = field(default_factory=dict)
    metric: str = "inner_product on unit vectors (cosine)"
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        data = asdict(self)
        data["documents"] = [record.to_dict() for record in self.documents]
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
        data["documents"] = tuple(DocumentRecord.from_dict(record) for record in data["documents"])
        return cls(**data)


@dataclass(frozen=True)
class SentenceTable:
    """The sentences of every chunk: chunk ``row`` owns rows ``offsets[row]:offsets[row + 1]``.

    ``spans`` are ``(start, end)`` offsets in the chunk's text; ``vectors`` are unit vectors
    from the same model as the chunks (memory-mapped when loaded).
    """

    spans: np.ndarray
    offsets: np.ndarray
    vectors: np.ndarray

    def of_chunk(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(spans, vectors) of chunk ``row``'s sentences."""
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        return self.spans[start:end], self.vectors[start:end]


@dataclass(frozen=True)
class StoredIndex:
    """A loaded, validated build. Rows of ``chunks``, the FAISS ids, ``vectors()`` and ``keywords`` agree.

    ``keywords`` is ``None`` for a build made before keyword search existed, and
    ``duplicates`` for one made before duplicate detection; the next ``assistant build``
    adds them without re-embedding anything.
    """

    path: Path
    manifest: Manifest
    chunks: tuple[Chunk, ...]
    documents: dict[str, DocumentRecord]
    faiss_index: object
    keywords: KeywordIndex | None = None
    sentences: SentenceTable | None = None
    duplicates: DuplicateTable | None = None
    vector_index: IndexSpec = EXACT  # kind and search parameters of faiss_index

    def vectors(self) -> np.ndarray:
        """The stored vectors, memory-mapped (read only when a rebuild reuses them)."""
        return np.load(self.path / VECTORS, mmap_mode="r", allow_pickle=False)


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
    path = index_dir / BUILDS / name
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
        file = path / file_name
        if not file.is_file():
            raise IndexCorrupt(f"{file} is missing: run `assistant build` to rebuild")
        if file.stat().st_size != size:
            raise IndexCorrupt(
                f"{file} has {file.stat().st_size} bytes, the manifest says {size}: "
                "it is damaged; run `assistant build` to rebuild"
            )
    chunks = _read_chunks(path / CHUNKS)
    dimension = manifest.embedder.get("dimension")
    spec = IndexSpec.from_manifest(manifest.vector_index)
    faiss_index = vector_index.read(path / FAISS_FILE, spec, dimension=dimension)
    counts = {
        "manifest": manifest.chunk_count,
        CHUNKS: len(chunks),
        FAISS_FILE: faiss_index.ntotal,
        "documents": sum(record.chunks for record in manifest.documents),
    }
    if len(set(counts.values())) != 1:
        raise IndexCorrupt(f"index {path} has disagreeing row counts {counts}: run `assistant build`")
    try:
        vectors = np.load(path / VECTORS, mmap_mode="r", allow_pickle=False)
    except Exception as error:  # numpy reads a damaged .npy header as Python: SyntaxError, TokenError...
        raise IndexCorrupt(f"{path / VECTORS} cannot be read ({error}): run `assistant build` to rebuild") from None
    if vectors.shape != (len(chunks), dimension) or vectors.dtype != np.float32:
        raise IndexCorrupt(
            f"{path / VECTORS} holds {vectors.dtype} {vectors.shape}, not float32 ({len(chunks)}, {dimension}): "
            "run `assistant build`"
        )
    documents = {record.doc_id: record for record in manifest.documents}
    unknown = {chunk.doc_id for chunk in chunks} - documents.keys()
    if unknown:
        raise IndexCorrupt(f"{path / CHUNKS} refers to documents not in the manifest: {sorted(unknown)[:3]}")
    keywords = None
    if manifest.keywords.get("analyzer") == ANALYZER_VERSION:
        try:
            keywords = KeywordIndex.load(path / KEYWORDS)
        except (OSError, ValueError, KeyError) as error:
            raise IndexCorrupt(f"{path / KEYWORDS} cannot be read ({error}): run `assistant build` to rebuild") from None
        if keywords.rows != len(chunks):
            raise IndexCorrupt(f"{path / KEYWORDS} has {keywords.rows} rows for {len(chunks)} chunks: run `assistant build`")
    sentences = _load_sentences(path, manifest, len(chunks), dimension) if manifest.sentences else None
    duplicates = _load_duplicates(path, documents) if manifest.duplicates else None
    return StoredIndex(path, manifest, chunks, documents, faiss_index, keywords, sentences, duplicates, spec)


def _load_duplicates(path: Path, documents: dict[str, DocumentRecord]) -> DuplicateTable:
    try:
        table = DuplicateTable.load(path / DUPLICATES)
    except Exception as error:  # numpy reads a damaged .npy header as Python: SyntaxError, TokenError...
        raise IndexCorrupt(f"{path / DUPLICATES} cannot be read ({error}): run `assistant build` to rebuild") from None
    if set(table.doc_ids) != documents.keys():
        missing = sorted(documents.keys() - set(table.doc_ids))[:3]
        extra = sorted(set(table.doc_ids) - documents.keys())[:3]
        raise IndexCorrupt(
            f"{path / DUPLICATES} disagrees with the manifest's documents (missing {missing}, unknown {extra}): "
            "run `assistant build`"
        )
    return table


def _load_sentences(path: Path, manifest: Manifest, chunk_count: int, dimension: int) -> SentenceTable:
    try:
        table = SentenceTable(
            spans=np.load(path / SENTENCE_SPANS, allow_pickle=False),
            offsets=np.load(path / SENTENCE_OFFSETS, allow_pickle=False),
            vectors=np.load(path / SENTENCE_VECTORS, mmap_mode="r", allow_pickle=False),
        )
    except Exception as error:  # numpy reads a damaged .npy header as Python: SyntaxError, TokenError...
        raise IndexCorrupt(f"the sentence files of {path} cannot be read ({error}): run `assistant build`") from None
    rows = len(table.spans)
    if (
        len(table.offsets) != chunk_count + 1
        or (chunk_count and int(table.offsets[-1]) != rows)
        or table.vectors.shape != (rows, dimension)
        or rows != manifest.sentences.get("rows")
    ):
        raise IndexCorrupt(f"the sentence files of {path} disagree with the chunks: run `assistant build`")
    return table


def write_build(
    index_dir: Path,
    manifest: Manifest,
    chunks: list[Chunk],
    vectors: np.ndarray,
    keywords: KeywordIndex,
    sentences: SentenceTable | None = None,
    duplicates: DuplicateTable | None = None,
    *,
    index_spec: IndexSpec | None = None,
    centroids: np.ndarray | None = None,
) -> Path:
    """Write a complete build and put it in service atomically.

    Call only while holding :func:`build_lock`. Returns the new build's directory.

    Args:
        index_spec: the FAISS index to build over ``vectors`` (default: chosen by their count
            with the default threshold, :func:`assistant.vector_index.choose`).
        centroids: an IVF index's trained centroids to reuse (see
            :func:`assistant.vector_index.reusable_centroids`); k-means runs without them.
    """
    import faiss

    index_dir = Path(index_dir)
    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.shape[0] != len(chunks) or keywords.rows != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but {vectors.shape[0]} vectors and {keywords.rows} keyword rows")
    if duplicates is not None and set(duplicates.doc_ids) != {record.doc_id for record in manifest.documents}:
        raise ValueError("the duplicate table and the manifest list different documents")
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=builds))
    try:
        with open(staging / CHUNKS, "w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
            files.sync(out)
        with open(staging / VECTORS, "wb") as out:
            np.save(out, vectors, allow_pickle=False)
            files.sync(out)
        spec = index_spec or vector_index.choose(len(vectors))
        started = time.perf_counter()
        index = vector_index.build(vectors.reshape(-1, int(manifest.embedder["dimension"])), spec, centroids=centroids)
        index_facts = {
            **spec.to_manifest(),
            "build_seconds": round(time.perf_counter() - started, 3),
            **({"centroids": "reused" if centroids is not None else "trained"} if spec.kind == vector_index.IVF else {}),
        }
        try:
            faiss.write_index(index, str(staging / FAISS_FILE))
        except RuntimeError as error:  # FAISS reports a failed write as "... (No space left on device)"
            raise OSError(f"{staging / FAISS_FILE}: {error}") from error
        del index
        files.sync_path(staging / FAISS_FILE)
        written = keywords.save(staging / KEYWORDS)
        for file in written:
            files.sync_path(file)
        files.sync_path(staging / KEYWORDS)
        names = [CHUNKS, VECTORS, FAISS_FILE]
        if sentences is not None:
            for name, array in ((SENTENCE_SPANS, sentences.spans), (SENTENCE_OFFSETS, sentences.offsets), (SENTENCE_VECTORS, sentences.vectors)):
                with open(staging / name, "wb") as out:
                    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
                    files.sync(out)
            names += [SENTENCE_SPANS, SENTENCE_OFFSETS, SENTENCE_VECTORS]
        if duplicates is not None:
            for file in duplicates.save(staging / DUPLICATES):
                files.sync_path(file)
                written.append(file)
            files.sync_path(staging / DUPLICATES)
        sizes = {name: (staging / name).stat().st_size for name in names}
        sizes.update({file.relative_to(staging).as_posix(): file.stat().st_size for file in written})
        described = {"analyzer": ANALYZER_VERSION, **keywords.parameters()}
        sentence_facts = {} if sentences is None else {**manifest.sentences, "rows": len(sentences.spans)}
        duplicate_facts = {} if duplicates is None else duplicates.facts()
        final = Manifest(
            **{
                **_fields(manifest),
                "files": sizes,
                "keywords": described,
                "sentences": sentence_facts,
                "duplicates": duplicate_facts,
                "vector_index": index_facts,
            }
        )
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


def _read_chunks(path: Path) -> tuple[Chunk, ...]:
    chunks = []
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    chunks.append(Chunk(**json.loads(line)))
                except (ValueError, TypeError) as error:
                    raise IndexCorrupt(f"{path} line {number} is damaged ({error}): run `assistant build`") from None
    except FileNotFoundError:
        raise IndexCorrupt(f"{path} is missing: run `assistant build` to rebuild") from None
    except UnicodeDecodeError as error:
        raise IndexCorrupt(f"{path} is damaged ({error}): run `assistant build`") from None
    return tuple(chunks)


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


def _fields(manifest: Manifest) -> dict:
    return {name: getattr(manifest, name) for name in manifest.__dataclass_fields__}
