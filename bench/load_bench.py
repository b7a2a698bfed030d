"""Load test of the web chat: N simulated users calling ``/chat``, ``/search`` and ``/regions`` at once.

The script builds (or reuses) an index over the default corpus plus the official texts in
``../shared/data/official`` (legal acts in Russian, English speeches and the Constitution), starts
``assistant serve`` on a free port of 127.0.0.1 as a subprocess, waits until it answers, warms it
up, and then runs each user count for a fixed time. Every user is a thread with its own
``gradio_client.Client`` that sends one request after another (no think time) with a question
drawn from a fixed Russian/Kazakh/English list by a seeded RNG, sometimes with filters. The server
is stopped at the end, also on Ctrl-C or an error.

For each run it prints a Markdown table (requests, errors, throughput, p50/p95/p99 latency per
endpoint), the server's resident memory (``VmRSS`` of the server process, from /proc) at the
start and end of the run, the memory trend within the run and the CPU the server and the users
used. A summary table over all runs and the memory after warm-up against the end close the report.

Usage:
    python bench/load_bench.py [--users 1,4,16] [--seconds 60] [--port PORT] [--index INDEX | --store URL]
                               [--corpus DIR ...] [--workspace DIR] [--seed 0]

Quick check (about a minute with the model load): ``python bench/load_bench.py --users 1 --seconds 5``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# (question, language) — about the sample document, the legal acts, the English speeches and the Constitution.
QUESTIONS = (
    ("Кто председательствовал на заседании в Актюбинской области?", "ru"),
    ("Какие поручения дал аким Актюбинской области?", "ru"),
    ("Что сказал Президент об искусственном интеллекте?", "ru"),
    ("Как государственное имущество передается в имущественный наем?", "ru"),
    ("Как продаются объекты приватизации?", "ru"),
    ("Как оценивается эффективность управления государственным имуществом?", "ru"),
    ("Как оформляется гибель государственного имущества после стихийного бедствия?", "ru"),
    ("статья 12 закона 413-IV", "ru"),
    ("Ақтөбе облысындағы отырысқа кім төрағалық етті?", "kk"),
    ("Мемлекеттік мүлік жалға қалай беріледі?", "kk"),
    ("Жекешелендіру объектілерін сату қалай өтеді?", "kk"),
    ("Жасанды интеллект туралы Президент не айтты?", "kk"),
    ("Конституция бойынша Президент қалай сайланады?", "kk"),
    ("Who chaired the meeting in Aktobe region?", "en"),
    ("How is the President of Kazakhstan elected under the Constitution?", "en"),
    ("What did Tokayev say about a constructive public dialogue?", "en"),
    ("What rights does the Constitution guarantee to citizens?", "en"),
    ("How can state property be leased to small businesses?", "en"),
    ("What did the President promise in the 2019 State of the Nation Address?", "en"),
)
REGION_TOPICS = (
    ("цифровизация", "ru"),
    ("инвестиции", "ru"),
    ("сельское хозяйство", "ru"),
    ("искусственный интеллект", "ru"),
    ("цифрландыру", "kk"),
    ("ауыл шаруашылығы", "kk"),
    ("digitalization", "en"),
    ("investment", "en"),
)
# Filters as a user would set them; None (no filter) most of the time.
CHAT_FILTERS = (
    None, None, None,
    {"doc_langs": ["ru"]},
    {"doc_types": ["legal_act"]},
    {"date_from": "2025-01-01"},
    {"regions": ["Aktobe region"]},
)  # fmt: skip
SEARCH_FILTERS = (None, None, None, {"lang": "en"}, {"doc_type": "legal_act"}, {"date_from": "2025-01-01"})
REGION_FILTERS = (None, None, {"doc_type": "regional_response"})
# Share of each endpoint in the request mix.
MIX = {"chat": 0.5, "search": 0.3, "regions": 0.2}


@dataclass(frozen=True)
class Sample:
    """One finished request."""

    endpoint: str
    started: float
    seconds: float
    error: str | None


@dataclass
class RunResult:
    """What one run at a fixed number of users measured."""

    users: int
    seconds: float
    samples: list[Sample]
    rss_start: int
    rss_end: int
    rss_peak: int
    rss_trend: list[tuple[int, int]] = field(default_factory=list)  # (requests done, RSS bytes)
    server_cpu: float = 0.0  # cores
    client_cpu: float = 0.0  # cores
    load_before: str = ""


# --- the server process ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proc_status(pid: int) -> dict[str, str]:
    """``/proc/<pid>/status`` as a dict (VmRSS, VmHWM, Threads, …)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def rss_bytes(pid: int) -> int:
    """Resident memory of the process: the second field of /proc/<pid>/statm, in pages."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process (all its threads) so far."""
    # Field 2 (comm) may contain spaces; the numbers start after its closing parenthesis.
    after_comm = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after_comm[11]) + int(after_comm[12])) / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def assistant_command() -> list[str]:
    installed = Path(sys.executable).with_name("assistant")
    if installed.is_file():
        return [str(installed)]
    found = shutil.which("assistant")
    if found:
        return [found]
    sys.exit("no `assistant` command next to this Python: install the project (pip install -e .)")


def mirror(sources: list[Path], target: Path) -> None:
    """Copy each source folder into ``target/<its name>``, skipping files that are already there unchanged,
    so that an incremental build of ``target`` re-reads nothing on a second run."""
    for source in sources:
        for path in sorted(source.rglob("*")):
            if not path.is_file():
                continue
            destination = target / source.name / path.relative_to(source)
            stat = path.stat()
            if destination.is_file():
                existing = destination.stat()
                if existing.st_size == stat.st_size and int(existing.st_mtime) == int(stat.st_mtime):
                    continue
                destination.unlink()
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            destination.chmod(0o644)


def build(sources: list[Path], workspace: Path) -> Path:
    """An index over the source folders, built (incrementally) in ``workspace``."""
    corpus, index = workspace / "corpus", workspace / "index"
    mirror(sources, corpus)
    print(f"building {index} over {', '.join(str(source) for source in sources)} …", flush=True)
    started = time.perf_counter()
    done = subprocess.run(
        [*assistant_command(), "build", "--corpus", str(corpus), "--index", str(index), "--wait"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        check=False,  # the exit code is reported below with the build's own output
    )
    print(done.stdout.strip(), f"({time.perf_counter() - started:.0f} s)", flush=True)
    if done.returncode != 0:
        sys.exit(f"assistant build failed with exit code {done.returncode}")
    return index


class Server:
    """``assistant serve`` in its own process group, stopped by :meth:`stop` (idempotent).

    ``environment``: variables set for the server on top of this process's own; ``store``: a
    ``postgresql://`` URL the server reads instead of ``index`` (``--store``).
    """

    def __init__(
        self,
        index: Path,
        corpus: Path,
        port: int,
        log_path: Path,
        environment: dict[str, str] | None = None,
        *,
        store: str | None = None,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        environment = dict(os.environ, **(environment or {}), GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
        command = [
            *assistant_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
            *(("--store", store) if store else ("--index", str(index))), "--corpus", str(corpus),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=REPO, env=environment, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = self.process.pid

    def wait_until_up(self, timeout: float = 180.0) -> float:
        """Seconds until the page answers; exits with the server's log when it dies or never answers."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                self._fail(f"the server exited with code {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "config", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        self._fail(f"the server did not answer within {timeout:.0f} s")
        raise AssertionError("unreachable")

    def _fail(self, reason: str) -> None:
        self.stop()
        tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        sys.exit(f"{reason}; the end of its log ({self.log_path}):\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGINT is Ctrl-C: Gradio closes its server; kill the group if it lingers.
            os.killpg(self.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
        if not self._log.closed:
            self._log.close()


# --- the simulated users -----------------------------------------------------------------------


def make_client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def endpoints_of(client) -> set[str]:
    return set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])


def request_maker(rng: random.Random, endpoints: list[str]) -> Callable[[object], tuple[str, Callable[[], str | None]]]:
    """A function that draws the next request of one user: (endpoint, call returning an error or None)."""
    weights = [MIX[name] for name in endpoints]

    def draw(client) -> tuple[str, Callable[[], str | None]]:
        endpoint = rng.choices(endpoints, weights)[0]
        if endpoint == "chat":
            question, lang = rng.choice(QUESTIONS)
            filters = rng.choice(CHAT_FILTERS) or {}

            def call() -> str | None:
                message = client.predict(question, **filters, ui_lang=lang, api_name="/chat")
                if not isinstance(message, str) or not message:
                    return f"chat returned {type(message).__name__}"
                if 'class="kz-error"' in message:
                    return "chat error notice: " + message[:160]
                return None

        elif endpoint == "search":
            question, _ = rng.choice(QUESTIONS)
            k, filters = rng.choice((3, 5, 10)), rng.choice(SEARCH_FILTERS)

            def call() -> str | None:
                passages = client.predict(question, k, filters, api_name="/search")
                return None if isinstance(passages, list) else f"search returned {type(passages).__name__}"

        else:
            topic, _ = rng.choice(REGION_TOPICS)
            filters = rng.choice(REGION_FILTERS)

            def call() -> str | None:
                overview = client.predict(topic, filters, api_name="/regions")
                ok = isinstance(overview, dict) and "found" in overview
                return None if ok else f"regions returned {type(overview).__name__}"

        return endpoint, call

    return draw


def attempt(call: Callable[[], str | None]) -> str | None:
    """Run one request; its error (a wrong answer or an exception) as one line, or None."""
    try:
        return call()
    except Exception as problem:  # noqa: BLE001 - every failure is counted and shown
        return f"{type(problem).__name__}: {' '.join(str(problem).split())[:200]}"


def warm_up(client, endpoints: list[str], seed: int) -> list[str]:
    """The model, the index and every code path, once per language and endpoint: 4 requests per
    endpoint; returns their errors as ``/endpoint: error`` lines."""
    draw = request_maker(random.Random(f"{seed}-warm-up"), endpoints)
    errors = []
    for _ in range(4 * len(endpoints)):
        endpoint, call = draw(client)
        error = attempt(call)
        if error:
            errors.append(f"/{endpoint}: {error}")
    return errors


def run_users(
    server: Server,
    users: int,
    seconds: float,
    seed: int,
    endpoints: list[str],
    stop: threading.Event,
    clients: list | None = None,
) -> RunResult:
    """``users`` threads sending requests back to back for ``seconds``; requests under way at the end finish.

    Each user is a new session (a new ``gradio_client.Client``, closed at the end) unless ``clients``
    gives the sessions to reuse (left open).
    """
    own_clients = clients is None
    clients = [make_client(server.url) for _ in range(users)] if own_clients else clients[:users]
    samples: list[Sample] = []
    samples_lock = threading.Lock()
    start_gate = threading.Barrier(users + 1)
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    def user(number: int) -> None:
        # ``t0`` and ``deadline`` are set by the main thread before it opens the gate.
        rng = random.Random(f"{seed}-{users}-{number}")
        draw = request_maker(rng, endpoints)
        client = clients[number]
        start_gate.wait()
        while not stop.is_set() and time.perf_counter() < deadline:
            endpoint, call = draw(client)
            began = time.perf_counter()
            error = attempt(call)
            sample = Sample(endpoint, began - t0, time.perf_counter() - began, error)
            with samples_lock:
                samples.append(sample)

    threads = [threading.Thread(target=user, args=(number,), daemon=True) for number in range(users)]
    for thread in threads:
        thread.start()
    rss_start, server_cpu_start = rss_bytes(server.pid), cpu_seconds(server.pid)
    client_cpu_start = time.process_time()
    rss_peak, trend = rss_start, [(0, rss_start)]
    t0 = time.perf_counter()
    deadline = t0 + seconds
    start_gate.wait()
    try:
        while any(thread.is_alive() for thread in threads):
            time.sleep(0.25)
            rss = rss_bytes(server.pid)
            rss_peak = max(rss_peak, rss)
            with samples_lock:
                done = len(samples)
            if done != trend[-1][0]:
                trend.append((done, rss))
    except KeyboardInterrupt:
        # Let the requests under way finish (briefly) so that no client is cut off mid-stream.
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        for client in clients if own_clients else ():
            client.close()
        raise
    elapsed = time.perf_counter() - t0
    rss_end = rss_bytes(server.pid)
    trend.append((len(samples), rss_end))
    server_cpu = (cpu_seconds(server.pid) - server_cpu_start) / elapsed
    client_cpu = (time.process_time() - client_cpu_start) / elapsed
    for client in clients if own_clients else ():
        client.close()
    return RunResult(
        users, elapsed, samples, rss_start, rss_end, max(rss_peak, rss_end), trend, server_cpu, client_cpu, load_before
    )


# --- the report --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (the value at or below which ``share`` of the values lie)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * share)) - 1]


def megabytes(count: int) -> str:
    return f"{count / 2**20:,.0f}"


def growth_per_thousand(trend: list[tuple[int, int]]) -> tuple[int, int, float] | None:
    """(requests, bytes, bytes per 1,000 requests) from the first tenth of the run's requests to its end.

    The rate is the least-squares slope through every sample in that span, not the difference of its
    two ends: RSS steps down by several MB whenever the server trims its heap, so two samples alone
    can show growth or shrinkage that the run as a whole does not have."""
    total = trend[-1][0]
    settled = [(done, rss) for done, rss in trend if done >= total / 10]
    if len(settled) < 3 or total - settled[0][0] < 50:
        return None
    requests, grown = total - settled[0][0], trend[-1][1] - settled[0][1]
    return requests, grown, slope(settled) * 1000


def slope(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of (x, y) points: y's change per unit of x."""
    xs, ys = [float(x) for x, _ in points], [float(y) for _, y in points]
    return statistics.linear_regression(xs, ys).slope if len(set(xs)) > 1 else 0.0


def print_run(result: RunResult, endpoints: list[str]) -> None:
    print(f"\n### {result.users} user{'s' if result.users > 1 else ''}, {result.seconds:.1f} s\n")
    print("| endpoint | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in [*endpoints, "all"]:
        chosen = [s for s in result.samples if name in ("all", s.endpoint)]
        label = f"**{name}**" if name == "all" else f"`/{name}`"
        if not chosen:
            print(f"| {label} | 0 | 0 | 0 | – | – | – | – |")
            continue
        times = [s.seconds * 1000 for s in chosen]
        errors = sum(s.error is not None for s in chosen)
        print(
            f"| {label} | {len(chosen)} | {errors} | {len(chosen) / result.seconds:.2f} | {percentile(times, 0.5):.0f} "
            f"| {percentile(times, 0.95):.0f} | {percentile(times, 0.99):.0f} | {max(times):.0f} |"
        )
    trend = growth_per_thousand(result.rss_trend)
    within = (
        f"; from the first tenth of the run to its end {trend[1] / 2**20:+.1f} MB over {trend[0]} requests"
        f" (least-squares trend {trend[2] / 2**20:+.2f} MB per 1,000)"
        if trend
        else ""
    )
    total = max(1, len(result.samples))
    quarters = [
        next((rss for done, rss in result.rss_trend if done >= total * share), result.rss_end)
        for share in (0.25, 0.5, 0.75)
    ]
    per_request = result.seconds * 1000 / total
    print(
        f"\nServer RSS {megabytes(result.rss_start)} MB at the start → {megabytes(result.rss_end)} MB at the end "
        f"(sampled peak {megabytes(result.rss_peak)} MB; after a quarter, half, three quarters of the requests: "
        f"{', '.join(megabytes(rss) for rss in quarters)} MB){within}. CPU: server {result.server_cpu:.2f} cores "
        f"({result.server_cpu * per_request:.0f} ms per request), users (this process) {result.client_cpu:.2f} "
        f"cores ({result.client_cpu * per_request:.0f} ms per request); load average before the run "
        f"{result.load_before}."
    )
    print_failures(result.samples)


def print_failures(samples: list[Sample], limit: int = 10) -> None:
    """The distinct errors among ``samples`` as ``- N× /endpoint: error`` lines, most frequent first."""
    failures: dict[str, int] = {}
    for sample in samples:
        if sample.error:
            failures[f"/{sample.endpoint}: {sample.error}"] = failures.get(f"/{sample.endpoint}: {sample.error}", 0) + 1
    for message, count in sorted(failures.items(), key=lambda item: -item[1])[:limit]:
        print(f"- {count}× {message}")


def print_summary(results: list[RunResult], endpoints: list[str]) -> None:
    print("\n### Summary\n")
    columns = " | ".join(f"/{name} p50 / p95 / p99 ms" for name in endpoints)
    print(f"| users | requests | errors | req/s | {columns} | server CPU (cores) | server RSS start → end (MB) |")
    print("|---:|---:|---:|---:|" + "---:|" * len(endpoints) + "---:|---:|")
    for result in results:
        cells = []
        for name in endpoints:
            times = [s.seconds * 1000 for s in result.samples if s.endpoint == name]
            cells.append(" / ".join(f"{percentile(times, share):.0f}" for share in (0.5, 0.95, 0.99)) if times else "–")
        errors = sum(s.error is not None for s in result.samples)
        print(
            f"| {result.users} | {len(result.samples)} | {errors} | {len(result.samples) / result.seconds:.2f} | "
            f"{' | '.join(cells)} | {result.server_cpu:.2f} | {megabytes(result.rss_start)} → "
            f"{megabytes(result.rss_end)} |"
        )


def machine_line() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
    try:
        from importlib.metadata import version

        versions = f"gradio {version('gradio')}, gradio_client {version('gradio_client')}"
    except Exception:  # noqa: BLE001 - versions are informative only
        versions = ""
    return (
        f"Machine: {cpu or platform.machine()}, {os.cpu_count()} cores, {int(memory) / 2**20:.0f} GB; "
        f"Python {platform.python_version()}; {versions}"
    )


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="1,4,16", help="comma-separated user counts, one run each (default: 1,4,16)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run (default: 60)")
    parser.add_argument("--port", type=int, help="port of the server (default: a free one)")
    parser.add_argument("--index", type=Path, help="serve this existing index instead of building one")
    parser.add_argument("--store", help="serve the build in service in this postgresql:// database instead")
    parser.add_argument(
        "--corpus", type=Path, action="append",
        help="folder to index (repeatable; default: corpus/ and ../shared/data/official)",
    )  # fmt: skip
    parser.add_argument("--workspace", type=Path, help="where the corpus copy and the index are kept")
    parser.add_argument("--seed", type=int, default=0, help="seed of the users' question choice (default: 0)")
    args = parser.parse_args()
    user_counts = [int(part) for part in args.users.split(",") if part.strip()]
    if not user_counts or min(user_counts) < 1 or args.seconds <= 0:
        parser.error("--users needs positive counts and --seconds a positive time")

    from assistant.checkpoint import default_cache_dir

    workspace = args.workspace or default_cache_dir() / "bench" / "load"
    workspace.mkdir(parents=True, exist_ok=True)
    if args.store:
        from assistant.database import redacted

        index, corpus_note = Path(), f"the build in service in {redacted(args.store)}"
    elif args.index:
        index, corpus_note = args.index.resolve(), f"index {args.index} (reused)"
    else:
        sources = args.corpus or [REPO / "corpus", SHARED / "data" / "official"]
        missing = [str(source) for source in sources if not source.is_dir()]
        if missing:
            sys.exit(f"no such corpus folder: {', '.join(missing)} (pass --corpus)")
        index = build([source.resolve() for source in sources], workspace)
        corpus_note = f"index over {' + '.join(str(source) for source in sources)}"
    uploads = Path(tempfile.mkdtemp(prefix="load-bench-uploads-", dir=workspace))  # the app's upload folder: unused

    print(machine_line())
    server = Server(index, uploads, args.port or free_port(), workspace / "server.log", store=args.store)
    stop = threading.Event()
    results: list[RunResult] = []
    endpoints: list[str] = []
    try:
        up = server.wait_until_up()
        client = make_client(server.url)
        endpoints = [name for name in MIX if f"/{name}" in endpoints_of(client)]
        print(f"Server: `assistant serve` pid {server.pid} on {server.url}, up in {up:.1f} s; {corpus_note}")
        print(
            f"Endpoints: {', '.join('/' + name for name in endpoints)} (mix {', '.join(f'{n} {MIX[n]:.0%}' for n in endpoints)})"
        )
        warm = time.perf_counter()
        warm_errors = warm_up(client, endpoints, args.seed)
        client.close()
        rss_warm = rss_bytes(server.pid)
        print(
            f"Warm-up: {4 * len(endpoints)} requests in {time.perf_counter() - warm:.1f} s, "
            f"{len(warm_errors)} errors; server RSS {megabytes(rss_warm)} MB, "
            f"threads {proc_status(server.pid).get('Threads')}, child processes {len(children_of(server.pid))}"
        )
        for message in warm_errors:
            print(f"- warm-up error {message}")
        for users in user_counts:
            result = run_users(server, users, args.seconds, args.seed, endpoints, stop)
            results.append(result)
            print_run(result, endpoints)
        print_summary(results, endpoints)
        total = sum(len(result.samples) for result in results)
        rss_end, status = rss_bytes(server.pid), proc_status(server.pid)
        print(
            f"\nMemory: server RSS {megabytes(rss_warm)} MB after warm-up → {megabytes(rss_end)} MB after {total:,} "
            f"more requests ({(rss_end - rss_warm) / 2**20:+.1f} MB; peak VmHWM {status.get('VmHWM')}); "
            f"threads {status.get('Threads')}."
        )
        if total < 1000:
            print(f"(fewer than 1,000 requests: run longer, e.g. --seconds {int(args.seconds * 1000 / total) + 1})")
        errors = sum(s.error is not None for result in results for s in result.samples)
        log = server.log_path.read_text(encoding="utf-8", errors="replace")
        print(f"Errors: {errors} in the runs; tracebacks in the server log: {log.count('Traceback')}")
    except KeyboardInterrupt:
        stop.set()
        print("\ninterrupted: stopping the server", file=sys.stderr)
        if results:
            print_summary(results, endpoints)
        sys.exit(130)
    finally:
        stop.set()
        server.stop()
        shutil.rmtree(uploads, ignore_errors=True)


if __name__ == "__main__":
    main()
