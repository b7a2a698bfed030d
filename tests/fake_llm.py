"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests without a language model."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """Clients that hang up mid-stream (the timeout and interruption tests) are expected here."""


@dataclass
class Reply:
    """One scripted response.

    kind: ``stream`` (SSE chunks of ``pieces``, ``pause`` seconds apart), ``json`` (one
    non-streamed completion), ``status`` (HTTP ``status`` with ``body``), ``garbage`` (an SSE
    event that is not JSON), ``hang`` (say nothing for ``pause`` seconds), ``drop`` (stream
    ``pieces`` then cut the connection without ``[DONE]``), ``flood`` (one event whose text never
    ends: 64 KB more every chunk, no line break, until the client hangs up).
    """

    kind: str = "stream"
    pieces: list[str] = field(default_factory=list)
    pause: float = 0.0
    status: int = 200
    body: str = ""


def say(text: str, *, pause: float = 0.0) -> Reply:
    """A streamed reply of ``text`` in word-sized pieces."""
    words = text.split(" ")
    return Reply("stream", [word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words)], pause)


@dataclass
class Request:
    headers: dict[str, str]
    body: dict

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    @property
    def user(self) -> str:
        """The last user message (the real question; earlier ones are the worked example)."""
        return [m["content"] for m in self.messages if m["role"] == "user"][-1]

    @property
    def system(self) -> str:
        return next(m["content"] for m in self.messages if m["role"] == "system")


class FakeLLM:
    """Serves scripted replies in order (the last one repeats) and records every request."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Request] = []
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> FakeLLM:
        self.replies = deque(replies)
        self.requests.clear()
        return self

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> Reply:
        return self.replies.popleft() if len(self.replies) > 1 else self.replies[0]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(Request({k.lower(): v for k, v in self.headers.items()}, body))
                if self.path != "/v1/chat/completions":
                    self._plain(404, '{"error": {"message": "not found"}}')
                    return
                reply = fake._next()
                if reply.kind == "status":
                    self._plain(reply.status, reply.body)
                elif reply.kind == "json":
                    completion = {"choices": [{"message": {"role": "assistant", "content": "".join(reply.pieces)}}]}
                    self._plain(200, json.dumps(completion), "application/json")
                elif reply.kind == "hang":
                    time.sleep(reply.pause)
                    self._plain(200, "{}", "application/json")
                else:
                    self._stream(reply)

            def _plain(self, status: int, text: str, content_type: str = "application/json") -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")  # as uvicorn streams
                self.end_headers()
                self._chunk(b": keep-alive\n\n")
                if reply.kind == "garbage":
                    self._chunk(b"data: this is not json\n\n")
                    self._chunk(b"")
                    return
                if reply.kind == "flood":
                    self._chunk(b'data: {"choices": [{"index": 0, "delta": {"content": "')
                    for _ in range(16 * 1024):  # a gigabyte, if nobody hangs up
                        self._chunk(b"x" * 65536)
                    return
                for piece in reply.pieces:
                    chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self._chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    if reply.pause:
                        time.sleep(reply.pause)
                if reply.kind == "drop":
                    # Cut the connection mid-answer, as a killed server does.
                    self.connection.shutdown(2)
                    self.close_connection = True
                    return
                self._chunk(b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n')
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler
