"""Faults of the PostgreSQL store, measured: what users lose when a process or the primary dies.

Three faults, each under load (threads sending ``/search`` one after another to real
``assistant serve --store`` processes, with the fake embedder of the tests: the faults are in the
store and the processes, not in the model):

1. **kill -9 of a build mid-write**: builds of a third process are SIGKILLed at random moments (and
   once certainly while writing its rows) while two app processes serve. Counted: requests lost,
   and whether the build in service stayed the previous one.
2. **kill -9 of one of two app processes**: the load goes round-robin to both, as a load balancer
   without health checks would send it. Counted: requests lost on the killed one and on the other,
   and the time until a restarted process answers.
3. **kill of the primary** (``pg_ctl -m immediate``, as a crash) with one process reading a
   streaming replica (``--store-read``) and one reading the primary only. Counted: requests lost
   on each, and the time from the kill until each answers again.

Every answer is checked against the builds that exist (its chunk ids all belong to one complete
build published by then), so a half-written build served would show.

Usage: ``python bench/store_faults_bench.py [--users 4] [--seconds 4] [--kills 4] [--seed 0]``
(about three minutes: five app processes start, each loading the web app).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.app_processes import AppProcess, build_command, environment, run_build, start_app  # noqa: E402
from tests.postgres import PostgresServer, StreamingReplica, streaming_servers  # noqa: E402
from tests.test_build import write_corpus  # noqa: E402

QUESTIONS = ("метро Алматы", "нефтехимия Атырау", "цифровизация образования", "план мероприятий акимата")


@dataclass(frozen=True)
class Answer:
    """One request of the load: when it started and ended, to which process, its chunk ids, or its error."""

    started: float
    ended: float
    target: int
    seconds: float
    chunk_ids: tuple[str, ...]
    error: str = ""


@dataclass
class Load:
    """Threads sending searches round-robin to ``targets`` until stopped."""

    targets: list[AppProcess]
    users: int
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        for user in range(self.users):
            thread = threading.Thread(target=self._run, args=(user,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, user: int) -> None:
        turn = user
        while not self._stop.is_set():
            target = turn % len(self.targets)
            turn += 1
            started = time.monotonic()
            try:
                found = self.targets[target].search(QUESTIONS[turn % len(QUESTIONS)], k=5, timeout=10)
                chunk_ids, error = tuple(passage["chunk_id"] for passage in found), ""
            except Exception as failure:  # a refused connection, a time-out, an error answer: a lost request
                chunk_ids, error = (), type(failure).__name__
                time.sleep(0.05)  # a client retrying at once would only count the same loss faster
            answer = Answer(started, time.monotonic(), target, time.monotonic() - started, chunk_ids, error)
            self.answers.append(answer)

    def stop(self) -> list[Answer]:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        return self.answers


def build_chunks(dsn: str) -> dict[int, frozenset[str]]:
    """The chunk ids of every complete build in the database (a killed build's rows are never there)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT b.build, array_agg(c.chunk_id) FROM assistant.builds b "
            "JOIN assistant.chunks c ON c.build = b.build GROUP BY b.build"
        ).fetchall()
    return {int(build): frozenset(ids) for build, ids in rows}


def half_served(answers: list[Answer], builds: dict[int, frozenset[str]]) -> int:
    """Answers whose chunks are not all of one complete build."""
    return sum(1 for a in answers if a.chunk_ids and not any(set(a.chunk_ids) <= ids for ids in builds.values()))


def served_build(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        return int(connection.execute("SELECT build FROM assistant.current").fetchone()[0])


def killed_builds(dsn: str, corpus: Path, apps: list[AppProcess], args: argparse.Namespace) -> dict:
    """Fault 1: builds SIGKILLed at random moments (and once while writing) under load on two processes."""
    rng = random.Random(args.seed)
    builds = build_chunks(dsn)
    load = Load(apps, args.users).start()
    kept = completed = published = 0
    for attempt in range(args.kills + 1):
        (corpus / f"new-{attempt}.txt").write_text(
            f"Документ {attempt}. " + "Акимат утвердил план мероприятий по цифровизации образования. " * 30,
            encoding="utf-8",
        )
        before = served_build(dsn)
        if attempt == args.kills:  # the last one dies while its rows are being written, for certain
            outcome = run_build(dsn, corpus, die_while_writing=True).returncode
        else:
            outcome = _build_killed_after(dsn, corpus, rng.uniform(0.5, 4.0))
        if outcome == 0:  # it finished before the kill: its build is in service, as it should be
            completed += 1
        elif served_build(dsn) == before:
            kept += 1
        else:  # killed after its publishing transaction committed (while dropping an old build): whole
            published += 1
        builds |= build_chunks(dsn)
    time.sleep(1.0)
    answers = load.stop()
    builds |= build_chunks(dsn)
    lost = sum(1 for a in answers if a.error)
    killed = args.kills + 1 - completed
    return {
        "fault": f"kill -9 of a build ({killed} killed, {completed} finished first)",
        "requests": len(answers),
        "lost": lost,
        "recovery": f"in service after the kill: the previous build {kept}/{killed}, "
        f"the killed build (committed before the kill) {published}/{killed}",
        "half": half_served(answers, builds),
    }


def _build_killed_after(dsn: str, corpus: Path, seconds: float) -> int:
    """``assistant build`` in a process of its own, SIGKILLed after ``seconds``; its exit code."""
    process = subprocess.Popen(
        build_command(dsn, corpus), cwd=corpus.parent, env=environment(), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        return process.wait(30)


def killed_app(dsn: str, apps: list[AppProcess], folder: Path, args: argparse.Namespace) -> tuple[dict, AppProcess]:
    """Fault 2: one of two app processes SIGKILLed under round-robin load, then restarted."""
    builds = build_chunks(dsn)
    load = Load(apps, args.users).start()
    time.sleep(args.seconds)
    killed_at = time.monotonic()
    apps[1].kill()
    time.sleep(args.seconds)  # down for a while, as until a supervisor notices
    restarting = time.monotonic()
    restarted = start_app(dsn, folder / "app-2-restarted")
    startup = time.monotonic() - restarting
    apps[1] = restarted  # the load's next requests to that slot reach the new process
    load.targets[1] = restarted
    time.sleep(args.seconds)
    answers = load.stop()
    lost = [a for a in answers if a.error]
    return {
        "fault": "kill -9 of one of two app processes",
        "requests": len(answers),
        "lost": f"{sum(a.target == 1 for a in lost)} on the killed one, {sum(a.target == 0 for a in lost)} on the other",
        "recovery": f"restarted {restarting - killed_at:.0f} s after the kill, answering {startup:.1f} s later",
        "half": half_served(answers, builds),
    }, restarted


def killed_primary(servers: StreamingReplica, folder: Path, corpus: Path, args: argparse.Namespace) -> list[dict]:
    """Fault 3: the primary killed; one process reads its replica, one the primary only."""
    primary, replica = servers.primary_url, servers.replica_url
    run_build(primary, corpus)
    builds = build_chunks(primary)
    while True:  # the replica has replayed the build
        try:
            if served_build(replica) == max(builds):
                break
        except Exception:
            pass
        time.sleep(0.2)
    apps = [
        start_app(primary, folder / "reads-replica", read_dsn=replica),
        start_app(primary, folder / "reads-primary"),
    ]
    try:
        load = Load(apps, args.users).start()
        time.sleep(args.seconds)
        killed_at = time.monotonic()
        servers.stop_primary()
        time.sleep(2 * args.seconds)
        answers = load.stop()
    finally:
        for app in apps:
            app.stop()
    after = [a for a in answers if a.started > killed_at]  # sent after the kill
    rows = []
    for target, name in ((0, "with --store-read (replica)"), (1, "primary only")):
        mine = [a for a in after if a.target == target]
        good = [a.ended - killed_at for a in mine if not a.error]
        lost = sum(1 for a in mine if a.error)
        rows.append(
            {
                "fault": f"kill of the primary: process {name}",
                "requests": sum(1 for a in answers if a.target == target),
                "lost": lost,
                "recovery": f"answers {min(good):.2f} s after the kill"
                if good
                else "no answer until the primary returns",
                "half": half_served([a for a in answers if a.target == target], builds),
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| fault | requests | lost | recovery | answers not from one whole build |",
        "|---|---:|---|---|---:|",
    ]
    lines += [f"| {r['fault']} | {r['requests']} | {r['lost']} | {r['recovery']} | {r['half']} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4, help="threads sending searches (default: 4)")
    parser.add_argument("--seconds", type=float, default=4.0, help="load before and after each fault (default: 4)")
    parser.add_argument("--kills", type=int, default=4, help="builds killed at random moments (default: 4)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="store-faults-"))
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, folder, ignore_errors=True)  # after the servers stop
        servers = cleanup.enter_context(streaming_servers(folder / "servers"))
        corpus = write_corpus(folder / "corpus")
        shared = servers.primary_url.replace("/postgres?", "/shared?")
        PostgresServer(servers.primary_url).execute("CREATE DATABASE shared")
        PostgresServer(servers.primary_url).execute("CREATE EXTENSION vector", database="shared")
        run_build(shared, corpus)
        apps = [start_app(shared, folder / f"app-{number}") for number in (1, 2)]
        try:
            rows = [killed_builds(shared, corpus, apps, args)]
            row, _ = killed_app(shared, apps, folder, args)
            rows.append(row)
        finally:
            for app in apps:
                app.stop()
        rows += killed_primary(servers, folder, corpus, args)
    print(table(rows))
    print(
        f"\n{args.users} users, {args.seconds:g} s of load around each fault, seed {args.seed}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other work, "
        f"Python {platform.python_version()}; {time.monotonic() - started:.0f} s in all"
    )


if __name__ == "__main__":
    main()
