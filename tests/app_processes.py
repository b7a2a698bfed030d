"""Real ``assistant serve`` and ``assistant build`` processes on one database, with the fake embedder.

Each process is ``python -c`` running :func:`ui.cli.main` after swapping the model loader for
:class:`tests.conftest.FakeEmbedder` (the real model would cost a minute and a gigabyte per process);
everything else (the CLI, the web app, the database store) is the code users run. Used by
``tests/test_database_processes.py`` and ``bench/store_faults_bench.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The tests' small chunks (tests/test_build.py SETTINGS), for every process alike.
ENVIRONMENT = {"ASSISTANT_CHUNK_TOKENS": "40", "ASSISTANT_CHUNK_OVERLAP": "5", "GRADIO_ANALYTICS_ENABLED": "False"}

_PROLOGUE = f"""
import os, signal, sys
sys.path.insert(0, {str(REPO)!r})
import assistant.build, assistant.retrieval
from tests.conftest import FakeEmbedder
assistant.build.load_embedder = assistant.retrieval.load_embedder = lambda *args, **kwargs: FakeEmbedder()
from ui.cli import main
"""

# A build that kills itself (SIGKILL: no cleanup of its own) while its rows are being written.
_DIE_WHILE_WRITING = """
from assistant import database_store
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
database_store._copy_sentences = die
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment() -> dict[str, str]:
    """This process's environment without its ``ASSISTANT_*`` settings, with :data:`ENVIRONMENT`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ASSISTANT_")}
    return {**environment, **ENVIRONMENT}


def _command(arguments: list[str], *, die_while_writing: bool = False) -> list[str]:
    script = _PROLOGUE + (_DIE_WHILE_WRITING if die_while_writing else "") + f"\nsys.exit(main({arguments!r}))\n"
    return [sys.executable, "-c", textwrap.dedent(script)]


@dataclass
class AppProcess:
    """One ``assistant serve --store`` process listening on 127.0.0.1."""

    process: subprocess.Popen
    url: str

    def search(self, question: str, k: int = 5, *, timeout: float = 30.0) -> list[dict]:
        """The web app's ``/search`` answer, one dict per passage (raises on an error or a lost process)."""
        import httpx

        with httpx.Client(timeout=timeout) as client:
            started = client.post(f"{self.url}/gradio_api/call/search", json={"data": [question, k, None]})
            started.raise_for_status()
            streamed = client.get(f"{self.url}/gradio_api/call/search/{started.json()['event_id']}")
        event = data = ""
        for line in streamed.text.splitlines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data = line.partition(":")[2].strip()
        if event != "complete":
            raise RuntimeError(f"/search answered {event or 'nothing'}: {data[:200]}")
        return json.loads(data)[0]

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a crash would end it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def start_app(dsn: str, folder: Path, *, read_dsn: str = "", within: float = 120.0) -> AppProcess:
    """``assistant serve --store DSN`` (with ``--store-read`` when given) on a free port, once it answers."""
    import httpx

    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    arguments = ["serve", "--port", str(port), "--store", dsn, "--corpus", str(folder / "corpus")]
    arguments += ["--store-read", read_dsn] if read_dsn else []
    with open(folder / "serve.log", "wb") as log:  # what the process says, for a failing test to show
        process = subprocess.Popen(_command(arguments), cwd=folder, env=environment(), stdout=log, stderr=log)
    app = AppProcess(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + within
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"assistant serve exited with {process.returncode}")
        try:
            if httpx.get(f"{app.url}/", timeout=5).status_code == 200:
                return app
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            app.stop()
            raise RuntimeError(f"assistant serve did not answer within {within:.0f} s")
        time.sleep(0.5)


def build_command(dsn: str, corpus: Path, *, die_while_writing: bool = False) -> list[str]:
    """The command of ``assistant build --store DSN``; ``die_while_writing``: it SIGKILLs itself mid-write."""
    return _command(["build", "--corpus", str(corpus), "--store", dsn], die_while_writing=die_while_writing)


def run_build(dsn: str, corpus: Path, *, die_while_writing: bool = False) -> subprocess.CompletedProcess:
    """:func:`build_command` run to its end (run from the corpus' parent folder, with :func:`environment`)."""
    command = build_command(dsn, corpus, die_while_writing=die_while_writing)
    return subprocess.run(command, cwd=corpus.parent, env=environment(), capture_output=True, text=True, timeout=300)
