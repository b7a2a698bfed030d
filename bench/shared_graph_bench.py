"""Dense search in PostgreSQL through the shared HNSW graph against a build's own HNSW index.

One synthetic build (``store_ingest_bench.synthetic_build``: random unit vectors, 10 chunks per
document, every tenth document in one region) is published, which puts its vectors into its
model's shared graph; then the old layout's index is built on the build's own chunk partition
too, and the same queries (a chunk vector plus noise) run through both paths, alternating:
the graph with its per-vector "this build has this hash" probe, and the partition's index whose
filter reads the chunk's own columns. ``--exact-max-rows`` lowers ``EXACT_MAX_ROWS`` so that the
region filter also goes through HNSW. Random vectors make HNSW's answers approximate in
different ways, so the overlap column says how alike the two graphs' answers are, not recall.

``--vectors real`` measures recall instead: the build's vectors are real e5 passage vectors, and
past their number real ones plus noise shaped like them (``bench/pgvector_bench.py``'s pool,
from the indexes ``bench/scale_bench.py`` builds), the queries real e5 question vectors
(XQuAD-ru, XQuAD-en over Russian, KazQAD-kk dev questions). Recall@10 is the share of exact
search's top 10 (NumPy, under the same filter) among each path's first 10; a row counts when
its exact score reaches the exact 10th score (ties among identical texts are no misses).

Usage:
    python bench/shared_graph_bench.py [--size 100000] [--exact-max-rows 1000] [--k 100] [--queries 100]
        [--vectors random|real] [--shared ../shared] [--ef-search 320,640] [--m 16] [--ef-construction 128]
        [--no-own-index]
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
from pgvector_bench import question_vectors  # noqa: E402
from scale_bench import exact_top, real_vectors, synthetic  # noqa: E402

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
    parser.add_argument("--vectors", choices=("random", "real"), default="random")
    parser.add_argument(
        "--ef-search", default=str(database_serving.HNSW_EF_SEARCH),
        help="comma-separated hnsw.ef_search values to measure, one after the other on the same graphs",
    )  # fmt: skip
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--m", type=int, default=database_serving.HNSW_M, help="the graphs' hnsw m")
    parser.add_argument(
        "--ef-construction", type=int, default=database_serving.HNSW_EF_CONSTRUCTION, help="the graphs' ef_construction"
    )
    parser.add_argument(
        "--no-own-index", action="store_true",
        help="measure the shared graph alone (at 10^6 the partition's own index doubles the run)",
    )  # fmt: skip
    args = parser.parse_args()
    database_serving.EXACT_MAX_ROWS = args.exact_max_rows
    rng = np.random.default_rng(7)
    real, queries = None, None
    if args.vectors == "real":
        real, queries = _real(args.shared, args.size, args.queries)
    print(f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}; {args.size:,} chunks, k = {args.k}, "
          f"{args.vectors} vectors; graphs m = {args.m}, ef_construction = {args.ef_construction}\n")  # fmt: skip
    with store_ingest_bench.throwaway_server() as url:
        regions = ["Aktobe region" if number % 10 == 0 else "Almaty city" for number in range(args.size // 10)]
        manifest, chunks, parts, _ = store_ingest_bench.synthetic_build(args.size, regions=regions, vectors=real)
        with database.connect(url) as connection:
            database.ensure_schema(connection)
            write_build(connection, manifest, chunks, parts, hnsw=(args.m, args.ef_construction))
        with database.connect(url, autocommit=True) as connection:
            number = published_build(connection)
            connection.execute("SET maintenance_work_mem = '1GB'")
            if not args.no_own_index:
                connection.execute(
                    f"CREATE INDEX ON {database.SCHEMA}.chunks_{number} USING hnsw "
                    f"((embedding::vector({store_ingest_bench.DIMENSION})) vector_cosine_ops) "
                    f"WITH (m = {args.m}, ef_construction = {args.ef_construction})"
                )
            connection.execute("ANALYZE")
            prepare_session(connection)
            graph = DatabaseBuild(connection, number)
            # The same build as one written before the graph was shared: no shared vectors named.
            connection.execute(f"UPDATE {database.SCHEMA}.builds SET embedder = NULL WHERE build = %s", (number,))
            own = None if args.no_own_index else DatabaseBuild(connection, number)
            vectors = parts["vector_index"].vectors
            if queries is None:
                queries = vectors[rng.integers(0, args.size, args.queries)]
                queries = queries + 0.2 * rng.standard_normal(queries.shape).astype(np.float32)
                queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            last = "recall@10 (graph / own index)" if real is not None else "overlap of the k found"
            print(f"| chunks | ef_search | search | shared graph p50 / p95 ms | own index p50 / p95 ms | ratio (p50) | {last} |")
            print("|---:|---:|---|---:|---:|---:|---:|")
            in_region = np.repeat(
                np.asarray([region == "Aktobe region" for region in regions]), store_ingest_bench.PER_DOCUMENT
            )
            runs = [
                (int(ef), name, filters)
                for ef in args.ef_search.split(",")
                for name, filters in (("dense", None), ("dense, region", {"region": "Aktobe region"}))
            ]
            paths = [("graph", graph)] + ([("own", own)] if own is not None else [])
            for ef_search, name, filters in runs:
                connection.execute(f"SET hnsw.ef_search = {ef_search}")
                times: dict[str, list[float]] = {label: [] for label, _ in paths}
                overlap, recall = 0.0, {label: 0.0 for label, _ in paths}
                truth = exact_top(vectors, queries, 10, rows=np.flatnonzero(in_region) if filters else None)
                for query, top in zip(queries, truth):
                    found = {"own": {}}
                    for label, backend in paths:
                        allowed = backend.allowed_rows(check_filters(filters)) if filters else None
                        started = time.perf_counter()
                        found[label] = backend.dense(query, args.k, allowed)
                        times[label].append(time.perf_counter() - started)
                        first = sorted(found[label], key=lambda row, got=found[label]: -got[row])[:10]
                        tenth = float(vectors[top[-1]] @ query)
                        recall[label] += float(np.mean(vectors[first] @ query >= tenth - 1e-5)) if first else 0.0
                    overlap += len(set(found["graph"]) & set(found["own"])) / max(1, len(found["own"]))
                print(_row(args.size, ef_search, name, times, recall, overlap / len(queries), real is not None), flush=True)


def _row(size, ef_search, name, times, recall, overlap, real) -> str:
    """One table row; the own index's columns are "—" when it was not built."""
    ms = {label: 1000 * np.percentile(values, [50, 95]) for label, values in times.items()}
    count = len(times["graph"])
    own = f"{ms['own'][0]:.1f} / {ms['own'][1]:.1f}" if "own" in ms else "—"
    ratio = f"{ms['graph'][0] / ms['own'][0]:.2f}" if "own" in ms else "—"
    if real:
        last = " / ".join(f"{recall[label] / count:.3f}" if label in recall else "—" for label in ("graph", "own"))
    else:
        last = f"{overlap:.3f}" if "own" in ms else "—"
    return f"| {size:,} | {ef_search} | {name} | {ms['graph'][0]:.1f} / {ms['graph'][1]:.1f} | {own} | {ratio} | {last} |"


def _real(shared: Path, size: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` realistic passage vectors (a shuffled real pool, then real plus shaped noise) and
    ``count`` real question vectors, as ``bench/pgvector_bench.py`` draws them."""
    if not (shared / "data" / "eval" / "xquad-ru-dev.json").is_file():
        sys.exit(f"no evaluation data under {shared}: pass --shared")
    from assistant.checkpoint import default_cache_dir
    from assistant.config import Settings
    from assistant.embeddings import load_embedder

    cache = default_cache_dir() / "bench" / "scale"
    settings = Settings.from_env()
    embedder = load_embedder(
        settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision
    )
    pool = real_vectors(shared, cache, embedder)[0]
    pool = pool[np.random.default_rng(0).permutation(len(pool))]
    print(f"Real passage vectors: {len(pool):,}; the rest of {size:,} is real plus shaped noise")
    return synthetic(pool, size, noise=0.5), question_vectors(shared, count, cache)


if __name__ == "__main__":
    main()
