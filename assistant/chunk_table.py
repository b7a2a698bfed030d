"""Chunk table: a build's chunk rows on disk, read one row at a time instead of all at open.

``chunks.jsonl`` keeps one chunk per line (row i = FAISS id i), as it always has. Beside it a
build writes three NumPy columns, so that opening the build reads no chunk record at all:

- ``chunk_offsets.npy``: int64, ``rows + 1`` byte offsets of the lines (row i is the bytes
  ``offsets[i]:offsets[i + 1]``), so a row is one slice of the memory-mapped file;
- ``chunk_documents.npy``: int32, each row's document as its position among the build's
  document ids in sorted order (what the filters and duplicate collapsing need per row);
- ``chunk_ids.npy``: int64 pairs ``(hash of chunk id, row)`` sorted by hash, so the row of a
  chunk id is a binary search and one record read to confirm it.

All three are memory-mapped: a 10^6-chunk build opens in well under a second, and only the
rows a query shows are parsed. A build made before these columns existed has only
``chunks.jsonl``; it is read whole as before (slowly at scale) and the next ``assistant build``
writes the columns without embedding anything.

Opening checks what can be checked without reading every record: the columns' shapes and
ranges, the offsets against the file's size, each document's row count against the manifest,
and the first and last records. A record damaged in between is refused with
:class:`~assistant.errors.IndexCorrupt` naming the file and line when it is read.
"""

from __future__ import annotations

import hashlib
import json
import mmap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import overload

import numpy as np

from assistant import files
from assistant.errors import IndexCorrupt
from assistant.model import Chunk, DocumentRecord

__all__ = ["CHUNKS", "CHUNK_COLUMNS", "ChunkTable", "write_chunks"]

CHUNKS = "chunks.jsonl"
CHUNK_OFFSETS = "chunk_offsets.npy"
CHUNK_DOCUMENTS = "chunk_documents.npy"
CHUNK_IDS = "chunk_ids.npy"
CHUNK_COLUMNS = (CHUNK_OFFSETS, CHUNK_DOCUMENTS, CHUNK_IDS)


def _id_hash(chunk_id: str) -> int:
    """A stable 64-bit hash of a chunk id (Python's ``hash`` changes between processes)."""
    return int.from_bytes(hashlib.blake2b(chunk_id.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def _id_table(chunk_ids: Sequence[str]) -> np.ndarray:
    hashes = np.fromiter((_id_hash(chunk_id) for chunk_id in chunk_ids), dtype=np.int64, count=len(chunk_ids))
    order = np.argsort(hashes, kind="stable")
    return np.stack([hashes[order], order.astype(np.int64)], axis=1).reshape(-1, 2)


def write_chunks(folder: Path, chunks: Sequence[Chunk], doc_ids: Sequence[str]) -> list[Path]:
    """Write ``chunks.jsonl`` and its columns into a build's staging ``folder``; returns the files (synced).

    Args:
        doc_ids: the build's document ids; every chunk's ``doc_id`` must be one of them.
    """
    position = {doc_id: number for number, doc_id in enumerate(sorted(doc_ids))}
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    with open(folder / CHUNKS, "wb") as out:
        for row, chunk in enumerate(chunks):
            line = (json.dumps(asdict(chunk), ensure_ascii=False) + "\n").encode("utf-8")
            out.write(line)
            offsets[row + 1] = offsets[row] + len(line)
        files.sync(out)
    documents = np.fromiter((position[chunk.doc_id] for chunk in chunks), dtype=np.int32, count=len(chunks))
    columns = {
        CHUNK_OFFSETS: offsets,
        CHUNK_DOCUMENTS: documents,
        CHUNK_IDS: _id_table([chunk.chunk_id for chunk in chunks]),
    }
    written = [folder / CHUNKS]
    for name, array in columns.items():
        with open(folder / name, "wb") as out:
            np.save(out, array, allow_pickle=False)
            files.sync(out)
        written.append(folder / name)
    return written


class ChunkTable(Sequence[Chunk]):
    """The chunk rows of a stored build: ``table[row]`` reads and parses that one record.

    Iterating streams the file (a build reusing the previous one reads each row once);
    ``doc_id(row)``, ``document_numbers`` and ``row_of(chunk_id)`` read no record text.
    Open with :meth:`open`.
    """

    def __init__(
        self, path: Path, data: bytes | mmap.mmap, offsets: np.ndarray, documents: np.ndarray, ids: np.ndarray,
        doc_ids: tuple[str, ...], *, current_format: bool,
    ) -> None:  # fmt: skip
        self.path = path
        # False: read whole from a folder build without column files (the next build writes them).
        self.current_format = current_format
        self._data = data
        self._offsets = offsets
        self._documents = documents
        self._ids = ids
        self._doc_ids = doc_ids

    @classmethod
    def open(cls, folder: Path, documents: Mapping[str, DocumentRecord], *, columns: bool) -> ChunkTable:
        """Open the chunk rows of the build in ``folder`` and check them against its ``documents``.

        Args:
            columns: whether the build has the column files (its manifest lists them); without
                them (a build made before they existed) every record is read and checked now.

        Raises:
            IndexCorrupt: a file is missing or damaged, or the rows disagree with the documents
                (the message names the file).
        """
        path = folder / CHUNKS
        doc_ids = tuple(sorted(documents))
        try:
            with open(path, "rb") as handle:
                size = handle.seek(0, 2)
                data: bytes | mmap.mmap = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except FileNotFoundError:
            raise IndexCorrupt(f"{path} is missing: run `assistant build` to rebuild") from None
        if columns:
            table = cls(path, data, *_read_columns(folder, size, len(doc_ids)), doc_ids, current_format=True)
            table._check_ends()
        else:
            table = cls(path, data, *_scan(path, data, doc_ids), doc_ids, current_format=False)
        counts = np.bincount(table._documents, minlength=len(doc_ids)) if len(doc_ids) else np.zeros(0, np.int64)
        wrong = [doc_id for doc_id, count in zip(doc_ids, counts.tolist()) if documents[doc_id].chunks != count]
        if wrong and sum(record.chunks for record in documents.values()) == len(table):
            raise IndexCorrupt(
                f"{path} holds other row counts than the manifest for {wrong[:3]}: run `assistant build`"
            )
        return table

    @classmethod
    def in_memory(cls, chunks: Sequence[Chunk], documents: Mapping[str, DocumentRecord]) -> ChunkTable:
        """A table over rows already read whole (a store that loads every row, such as a database).

        Raises:
            IndexCorrupt: a chunk belongs to none of ``documents``.
        """
        path = Path("<rows in memory>")
        data = b"".join((json.dumps(asdict(chunk), ensure_ascii=False) + "\n").encode("utf-8") for chunk in chunks)
        doc_ids = tuple(sorted(documents))
        return cls(path, data, *_scan(path, data, doc_ids), doc_ids, current_format=True)

    @property
    def document_numbers(self) -> np.ndarray:
        """Each row's document as its position among the build's sorted document ids (read only)."""
        return self._documents

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, row: int) -> Chunk: ...
    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...
    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return [self[number] for number in range(*row.indices(len(self)))]
        count = len(self)
        if not -count <= row < count:
            raise IndexError(f"row {row} of {count}")
        row %= count
        return self._parse(row, self._data[int(self._offsets[row]) : int(self._offsets[row + 1])])

    def __iter__(self) -> Iterator[Chunk]:
        for row in range(len(self)):
            yield self[row]

    def doc_id(self, row: int) -> str:
        """The document of row ``row``, without reading its record."""
        return self._doc_ids[int(self._documents[row])]

    def row_of(self, chunk_id: str) -> int | None:
        """The row of ``chunk_id``, or ``None`` when the build has no such chunk."""
        hashes = self._ids[:, 0]
        wanted = _id_hash(chunk_id)
        at = int(np.searchsorted(hashes, wanted))
        while at < len(hashes) and int(hashes[at]) == wanted:  # a 64-bit collision is checked, not assumed away
            row = int(self._ids[at, 1])
            if self[row].chunk_id == chunk_id:
                return row
            at += 1
        return None

    def _parse(self, row: int, line: bytes) -> Chunk:
        try:
            chunk = Chunk(**json.loads(line))
        except (ValueError, TypeError) as error:  # UnicodeDecodeError is a ValueError
            raise IndexCorrupt(f"{self.path} line {row + 1} is damaged ({error}): run `assistant build`") from None
        if chunk.doc_id != self.doc_id(row):
            raise IndexCorrupt(
                f"{self.path} line {row + 1} belongs to {chunk.doc_id!r}, its columns say {self.doc_id(row)!r}: "
                "run `assistant build`"
            )
        return chunk

    def _check_ends(self) -> None:
        """Parse the first and last records: a file replaced or damaged at either end is refused at open."""
        for row in {0, len(self) - 1} if len(self) else ():
            chunk = self[row]
            if self.row_of(chunk.chunk_id) != row:
                raise IndexCorrupt(
                    f"{self.path.parent / CHUNK_IDS} does not find {chunk.chunk_id!r}: run `assistant build`"
                )


def _read_columns(folder: Path, size: int, document_count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three columns, memory-mapped and checked against the file ``size`` and each other."""
    arrays = {}
    for name, dtype in ((CHUNK_OFFSETS, np.int64), (CHUNK_DOCUMENTS, np.int32), (CHUNK_IDS, np.int64)):
        try:
            array = np.load(folder / name, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise IndexCorrupt(f"{folder / name} is missing: run `assistant build` to rebuild") from None
        except Exception as error:  # numpy reads a damaged .npy header as Python: SyntaxError, TokenError...
            raise IndexCorrupt(f"{folder / name} cannot be read ({error}): run `assistant build`") from None
        if array.dtype != dtype:
            raise IndexCorrupt(f"{folder / name} holds {array.dtype}, not {np.dtype(dtype)}: run `assistant build`")
        arrays[name] = array.view(np.ndarray)  # still mapped; np.memmap's own indexing costs ~20 µs a row
    offsets, documents, ids = arrays[CHUNK_OFFSETS], arrays[CHUNK_DOCUMENTS], arrays[CHUNK_IDS]
    rows = len(offsets) - 1
    problems = [
        (offsets.ndim != 1 or rows < 0 or offsets[0] != 0 or offsets[-1] != size, CHUNK_OFFSETS, f"do not span {size} bytes"),
        (rows > 0 and bool(np.any(offsets[1:] <= offsets[:-1])), CHUNK_OFFSETS, "are not increasing"),
        (documents.shape != (max(rows, 0),), CHUNK_DOCUMENTS, f"does not have {rows} rows"),
        (rows > 0 and (int(documents.min()) < 0 or int(documents.max()) >= document_count), CHUNK_DOCUMENTS,
         "names documents the manifest lacks"),
        (ids.shape != (max(rows, 0), 2), CHUNK_IDS, f"does not have {rows} rows"),
    ]  # fmt: skip
    for failed, name, what in problems:
        if failed:
            raise IndexCorrupt(f"{folder / name} {what}: run `assistant build`")
    if rows > 0 and (
        bool(np.any(ids[1:, 0] < ids[:-1, 0]))  # not np.diff: differences of 64-bit hashes overflow
        or int(ids[:, 1].min()) < 0
        or int(ids[:, 1].max()) >= rows
        or bool(np.any(np.bincount(ids[:, 1], minlength=rows) != 1))
    ):
        raise IndexCorrupt(f"{folder / CHUNK_IDS} is not a sorted table of every row: run `assistant build`")
    return offsets, documents, ids


def _scan(path: Path, data: bytes | mmap.mmap, doc_ids: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns of a build without column files: every record read and checked, as builds always were."""
    position = {doc_id: number for number, doc_id in enumerate(doc_ids)}
    offsets, documents, chunk_ids = [0], [], []
    end = len(data)
    while offsets[-1] < end:
        start = offsets[-1]
        stop = data.find(b"\n", start)
        stop = end if stop < 0 else stop + 1
        try:
            chunk = Chunk(**json.loads(data[start:stop]))
        except (ValueError, TypeError) as error:  # UnicodeDecodeError is a ValueError
            raise IndexCorrupt(f"{path} line {len(offsets)} is damaged ({error}): run `assistant build`") from None
        if chunk.doc_id not in position:
            raise IndexCorrupt(f"{path} refers to documents not in the manifest: {[chunk.doc_id]}")
        offsets.append(stop)
        documents.append(position[chunk.doc_id])
        chunk_ids.append(chunk.chunk_id)
    return np.asarray(offsets, dtype=np.int64), np.asarray(documents, dtype=np.int32), _id_table(chunk_ids)
