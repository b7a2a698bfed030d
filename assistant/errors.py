"""Errors raised by the assistant: one root class, subclasses that also inherit a builtin."""

from __future__ import annotations


class AssistantError(Exception):
    """Root of every error this package raises on purpose."""


class InvalidQuery(AssistantError, ValueError):
    """A query, ``k`` or filter that cannot be searched."""


class IndexNotFound(AssistantError, FileNotFoundError):
    """No built index where one was expected."""


class IndexCorrupt(AssistantError):
    """An index directory that is damaged or inconsistent."""


class ModelMismatch(AssistantError):
    """An index built with a different embedding model than the one asked to query it."""


class BuildInProgress(AssistantError):
    """Another build holds the lock on this index directory."""


class DocumentError(AssistantError):
    """A corpus file that cannot be read into a document (reported and skipped by builds)."""


class UnsupportedFormat(DocumentError):
    """A corpus file whose type the loaders do not handle."""


class ReadTimeout(DocumentError):
    """A corpus file whose reader took longer than its time budget (``Settings.parse_seconds``)."""


class ModelUnavailable(AssistantError):
    """The embedding model cannot be prepared or loaded."""


class StoreUnavailable(AssistantError, ConnectionError):
    """The PostgreSQL store cannot be used: a malformed URL, an unreachable server, a refused login,
    a missing pgvector extension or a missing privilege (the message says which, never the password)."""
