"""Parsing under a time budget: the format readers run in a worker process that is stopped when a file takes too long.

A hostile or merely pathological file can keep a reader busy for minutes (pypdf took 112 s on a
1.4 MB PDF before the decoding limits of :mod:`assistant.readers.pdf`, and other shapes remain),
and a build runs inside the web server when an editor uploads. A thread cannot be stopped; a
process can. So a build reads the files of :data:`WORKER_SUFFIXES` through a
:class:`ReaderWorker`: one child process (:func:`main`) started at the first
such file, given each file's bytes and returning what the reader extracted as one JSON line over
its pipes (nothing is pickled). A file that takes more than ``Settings.parse_seconds`` is refused
(:class:`~assistant.errors.ReadTimeout`), the worker is killed and the next file gets a new one.

The build remembers such files by content hash in ``<index>/over_budget.json``
(:func:`load_over_budget`, :func:`save_over_budget`): later builds refuse them without reading
them again, until the file changes or the budget is raised.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from assistant.documents import extract
from assistant.errors import DocumentError, ReadTimeout
from assistant.files import write_atomically
from assistant.metadata import one_line
from assistant.model import Section
from assistant.readers import Extracted

__all__ = ["OVER_BUDGET_FILE", "WORKER_SUFFIXES", "ReaderWorker", "load_over_budget", "save_over_budget"]

logger = logging.getLogger(__name__)

# The formats whose readers are run in the worker: those of binary formats parsed by third-party
# libraries (pypdf, python-docx, lxml and trafilatura). Plain text and Markdown are read in the
# build's own process: their reader is this package's, linear in the size of the file, and the
# worker's round trip would cost more than reading them (docs/security.md).
WORKER_SUFFIXES = (".pdf", ".docx", ".html", ".htm")
OVER_BUDGET_FILE = "over_budget.json"
_FORMAT = 1
START_SECONDS = 60.0  # the worker imports the readers before it says it is ready; not charged to a file
_READERS = ("assistant.readers.pdf", "assistant.readers.docx", "assistant.readers.html")
# Not ``-m assistant.parsing``: runpy warns when the package's __init__ has imported the module already.
_WORKER = "import sys; from assistant.parsing import main; main(sys.argv[1:])"


class ReaderWorker:
    """Runs the format readers of :data:`WORKER_SUFFIXES` in a child process, each file within ``seconds``.

    Use it as a context manager: the process starts at the first file that needs it and is
    killed on exit. ``seconds`` of 0 reads every file in this process, with no budget.

    Args:
        seconds: the longest one file may take to be read (``Settings.parse_seconds``).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._process: subprocess.Popen | None = None
        self._replies: queue.Queue[bytes | None] = queue.Queue()

    def __enter__(self) -> ReaderWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker process, if one runs."""
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def extract(self, data: bytes, suffix: str, *, max_unpacked: int) -> Extracted:
        """What the reader for ``suffix`` finds in ``data`` (see :func:`assistant.documents.extract`).

        Raises:
            ReadTimeout: the reader took longer than ``seconds`` (the worker is killed).
            DocumentError: the reader refused the file, failed on it, or its process died.
        """
        if self.seconds <= 0 or suffix not in WORKER_SUFFIXES:
            return extract(data, suffix, max_unpacked=max_unpacked)
        process = self._process or self._start()
        header = {"suffix": suffix, "max_unpacked": max_unpacked, "size": len(data)}
        try:
            process.stdin.write(json.dumps(header).encode() + b"\n")  # type: ignore[union-attr]
            process.stdin.write(data)  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
            line = self._replies.get(timeout=self.seconds)
        except queue.Empty:
            self._kill()
            raise ReadTimeout(f"reading took longer than {self.seconds:g} s (setting parse_seconds): refused") from None
        except OSError:
            line = None
        if line is None:
            code = self._kill()
            raise DocumentError(f"the reader stopped unexpectedly (exit code {code}) on this file")
        return _from_reply(json.loads(line.decode("utf-8", "surrogatepass")))

    def _start(self) -> subprocess.Popen:
        package_root = str(Path(__file__).resolve().parents[1])
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
        }
        level = logging.getLogger().getEffectiveLevel()
        process = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(level)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment,
        )  # fmt: skip
        self._replies = queue.Queue()
        threading.Thread(target=_pump, args=(process.stdout, self._replies), daemon=True).start()
        self._process = process
        try:
            ready = self._replies.get(timeout=START_SECONDS)
        except queue.Empty:
            ready = None
        if ready != b"ready\n":
            code = self._kill()
            raise DocumentError(f"the reader process did not start (exit code {code})")
        logger.debug("reader worker %d started", process.pid)
        return process

    def _kill(self) -> int | None:
        """Kill the worker; its exit code (``None`` if it would not say)."""
        process, self._process = self._process, None
        if process is None:
            return None
        process.kill()
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        return code


def _pump(stdout: IO[bytes], replies: queue.Queue[bytes | None]) -> None:
    """Hand each line the worker writes to ``replies``, then ``None`` when it stops."""
    try:
        for line in iter(stdout.readline, b""):
            replies.put(line)
    except (OSError, ValueError):  # the pipe was closed under us: the worker was stopped
        pass
    replies.put(None)


def _from_reply(reply: Mapping[str, object]) -> Extracted:
    """The :class:`Extracted` in a worker's reply; its log records re-emitted here; its refusal raised."""
    for name, level, message in reply.get("logs", ()):  # type: ignore[union-attr]
        logging.getLogger(name).log(level, "%s", message)
    if "error" in reply:
        raise DocumentError(str(reply["error"]))
    if "failure" in reply:
        raise DocumentError(f"the reader failed on this file: {reply['failure']}")
    return Extracted(
        text=str(reply["text"]),
        sections=tuple(Section(int(start), str(title)) for start, title in reply["sections"]),  # type: ignore[union-attr]
        declared=dict(reply["declared"]),  # type: ignore[call-overload]
        guessed=dict(reply["guessed"]),  # type: ignore[call-overload]
    )


# --------------------------------------------------------------------------------------------
# Files that used their budget, remembered between builds
# --------------------------------------------------------------------------------------------


def load_over_budget(index_dir: Path) -> dict[str, tuple[str, float]]:
    """The files earlier builds refused for their parse time: content hash → (document id, seconds it exceeded).

    A missing or damaged file counts as none (those files are then read again, and refused again).
    """
    path = Path(index_dir) / OVER_BUDGET_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {_FORMAT}")
        return {
            str(entry["content_hash"]): (str(entry["path"]), float(entry["seconds"]))
            for entry in data["files"]
        }  # fmt: skip
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        logger.warning("ignoring %s (%s): files over their parse time will be read again", path, one_line(error))
        return {}


def save_over_budget(index_dir: Path, files: Mapping[str, tuple[str, float]]) -> None:
    """Replace the remembered files by ``files`` (as :func:`load_over_budget` returns them), atomically."""
    entries = [
        {"content_hash": content_hash, "path": doc_id, "seconds": seconds}
        for content_hash, (doc_id, seconds) in sorted(files.items(), key=lambda item: item[1][0])
    ]
    text = json.dumps({"format": _FORMAT, "files": entries}, ensure_ascii=False, indent=1)
    write_atomically(Path(index_dir) / OVER_BUDGET_FILE, text + "\n")


# --------------------------------------------------------------------------------------------
# The worker process
# --------------------------------------------------------------------------------------------


class _Collector(logging.Handler):
    """Keeps the log records of one file, to be re-emitted by the build's process."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def serve(requests: IO[bytes], replies: IO[bytes], level: int = logging.WARNING) -> None:
    """The worker's loop: for each request (a JSON header line, then the file's bytes), one JSON reply line.

    The reply holds the extracted ``text``, ``sections``, ``declared`` and ``guessed`` metadata,
    or the reader's refusal (``error``) or failure (``failure``), and the ``logs`` it wrote.
    """
    collector = _Collector()
    logging.getLogger().addHandler(collector)
    logging.getLogger().setLevel(level)
    for module in _READERS:  # imported now, so that no file's budget pays for it
        __import__(module)
    replies.write(b"ready\n")
    replies.flush()
    while header := requests.readline():
        request = json.loads(header)
        data = requests.read(request["size"])
        collector.records = []
        reply: dict[str, object]
        try:
            extracted = extract(data, request["suffix"], max_unpacked=request["max_unpacked"])
            reply = {
                "text": extracted.text,
                "sections": [(section.start, section.title) for section in extracted.sections],
                "declared": dict(extracted.declared),
                "guessed": dict(extracted.guessed),
            }
        except DocumentError as error:
            reply = {"error": str(error)}
        except Exception as error:  # a reader's bug: this file is refused, the build goes on
            reply = {"failure": f"{type(error).__name__}: {one_line(error)}"}
        reply["logs"] = collector.records
        replies.write(json.dumps(reply, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n")
        replies.flush()


def main(arguments: list[str]) -> None:
    """The worker process: ``serve`` on its standard input and output (``arguments``: the log level)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the build, which stops this process
    output, sys.stdout = sys.stdout.buffer, sys.stderr  # the replies' pipe carries nothing else
    serve(sys.stdin.buffer, output, int(arguments[0]) if arguments else logging.WARNING)
