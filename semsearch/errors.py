"""Typed engine errors. The doors map them to HTTP status codes and CLI exit codes, each in one place."""

from __future__ import annotations


class SemsearchError(Exception):
    """Base class: the message is written for the person who has to act on it."""


class BackendUnavailable(SemsearchError):
    """Milvus cannot be reached or opened (server down, Lite `.db` held by another process)."""


class DatabaseLocked(BackendUnavailable):
    """A Milvus Lite `.db` is open in another process; only one process may hold it."""


class CollectionMissing(SemsearchError):
    """The collection has not been created yet (nothing ingested)."""


class CollectionModelMismatch(SemsearchError):
    """The collection was built with another embedding model than the one configured."""


class InvalidFilter(SemsearchError):
    """A search filter names an unknown field or carries a value of the wrong shape."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"filter field {field!r}: {reason}")
        self.field = field


class DocumentRejected(SemsearchError):
    """A document cannot be indexed as given (empty text, bad id)."""


class UnsupportedMode(SemsearchError):
    """The backend or collection cannot run this search mode (BM25 needs Milvus >= 2.5), or no reranker is set."""


class UnsupportedOperation(UnsupportedMode):
    """The backend cannot do this at all (e.g. reindex needs aliases, which Milvus Lite lacks)."""
