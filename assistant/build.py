"""Build: corpus folder in, index on disk out, re-embedding only what changed."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from assistant import vector_index
from assistant.chunks import ChunkerSettings, content_hash, embedding_text, header_limiter, split_document
from assistant.config import Settings
from assistant.documents import SUPPORTED_SUFFIXES, file_fingerprint, iter_corpus_files, load_document
from assistant.duplicates import THRESHOLD, DuplicateTable, duplicate_groups, signature, signature_parameters
from assistant.embeddings import Embedder, load_embedder
from assistant.errors import AssistantError, DocumentError, IndexCorrupt, IndexNotFound, UnsupportedFormat
from assistant.keywords import KeywordIndex, analyze
from assistant.model import Chunk, DocumentRecord
from assistant.sentences import MIN_INDEXED_CHARS, indexed_sentences
from assistant.store import (
    Manifest,
    SentenceTable,
    StoredIndex,
    build_lock,
    load_index,
    write_build,
)

logger = logging.getLogger(__name__)

# progress(stage, done, total): stage is "documents", "chunks" or "sentences".
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FileProblem:
    """A corpus file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class BuildReport:
    """What a build did. ``changed`` is false when the corpus matched the index already."""

    added: int
    updated: int
    removed: int
    unchanged: int
    failed: tuple[FileProblem, ...]
    skipped: tuple[FileProblem, ...]
    documents: int
    chunks: int
    chunks_embedded: int
    seconds: float
    build_path: Path | None
    changed: bool
    notes: tuple[str, ...] = field(default=())
    sentences_embedded: int = 0

    def summary(self) -> str:
        """One line for people: ``added 2, updated 0, removed 1, unchanged 40, failed 1``."""
        line = (
            f"added {self.added}, updated {self.updated}, removed {self.removed}, "
            f"unchanged {self.unchanged}, failed {len(self.failed)}"
        )
        if self.skipped:
            line += f", skipped {len(self.skipped)}"
        return (
            f"{line} · {self.documents} documents, {self.chunks} chunks "
            f"({self.chunks_embedded} embedded"
            + (f", and {self.sentences_embedded} sentences" if self.sentences_embedded else "")
            + f") in {self.seconds:.1f} s"
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["build_path"] = str(self.build_path) if self.build_path else None
        return data


@dataclass
class _Pending:
    """A document read in this build, waiting for its vectors."""

    record: DocumentRecord
    chunks: list[Chunk]
    texts: list[str]


def build_index(
    corpus_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
) -> BuildReport:
    """Index a corpus folder, incrementally: unchanged files are neither read nor embedded again.

    Args:
        corpus_dir: folder of documents (default: ``settings.corpus_dir``).
        index_dir: where the index lives (default: ``settings.index_dir``).
        settings: chunking, model and limits; ``Settings.from_env()`` when omitted.
        embedder: a ready embedder (tests pass a small fake one); loaded from settings otherwise.
        progress: called as ``progress(stage, done, total)`` while documents are read and chunks embedded.

    Returns:
        Counts of added, updated, removed, unchanged and failed documents, and the build in service.

    Raises:
        AssistantError: the corpus folder does not exist, or the settings don't fit the model.
        BuildInProgress: another build of the same index is running.

    Example:
        >>> report = build_index("corpus", "index")  # doctest: +SKIP
        >>> print(report.summary())  # doctest: +SKIP
    """
    settings = settings or Settings.from_env()
    corpus = Path(corpus_dir if corpus_dir is not None else settings.corpus_dir)
    index_path = Path(index_dir if index_dir is not None else settings.index_dir)
    if not corpus.is_dir():
        raise AssistantError(f"corpus folder {corpus} does not exist")
    started = time.perf_counter()
    progress = progress or (lambda stage, done, total: None)
    with build_lock(index_path, settings.lock_timeout):
        embedder = embedder or load_embedder(
            settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision
        )
        chunker = ChunkerSettings(settings.chunk_tokens, settings.chunk_overlap, settings.header_tokens)
        _check_fits(chunker, embedder)
        notes: list[str] = []
        previous = _previous_build(index_path, notes)
        reusable = previous is not None and _same_recipe(previous, embedder, chunker, notes)

        scan = _scan(corpus, previous, reusable, chunker, embedder, settings, progress)
        kept, pending, failed, skipped, seen = scan.kept, scan.pending, scan.failed, scan.skipped, scan.seen
        added, updated = scan.added, scan.updated

        previous_ids = set(previous.documents) if previous is not None else set()
        removed = len(previous_ids - seen)
        failed_ids = {problem.path for problem in failed}
        unchanged = len(kept)
        complete = (
            previous is not None
            and previous.keywords is not None
            and (previous.sentences is not None) == settings.sentence_vectors
            and _duplicates_current(previous)
            and previous.vector_index == vector_index.planned(len(previous.chunks), settings)
        )
        if reusable and complete and not pending and not removed and not (previous_ids & failed_ids):
            return BuildReport(
                added=0, updated=0, removed=0, unchanged=unchanged, failed=tuple(failed),
                skipped=tuple(skipped), documents=len(kept), chunks=len(previous.chunks),
                chunks_embedded=0, seconds=time.perf_counter() - started,
                build_path=previous.path, changed=False, notes=tuple(notes),
            )  # fmt: skip

        same_model = previous is not None and previous.manifest.embedder.get("identity") == embedder.identity
        chunks, vectors, embedded = _assemble(previous, same_model, kept, pending, embedder, progress)
        documents = sorted(kept + [item.record for item in pending], key=lambda record: record.doc_id)
        by_id = {record.doc_id: record for record in documents}
        keywords = _keywords(previous if reusable else None, chunks, by_id)
        sentences, sentences_embedded = None, 0
        if settings.sentence_vectors:
            sentences, sentences_embedded = _sentences(previous if same_model else None, chunks, by_id, embedder, progress)
        duplicates = _duplicates(previous if reusable else None, chunks, documents)
        manifest = _manifest(embedder, chunker, documents, len(chunks))
        spec = vector_index.planned(len(chunks), settings)
        centroids = vector_index.reusable_centroids(previous.faiss_index, spec) if same_model else None
        try:
            build_path = write_build(
                index_path, manifest, chunks, vectors, keywords, sentences, duplicates, index_spec=spec, centroids=centroids
            )
        except OSError as error:  # a full disk, a read-only or vanished folder: say so, not a traceback
            raise AssistantError(
                f"cannot write the new index into {index_path}: {error.strerror or error}; "
                "the index in service (if any) is unchanged"
            ) from error
        report = BuildReport(
            added=added, updated=updated, removed=removed, unchanged=unchanged, failed=tuple(failed),
            skipped=tuple(skipped), documents=len(documents), chunks=len(chunks), chunks_embedded=embedded,
            seconds=time.perf_counter() - started, build_path=build_path, changed=True, notes=tuple(notes),
            sentences_embedded=sentences_embedded,
        )  # fmt: skip
        logger.info("build %s: %s", manifest.build_id, report.summary())
        return report



@dataclass
class _Scan:
    """What reading the corpus found: records kept as they were, documents to (re)index, problems."""

    kept: list[DocumentRecord]
    pending: list[_Pending]
    failed: list[FileProblem]
    skipped: list[FileProblem]
    seen: set[str]
    added: int
    updated: int


def _scan(
    corpus: Path,
    previous: StoredIndex | None,
    reusable: bool,
    chunker: ChunkerSettings,
    embedder: Embedder,
    settings: Settings,
    progress: ProgressCallback,
) -> _Scan:
    """Read the corpus: unchanged files (same fingerprint, reusable previous build) are kept without
    being read; new and changed ones are read and chunked; unreadable ones are reported and skipped."""
    count_tokens = embedder.count_tokens
    limit_header = header_limiter(count_tokens, chunker.header_tokens)
    skipped: list[FileProblem] = []

    def skip(path: Path, reason: str) -> None:  # links out of the corpus, folders that cannot be listed
        skipped.append(FileProblem(path.relative_to(corpus).as_posix(), reason))

    files = list(iter_corpus_files(corpus, on_skip=skip))
    kept: list[DocumentRecord] = []
    pending: list[_Pending] = []
    failed: list[FileProblem] = []
    added = updated = 0
    seen: set[str] = set()
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    for number, path in enumerate(files, 1):
        doc_id = path.relative_to(corpus).as_posix()
        seen.add(doc_id)
        old = previous.documents.get(doc_id) if previous is not None else None
        try:
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise UnsupportedFormat(f"unsupported file type {path.suffix or '(none)'!r}")
            fingerprint = file_fingerprint(path, max_bytes=max_bytes)  # an enormous file is not read
            if reusable and old is not None and old.content_hash == fingerprint:
                kept.append(old)
                continue
            document = load_document(path, corpus, max_bytes=max_bytes)
            pieces = split_document(document, chunker, count_tokens)
            if not pieces:
                raise DocumentError("no text to index")
        except UnsupportedFormat as error:
            skipped.append(FileProblem(doc_id, str(error)))
            continue
        except (DocumentError, OSError) as error:
            failed.append(FileProblem(doc_id, _reason(error)))
            logger.warning("skipped %s: %s", doc_id, _reason(error))
            continue
        finally:
            progress("documents", number, len(files))
        added += old is None
        updated += old is not None
        record = DocumentRecord(
            doc_id=doc_id,
            content_hash=fingerprint,
            citation=document.citation,
            chunks=len(pieces),
        )
        texts = [embedding_text(piece, document.title, limit_header) for piece in pieces]
        chunk_records = [replace(piece, embed_hash=content_hash(text)) for piece, text in zip(pieces, texts)]
        pending.append(_Pending(record, chunk_records, texts))
    return _Scan(kept, pending, failed, skipped, seen, added, updated)


def _assemble(
    previous: StoredIndex | None,
    same_model: bool,
    kept: list[DocumentRecord],
    pending: list[_Pending],
    embedder: Embedder,
    progress: ProgressCallback,
) -> tuple[list[Chunk], np.ndarray, int]:
    """Chunk rows and their vectors in document-id order, and how many texts were embedded.

    Kept documents bring their rows and vectors from the previous build; read documents
    reuse a previous vector when the same text was embedded by the same model (an unchanged
    part of a changed file) and are embedded otherwise.
    """
    old_vectors = previous.vectors() if previous is not None else None
    old_rows: dict[str, int] = {}
    kept_rows: dict[str, list[int]] = {record.doc_id: [] for record in kept}
    if previous is not None:
        for row, chunk in enumerate(previous.chunks):
            if same_model:
                old_rows.setdefault(chunk.embed_hash, row)
            if chunk.doc_id in kept_rows:
                kept_rows[chunk.doc_id].append(row)

    to_embed: dict[str, str] = {}
    for item in pending:
        for chunk, text in zip(item.chunks, item.texts):
            if chunk.embed_hash not in old_rows:
                to_embed.setdefault(chunk.embed_hash, text)
    hashes = list(to_embed)
    logger.info("embedding %d new chunks", len(hashes))
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        progress("chunks", done, len(hashes))

    progress("chunks", 0, len(hashes))
    fresh = embedder.embed_passages([to_embed[h] for h in hashes], progress=advance)
    fresh_rows = {h: row for row, h in enumerate(hashes)}

    pending_by_doc = {item.record.doc_id: item for item in pending}
    chunks: list[Chunk] = []
    parts: list[np.ndarray] = []
    for doc_id in sorted(set(kept_rows) | set(pending_by_doc)):
        if doc_id in kept_rows:
            rows = kept_rows[doc_id]
            chunks.extend(previous.chunks[row] for row in rows)  # type: ignore[union-attr]
            parts.append(np.asarray(old_vectors[rows], dtype=np.float32))  # type: ignore[index]
            continue
        for chunk in pending_by_doc[doc_id].chunks:
            chunks.append(chunk)
            if chunk.embed_hash in fresh_rows:
                parts.append(fresh[fresh_rows[chunk.embed_hash]][None, :])
            else:
                parts.append(np.asarray(old_vectors[old_rows[chunk.embed_hash]], dtype=np.float32)[None, :])  # type: ignore[index]
    vectors = np.concatenate(parts) if parts else np.zeros((0, embedder.dimension), dtype=np.float32)
    return chunks, vectors, len(hashes)


def keyword_text(chunk: Chunk, document: DocumentRecord) -> str:
    """What keyword search indexes for a chunk: its text under its document title and section."""
    return "\n".join(part for part in (document.title, chunk.section, chunk.text) if part)


def _keywords(previous: StoredIndex | None, chunks: list[Chunk], documents: dict[str, DocumentRecord]) -> KeywordIndex:
    """The keyword index of the new build; chunks kept from the previous build keep their terms."""
    old_rows: dict[str, int] = {}
    if previous is not None and previous.keywords is not None:
        old_rows = {
            chunk.chunk_id: row
            for row, chunk in enumerate(previous.chunks)
            if chunk.doc_id in documents and documents[chunk.doc_id].content_hash == previous.documents[chunk.doc_id].content_hash
        }
    rows = []
    for chunk in chunks:
        row = old_rows.get(chunk.chunk_id)
        if row is not None:
            rows.append(previous.keywords.terms_of(row))  # type: ignore[union-attr]
        else:
            document = documents[chunk.doc_id]
            rows.append(analyze(keyword_text(chunk, document), document.lang))
    return KeywordIndex.from_terms(rows)


def _sentences(
    previous: StoredIndex | None,
    chunks: list[Chunk],
    documents: dict[str, DocumentRecord],
    embedder: Embedder,
    progress: ProgressCallback,
) -> tuple[SentenceTable, int]:
    """Every chunk's sentences with their vectors, and how many sentences had to be embedded.

    A sentence embedded by the previous build (same text, same model) keeps its vector.
    """
    old: dict[str, int] = {}
    if previous is not None and previous.sentences is not None:
        table = previous.sentences
        for row, chunk in enumerate(previous.chunks):
            for number, (start, end) in enumerate(table.spans[table.offsets[row] : table.offsets[row + 1]]):
                old.setdefault(content_hash(chunk.text[start:end]), int(table.offsets[row]) + number)
    spans: list[tuple[int, int]] = []
    offsets = [0]
    hashes: list[str] = []
    to_embed: dict[str, str] = {}
    for chunk in chunks:
        for start, end in indexed_sentences(chunk.text, documents[chunk.doc_id].lang):
            sentence = chunk.text[start:end]
            digest = content_hash(sentence)
            spans.append((start, end))
            hashes.append(digest)
            if digest not in old:
                to_embed.setdefault(digest, sentence)
        offsets.append(len(spans))
    order = list(to_embed)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        progress("sentences", done, len(order))

    progress("sentences", 0, len(order))
    fresh = embedder.embed_passages([to_embed[digest] for digest in order], progress=advance)
    fresh_rows = {digest: row for row, digest in enumerate(order)}
    vectors = np.zeros((len(hashes), embedder.dimension), dtype=np.float32)
    old_vectors = previous.sentences.vectors if previous is not None and previous.sentences is not None else None
    for row, digest in enumerate(hashes):
        if digest in fresh_rows:
            vectors[row] = fresh[fresh_rows[digest]]
        else:
            vectors[row] = old_vectors[old[digest]]  # type: ignore[index]
    table = SentenceTable(
        spans=np.asarray(spans, dtype=np.int32).reshape(-1, 2),
        offsets=np.asarray(offsets, dtype=np.int64),
        vectors=vectors,
    )
    return table, len(order)


def _duplicates(
    previous: StoredIndex | None, chunks: list[Chunk], documents: list[DocumentRecord]
) -> DuplicateTable:
    """Every document's MinHash signature and the groups of duplicates they form.

    A document unchanged since the previous build keeps its stored signature; the others
    are signed from their indexed text (their chunks joined), so a build that adds
    duplicate detection to an older index reads no file again and embeds nothing.
    """
    parameters = signature_parameters()
    old: dict[str, np.ndarray] = {}
    if previous is not None and previous.duplicates is not None and previous.duplicates.parameters == parameters:
        old = previous.duplicates.signature_of()
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    signatures: dict[str, np.ndarray] = {}
    signed = 0
    for record in documents:
        previous_record = previous.documents.get(record.doc_id) if previous is not None else None
        if record.doc_id in old and previous_record is not None and previous_record.content_hash == record.content_hash:
            signatures[record.doc_id] = np.asarray(old[record.doc_id], dtype=np.uint64)
        else:
            signatures[record.doc_id] = signature(indexed_text(by_doc.get(record.doc_id, [])))
            signed += 1
    groups = duplicate_groups(
        signatures,
        threshold=THRESHOLD,
        dates={record.doc_id: record.date for record in documents},
        sources={record.doc_id: record.source for record in documents},
    )
    logger.info("signed %d documents; %d groups of duplicates", signed, len(groups))
    doc_ids = tuple(record.doc_id for record in documents)
    matrix = np.zeros((len(doc_ids), parameters["num_perm"]), dtype=np.uint64)
    for row, doc_id in enumerate(doc_ids):
        matrix[row] = signatures[doc_id]
    return DuplicateTable(doc_ids, matrix, groups, parameters, THRESHOLD)


def _duplicates_current(previous: StoredIndex) -> bool:
    table = previous.duplicates
    return table is not None and table.parameters == signature_parameters() and table.threshold == THRESHOLD


def indexed_text(chunks: list[Chunk]) -> str:
    """A document's indexed text rebuilt from its chunks (overlaps taken once, gaps as spaces).

    Chunks are exact slices of the document text, so this is the text minus what no chunk
    holds (whitespace between sections and pieces).
    """
    parts: list[str] = []
    reached = 0
    for chunk in sorted(chunks, key=lambda chunk: (chunk.start, chunk.end)):
        if chunk.end <= reached:
            continue
        if chunk.start >= reached:
            # A gap between chunks held only whitespace; touching chunks join as they stood.
            parts.append(" " if chunk.start > reached else "")
            parts.append(chunk.text)
        else:
            parts.append(chunk.text[reached - chunk.start :])
        reached = chunk.end
    return "".join(parts).strip()


def _previous_build(index_dir: Path, notes: list[str]) -> StoredIndex | None:
    try:
        return load_index(index_dir)
    except IndexNotFound:
        return None
    except IndexCorrupt as error:
        notes.append(f"previous index unusable, rebuilt from scratch ({error})")
        logger.warning("previous index unusable, rebuilding from scratch: %s", error)
        return None


def _same_recipe(previous: StoredIndex, embedder: Embedder, chunker: ChunkerSettings, notes: list[str]) -> bool:
    if previous.manifest.embedder.get("identity") != embedder.identity:
        notes.append(
            f"embedding model changed ({previous.manifest.embedder.get('identity')} -> "
            f"{embedder.identity}): every document re-embedded"
        )
        return False
    if previous.manifest.chunker != asdict(chunker):
        notes.append("chunking or reading rules changed: every document re-read (unchanged texts keep their vectors)")
        return False
    return True


def _check_fits(chunker: ChunkerSettings, embedder: Embedder) -> None:
    budget = embedder.max_tokens - embedder.passage_overhead() - chunker.header_tokens - 2
    if chunker.chunk_tokens > budget:
        raise AssistantError(
            f"chunk_tokens={chunker.chunk_tokens} does not fit the model's {embedder.max_tokens} tokens "
            f"with the passage prompt and title header: use at most {budget}"
        )


def _manifest(
    embedder: Embedder, chunker: ChunkerSettings, documents: list[DocumentRecord], chunk_count: int
) -> Manifest:
    fingerprint = hashlib.sha256(
        "\n".join(f"{record.doc_id}\0{record.content_hash}" for record in documents).encode()
    ).hexdigest()
    now = datetime.now(timezone.utc)
    return Manifest(
        build_id=f"{now:%Y%m%dT%H%M%S%fZ}-{fingerprint[:8]}",
        created_at=now.isoformat(timespec="seconds"),
        embedder={
            "identity": embedder.identity,
            "dimension": embedder.dimension,
            "max_tokens": embedder.max_tokens,
            "precision": getattr(embedder, "precision", "float32"),
        },
        chunker=asdict(chunker),
        sentences={"min_chars": MIN_INDEXED_CHARS},
        documents=tuple(documents),
        chunk_count=chunk_count,
        corpus_fingerprint=fingerprint,
        library_versions=_library_versions(),
    )


def _library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("kz-official-assistant", "faiss-cpu", "sentence-transformers", "torch", "transformers", "numpy", "langchain-text-splitters"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and not isinstance(error, DocumentError):
        return f"cannot read file: {error.strerror or error}"
    return str(error)
