"""Server memory and speed under different environment settings, side by side.

Each ``--env`` is one ``assistant serve`` process, started with those variables on top of this
process's own: for example ``MALLOC_ARENA_MAX=16`` (glibc's own arena limit on a 2-core machine,
i.e. without the cap ``assistant serve`` sets, ``assistant/tools/allocator.py``), or Gradio's own request
analytics settings (``GRADIO_ANALYTICS_MAX_EVENTS=10000,GRADIO_ANALYTICS_CACHE_FREQUENCY=1``,
which ``ui/app.py`` lowers). The servers start all at once over the same index, then the load
benchmark's simulated users run against them in turns (A, B, then B, A, …), so the servers see the
same machine state and their numbers can be set side by side. Each round is ``--users`` users for
``--seconds`` seconds; the idle servers use no CPU meanwhile.

It prints one row per round and server (requests, req/s, p50/p95 latency, resident memory at the
end), then per server the memory growth per 1,000 requests from the end of the first round (the
warm-up of the pools) on, as the least-squares slope through the ends of the rounds, and the
throughput ratio of each server to the first.

Usage:
    python bench/server_settings_bench.py [--env NAME=VALUE[,NAME=VALUE...]]... [--users 4]
        [--seconds 100] [--rounds 6] [--same-sessions] [--index INDEX] [--workspace DIR] [--seed 0]

``--env ""`` is ``assistant serve`` with its own settings. Without ``--env``: that and
``MALLOC_ARENA_MAX=16``.

Every round's users are new sessions (as new visitors are; Gradio keeps about 0.14 MB per session
until 10,000 newer ones push it out), unless ``--same-sessions`` keeps the same ones throughout, which
separates memory that grows with requests from memory that grows with sessions.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load_bench  # the sibling script's server, users and report helpers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--env", action="append", dest="variants", metavar="NAME=VALUE[,NAME=VALUE...]",
        help='one server with these variables; repeat for each server ("" = assistant serve as it is; '
        'default: "" and MALLOC_ARENA_MAX=16)',
    )  # fmt: skip
    parser.add_argument("--users", type=int, default=4, help="simulated users in every round (default: 4)")
    parser.add_argument("--seconds", type=float, default=100.0, help="length of a round (default: 100)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per server (default: 6)")
    parser.add_argument("--index", type=Path, help="serve this existing index instead of building one")
    parser.add_argument("--workspace", type=Path, help="where the corpus copy and the index are kept")
    parser.add_argument(
        "--same-sessions", action="store_true",
        help="the same --users sessions in every round (default: new sessions every round, like new visitors)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the users' question choice (default: 0)")
    args = parser.parse_args()
    texts = args.variants or ["", "MALLOC_ARENA_MAX=16"]
    try:
        variants = {label(variables): variables for variables in map(environment, texts)}
    except ValueError as error:
        parser.error(str(error))
    if len(variants) < len(texts):
        parser.error("each --env once: two servers with the same settings")
    if args.users < 1 or args.seconds <= 0 or args.rounds < 2:
        parser.error("--users and --seconds need positive values, --rounds at least 2")

    from assistant.checkpoint import default_cache_dir

    workspace = args.workspace or default_cache_dir() / "bench" / "load"
    workspace.mkdir(parents=True, exist_ok=True)
    if args.index:
        index = args.index.resolve()
    else:
        sources = [load_bench.REPO / "corpus", load_bench.SHARED / "data" / "official"]
        missing = [str(source) for source in sources if not source.is_dir()]
        if missing:
            sys.exit(f"no such corpus folder: {', '.join(missing)} (pass --index)")
        index = load_bench.build(sources, workspace)
    uploads = Path(tempfile.mkdtemp(prefix="allocator-bench-uploads-", dir=workspace))

    print(load_bench.machine_line())
    servers = {
        name: load_bench.Server(
            index, uploads, load_bench.free_port(), workspace / f"server-{number}.log", environment=variables
        )
        for number, (name, variables) in enumerate(variants.items())
    }
    stop = threading.Event()
    results: dict[str, list[load_bench.RunResult]] = {name: [] for name in variants}
    kept: dict[str, list] = {}  # --same-sessions: each server's users
    try:
        endpoints: list[str] = []
        for name, server in servers.items():
            server.wait_until_up()
            client = load_bench.make_client(server.url)
            endpoints = [endpoint for endpoint in load_bench.MIX if f"/{endpoint}" in load_bench.endpoints_of(client)]
            warm_errors = load_bench.warm_up(client, endpoints, args.seed)
            client.close()
            print(
                f"{name}: pid {server.pid}, RSS after warm-up "
                f"{load_bench.megabytes(load_bench.rss_bytes(server.pid))} MB, {len(warm_errors)} warm-up errors"
            )
        sessions = "the same sessions every round" if args.same_sessions else "new sessions every round"
        print(
            f"\n{args.rounds} rounds of {args.users} users ({sessions}) × {args.seconds:.0f} s per server, "
            "servers in turn (order reversed every other round)\n"
        )
        print(
            "| round | server settings | requests | errors | req/s | p50 / p95 ms | server CPU ms per request "
            "| RSS at the end (MB) |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        for number in range(args.rounds):
            # A, B then B, A: neither server always runs right after the other.
            order = list(servers.items()) if number % 2 == 0 else list(reversed(servers.items()))
            for name, server in order:
                # The same seed for every server in a round: the same questions in the same order.
                result = load_bench.run_users(
                    server, args.users, args.seconds, args.seed + number, endpoints, stop, kept.get(name)
                )
                results[name].append(result)
                times = [sample.seconds * 1000 for sample in result.samples]
                errors = sum(sample.error is not None for sample in result.samples)
                print(
                    f"| {number + 1} | {name} | {len(result.samples):,} | {errors} | "
                    f"{len(result.samples) / result.seconds:.2f} | {load_bench.percentile(times, 0.5):.0f} / "
                    f"{load_bench.percentile(times, 0.95):.0f} | {cpu_per_request([result]):.1f} | "
                    f"{load_bench.megabytes(result.rss_end)} |",
                    flush=True,
                )
        print_summary(results)
        for name, runs in results.items():
            if any(sample.error for run in runs for sample in run.samples):
                print(f"\nErrors of {name}:")
                load_bench.print_failures([sample for run in runs for sample in run.samples])
    except KeyboardInterrupt:
        stop.set()
        print("\ninterrupted: stopping the servers", file=sys.stderr)
        sys.exit(130)
    finally:
        stop.set()
        for client in (client for clients in kept.values() for client in clients):
            client.close()
        for server in servers.values():
            server.stop()
        shutil.rmtree(uploads, ignore_errors=True)


def print_summary(results: dict[str, list[load_bench.RunResult]]) -> None:
    print(
        "\n| server settings | requests | errors | req/s | ratio to the first | server CPU ms per request "
        "| RSS end of round 1 → end (MB) | growth per 1,000 requests after round 1 (least-squares) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    first_rate = None
    for name, runs in results.items():
        requests = sum(len(run.samples) for run in runs)
        errors = sum(sample.error is not None for run in runs for sample in run.samples)
        rate = requests / sum(run.seconds for run in runs)
        first_rate = first_rate or rate
        print(
            f"| {name} | {requests:,} | {errors} | {rate:.2f} | {rate / first_rate:.2f} | {cpu_per_request(runs):.1f} | "
            f"{load_bench.megabytes(runs[0].rss_end)} → {load_bench.megabytes(runs[-1].rss_end)} | "
            f"{load_bench.slope(round_ends(runs)) / 2**20 * 1000:+.2f} MB |"
        )


def round_ends(runs: list[load_bench.RunResult]) -> list[tuple[int, int]]:
    """(requests answered so far, RSS) at the end of each round from the first on: the points the growth
    is fitted to, since one round's end alone can fall just before or after a heap trim."""
    points, done = [], 0
    for run in runs:
        done += len(run.samples)
        points.append((done, run.rss_end))
    return points


def cpu_per_request(runs: list[load_bench.RunResult]) -> float:
    """The server's CPU time per request answered, in ms (its worker threads' after-work included)."""
    requests = sum(len(run.samples) for run in runs)
    return sum(run.server_cpu * run.seconds for run in runs) * 1000 / max(1, requests)


def environment(text: str) -> dict[str, str]:
    """``"A=1,B=2"`` → ``{"A": "1", "B": "2"}``; ``""`` → ``{}``."""
    variables = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, equals, value = part.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"--env wants NAME=VALUE pairs separated by commas, not {part!r}")
        variables[name.strip()] = value.strip()
    return variables


def label(variables: dict[str, str]) -> str:
    """How a server is named in the tables."""
    return " ".join(f"{name}={value}" for name, value in variables.items()) or "assistant serve as it is"


if __name__ == "__main__":
    main()
