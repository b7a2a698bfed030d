"""Index parts: what a build stores beside its chunk rows, each behind one interface.

A build is the manifest, the chunk rows (``chunks.jsonl`` and its columns, see
:mod:`assistant.chunk_table`) and a list of parts. Each part is
derived from the rows and the documents, and knows how to

- **update** itself for a new build: reuse what the previous build computed for unchanged
  text (same vectors for the same text and model, same terms and signatures for unchanged
  documents) and compute the rest, reporting progress;
- **save** itself into the staging folder of a build, returning its manifest facts and the
  files it wrote (synced to the disk);
- **load** itself from a build and check that it agrees with the rows, raising
  :class:`~assistant.errors.IndexCorrupt` with the file's name when it does not;
- say from its manifest facts alone whether the stored copy is **up to date** with the settings
  and code (when it is not, the next ``assistant build`` brings it up to date without re-reading
  any file; when every part is and no file changed, the build reads no row at all).

:data:`PARTS` lists them in the order they are built and written. ``store.write_build`` and
``store.load_index`` loop over it, and so does ``build.build_index``; nothing else names a
part's files. To add a part, write a class with the methods of :class:`IndexPart` here (or in
a module of its own) and append an instance to :data:`PARTS`; its facts appear in the manifest
under its ``name``, its data in ``StoredIndex.parts[name]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from assistant import files, vector_index
from assistant.chunks import content_hash
from assistant.duplicates import THRESHOLD, DuplicateTable, duplicate_groups, signature, signature_parameters
from assistant.errors import IndexCorrupt
from assistant.keywords import ANALYZER_VERSION, KeywordIndex, analyze
from assistant.model import Chunk, DocumentRecord
from assistant.sentences import MIN_INDEXED_CHARS, indexed_sentences
from assistant.vector_index import IndexSpec

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.embeddings import Embedder

__all__ = [
    "DUPLICATES",
    "FAISS_FILE",
    "KEYWORDS",
    "PARTS",
    "SENTENCE_OFFSETS",
    "SENTENCE_SPANS",
    "SENTENCE_VECTORS",
    "VECTORS",
    "BuildRows",
    "DenseVectors",
    "IndexPart",
    "LoadedRows",
    "PreviousBuild",
    "ProgressCallback",
    "SentenceTable",
    "DuplicatePart",
    "KeywordPart",
    "SentencePart",
    "Updated",
    "VectorPart",
    "embed_reusing",
    "indexed_text",
    "keyword_text",
]

logger = logging.getLogger(__name__)

VECTORS = "vectors.npy"
FAISS_FILE = "faiss.index"
KEYWORDS = "keywords"
SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_SPANS = "sentence_spans.npy"
SENTENCE_OFFSETS = "sentence_offsets.npy"
DUPLICATES = "duplicates"

# progress(stage, done, total): stage is "documents", "chunks" or "sentences".
ProgressCallback = Callable[[str, int, int], None]


# --- what parts are built from and loaded against ------------------------------------------------


@dataclass(frozen=True)
class BuildRows:
    """The new build's rows, in order, with what a part needs to compute its data.

    ``texts`` maps the ``embed_hash`` of every chunk read in this build to the text embedded for
    it (chunks of unchanged documents are not read again: their vectors are reused).
    """

    chunks: Sequence[Chunk]
    documents: Mapping[str, DocumentRecord]
    texts: Mapping[str, str]
    embedder: Embedder
    settings: Settings
    progress: ProgressCallback


@dataclass(frozen=True)
class PreviousBuild:
    """What the build in service offers for reuse.

    ``same_model``: its vectors came from the embedder of this build, so the vector of an
    unchanged text can be reused. ``same_recipe``: its documents were also read and cut the same
    way, so what was derived from an unchanged document (terms, signature) can be reused.
    """

    chunks: Sequence[Chunk]
    documents: Mapping[str, DocumentRecord]
    same_model: bool
    same_recipe: bool

    def unchanged(self, record: DocumentRecord) -> bool:
        """Whether ``record`` was indexed from the same file content by the previous build."""
        old = self.documents.get(record.doc_id)
        return old is not None and old.content_hash == record.content_hash


@dataclass(frozen=True)
class LoadedRows:
    """A stored build's rows, against which each part is checked as it loads."""

    path: Path
    chunks: Sequence[Chunk]
    documents: Mapping[str, DocumentRecord]
    dimension: int


@dataclass(frozen=True)
class Updated:
    """A part's data for a new build, and how many items it had to compute (embed, sign) anew."""

    data: Any
    computed: int = 0


class IndexPart(Protocol):
    """One part of a build (see the module docstring)."""

    name: str  # its key in the manifest and in StoredIndex.parts

    def wanted(self, settings: Settings) -> bool:
        """Whether a build with these settings has this part at all."""

    def up_to_date(self, facts: dict, row_count: int, settings: Settings) -> bool:
        """Whether the build's copy needs no rebuilding, from its manifest ``facts`` alone (``{}``
        when the build has none), so that a build can tell without reading the rows."""

    def update(self, rows: BuildRows, previous: PreviousBuild | None, old: Any) -> Updated:
        """The data for a new build; ``old`` is the previous build's data of this part (or ``None``)."""

    def save(self, data: Any, folder: Path) -> tuple[dict, list[Path]]:
        """Write ``data`` into a build's staging ``folder``: its manifest facts, the files written."""

    def load(self, facts: dict, rows: LoadedRows) -> Any:
        """This part of a stored build (``None`` when the build has none), checked against ``rows``."""


def embed_reusing(
    items: Sequence[tuple[str, str]],
    old: Mapping[str, int],
    old_vectors: np.ndarray | None,
    rows: BuildRows,
    stage: str,
) -> tuple[np.ndarray, int]:
    """Vectors for ``(hash, text)`` items in order: a hash in ``old`` reuses that row of
    ``old_vectors``; the other texts are embedded once each, with progress reported as ``stage``.

    Returns the vectors and how many texts were embedded.
    """
    to_embed: dict[str, str] = {}
    for digest, text in items:
        if digest not in old:
            to_embed.setdefault(digest, text)
    order = list(to_embed)
    logger.info("embedding %d new %s", len(order), stage)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        rows.progress(stage, done, len(order))

    rows.progress(stage, 0, len(order))
    fresh = rows.embedder.embed_passages([to_embed[digest] for digest in order], progress=advance)
    fresh_rows = {digest: row for row, digest in enumerate(order)}
    vectors = np.zeros((len(items), rows.embedder.dimension), dtype=np.float32)
    for row, (digest, _) in enumerate(items):
        vectors[row] = fresh[fresh_rows[digest]] if digest in fresh_rows else old_vectors[old[digest]]  # type: ignore[index]
    return vectors, len(order)


def _save_array(path: Path, array: np.ndarray) -> Path:
    with open(path, "wb") as out:
        np.save(out, np.ascontiguousarray(array), allow_pickle=False)
        files.sync(out)
    return path


def _synced(written: list[Path], folder: Path) -> list[Path]:
    for file in written:
        files.sync_path(file)
    files.sync_path(folder)
    return written


def _unreadable(path: Path, error: BaseException) -> IndexCorrupt:
    return IndexCorrupt(f"{path} cannot be read ({error}): run `assistant build` to rebuild")


# --- chunk vectors and the FAISS index over them -------------------------------------------------


@dataclass(frozen=True)
class DenseVectors:
    """Every chunk's unit vector and the FAISS index over them (``faiss_index`` row i = chunk i).

    ``vectors`` are memory-mapped when loaded. ``facts`` are the manifest's record of the FAISS
    index: its kind and parameters (``spec``), and how it was built.
    """

    vectors: np.ndarray
    faiss_index: Any
    spec: IndexSpec
    facts: dict


class VectorPart:
    """``vectors.npy`` and ``faiss.index``: exact (flat) or, for large corpora, approximate (IVF/HNSW)."""

    name = "vector_index"

    def wanted(self, settings: Settings) -> bool:
        return True

    def up_to_date(self, facts: dict, row_count: int, settings: Settings) -> bool:
        return IndexSpec.from_manifest(facts) == vector_index.planned(row_count, settings)  # as load() reads it

    def update(self, rows: BuildRows, previous: PreviousBuild | None, old: DenseVectors | None) -> Updated:
        """Reuse the vector of every text the same model embedded before; embed the others."""
        reuse = previous is not None and previous.same_model and old is not None
        reusable: dict[str, int] = {}
        if reuse:
            for row, chunk in enumerate(previous.chunks):  # type: ignore[union-attr]
                reusable.setdefault(chunk.embed_hash, row)
        items = [(chunk.embed_hash, rows.texts.get(chunk.embed_hash, "")) for chunk in rows.chunks]
        vectors, embedded = embed_reusing(items, reusable, old.vectors if old is not None else None, rows, "chunks")
        spec = vector_index.planned(len(vectors), rows.settings)
        centroids = vector_index.reusable_centroids(old.faiss_index, spec) if reuse else None  # type: ignore[union-attr]
        return Updated(self.indexed(vectors, spec, centroids), embedded)

    @staticmethod
    def indexed(vectors: np.ndarray, spec: IndexSpec, centroids: np.ndarray | None = None) -> DenseVectors:
        """``vectors`` with the FAISS index ``spec`` describes built over them (IVF reusing ``centroids``)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        started = time.perf_counter()
        index = vector_index.build(vectors, spec, centroids=centroids)
        facts = {
            **spec.to_manifest(),
            "build_seconds": round(time.perf_counter() - started, 3),
            **({"centroids": "reused" if centroids is not None else "trained"} if spec.kind == vector_index.IVF else {}),
        }
        return DenseVectors(vectors, index, spec, facts)

    def save(self, data: DenseVectors, folder: Path) -> tuple[dict, list[Path]]:
        import faiss

        written = [_save_array(folder / VECTORS, data.vectors)]
        try:
            faiss.write_index(data.faiss_index, str(folder / FAISS_FILE))
        except RuntimeError as error:  # FAISS reports a failed write as "... (No space left on device)"
            raise OSError(f"{folder / FAISS_FILE}: {error}") from error
        files.sync_path(folder / FAISS_FILE)
        return data.facts, [*written, folder / FAISS_FILE]

    def load(self, facts: dict, rows: LoadedRows) -> DenseVectors:
        spec = IndexSpec.from_manifest(facts)  # empty facts: a build from before index kinds, flat
        index = vector_index.read(rows.path / FAISS_FILE, spec, dimension=rows.dimension)
        if index.ntotal != len(rows.chunks):
            raise IndexCorrupt(
                f"index {rows.path} has disagreeing row counts ({FAISS_FILE}: {index.ntotal}, "
                f"chunks: {len(rows.chunks)}): run `assistant build`"
            )
        path = rows.path / VECTORS
        try:
            vectors = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as error:  # numpy reads a damaged .npy header as Python: SyntaxError, TokenError...
            raise _unreadable(path, error) from None
        if vectors.shape != (len(rows.chunks), rows.dimension) or vectors.dtype != np.float32:
            raise IndexCorrupt(
                f"{path} holds {vectors.dtype} {vectors.shape}, not float32 ({len(rows.chunks)}, {rows.dimension}): "
                "run `assistant build`"
            )
        return DenseVectors(vectors, index, spec, facts)


# --- keywords --------------------------------------------------------------------------------------


def keyword_text(chunk: Chunk, document: DocumentRecord) -> str:
    """What keyword search indexes for a chunk: its text under its document title and section."""
    return "\n".join(part for part in (document.title, chunk.section, chunk.text) if part)


class KeywordPart:
    """``keywords/``: every chunk's terms and the BM25 matrix (see :mod:`assistant.keywords`)."""

    name = "keywords"

    def wanted(self, settings: Settings) -> bool:
        return True

    def up_to_date(self, facts: dict, row_count: int, settings: Settings) -> bool:
        # Terms of an older analyser are analysed again; a folder build without stored frequencies
        # is rewritten too, but that is the store's to say (BuildHead.current_format).
        return facts.get("analyzer") == ANALYZER_VERSION

    def update(self, rows: BuildRows, previous: PreviousBuild | None, old: KeywordIndex | None) -> Updated:
        """Chunks of unchanged documents keep their terms; the others are analysed."""
        old_rows: dict[str, int] = {}
        if previous is not None and previous.same_recipe and old is not None:
            old_rows = {
                chunk.chunk_id: row
                for row, chunk in enumerate(previous.chunks)
                if chunk.doc_id in rows.documents and previous.unchanged(rows.documents[chunk.doc_id])
            }
        terms, analysed = [], 0
        for chunk in rows.chunks:
            row = old_rows.get(chunk.chunk_id)
            stored = None
            if row is not None:
                try:
                    stored = old.terms_of(row)  # type: ignore[union-attr]
                except ValueError as error:  # a damaged terms.npy (memory-mapped, checked as read): analyse again
                    logger.warning("previous build's keyword terms unusable for %s, analysed again: %s", chunk.chunk_id, error)
            if stored is not None:
                terms.append(stored)
            else:
                document = rows.documents[chunk.doc_id]
                terms.append(analyze(keyword_text(chunk, document), document.lang))
                analysed += 1
        return Updated(KeywordIndex.from_terms(terms), analysed)

    def save(self, data: KeywordIndex, folder: Path) -> tuple[dict, list[Path]]:
        written = _synced(data.save(folder / KEYWORDS), folder / KEYWORDS)
        return {"analyzer": ANALYZER_VERSION, **data.parameters()}, written

    def load(self, facts: dict, rows: LoadedRows) -> KeywordIndex | None:
        if facts.get("analyzer") != ANALYZER_VERSION:  # none yet, or terms of an older analyser: rebuilt
            return None
        path = rows.path / KEYWORDS
        try:
            keywords = KeywordIndex.load(path)
        except (OSError, ValueError, KeyError) as error:
            raise _unreadable(path, error) from None
        if keywords.rows != len(rows.chunks):
            raise IndexCorrupt(f"{path} has {keywords.rows} rows for {len(rows.chunks)} chunks: run `assistant build`")
        return keywords


# --- sentence vectors ------------------------------------------------------------------------------


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


class SentencePart:
    """``sentence_*.npy``: each chunk's sentences as spans in its text, with their vectors."""

    name = "sentences"
    FILES = (SENTENCE_SPANS, SENTENCE_OFFSETS, SENTENCE_VECTORS)

    def wanted(self, settings: Settings) -> bool:
        return settings.sentence_vectors

    def up_to_date(self, facts: dict, row_count: int, settings: Settings) -> bool:
        return bool(facts) == settings.sentence_vectors

    def update(self, rows: BuildRows, previous: PreviousBuild | None, old: SentenceTable | None) -> Updated:
        """A sentence the same model embedded before keeps its vector; the others are embedded."""
        reusable: dict[str, int] = {}
        if previous is not None and previous.same_model and old is not None:
            for row, chunk in enumerate(previous.chunks):
                for number, (start, end) in enumerate(old.spans[old.offsets[row] : old.offsets[row + 1]]):
                    reusable.setdefault(content_hash(chunk.text[start:end]), int(old.offsets[row]) + number)
        spans: list[tuple[int, int]] = []
        offsets = [0]
        items: list[tuple[str, str]] = []
        for chunk in rows.chunks:
            for start, end in indexed_sentences(chunk.text, rows.documents[chunk.doc_id].lang):
                sentence = chunk.text[start:end]
                spans.append((start, end))
                items.append((content_hash(sentence), sentence))
            offsets.append(len(spans))
        vectors, embedded = embed_reusing(items, reusable, old.vectors if old is not None else None, rows, "sentences")
        table = SentenceTable(
            spans=np.asarray(spans, dtype=np.int32).reshape(-1, 2),
            offsets=np.asarray(offsets, dtype=np.int64),
            vectors=vectors,
        )
        return Updated(table, embedded)

    def save(self, data: SentenceTable, folder: Path) -> tuple[dict, list[Path]]:
        arrays = (data.spans, data.offsets, data.vectors)
        written = [_save_array(folder / name, array) for name, array in zip(self.FILES, arrays)]
        return {"min_chars": MIN_INDEXED_CHARS, "rows": len(data.spans)}, written

    def load(self, facts: dict, rows: LoadedRows) -> SentenceTable | None:
        if not facts:
            return None
        try:
            table = SentenceTable(
                # Memory-mapped like the vectors: a query reads the rows of its top chunks only.
                spans=np.load(rows.path / SENTENCE_SPANS, mmap_mode="r", allow_pickle=False),
                offsets=np.load(rows.path / SENTENCE_OFFSETS, mmap_mode="r", allow_pickle=False),
                vectors=np.load(rows.path / SENTENCE_VECTORS, mmap_mode="r", allow_pickle=False),
            )
        except Exception as error:  # numpy reads a damaged .npy header as Python: SyntaxError, TokenError...
            raise IndexCorrupt(f"the sentence files of {rows.path} cannot be read ({error}): run `assistant build`") from None
        count, chunk_count = len(table.spans), len(rows.chunks)
        if (
            len(table.offsets) != chunk_count + 1
            or (chunk_count and int(table.offsets[-1]) != count)
            or table.vectors.shape != (count, rows.dimension)
            or count != facts.get("rows")
        ):
            raise IndexCorrupt(f"the sentence files of {rows.path} disagree with the chunks: run `assistant build`")
        return table


# --- duplicates ------------------------------------------------------------------------------------


def indexed_text(chunks: Sequence[Chunk]) -> str:
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


class DuplicatePart:
    """``duplicates/``: each document's MinHash signature and the groups of duplicates they form."""

    name = "duplicates"

    def wanted(self, settings: Settings) -> bool:
        return True

    def up_to_date(self, facts: dict, row_count: int, settings: Settings) -> bool:
        return facts.get("parameters") == signature_parameters() and facts.get("threshold") == THRESHOLD

    def update(self, rows: BuildRows, previous: PreviousBuild | None, old: DuplicateTable | None) -> Updated:
        """An unchanged document keeps its stored signature; the others are signed from their
        indexed text (their chunks joined), so adding this part to an older index reads no file."""
        parameters = signature_parameters()
        kept: dict[str, np.ndarray] = {}
        if previous is not None and previous.same_recipe and old is not None and old.parameters == parameters:
            kept = old.signature_of()
        by_doc: dict[str, list[Chunk]] = {}
        for chunk in rows.chunks:
            by_doc.setdefault(chunk.doc_id, []).append(chunk)
        documents = sorted(rows.documents.values(), key=lambda record: record.doc_id)
        signatures: dict[str, np.ndarray] = {}
        signed = 0
        for record in documents:
            if record.doc_id in kept and previous is not None and previous.unchanged(record):
                signatures[record.doc_id] = np.asarray(kept[record.doc_id], dtype=np.uint64)
            else:
                signatures[record.doc_id] = signature(indexed_text(by_doc.get(record.doc_id, [])))
                signed += 1
        groups = duplicate_groups(
            signatures,
            threshold=THRESHOLD,
            dates={record.doc_id: record.date for record in documents},
            sources={record.doc_id: record.source for record in documents},
            origins={record.doc_id: record.provenance.origin for record in documents},
        )
        logger.info("signed %d documents; %d groups of duplicates", signed, len(groups))
        doc_ids = tuple(record.doc_id for record in documents)
        matrix = np.zeros((len(doc_ids), parameters["num_perm"]), dtype=np.uint64)
        for row, doc_id in enumerate(doc_ids):
            matrix[row] = signatures[doc_id]
        return Updated(DuplicateTable(doc_ids, matrix, groups, parameters, THRESHOLD), signed)

    def save(self, data: DuplicateTable, folder: Path) -> tuple[dict, list[Path]]:
        return data.facts(), _synced(data.save(folder / DUPLICATES), folder / DUPLICATES)

    def load(self, facts: dict, rows: LoadedRows) -> DuplicateTable | None:
        if not facts:
            return None
        path = rows.path / DUPLICATES
        try:
            table = DuplicateTable.load(path)
        except Exception as error:  # numpy reads a damaged .npy header as Python: SyntaxError, TokenError...
            raise _unreadable(path, error) from None
        if set(table.doc_ids) != rows.documents.keys():
            missing = sorted(rows.documents.keys() - set(table.doc_ids))[:3]
            extra = sorted(set(table.doc_ids) - rows.documents.keys())[:3]
            raise IndexCorrupt(
                f"{path} disagrees with the manifest's documents (missing {missing}, unknown {extra}): "
                "run `assistant build`"
            )
        return table


PARTS: tuple[IndexPart, ...] = (VectorPart(), KeywordPart(), SentencePart(), DuplicatePart())

