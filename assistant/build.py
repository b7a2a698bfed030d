"""Build: corpus folder in, index on disk out, re-embedding only what changed."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from assistant.chunks import ChunkerSettings, content_hash, embedding_text, header_limiter, split_document
from assistant.config import Settings
from assistant.documents import SUPPORTED_SUFFIXES, FieldLimits, file_fingerprint, iter_corpus_files, load_document
from assistant.embeddings import Embedder, load_embedder
from assistant.errors import AssistantError, DocumentError, IndexCorrupt, IndexNotFound, ReadTimeout, UnsupportedFormat
from assistant.model import Chunk, Document, DocumentRecord
from assistant.parsing import ReaderWorker
from assistant.parts import PARTS, BuildRows, PreviousBuild, ProgressCallback, Updated
from assistant.store import BuildHead, Manifest, StoredIndex
from assistant.stores import IndexStore, store_at

logger = logging.getLogger(__name__)



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
    build_id: str = ""  # of the build in service; a database store has no build_path

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
        index_dir: where the index lives: a folder, or a ``postgresql://`` URL (default:
            ``settings.store`` when set, else ``settings.index_dir``).
        settings: chunking, model and limits; ``Settings.from_env()`` when omitted.
        embedder: a ready embedder (tests pass a small fake one); loaded from settings otherwise.
        progress: called as ``progress(stage, done, total)`` while documents are read and chunks embedded.

    Returns:
        Counts of added, updated, removed, unchanged and failed documents, and the build in service.

    Raises:
        AssistantError: the corpus folder does not exist, or the settings don't fit the model.
        BuildInProgress: another build of the same index is running.
        StoreUnavailable: the database given cannot be used (the message says why).

    Example:
        >>> report = build_index("corpus", "index")  # doctest: +SKIP
        >>> print(report.summary())  # doctest: +SKIP
    """
    settings = settings or Settings.from_env()
    corpus = Path(corpus_dir if corpus_dir is not None else settings.corpus_dir)
    store = store_at(index_dir if index_dir is not None else settings.store or settings.index_dir, settings)
    if not corpus.is_dir():
        raise AssistantError(f"corpus folder {corpus} does not exist")
    started = time.perf_counter()
    progress = progress or (lambda stage, done, total: None)
    with store.lock(settings.lock_timeout):
        embedder = embedder or load_embedder(
            settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision
        )
        chunker = ChunkerSettings(
            settings.chunk_tokens, settings.chunk_overlap, settings.header_tokens,
            title_chars=settings.max_title_chars, region_chars=settings.max_region_chars,
            section_chars=settings.max_section_chars,
        )  # fmt: skip
        _check_fits(chunker, embedder)
        notes: list[str] = []
        head = _previous_head(store, notes)
        reusable = head is not None and _same_recipe(head.manifest, embedder, chunker, notes)

        scan = _read_corpus(corpus, store, head, reusable, chunker, embedder, settings, progress)
        previous_ids = set(head.documents) if head is not None else set()
        removed = len(previous_ids - scan.seen)
        failed_ids = {problem.path for problem in scan.failed}
        if reusable and _up_to_date(head, settings) and not scan.pending and not removed and not (previous_ids & failed_ids):
            return _nothing_changed(head, scan, notes, time.perf_counter() - started)
        previous = _previous_build(store, head, notes)
        if head is not None and previous is None:  # its rows are unusable: every document is read again
            reusable = False
            scan = _read_corpus(corpus, store, None, reusable, chunker, embedder, settings, progress)
            removed = len(previous_ids - scan.seen)
        notes += scan.notes

        documents = sorted(scan.kept + [item.record for item in scan.pending], key=lambda record: record.doc_id)
        chunks, texts = _rows(previous, scan.kept, scan.pending)
        rows = BuildRows(chunks, {record.doc_id: record for record in documents}, texts, embedder, settings, progress)
        built = _update_parts(rows, previous, embedder, reusable)
        manifest = _manifest(embedder, chunker, documents, len(chunks))
        build_path = _write(store, manifest, chunks, built)
        report = BuildReport(
            added=scan.added, updated=scan.updated, removed=removed, unchanged=len(scan.kept),
            failed=tuple(scan.failed), skipped=tuple(scan.skipped), documents=len(documents), chunks=len(chunks),
            chunks_embedded=built["vector_index"].computed, sentences_embedded=built["sentences"].computed,
            seconds=time.perf_counter() - started, build_path=build_path, changed=True, notes=tuple(notes),
            build_id=manifest.build_id,
        )  # fmt: skip
        logger.info("build %s: %s", manifest.build_id, report.summary())
        return report


def _nothing_changed(head: BuildHead, scan: _Scan, notes: list[str], seconds: float) -> BuildReport:
    """The report of a build that found the build in service current: nothing written."""
    return BuildReport(
        added=0, updated=0, removed=0, unchanged=len(scan.kept), failed=tuple(scan.failed),
        skipped=tuple(scan.skipped), documents=len(scan.kept), chunks=head.manifest.chunk_count,
        chunks_embedded=0, seconds=seconds, build_path=head.index.path if head.index is not None else None,
        changed=False, notes=tuple(notes + scan.notes), build_id=head.manifest.build_id,
    )  # fmt: skip


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
    notes: list[str]


def _read_corpus(
    corpus: Path,
    store: IndexStore,
    previous: BuildHead | None,
    reusable: bool,
    chunker: ChunkerSettings,
    embedder: Embedder,
    settings: Settings,
    progress: ProgressCallback,
) -> _Scan:
    """:func:`_scan` with a reader worker for the build; the files over their parse time are remembered."""
    remembered = store.reader_timeouts()
    with ReaderWorker(settings.parse_seconds) as worker:
        reading = _Reading(corpus, settings, chunker, worker, remembered)
        scan = _scan(corpus, previous, reusable, chunker, embedder, reading, progress)
    if reading.over_budget != remembered:
        store.save_reader_timeouts(reading.over_budget)
    return scan


class _Reading:
    """How this build reads a file: its size and field limits, and its time budget, within which the
    reader runs in a worker process (:mod:`assistant.parsing`). A file that used its budget is refused
    and remembered by content hash (``over_budget``); one that an earlier build refused so
    (``remembered``) is refused without being read, until it changes or the budget is raised."""

    def __init__(
        self,
        corpus: Path,
        settings: Settings,
        chunker: ChunkerSettings,
        worker: ReaderWorker,
        remembered: dict[str, tuple[str, float]],
    ) -> None:
        self.corpus = corpus
        self.max_bytes = int(settings.max_file_mb * 1024 * 1024)
        self.limits = FieldLimits(chunker.title_chars, chunker.region_chars, chunker.section_chars)
        self.worker = worker
        self.remembered = remembered
        self.over_budget: dict[str, tuple[str, float]] = {}

    def fingerprint(self, path: Path) -> str:
        return file_fingerprint(path, max_bytes=self.max_bytes)  # an enormous file is not read

    def read(self, path: Path, doc_id: str, fingerprint: str) -> Document:
        """The document in ``path``, or a :class:`DocumentError` saying why not."""
        seconds = self.worker.seconds
        _, exceeded = self.remembered.get(fingerprint, ("", 0.0))
        if seconds > 0 and exceeded >= seconds:
            self.over_budget[fingerprint] = (doc_id, exceeded)
            raise ReadTimeout(
                f"reading took longer than {exceeded:g} s in an earlier build (setting parse_seconds): refused "
                "without reading it again until it changes"
            )
        try:
            return load_document(path, self.corpus, max_bytes=self.max_bytes, limits=self.limits, reader=self.worker.extract)
        except ReadTimeout as error:
            self.over_budget[fingerprint] = (doc_id, seconds)
            raise ReadTimeout(f"{error}; it will not be read again until it changes") from None


def _scan(
    corpus: Path,
    previous: BuildHead | None,
    reusable: bool,
    chunker: ChunkerSettings,
    embedder: Embedder,
    reading: _Reading,
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
    notes: list[str] = []
    for number, path in enumerate(files, 1):
        doc_id = path.relative_to(corpus).as_posix()
        seen.add(doc_id)
        old = previous.documents.get(doc_id) if previous is not None else None
        try:
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise UnsupportedFormat(f"unsupported file type {path.suffix or '(none)'!r}")
            fingerprint = reading.fingerprint(path)
            if reusable and old is not None and old.content_hash == fingerprint:
                kept.append(old)
                continue
            document = reading.read(path, doc_id, fingerprint)
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
        notes += [f"{doc_id}: {note}" for note in document.cut]
        record = DocumentRecord(
            doc_id=doc_id,
            content_hash=fingerprint,
            citation=document.citation,
            chunks=len(pieces),
            provenance=document.provenance,
        )
        texts = [embedding_text(piece, document.title, limit_header) for piece in pieces]
        chunk_records = [replace(piece, embed_hash=content_hash(text)) for piece, text in zip(pieces, texts)]
        pending.append(_Pending(record, chunk_records, texts))
    return _Scan(kept, pending, failed, skipped, seen, added, updated, notes)


def _rows(
    previous: StoredIndex | None, kept: list[DocumentRecord], pending: list[_Pending]
) -> tuple[list[Chunk], dict[str, str]]:
    """The new build's chunk rows in document-id order, and the texts to embed of those read now.

    Kept documents bring their rows from the previous build; read documents bring new ones.
    """
    kept_ids = {record.doc_id for record in kept}
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in previous.chunks if previous is not None else ():
        if chunk.doc_id in kept_ids:
            by_doc.setdefault(chunk.doc_id, []).append(chunk)
    texts: dict[str, str] = {}
    for item in pending:
        by_doc[item.record.doc_id] = item.chunks
        texts.update((chunk.embed_hash, text) for chunk, text in zip(item.chunks, item.texts))
    return [chunk for doc_id in sorted(by_doc) for chunk in by_doc[doc_id]], texts


def _update_parts(rows: BuildRows, previous: StoredIndex | None, embedder: Embedder, reusable: bool) -> dict[str, Updated]:
    """Each index part for the new build, reusing the previous build's where the text is unchanged."""
    prior = None
    if previous is not None:
        same_model = previous.manifest.embedder.get("identity") == embedder.identity
        prior = PreviousBuild(previous.chunks, previous.documents, same_model=same_model, same_recipe=reusable)
    return {
        part.name: (
            part.update(rows, prior, previous.parts.get(part.name) if previous is not None else None)
            if part.wanted(rows.settings)
            else Updated(None)
        )
        for part in PARTS
    }


def _up_to_date(head: BuildHead, settings: Settings) -> bool:
    """Whether every part of the previous build is current (else it is rebuilt, reusing what it can)."""
    facts, rows = head.manifest.parts, head.manifest.chunk_count
    return head.current_format and all(part.up_to_date(facts.get(part.name) or {}, rows, settings) for part in PARTS)


def _write(store: IndexStore, manifest: Manifest, chunks: list[Chunk], built: dict[str, Updated]) -> Path | None:
    try:
        return store.write(manifest, chunks, {name: done.data for name, done in built.items()})
    except OSError as error:  # a full disk, a read-only or vanished folder: say so, not a traceback
        raise AssistantError(
            f"cannot write the new index into {store}: {error.strerror or error}; "
            "the index in service (if any) is unchanged"
        ) from error


def _previous_head(store: IndexStore, notes: list[str]) -> BuildHead | None:
    try:
        return store.head()
    except IndexNotFound:
        return None
    except IndexCorrupt as error:
        _unusable(error, notes)
        return None


def _previous_build(store: IndexStore, head: BuildHead | None, notes: list[str]) -> StoredIndex | None:
    """The whole build in service, read only when this build has something to do."""
    if head is None:
        return None
    if head.index is not None:  # the store opened it whole already
        return head.index
    try:
        return store.load()
    except IndexCorrupt as error:
        _unusable(error, notes)
        return None


def _unusable(error: IndexCorrupt, notes: list[str]) -> None:
    notes.append(f"previous index unusable, rebuilt from scratch ({error})")
    logger.warning("previous index unusable, rebuilding from scratch: %s", error)


def _same_recipe(previous: Manifest, embedder: Embedder, chunker: ChunkerSettings, notes: list[str]) -> bool:
    if previous.embedder.get("identity") != embedder.identity:
        notes.append(
            f"embedding model changed ({previous.embedder.get('identity')} -> "
            f"{embedder.identity}): every document re-embedded"
        )
        return False
    if previous.chunker != asdict(chunker):
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
