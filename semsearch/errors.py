"""Typed engine errors, in four families that the doors map, each in one place (`search_api/errors.py` to HTTP
status codes, `semsearch_cli/exits.py` to exit codes):

- `Refused`: the caller's input cannot be served as given (bad filter, document, mode). HTTP 400, exit 2.
- `Unavailable`: the knowledge base cannot serve now (Milvus down or locked, collection missing or built with another
  model, an error inside Milvus). HTTP 503, exit 3.
- `NotFound`: what the caller named does not exist (a document id, a collection). HTTP 404, exit 4.
- `Conflict`: what the caller asked for clashes with what exists (a collection created again with other settings).
  HTTP 409, exit 2.

`Forbidden` (an action outside the caller's key's scope) is a `Refused` that the HTTP door answers with 403.

Doors catch families, never the classes below them: a new class joins a family and every door maps it at once.
Nothing from the Milvus client library or gRPC crosses the store's boundary; the store raises these instead.
"""

from __future__ import annotations


class SemsearchError(Exception):
    """Base class: the message is written for the person who has to act on it."""


class Refused(SemsearchError):
    """Family: the caller's input is refused as given; sending it again will fail again."""


class Unavailable(SemsearchError):
    """Family: the knowledge base cannot serve this now; the operator has to act (or wait), not the caller."""


class NotFound(SemsearchError):
    """Family: the thing the caller named does not exist."""


class Forbidden(Refused):
    """The caller's key may not do this (a read key writing, a tenant's key naming another tenant): HTTP 403. A
    `Refused` (exit 2) everywhere that has no 403."""


class Conflict(SemsearchError):
    """Family: the request contradicts what already exists; the caller must change it (or remove what exists)."""


class BackendUnavailable(Unavailable):
    """Milvus cannot be reached or opened (server down, Lite `.db` held by another process)."""


class DatabaseLocked(BackendUnavailable):
    """A Milvus Lite `.db` is open in another process; only one process may hold it. `path` is the `.db`, for a
    door that can name the process (the CLI names the URL of the `semsearch serve` holding it)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class CollectionLoading(Unavailable):
    """The collection is still being loaded into memory (a big one takes minutes): try again shortly.

    `retry_after` is the seconds worth waiting before asking again (the HTTP door sends it as `Retry-After`)."""

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MilvusFailed(Unavailable):
    """Milvus answered a call with an error of its own (not a refusal of the caller's input)."""


class CollectionMissing(Unavailable):
    """The collection has not been created yet (nothing ingested)."""


class CollectionModelMismatch(Unavailable):
    """The collection was built with another embedding model than the one configured."""


class ModelCacheUnwritable(Unavailable):
    """The model's ONNX files are not in the cache and the cache cannot be written (a read-only image or mount):
    the operator points SEMSEARCH_MODEL_CACHE at a prepared or writable directory."""


class InvalidFilter(Refused):
    """A search filter names an unknown field or carries a value of the wrong shape."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"filter field {field!r}: {reason}")
        self.field = field


class InvalidRequest(Refused):
    """A search or context argument out of its range or of the wrong kind (an empty query, `top_k=0`, an unknown
    mode): `semsearch.queries` checks them, with the words the HTTP API's 422 uses."""


class DocumentRejected(Refused):
    """A document cannot be indexed as given (empty text, bad id)."""


class UnsupportedIndex(Refused):
    """The configured dense index (`SEMSEARCH_INDEX`) is not one this Milvus builds."""


class UnsupportedMode(Refused):
    """The backend or collection cannot run this search mode (BM25 needs Milvus >= 2.5), or no reranker is set."""


class UnsupportedOperation(UnsupportedMode):
    """The backend cannot do this at all (e.g. reindex needs aliases, which Milvus Lite lacks)."""


class ExtraMissing(Refused, ImportError):
    """An optional part of the install (an extra, `semsearch.extras`) is missing; the message names the extra.

    Also an `ImportError`, so library code that guards an optional import keeps working."""

    def __init__(self, message: str, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class DocumentNotFound(NotFound):
    """No document has this id."""


class TenantRequired(Refused):
    """The collection is multi-tenant: every read and write names one tenant (HTTP 400)."""


class InvalidTenant(Refused):
    """A tenant name that cannot be stored, or a tenant named for a collection that has none."""


class KeysFileUnreadable(Unavailable):
    """The scoped keys file (SEMSEARCH_KEYS_FILE) exists but cannot be read as one: the message names it."""


class CollectionNotFound(NotFound):
    """No collection has this name (asked for by name: `/collections/{name}`, `semsearch collections show`), or none
    the caller's key may know about (the same answer, so a scoped key cannot probe for other collections' names)."""


class InvalidCollectionName(Refused):
    """A collection name Milvus would refuse (or one the product reserves for its own companions)."""


class CollectionExists(Conflict):
    """A collection of this name exists already, recorded with other settings than the ones asked for."""


class CollectionInUse(Conflict):
    """The collection cannot be dropped while this service serves it as its default (unprefixed routes)."""
