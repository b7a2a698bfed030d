"""Which Host and Origin headers the web server answers: its guard against DNS rebinding and cross-site pages.

Listening on 127.0.0.1 is no boundary by itself. A page on another site can make its own name resolve
to 127.0.0.1 (DNS rebinding) and then talk to the app as if it were that site; the browser then sends
the attacker's name as the request's ``Host``, and Gradio lets any Origin in when the Host is not
``localhost``. So a request is answered only when

- its ``Host`` is an IP address, ``localhost``, or a name the operator serves
  (``ASSISTANT_ALLOWED_HOSTS``): a rebinding page can only send its own name, and an IP address
  cannot be rebound; and
- its ``Origin``, when the browser sends one (every cross-site request carries it, and so does a
  same-site POST), is the page's own (the scheme's host and port the request was sent to) or one of
  the operator's names. Another site's page, or ``null`` from a sandboxed frame, is refused whatever
  it asks: Gradio's CORS headers would otherwise let it read the answers too.

Everything else gets 400 (a host not served) or 403 (a foreign page) before Gradio sees it.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HostGuard", "host_allowed", "is_address", "is_loopback", "normal_host", "origin_allowed"]

logger = logging.getLogger(__name__)

LOCAL_NAMES = frozenset({"localhost"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normal_host(name: str) -> str:
    """A host name as compared: lower case, without a final dot, IPv6 without brackets (``"Example.KZ."`` → ``"example.kz"``)."""
    return name.strip().strip("[]").rstrip(".").lower()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address to listen on) is this machine only: ``localhost``, ``127.x``, ``::1``."""
    name = normal_host(host)
    if name in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_address(host: str) -> bool:
    """Whether ``host`` is an IP address (``10.0.0.5``, ``::1``, ``[::1]``), not a name."""
    try:
        ipaddress.ip_address(normal_host(host))
    except ValueError:
        return False
    return True


def host_allowed(host_header: str | None, allowed: Iterable[str] = ()) -> bool:
    """Whether a request whose ``Host`` header is ``host_header`` is answered.

    Args:
        host_header: ``name``, ``name:port``, ``[v6]:port``; ``None`` when the request had none.
        allowed: the names the operator serves (:func:`normal_host` applied), beside the IP addresses
            and ``localhost`` always answered.
    """
    name, _ = _split(host_header or "")
    if not name:
        return False
    return name in LOCAL_NAMES or is_address(name) or name in {normal_host(host) for host in allowed}


def origin_allowed(origin: str, host_header: str | None, allowed: Iterable[str] = ()) -> bool:
    """Whether a request sent by a page of ``origin`` (its ``Origin`` header) to ``host_header`` is answered:
    the page is the server's own (same host and port), or its host is one the operator lists in ``allowed``."""
    try:
        parts = urlsplit(origin.strip())
        origin_name, origin_port = normal_host(parts.hostname or ""), parts.port
    except ValueError:  # "null", a port that is not a number
        return False
    if parts.scheme not in _DEFAULT_PORTS or not origin_name:
        return False
    if origin_name in {normal_host(host) for host in allowed}:
        return True
    name, port = _split(host_header or "")
    default = _DEFAULT_PORTS[parts.scheme]
    return bool(name) and (origin_name, origin_port or default) == (name, port or default)


class HostGuard:
    """ASGI middleware answering only requests for a host the server serves, from no foreign page.

    Args:
        app: the application behind it (Gradio's).
        allowed_hosts: the names served besides IP addresses and ``localhost`` (``ASSISTANT_ALLOWED_HOSTS``).
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_hosts = frozenset(normal_host(host) for host in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host, origin = headers.get("host"), headers.get("origin")
        if not host_allowed(host, self.allowed_hosts):
            logger.warning("refused a request for host %r: not an IP address, localhost or in ASSISTANT_ALLOWED_HOSTS",
                           (host or "")[:100])  # fmt: skip
            await _refuse(scope, receive, send, 400, "This server does not answer to that host name.")
        elif origin is not None and not origin_allowed(origin, host, self.allowed_hosts):
            logger.warning("refused a request from a page of %r to host %r", origin[:100], (host or "")[:100])
            await _refuse(scope, receive, send, 403, "Requests from other sites are not accepted.")
        else:
            await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})  # before accepting: the server answers 403
        return
    await PlainTextResponse(message, status_code=status)(scope, receive, send)


def _split(authority: str) -> tuple[str, int | None]:
    """``(host name, port)`` of a Host header; ``("", None)`` when it does not parse."""
    if any(char in authority for char in "@/\\?# \t"):  # no user part or path in a Host header
        return "", None
    try:
        parts = urlsplit("//" + authority.strip())
        return normal_host(parts.hostname or ""), parts.port
    except ValueError:
        return "", None
