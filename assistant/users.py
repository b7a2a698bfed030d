"""The users file: who may sign in to the web chat, with which role, and a salted argon2 hash of their password.

One JSON file (``Settings.users_path``), written atomically with mode 0600 under a lock, so two
``assistant users`` commands run at once never lose a change. Passwords are never stored or shown:
only their argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory profile), each with its
own random salt.

Example:
    >>> add_user(path, "aigerim", "editor", "a long passphrase")  # doctest: +SKIP
    User(name='aigerim', role='editor')
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import AssistantError
from assistant.files import write_atomically
from assistant.model import ROLES

__all__ = [
    "MIN_PASSWORD_CHARS",
    "User",
    "UsersFileError",
    "add_user",
    "check_name",
    "check_password",
    "read_users",
    "remove_user",
]

USERS_FORMAT = 1
# Names go into logs, cookies' sessions and (later) the audit log: letters, digits and . _ @ - only.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; this bounds what one login attempt costs
_LOCK_SECONDS = 30.0


class UsersFileError(AssistantError, ValueError):
    """A users file that cannot be read, or a change of it that is refused (the message says which)."""


@dataclass(frozen=True)
class User:
    """One user of the web chat: a name, a role (one of :data:`assistant.model.ROLES`) and a password hash."""

    name: str
    role: str
    password_hash: str = field(repr=False)


def read_users(path: str | Path) -> dict[str, User]:
    """The users of the file at ``path`` by name; empty when there is no such file.

    Raises:
        UsersFileError: the file is not a users file of this format (it names what is wrong).
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise UsersFileError(f"cannot read the users file {path}: {error.strerror or error}") from None
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise UsersFileError(f"the users file {path} is not valid JSON: {error}") from None
    if not isinstance(data, dict) or data.get("format") != USERS_FORMAT or not isinstance(data.get("users"), list):
        raise UsersFileError(f"{path} is not a users file of format {USERS_FORMAT}")
    users: dict[str, User] = {}
    for entry in data["users"]:
        user = _user_from(entry, path)
        if user.name in users:
            raise UsersFileError(f"the users file {path} names {user.name!r} twice")
        users[user.name] = user
    return users


def add_user(path: str | Path, name: str, role: str, password: str, *, replace: bool = False) -> User:
    """Add a user to the file at ``path`` (created with mode 0600 if missing); returns the user.

    Args:
        path: the users file.
        name: letters, digits and ``. _ @ -``, at most 64 characters, starting with a letter or digit.
        role: ``reader`` or ``editor``.
        password: at least :data:`MIN_PASSWORD_CHARS` characters; only its salted hash is stored.
        replace: give an existing user this role and password instead of refusing.

    Raises:
        UsersFileError: a bad name, role or password, or a user of that name exists and not ``replace``.
    """
    check_name(name)
    if role not in ROLES:
        raise UsersFileError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise UsersFileError(f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
    user = User(name, role, _hasher().hash(password))
    with _locked(path):
        users = read_users(path)
        if name in users and not replace:
            raise UsersFileError(f"user {name!r} exists: remove it first, or add it again with --replace")
        users[name] = user
        _write(path, users)
    return user


def remove_user(path: str | Path, name: str) -> User:
    """Remove the user ``name`` from the file at ``path``; returns who was removed.

    Raises:
        UsersFileError: there is no such user.
    """
    with _locked(path):
        users = read_users(path)
        if name not in users:
            raise UsersFileError(f"no user {name!r} in {path}")
        removed = users.pop(name)
        _write(path, users)
    return removed


def check_password(users: Mapping[str, User], name: str, password: str) -> User | None:
    """The user ``name`` if ``password`` is theirs, else ``None``.

    An unknown name costs as much time as a wrong password (a hash is checked either way), so the
    time a refusal takes does not tell which names exist.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    user = users.get(name)
    if len(password) > MAX_PASSWORD_CHARS:
        return None
    try:
        _hasher().verify(user.password_hash if user else _unknown_user_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def check_name(name: str) -> str:
    """``name`` if it can be a user's name.

    Raises:
        UsersFileError: it cannot (the message says what a name may hold).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsersFileError(
            f"a user name is 1 to 64 letters, digits and . _ @ - starting with a letter or digit, got {name!r}"
        )
    return name


def _user_from(entry: object, path: Path) -> User:
    if not isinstance(entry, dict):
        raise UsersFileError(f"the users file {path} has an entry that is not an object")
    name, role, digest = entry.get("name"), entry.get("role"), entry.get("password_hash")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsersFileError(f"the users file {path} has a bad user name {name!r}")
    if role not in ROLES:
        raise UsersFileError(f"the users file {path} gives {name!r} an unknown role {role!r}")
    if not isinstance(digest, str) or not digest.startswith("$argon2"):
        raise UsersFileError(f"the users file {path} has no argon2 hash for {name!r}")
    return User(name, role, digest)


def _write(path: str | Path, users: Mapping[str, User]) -> None:
    ordered = sorted(users.values(), key=lambda user: user.name)
    rows = [{"name": user.name, "role": user.role, "password_hash": user.password_hash} for user in ordered]
    text = json.dumps({"format": USERS_FORMAT, "users": rows}, ensure_ascii=False, indent=2) + "\n"
    write_atomically(path, text, mode=0o600)  # the hashes are salted, but still no one else's to read


@contextlib.contextmanager
def _locked(path: str | Path) -> Iterator[None]:
    """Hold the users file's lock: a read, change and write of it is never interleaved with another."""
    from filelock import FileLock, Timeout

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path.with_name(f".{path.name}.lock")), timeout=_LOCK_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise UsersFileError(f"another command is changing {path}: try again") from None
    try:
        yield
    finally:
        lock.release()


@functools.cache
def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _unknown_user_hash() -> str:
    return _hasher().hash("the password of a user who does not exist")
