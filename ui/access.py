"""Who may read and who may change the corpus in the web chat, and the one check every change goes through.

Who makes a request comes from the HTTP request itself, never from what a handler is sent: a
session cookie set by the app's own ``/login`` (users of the users file, ``assistant users``), or
a header set by a reverse proxy that signed the user in (only when the operator names that
header). Gradio calls :meth:`Access.identity` on every request (its ``auth_dependency``), queue
and file uploads included, and hands the name to each handler as ``gr.Request.username``;
:func:`require_editor` turns it into a role. Gradio's own ``auth`` cannot serve here: it puts the
whole app behind the login, and reading may be open while changing the corpus is not.

Nothing here imports Gradio at module level, so ``assistant serve`` refuses an unsafe start at once.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.users import User, check_password, read_users
from ui.hosts import is_loopback
from ui.texts import text

__all__ = ["SESSION_SECONDS", "Access", "ProxyHeaders", "check_exposure", "require_editor"]

logger = logging.getLogger(__name__)

SESSION_SECONDS = 12 * 3600  # a sign-in lasts a working day; restarting the server ends every session
# Gradio's route for files sent before an event uses them: only an editor's files get onto the server.
_UPLOAD_ROUTE = "/gradio_api/upload"
_MAX_FIELD_CHARS = 1024
_MAX_NAME_CHARS = 256
_CHECKS_AT_ONCE = 2  # each argon2 check takes 64 MB and ~0.1 s of CPU: more attempts wait their turn
_LIST = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class ProxyHeaders:
    """The reverse proxy's headers: who signed in (``user``), their groups (``groups``), which groups edit."""

    user: str
    groups: str
    editor_groups: frozenset[str]


@dataclass(frozen=True)
class _Session:
    name: str
    expires: float


class Access:
    """The web chat's access rules (from ``settings``) and its signed-in sessions.

    Args:
        settings: ``read_access``, the users file (``users_path``) and the proxy headers.

    Raises:
        AssistantError: a damaged users file, or reading behind a login with no one to log in.
    """

    def __init__(self, settings: Settings) -> None:
        self.read = settings.read_access
        self.users_file = Path(settings.users_path)
        self.proxy = None
        if settings.proxy_user_header.strip():
            self.proxy = ProxyHeaders(
                user=settings.proxy_user_header.strip().lower(),
                groups=settings.proxy_groups_header.strip().lower(),
                editor_groups=frozenset(filter(None, _LIST.split(settings.proxy_editor_groups))),
            )
        # Per server: two servers on one host (cookies ignore the port) do not overwrite each other's.
        self.cookie = f"kz-session-{secrets.token_hex(4)}"
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._checking = threading.BoundedSemaphore(_CHECKS_AT_ONCE)
        self._cached: tuple[tuple[int, int, int], dict[str, User]] | None = None
        users = self.users()  # a damaged users file stops the server here, not at the first request
        if self.read == "login" and self.proxy is None and not users:
            raise AssistantError(
                f"ASSISTANT_READ_ACCESS=login, but {self.users_file} names no one: "
                "add a user with `assistant users add NAME --role reader`"
            )

    def users(self) -> dict[str, User]:
        """The users file as it is now (read again only when it changed on disk); empty without one."""
        try:
            status = self.users_file.stat()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise AssistantError(f"cannot read the users file {self.users_file}: {error.strerror}") from None
        stamp = (status.st_mtime_ns, status.st_size, status.st_ino)
        cached = self._cached
        if cached is None or cached[0] != stamp:
            cached = self._cached = (stamp, read_users(self.users_file))
        return cached[1]

    @property
    def editing_open(self) -> bool:
        """Whether anyone may change the corpus: no proxy mode and no users (a fresh install)."""
        return self.proxy is None and not self.users()

    def role(self, name: str | None, headers: Mapping[str, str]) -> str | None:
        """The role of the user ``name`` (``headers``: the request's, lower-case names), ``None`` if none.

        A user removed from the users file has no role from that moment, even mid-session.
        """
        if self.editing_open:
            return "editor"
        if not name:
            return None
        if self.proxy is not None:
            groups = set(_LIST.split(headers.get(self.proxy.groups, ""))) if self.proxy.groups else set()
            return "editor" if groups & self.proxy.editor_groups else "reader"
        user = self.users().get(name)
        return user.role if user else None

    def identity(self, request: Any) -> str | None:
        """Gradio's ``auth_dependency``: who makes ``request`` (a Starlette request).

        Returns:
            The signed-in user's name; ``""`` for an anonymous visitor where reading is open;
            ``None`` to refuse the request (401): anonymous where reading needs a login, and
            anyone but an editor sending files to Gradio's upload route.
        """
        name = self.signed_in(request)
        if request.url.path.rstrip("/").endswith(_UPLOAD_ROUTE):
            headers = {key.lower(): value for key, value in request.headers.items()}
            if self.role(name, headers) != "editor":
                return None
        if name:
            return name
        return "" if self.read == "open" else None

    def signed_in(self, request: Any) -> str | None:
        """The name the proxy's header or the session cookie of ``request`` gives, if any."""
        if self.proxy is not None:
            name = request.headers.get(self.proxy.user, "").strip()
            return name if name and len(name) <= _MAX_NAME_CHARS and name.isprintable() else None
        token = request.cookies.get(self.cookie)
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
        if session is None or session.expires < time.time() or session.name not in self.users():
            return None
        return session.name

    def sign_in(self, name: str, password: str) -> str | None:
        """A new session's token if ``password`` is ``name``'s, else ``None`` (blocking: run it in a thread)."""
        if len(name) > _MAX_FIELD_CHARS or len(password) > _MAX_FIELD_CHARS:
            return None
        with self._checking:
            user = check_password(self.users(), name, password)
        if user is None:
            return None
        token, now = secrets.token_urlsafe(32), time.time()
        with self._lock:
            self._sessions = {key: s for key, s in self._sessions.items() if s.expires > now}
            self._sessions[token] = _Session(user.name, now + SESSION_SECONDS)
        return token

    def sign_out(self, token: str | None) -> None:
        """End the session of ``token`` (nothing if there is none)."""
        with self._lock:
            self._sessions.pop(token or "", None)


def require_editor(access: Access, request: Any, lang: str) -> str:
    """Let a change of the corpus go ahead only for an editor: the one check every such handler makes first.

    Args:
        access: the app's rules (``service.access``).
        request: the handler's ``gr.Request`` (Gradio passes it to a parameter annotated so).
        lang: the interface language of the refusal.

    Returns:
        The editor's name (``""`` while editing is open to everyone, see :attr:`Access.editing_open`).

    Raises:
        gradio.Error: anyone else, in the interface language: the UI shows it and a script calling
            the endpoint through the queue gets it as its error.
    """
    name = getattr(request, "username", None) if request is not None else None
    headers = {key.lower(): value for key, value in dict(getattr(request, "headers", None) or {}).items()}
    if access.role(name, headers) == "editor":
        return name or ""
    import gradio as gr

    logger.warning("refused a change of the corpus by %s", repr(name) if name else "an anonymous visitor")
    raise gr.Error(text(lang, "editor_only"), print_exception=False)


def check_exposure(access: Access, host: str, *, allow_open_editing: bool = False) -> None:
    """Refuse to serve an open corpus beyond this machine unless the operator said so.

    In proxy mode beyond loopback it warns that only the proxy may reach the port.

    Raises:
        AssistantError: ``host`` is not loopback, anyone could change the corpus (no users, no
            proxy mode) and ``allow_open_editing`` is false; one line saying what to run.
    """
    if access.proxy is not None and not is_loopback(host):
        logger.warning(
            "trusting the %s header on %s: only the proxy may reach this port, or anyone can claim any name",
            access.proxy.user, host,
        )  # fmt: skip
    if allow_open_editing or is_loopback(host) or not access.editing_open:
        return
    raise AssistantError(
        f"on {host} anyone who reaches the server could change the corpus: add an editor with "
        "`assistant users add NAME --role editor` (or pass --allow-open-editing)"
    )
