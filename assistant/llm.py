"""LLM: a streaming client for OpenAI-compatible chat-completions servers (llama.cpp, Ollama, vLLM, hosted APIs).

Only ``POST {base_url}/chat/completions`` with ``stream: true`` is used, read as server-sent
events with httpx (installed with gradio), so any server speaking that API works and no
vendor SDK is needed. The API key travels in the ``Authorization`` header only: it is kept
out of ``repr``, logs and error messages.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.model import FALLBACK_REASONS

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds; a server that does not accept the connection by then is not coming
# The raw reply may hold this many bytes per character of text allowed (an event of JSON around
# each token is about 200 bytes), plus room for the opening and closing events: past it the reply
# is cut off as too long, whatever the server does with max_tokens.
RAW_BYTES_PER_CHAR = 256
RAW_BYTES_EXTRA = 64 * 1024


class GenerationFailed(AssistantError):
    """The language model gave no usable answer.

    ``reason`` is one of ``timeout`` (no answer in time), ``unreachable`` (no connection),
    ``interrupted`` (the connection broke mid-answer), ``error`` (an HTTP or API error),
    ``garbage`` (a response that is not the chat-completions format), ``empty`` (no text) or
    ``too_long`` (a reply longer than the client's ``max_chars``).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in FALLBACK_REASONS:
            raise ValueError(f"{reason!r} is not one of FALLBACK_REASONS (assistant.model)")
        super().__init__(f"language model failed ({reason}){': ' + detail if detail else ''}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ChatClient:
    """Where the model is served and how long to wait for it.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8080/v1`` (llama.cpp server),
            ``http://127.0.0.1:11434/v1`` (Ollama) or a hosted provider's ``…/v1``.
        model: the model name the server expects (may be empty for single-model servers).
        api_key: sent as ``Authorization: Bearer …`` when not empty; never logged.
        timeout: seconds an answer may take in all: the connection is shut then, even mid-answer
            (connecting may add up to ``CONNECT_TIMEOUT``).
        max_chars: the longest reply read, in characters; a longer one is cut off (``too_long``),
            whatever the server makes of ``max_tokens``.
    """

    base_url: str
    model: str = ""
    api_key: str = field(default="", repr=False)
    timeout: float = 120.0
    max_chars: int = 4000

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatClient:
        """The client for ``settings.llm_base_url`` / ``llm_model`` / ``llm_api_key`` / ``llm_timeout`` / ``llm_max_chars``."""
        return cls(
            settings.llm_base_url,
            settings.llm_model,
            settings.llm_api_key,
            settings.llm_timeout,
            settings.llm_max_chars,
        )

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def stream(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int = 400,
        temperature: float = 0.0,
        timeout: float | None = None,
    ) -> Iterator[str]:
        """The model's reply to ``messages``, piece by piece as the server streams it.

        Args:
            messages: chat messages (``{"role": "system"|"user"|"assistant", "content": …}``).
            max_tokens: the longest reply, in the model's tokens.
            temperature: 0 for the most likely (reproducible) wording.
            timeout: overrides :attr:`timeout` for this call (short for query rewriting).

        Yields:
            Non-empty pieces of text, in order.

        Raises:
            GenerationFailed: the server is unreachable, answers with an error, stops mid-answer,
                takes longer than the timeout, sends something that is not a chat completion or
                a reply longer than ``max_chars``.
        """
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        max_bytes = RAW_BYTES_PER_CHAR * self.max_chars + RAW_BYTES_EXTRA
        payload: dict[str, object] = {
            "messages": [dict(message) for message in messages],
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if self.model:
            payload["model"] = self.model
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        timeouts = httpx.Timeout(limit, connect=min(CONNECT_TIMEOUT, limit))
        logger.info("asking %s (model %s, %d messages)", self.endpoint, self.model or "default", len(messages))
        produced = 0
        try:
            with httpx.Client(timeout=timeouts, follow_redirects=False) as client:  # noqa: SIM117
                with client.stream("POST", self.endpoint, json=payload, headers=headers) as response:
                    with _shut_at(response, deadline):
                        for piece in self._pieces(response, max_bytes, deadline):
                            produced += len(piece)
                            if produced > self.max_chars:
                                raise GenerationFailed("too_long", f"the reply passed {self.max_chars:,} characters")
                            yield piece
        except GenerationFailed:
            raise
        except httpx.HTTPError as error:
            raise self._failure(error, limit, deadline) from error
        if not produced:
            raise GenerationFailed("empty", "the model returned no text")

    def _pieces(self, response: httpx.Response, max_bytes: int, deadline: float) -> Iterator[str]:
        """The text of a streamed reply, piece by piece, or of a whole JSON completion at once."""
        if response.status_code != 200:
            try:
                body = _read(response, RAW_BYTES_EXTRA, deadline)
            except GenerationFailed:
                body = b""
            raise GenerationFailed("error", f"HTTP {response.status_code}: {_error_text(body)}")
        if "text/event-stream" not in response.headers.get("content-type", ""):
            # A server that ignored stream=true: one JSON completion.
            text = _message_content(_json(_read(response, max_bytes, deadline).decode("utf-8", "replace")))
            if text:
                yield text
            return
        yield from _events(_lines(response.iter_bytes(), max_bytes, deadline), deadline)

    def _failure(self, error: httpx.HTTPError, limit: float, deadline: float) -> GenerationFailed:
        """What an httpx error means; any error past the deadline is the deadline's (the connection was shut)."""
        if isinstance(error, httpx.TimeoutException) or time.monotonic() >= deadline:
            return GenerationFailed("timeout", f"no answer within {limit:g} s")
        if isinstance(error, httpx.ConnectError):
            return GenerationFailed("unreachable", f"cannot connect to {self.endpoint}")
        if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError)):
            return GenerationFailed("interrupted", f"the connection to {self.endpoint} broke")
        return GenerationFailed("error", type(error).__name__)

    def complete(
        self, messages: Sequence[Mapping[str, str]], *, max_tokens: int = 400, timeout: float | None = None
    ) -> str:
        """The whole reply as one string (see :meth:`stream`)."""
        return "".join(self.stream(messages, max_tokens=max_tokens, timeout=timeout))


@contextlib.contextmanager
def _shut_at(response: httpx.Response, deadline: float) -> Iterator[None]:
    """Shut the response's connection at ``deadline``: a server that goes quiet mid-answer cannot hold
    it longer (httpx's read timeout counts from the last piece received, not from the start)."""
    stream = response.extensions.get("network_stream")
    connection = stream.get_extra_info("socket") if stream is not None else None
    if connection is None:
        yield
        return

    def shut() -> None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)  # a blocked read returns at once; close() would not wake it

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), shut)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _read(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    """The whole body of ``response``, refused past ``max_bytes`` or ``deadline``."""
    return b"".join(_capped(response.iter_bytes(), max_bytes, deadline))


def _capped(chunks: Iterator[bytes], max_bytes: int, deadline: float) -> Iterator[bytes]:
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > max_bytes:
            raise GenerationFailed("too_long", f"a reply of more than {max_bytes:,} bytes")
        if time.monotonic() > deadline:
            raise GenerationFailed("timeout", "the answer took too long")
        yield chunk


def _lines(chunks: Iterator[bytes], max_bytes: int, deadline: float) -> Iterator[str]:
    """The lines of an event stream (ended by ``\\n``, ``\\r\\n`` or ``\\r``), at most ``max_bytes`` of them
    in all: a line without end cannot grow without bound, as one held by a line splitter would."""
    pending = b""
    for chunk in _capped(chunks, max_bytes, deadline):
        lines = (pending + chunk).splitlines(keepends=True)
        # A line is complete at its "\n"; one ending in "\r" may be a "\r\n" cut between two chunks.
        pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for line in lines:
            yield line.rstrip(b"\r\n").decode("utf-8", "replace")
    if pending:
        yield pending.rstrip(b"\r\n").decode("utf-8", "replace")


def _events(lines: Iterator[str], deadline: float) -> Iterator[str]:
    """Text pieces of a chat-completions event stream (``data: {json}`` lines, ``data: [DONE]`` at the end).

    A stream that ends before ``[DONE]`` or a ``finish_reason`` was cut short (the server died).
    """
    data: list[str] = []
    finished = False
    for line in itertools.chain(lines, [""]):  # a blank line closes the last event
        if time.monotonic() > deadline:
            raise GenerationFailed("timeout", "the answer took too long")
        if line.startswith(":"):
            continue  # an SSE comment (keep-alive)
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            continue
        if line.strip() or not data:
            continue  # event:, id:, retry: fields carry nothing we need
        event, data = "\n".join(data), []
        if event.strip() == "[DONE]":
            return
        piece, done = _event_text(event)
        finished = finished or done
        if piece:
            yield piece
    if not finished:
        if time.monotonic() >= deadline:  # the connection was shut at the deadline
            raise GenerationFailed("timeout", "the answer took too long")
        raise GenerationFailed("interrupted", "the stream ended before the answer was complete")


def _event_text(data: str) -> tuple[str, bool]:
    """The text of one event, and whether it closes the answer (a ``finish_reason``)."""
    event = _json(data)
    if isinstance(event, dict) and event.get("error"):
        raise GenerationFailed("error", _short(str(event["error"])))
    try:
        choice = event["choices"][0] if event["choices"] else {}
    except (KeyError, TypeError, IndexError):
        raise GenerationFailed("garbage", "an event without choices") from None
    delta = choice.get("delta") or choice.get("message") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    if content is None:
        content = choice.get("text")  # completions-style servers
    if content is not None and not isinstance(content, str):
        raise GenerationFailed("garbage", "content that is not text")
    return content or "", bool(choice.get("finish_reason"))


def _message_content(completion: object) -> str:
    try:
        content = completion["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, TypeError, IndexError):
        raise GenerationFailed("garbage", "a response that is not a chat completion") from None
    if not isinstance(content, str):
        raise GenerationFailed("garbage", "content that is not text")
    return content


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise GenerationFailed("garbage", f"not JSON: {_short(text)!r}") from None


def _error_text(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
        message = data.get("error", data) if isinstance(data, dict) else data
        if isinstance(message, dict):
            message = message.get("message", message)
        return _short(str(message))
    except ValueError:
        return _short(text)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
