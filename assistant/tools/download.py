"""Download: one web page over HTTP(S), from public addresses only, within limits on size and time."""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.metadata import one_line

__all__ = [
    "Download",
    "DownloadError",
    "DownloadLimits",
    "Downloader",
    "address_refusal",
    "ascii_url",
    "origin",
]

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
MAX_RETRY_AFTER = 60.0  # seconds; a server asking for longer is retried on the next run instead
REDIRECTS = (301, 302, 303, 307, 308)
PIECE = 65536  # bytes asked of the socket at a time
_DEFAULTS = Settings()
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # IPv6 addresses that carry an IPv4 one in their last 32 bits


@dataclass(frozen=True)
class DownloadLimits:
    """Where one listed URL may lead and what it may cost; ``Settings.fetch_*`` (see there).

    Attributes:
        max_bytes: the largest body, both as sent and once gzip/deflate-decoded.
        max_redirects: redirects followed at most, each one checked like the first request.
        allow_private: the listed sites may be at non-public addresses (loopback, LAN...).
        dns_timeout: seconds for resolving a host name.
        connect_timeout: seconds for a TCP connection, and again for its TLS handshake.
        header_timeout: seconds from sending a request until its status line and headers are in.
        read_timeout: seconds any read of the body may wait for more data.
        total_timeout: seconds for one listed URL in all: every redirect, retry and pause.
    """

    # The defaults are the settings' own: one place to change them.
    max_bytes: int = int(_DEFAULTS.fetch_max_mb * MIB)
    max_redirects: int = _DEFAULTS.fetch_max_redirects
    allow_private: bool = _DEFAULTS.fetch_allow_private
    dns_timeout: float = _DEFAULTS.fetch_dns_timeout
    connect_timeout: float = _DEFAULTS.fetch_connect_timeout
    header_timeout: float = _DEFAULTS.fetch_header_timeout
    read_timeout: float = _DEFAULTS.fetch_read_timeout
    total_timeout: float = _DEFAULTS.fetch_total_timeout

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_redirects < 0:
            raise ValueError(f"need max_bytes >= 1 and max_redirects >= 0; got {self.max_bytes}, {self.max_redirects}")
        for name in ("dns", "connect", "header", "read", "total"):
            seconds = getattr(self, f"{name}_timeout")
            if not 0 < seconds < float("inf"):  # also refuses nan
                raise ValueError(f"{name}_timeout must be a positive number of seconds, got {seconds}")

    @classmethod
    def from_settings(cls, settings: Settings) -> DownloadLimits:
        return cls(
            max_bytes=int(settings.fetch_max_mb * MIB),
            max_redirects=settings.fetch_max_redirects,
            allow_private=settings.fetch_allow_private,
            dns_timeout=settings.fetch_dns_timeout,
            connect_timeout=settings.fetch_connect_timeout,
            header_timeout=settings.fetch_header_timeout,
            read_timeout=settings.fetch_read_timeout,
            total_timeout=settings.fetch_total_timeout,
        )

    def with_timeout(self, seconds: float) -> DownloadLimits:
        """These limits with one wait for a connection, the headers and any data (``fetch --timeout``)."""
        return replace(self, connect_timeout=seconds, header_timeout=seconds, read_timeout=seconds)


@dataclass(frozen=True)
class Download:
    """A page as received.

    Attributes:
        status: 200 (any success) or 304 (not modified since the validators sent).
        url: where the page was found, after redirects.
        body: the bytes, gzip/deflate already undone.
    """

    status: int
    url: str
    body: bytes = b""
    content_type: str = ""
    charset: str = ""
    etag: str = ""
    last_modified: str = ""


class DownloadError(AssistantError):
    """A download that did not work; ``reason`` is one line, ``retry`` says whether trying again may help."""

    def __init__(self, reason: str, *, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.retry_after = retry_after


class _Refused(DownloadError):
    """An address or scheme the policy does not allow."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retry=False)


def address_refusal(address: str) -> str:
    """Why an IP address is not public (``loopback``, ``private``, ``link-local``...), or ``""``.

    IPv6 addresses that carry an IPv4 one (mapped, 6to4, NAT64) are also judged by that one.

    >>> address_refusal("169.254.169.254"), address_refusal("::ffff:127.0.0.1"), address_refusal("8.8.8.8")
    ('link-local', 'loopback', '')
    """
    ip = ipaddress.ip_address(address.partition("%")[0])  # an IPv6 scope (fe80::1%eth0) is not part of it
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.ipv4_mapped or ip.sixtofour
        if carried is None and ip in _NAT64:
            carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if carried is not None and (why := address_refusal(str(carried))):
            return why
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("site-local", getattr(ip, "is_site_local", False)),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),  # e.g. 100.64.0.0/10, carrier-grade NAT
    )
    return next((why for why, applies in checks if applies), "")


def ascii_url(url: str) -> str:
    """``url`` as it is sent: IDNA host name, percent-encoded non-ASCII path and query, no fragment."""
    parts = urllib.parse.urlsplit(urllib.parse.urldefrag(url.strip())[0])
    netloc = parts.netloc
    if not netloc.isascii():
        host = (parts.hostname or "").encode("idna").decode("ascii")
        netloc = host + (f":{parts.port}" if parts.port else "")
    safe = "/:@!$&'()*+,;=%~-._?"
    path, query = urllib.parse.quote(parts.path, safe=safe), urllib.parse.quote(parts.query, safe=safe)
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, query, ""))


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, the port always written: the unit that addresses are trusted by.

    Raises:
        DownloadError: not an http(s) URL with a host and a valid port.
    """
    return _Target.of(ascii_url(url)).origin


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query

    @classmethod
    def of(cls, url: str) -> _Target:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as error:
            raise DownloadError(f"invalid URL: {one_line(error)}", retry=False) from error
        if scheme not in ("http", "https") or not parts.hostname:
            raise _Refused(f"not an http(s) URL: {_printable(url)}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(scheme, parts.hostname, port, path)

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class Downloader:
    """GET with politeness (user agent, per-host spacing, retries with backoff) and the limits.

    Every request, the first and each redirect, goes through the same gate: an ``http`` or
    ``https`` URL (never ``https`` to ``http``), a host name resolved once within
    ``dns_timeout`` to public addresses only, and a connection to exactly those addresses, so
    that a second DNS answer (rebinding) cannot send it elsewhere; TLS still checks the
    certificate against the host name. With ``limits.allow_private``, the ``listed_origins``
    (see :func:`origin`) may be at any address, and no other. Proxy settings (``*_proxy``) are
    not used: a proxy would resolve names itself.

    Args:
        agent: the ``User-Agent``.
        delay: seconds between two requests to one host; also the backoff base.
        retries: further attempts after a retryable failure.
        limits: sizes and time-outs.
        listed_origins: the sites the operator listed, which ``allow_private`` is about.
    """

    def __init__(
        self,
        agent: str,
        *,
        delay: float,
        retries: int,
        limits: DownloadLimits,
        listed_origins: Collection[str] = (),
    ) -> None:
        self._agent = agent
        self._delay = delay
        self._retries = retries
        self._limits = limits
        self._listed = frozenset(listed_origins)
        self._tls = ssl.create_default_context()
        self._last_request: dict[str, float] = {}
        proxies = sorted(name for name in urllib.request.getproxies() if name != "no")
        if proxies:
            logger.warning(
                "not using the %s proxy settings: fetch connects to each site itself, to check its address",
                ", ".join(proxies),
            )

    def get(self, url: str, headers: Mapping[str, str]) -> Download:
        """``url`` downloaded, following redirects, retried when that may help.

        Raises:
            DownloadError: with a one-line ``reason`` (an HTTP error, a time-out, a refused
                address or redirect, a page too large...).
        """
        address = ascii_url(url)
        host = urllib.parse.urlsplit(address).hostname or ""
        deadline = None
        for attempt in range(self._retries + 1):
            self._wait_for(host)
            deadline = deadline or time.monotonic() + self._limits.total_timeout
            try:
                return self._follow(address, headers, deadline)
            except DownloadError as failure:
                pause = failure.retry_after if failure.retry_after is not None else self._delay * 2**attempt
                last = not failure.retry or attempt == self._retries
                if not last and time.monotonic() + pause >= deadline:
                    last = True
                    failure.reason += f"; no time left to try again within {self._limits.total_timeout:g} s"
                if last:
                    if attempt:
                        failure.reason += f" (after {attempt + 1} attempts)"
                    raise
                logger.info("%s: %s; retrying in %.1f s", url, failure.reason, pause)
            finally:
                self._last_request[host] = time.monotonic()
            time.sleep(pause)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait_for(self, host: str) -> None:
        last = self._last_request.get(host)
        if last is not None:
            remaining = self._delay - (time.monotonic() - last)
            if remaining > 0:
                time.sleep(remaining)

    def _follow(self, url: str, headers: Mapping[str, str], deadline: float) -> Download:
        """The page at ``url`` after at most ``max_redirects`` redirects, each checked as the first."""
        seen = [url]
        for hop in range(self._limits.max_redirects + 1):
            current = seen[-1]
            try:
                status, received, body = self._exchange(_Target.of(current), headers, deadline)
            except _Refused as refusal:
                if hop:
                    refusal.reason = f"refused the redirect to {_printable(current)}: {refusal.reason}"
                raise
            except DownloadError as failure:
                if hop:
                    failure.reason = f"redirected to {_printable(current)}: {failure.reason}"
                raise
            if status in REDIRECTS and received.get("Location"):
                target = _redirect_target(current, received["Location"])
                if target in seen:
                    raise DownloadError(f"redirect loop: back to {_printable(target)}", retry=False)
                seen.append(target)
                continue
            return _download(status, current, received, body)
        raise DownloadError(
            f"more than {self._limits.max_redirects} redirects (the last to {_printable(seen[-1])})", retry=False
        )

    def _exchange(
        self, target: _Target, headers: Mapping[str, str], deadline: float
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request on a checked connection: status, headers and (for a success) the body."""
        limits = self._limits
        sock = self._connect(target, deadline)
        alarm = _Alarm(sock, deadline, limits.total_timeout)
        if target.scheme == "https":
            connection = http.client.HTTPSConnection(target.host, target.port, context=self._tls)
        else:
            connection = http.client.HTTPConnection(target.host, target.port)
        connection.sock = sock  # already connected to the checked address: never connect by name again
        try:
            alarm.set(limits.header_timeout, f"no complete response headers within {limits.header_timeout:g} s")
            sock.settimeout(alarm.left())
            connection.request("GET", target.path, headers=self._headers(headers))
            response = connection.getresponse()
            alarm.check()  # a socket shut down mid-headers reads as their end
            if not 200 <= response.status < 300:
                return response.status, response.msg, b""
            alarm.set(limits.total_timeout, "")
            body = _read_body(response, sock, limits, alarm)
            alarm.check()
            return response.status, response.msg, body
        except DownloadError:
            alarm.check()
            raise
        except (OSError, http.client.HTTPException) as error:
            alarm.check()  # the alarm's shutdown shows as a closed connection: say it was the time
            raise (alarm.failure() if isinstance(error, TimeoutError) else _network_failure(error)) from error
        except ValueError as error:  # http.client: a URL with control characters
            raise DownloadError(f"invalid URL: {one_line(error)}", retry=False) from error
        finally:
            alarm.cancel()
            connection.close()

    def _headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            "User-Agent": self._agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.5",
            "Accept-Language": "ru,kk;q=0.9,en;q=0.8",
            "Accept-Encoding": "gzip, deflate",
            "Connection": "close",
            **headers,
        }

    def _connect(self, target: _Target, deadline: float) -> socket.socket:
        """A socket connected to a checked address of ``target`` (TLS done for https)."""
        limits = self._limits
        addresses = _resolve(target.host, target.port, min(limits.dns_timeout, _left(deadline, limits)))
        if not (self._limits.allow_private and target.origin in self._listed):
            for address in addresses:
                if why := address_refusal(address):
                    raise _Refused(self._refusal(target, address, why))
        sock, failure = None, DownloadError(f"cannot connect to {target.host}", retry=True)
        for address in addresses:
            seconds = min(limits.connect_timeout, _left(deadline, limits))
            try:
                sock = socket.create_connection((address, target.port), timeout=seconds)
                break
            except TimeoutError as error:
                failure = DownloadError(f"timed out (no connection within {seconds:g} s)", retry=True)
                failure.__cause__ = error
            except OSError as error:
                failure = _network_failure(error)
        if sock is None:
            raise failure
        if target.scheme == "https":
            sock = self._handshake(sock, target, deadline)
        return sock

    def _refusal(self, target: _Target, address: str, why: str) -> str:
        said = (
            f"{target.host} is not a public address ({why})"
            if address == target.host
            else f"{target.host} resolves to {address}, not a public address ({why})"
        )
        if target.origin in self._listed:
            return said + "; to fetch from private addresses, pass --allow-private (ASSISTANT_FETCH_ALLOW_PRIVATE=1)"
        if self._limits.allow_private:
            return said + "; --allow-private covers only the sites named in the sources list"
        return said

    def _handshake(self, sock: socket.socket, target: _Target, deadline: float) -> socket.socket:
        limits = self._limits
        try:
            sock = self._tls.wrap_socket(sock, server_hostname=target.host, do_handshake_on_connect=False)
        except (OSError, ValueError):
            sock.close()
            raise
        alarm = _Alarm(sock, deadline, limits.total_timeout)
        try:
            alarm.set(limits.connect_timeout, f"no TLS handshake within {limits.connect_timeout:g} s")
            sock.settimeout(alarm.left())
            sock.do_handshake()
            alarm.check()
        except DownloadError:
            sock.close()
            raise
        except OSError as error:
            sock.close()
            alarm.check()
            raise (alarm.failure() if isinstance(error, TimeoutError) else _network_failure(error)) from error
        finally:
            alarm.cancel()
        return sock


class _Alarm:
    """Shuts a socket down when time is up: the one way to stop a read that a server keeps alive by
    sending a byte now and then, since each byte restarts the socket's own time-out."""

    def __init__(self, sock: socket.socket, deadline: float, budget: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._budget = f"the {budget:g} s allowed for this URL ran out"
        self._timer: threading.Timer | None = None
        self._what = self._budget
        self._until = deadline
        self.expired = ""

    def left(self) -> float:
        """Seconds until the alarm rings; a :class:`DownloadError` if it has."""
        self.check()
        return max(self._until - time.monotonic(), 0.001)

    def set(self, seconds: float, what: str) -> None:
        """Ring in ``seconds`` (saying ``what`` ran out), or when the URL's time is up if sooner."""
        self.cancel()
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise DownloadError(f"timed out ({self._budget})", retry=False)
        self._what, seconds = (what, seconds) if what and seconds < left else (self._budget, left)
        self._until = time.monotonic() + seconds
        self._timer = threading.Timer(seconds, self._ring)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def check(self) -> None:
        """Raise the time-out if the alarm has rung."""
        if self.expired:
            raise DownloadError(f"timed out ({self.expired})", retry=self.expired != self._budget)

    def failure(self) -> DownloadError:
        """The time-out of what the alarm is set for, for a socket time-out that came first."""
        return DownloadError(f"timed out ({self._what})", retry=self._what != self._budget)

    def _ring(self) -> None:
        self.expired = self._what
        try:
            # The plain socket's shutdown, also for TLS: it only ends the reads, leaving the TLS
            # object to the thread that is using it.
            socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
        except OSError:  # already closed
            pass


def _left(deadline: float, limits: DownloadLimits) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DownloadError(f"timed out (the {limits.total_timeout:g} s allowed for this URL ran out)", retry=False)
    return left


def _resolve(host: str, port: int, seconds: float) -> list[str]:
    """The addresses of ``host``, looked up in a thread: the resolver itself has no time-out.

    A lookup that outlives ``seconds`` is abandoned, not stopped (its daemon thread ends when the
    system resolver gives up).
    """
    found: list[str] = []
    failed: list[BaseException] = []

    def lookup() -> None:
        try:
            found.extend(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as error:
            failed.append(error)

    thread = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise DownloadError(f"timed out (no DNS answer for {host} within {seconds:g} s)", retry=True)
    if failed:
        raise _network_failure(failed[0])
    if not found:
        raise DownloadError(f"cannot resolve the host name {host}", retry=False)
    return list(dict.fromkeys(found))


def _redirect_target(current: str, location: str) -> str:
    """The next URL, refused unless it stays http(s) and never goes from https to http."""
    target = ascii_url(urllib.parse.urljoin(current, location.strip()))
    scheme, before = urllib.parse.urlsplit(target).scheme.lower(), urllib.parse.urlsplit(current).scheme.lower()
    if scheme not in ("http", "https"):
        raise _Refused(f"refused the redirect to {_printable(target)}: only http and https pages are fetched")
    if before == "https" and scheme == "http":
        raise _Refused(f"refused the redirect to {_printable(target)}: from https to plain http")
    return target


def _read_body(response: http.client.HTTPResponse, sock: socket.socket, limits: DownloadLimits, alarm: _Alarm) -> bytes:
    """The body, decoded, refusing more than ``max_bytes`` as sent or decoded and slow reads."""
    declared = (response.getheader("Content-Length") or "").strip()
    length = int(declared) if declared.isdigit() else None
    if length is not None and length > limits.max_bytes:
        raise DownloadError(f"page larger than {_megabytes(limits.max_bytes)} ({_megabytes(length)})", retry=False)
    decoder = _Decoder(response.getheader("Content-Encoding") or "", limits.max_bytes)
    received = 0
    while True:
        seconds = min(limits.read_timeout, alarm.left())
        sock.settimeout(seconds)
        try:
            piece = response.read1(PIECE)
        except TimeoutError:
            alarm.check()
            if seconds < limits.read_timeout:  # the socket's time-out was what was left of the URL's
                raise alarm.failure() from None
            raise DownloadError(f"timed out (no data for {limits.read_timeout:g} s)", retry=True) from None
        if not piece:
            break
        received += len(piece)
        if received > limits.max_bytes:
            raise DownloadError(f"page larger than {_megabytes(limits.max_bytes)}", retry=False)
        decoder.feed(piece)
    alarm.check()
    if length is not None and received < length:
        raise DownloadError(f"connection closed after {received} of {length} bytes", retry=True)
    return decoder.finish()


class _Decoder:
    """Undoes gzip or deflate as the pieces arrive, never holding more than ``limit`` bytes of output."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding.strip().lower()
        if self.encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise DownloadError(f"unsupported Content-Encoding {_printable(encoding)!r}", retry=False)
        self._limit = limit
        self._pieces: list[bytes] = []
        self._size = 0
        self._start = b""  # deflate: the first bytes, until they tell zlib from raw deflate
        self._fed = False
        self._inflater = None
        if self.encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes) -> None:
        self._fed = self._fed or bool(data)
        if self.encoding in ("", "identity"):
            self._keep(data)
            return
        if self._inflater is None:  # deflate: some servers send it raw, without the zlib header
            self._start += data
            if len(self._start) < 2:
                return
            data, self._start = self._start, b""
            has_header = data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if has_header else -zlib.MAX_WBITS)
        while data:
            try:
                # At most one byte more than the room left: enough to know the page is too large.
                self._keep(self._inflater.decompress(data, self._limit - self._size + 1))
            except zlib.error as error:
                raise DownloadError(f"corrupt {self.encoding} response: {one_line(error)}", retry=True) from error
            data = b""
            if self._inflater.eof and self._inflater.unused_data and self.encoding != "deflate":
                data = self._inflater.unused_data  # a gzip file may hold several members
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def finish(self) -> bytes:
        """All the decoded bytes; an error if the stream stopped short."""
        encoded = self.encoding not in ("", "identity")
        if encoded and self._fed and (self._inflater is None or not self._inflater.eof):
            raise DownloadError(
                f"corrupt {self.encoding} response: it ends before its end-of-stream marker", retry=True
            )
        return b"".join(self._pieces)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            self._pieces.clear()
            raise DownloadError(f"page larger than {_megabytes(self._limit)} once {self.encoding}-decoded", retry=False)
        self._pieces.append(data)


def _download(status: int, url: str, received: http.client.HTTPMessage, body: bytes) -> Download:
    if status == 304:
        return Download(304, url, etag=received.get("ETag", ""), last_modified=received.get("Last-Modified", ""))
    if 200 <= status < 300:
        return Download(
            status=200,
            url=url,
            body=body,
            content_type=received.get_content_type() if received.get("Content-Type") else "",
            charset=received.get_content_charset() or "",
            etag=received.get("ETag", ""),
            last_modified=received.get("Last-Modified", ""),
        )
    retry = status >= 500 or status in (408, 429)
    retry_after = _retry_after(received.get("Retry-After")) if retry else None
    if status in REDIRECTS:
        raise DownloadError(f"HTTP {status} redirect without a Location", retry=False)
    reason = http.client.responses.get(status, "")
    raise DownloadError(f"HTTP {status} {reason}".strip(), retry=retry, retry_after=retry_after)


def _network_failure(error: BaseException) -> DownloadError:
    message = one_line(error)
    if isinstance(error, TimeoutError):  # socket.timeout is TimeoutError
        return DownloadError(f"timed out ({message})", retry=True)
    if isinstance(error, socket.gaierror):
        return DownloadError(f"cannot resolve the host name ({message}); offline?", retry=False)
    if isinstance(error, ssl.SSLCertVerificationError):
        return DownloadError(f"TLS certificate rejected: {message}", retry=False)
    if isinstance(error, (ConnectionError, http.client.HTTPException)):
        return DownloadError(f"connection failed: {message}", retry=True)
    return DownloadError(f"network error: {message}", retry=False)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0), MAX_RETRY_AFTER)


def _megabytes(size: int) -> str:
    return f"{size / MIB:.3g} MB"


def _printable(text: str, limit: int = 200) -> str:
    """A server-chosen string fit for a one-line message: no control characters, not too long."""
    text = "".join(char if char.isprintable() else "?" for char in text[: limit + 1])
    return text if len(text) <= limit else text[: limit - 1] + "…"
