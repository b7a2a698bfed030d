"""Dense search in PostgreSQL through the shared HNSW graph against a build's own HNSW index.

One synthetic build (``store_ingest_bench.synthetic_build``: random unit vectors, 10 chunks per
document, every tenth document in one region) is published, which puts its vectors into its
model's shared graph; then the old layout's index is built on the build's own chunk partition
too, and the same queries (a chunk vector plus noise) run through both paths, alternating:
the graph with its per-vector "this build has this hash" probe, and the partition's index whose
filter reads the chunk's own columns. ``--exact-max-rows`` lowers ``EXACT_MAX_ROWS`` so that the
region filter also goes through HNSW. Random vectors make HNSW's answers approximate in
different ways, so the overlap column says how alike the two graphs' answers are, not recall.

Usage:
    python bench/shared_graph_bench.py [--size 100000] [--exact-max-rows 1000] [--k 100] [--queries 100]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import store_ingest_bench  # noqa: E402

from assistant import database, database_serving  # noqa: E402
from assistant.database_serving import DatabaseBuild, prepare_session, published_build  # noqa: E402
from assistant.database_store import write_build  # noqa: E402
from assistant.query import check_filters  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--exact-max-rows", type=int, default=1_000)
    parser.add_argument("--k", type=int, default=100, help="candidates asked of dense search")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    database_serving.EXACT_MAX_ROWS = args.exact_max_rows
    rng = np.random.default_rng(7)
    print(f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}; {args.size:,} chunks, k = {args.k}\n")
    with store_ingest_bench.throwaway_server() as url:
        regions = ["Aktobe region" if number % 10 == 0 else "Almaty city" for number in range(args.size // 10)]
        manifest, chunks, parts, _ = store_ingest_bench.synthetic_build(args.size, regions=regions)
        with database.connect(url) as connection:
            database.ensure_schema(connection)
            write_build(connection, manifest, chunks, parts)
        with database.connect(url, autocommit=True) as connection:
            number = published_build(connection)
            connection.execute("SET maintenance_work_mem = '1GB'")
            connection.execute(
                f"CREATE INDEX ON {database.SCHEMA}.chunks_{number} USING hnsw "
                f"((embedding::vector({store_ingest_bench.DIMENSION})) vector_cosine_ops) "
                f"WITH (m = {database_serving.HNSW_M}, ef_construction = {database_serving.HNSW_EF_CONSTRUCTION})"
            )
            connection.execute("ANALYZE")
            prepare_session(connection)
            graph = DatabaseBuild(connection, number)
            # The same build as one written before the graph was shared: no shared vectors named.
            connection.execute(f"UPDATE {database.SCHEMA}.builds SET embedder = NULL WHERE build = %s", (number,))
            own = DatabaseBuild(connection, number)
            vectors = parts["vector_index"].vectors
            queries = vectors[rng.integers(0, args.size, args.queries)]
            queries = queries + 0.2 * rng.standard_normal(queries.shape).astype(np.float32)
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            print("| chunks | search | shared graph p50 / p95 ms | own index p50 / p95 ms | ratio (p50) | overlap of the k found |")
            print("|---:|---|---:|---:|---:|---:|")
            for name, filters in (("dense", None), ("dense, region", {"region": "Aktobe region"})):
                times: dict[str, list[float]] = {"graph": [], "own": []}
                overlap = 0.0
                for query in queries:
                    found = {}
                    for label, backend in (("graph", graph), ("own", own)):
                        allowed = backend.allowed_rows(check_filters(filters)) if filters else None
                        started = time.perf_counter()
                        found[label] = backend.dense(query, args.k, allowed)
                        times[label].append(time.perf_counter() - started)
                    overlap += len(set(found["graph"]) & set(found["own"])) / max(1, len(found["own"]))
                graph_ms, own_ms = (1000 * np.percentile(times[key], [50, 95]) for key in ("graph", "own"))
                print(
                    f"| {args.size:,} | {name} | {graph_ms[0]:.1f} / {graph_ms[1]:.1f} | {own_ms[0]:.1f} / {own_ms[1]:.1f} "
                    f"| {graph_ms[0] / own_ms[0]:.2f} | {overlap / len(queries):.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
