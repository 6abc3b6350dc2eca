"""How the store calls pymilvus: serving calls fail fast, write-path calls retry with backoff through a restart."""

from __future__ import annotations

import logging
import time
from typing import Any

from pymilvus import MilvusException

from semsearch.errors import BackendUnavailable

log = logging.getLogger("semsearch.store")

#: Longest pause between two attempts of a retried write.
MAX_BACKOFF = 8.0
#: Messages of a Milvus that is up but still recovering (after a restart): worth another attempt.
RECOVERING = (
    "not loaded",
    "not ready",
    "not healthy",
    "unhealthy",
    "no available",
    "channel",
    "node not found",
    "server is closed",
    "retry timeout",
    "timeout",
    "abnormal",
    "stopping",
    "not serviceable",
)


def read(fn: Any, *args: Any, timeout: float, **kwargs: Any) -> Any:
    """A serving-path call (search, readiness): `timeout` bounds it, pymilvus's own retries included, and it is
    never retried here, so that a dead Milvus turns into a prompt 503 rather than a hanging request."""
    return call(fn, *args, timeout=timeout, **kwargs)


def write(fn: Any, *args: Any, what: str, timeout: float, retry_seconds: float, **kwargs: Any) -> Any:
    """A write-path call (ingest, reindex): retried with exponential backoff while Milvus is unreachable or
    recovering (a restart), for up to `retry_seconds`. Every retried call is idempotent (upserts by primary key,
    deletes, reads). A call that still fails raises BackendUnavailable saying `what` was not stored."""
    started = time.monotonic()
    delay, attempt = 0.5, 0
    while True:
        attempt += 1
        try:
            return call(fn, *args, timeout=timeout, **kwargs)
        except (BackendUnavailable, MilvusException) as exc:
            elapsed = time.monotonic() - started
            if not is_transient(exc):
                raise
            if elapsed + delay > retry_seconds:
                raise BackendUnavailable(
                    f"{what} failed after {attempt} attempts over {elapsed:.0f} s, so it was not stored: {exc}"
                ) from exc
            log.warning("%s failed (attempt %d), retrying in %.1f s: %s", what, attempt, delay, exc)
            time.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one pymilvus call, turning connection failures into BackendUnavailable."""
    try:
        return fn(*args, **kwargs)
    except MilvusException as exc:
        if is_connection_error(exc):
            raise BackendUnavailable(f"Milvus is not reachable: {exc.message}") from exc
        raise


def is_connection_error(exc: MilvusException) -> bool:
    text = f"{exc.message}".lower()
    return any(word in text for word in ("unavailable", "connect", "deadline", "closed channel", "fail connecting"))


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, BackendUnavailable):
        return True
    text = str(getattr(exc, "message", exc)).lower()
    return any(word in text for word in RECOVERING)
