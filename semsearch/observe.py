"""What the engine tells an observer about its own work: time in the model and time in Milvus.

An engine wraps its embedder and its store once, when it is built, in proxies that time the calls listed here and
report them to the engine's current observer (none: the call goes straight through, untimed). Attaching an observer
changes where the reports go, never the engine: there is no second engine, so no second query batcher. The observer
is a protocol, so the engine stays free of Prometheus (`semsearch.metrics` implements it).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

#: The store's verbs that talk to Milvus; anything else (properties, close) is passed through untimed.
MILVUS_OPERATIONS = frozenset(
    {
        "count",
        "exists",
        "existing_chunks",
        "vectors",
        "doc_ids_for_source",
        "dense_search",
        "keyword_search",
        "refresh_metadata_keys",
        "upsert_chunks",
        "insert_chunks",
        "store_chunks",
        "present_ids",
        "delete_ids",
        "delete_documents",
    }
)
#: The embedder's verbs that run the model, and the kind of text each embeds.
EMBED_KINDS = {"embed_documents": "document", "embed_queries": "query"}

T = TypeVar("T")


class EngineObserver(Protocol):
    def embedded(self, kind: str, texts: int, seconds: float) -> None:
        """One model call: `kind` from EMBED_KINDS, `texts` embedded (0 when the call failed), wall seconds."""

    def milvus_call(self, operation: str, seconds: float) -> None:
        """One store verb from MILVUS_OPERATIONS (retries included, failed or not), wall seconds."""


class Reports:
    """Where one engine's proxies report: the engine's observer, shared by its embedder and store proxies."""

    def __init__(self) -> None:
        self.observer: EngineObserver | None = None


def observed(target: T, reports: Reports) -> T:
    """`target` (an embedder or a store) behind a proxy that reports to `reports`. A target that is already another
    engine's proxy is unwrapped first, so an engine built from another engine's parts reports each call once, to its
    own observer."""
    return _Observed(unwrapped(target), reports)  # type: ignore[return-value]  # a stand-in with the target's attributes


def unwrapped(target: T) -> T:
    """The embedder or store behind an engine's proxy (`target` itself if it is none): to share it with others."""
    return target._target if isinstance(target, _Observed) else target  # type: ignore[return-value]


class _Observed:
    """Passes every attribute through to `_target`; the timed verbs come back wrapped. The wrapper looks up the
    observer when it is called, so a method bound before an observer was attached (the query batcher's) reports too."""

    def __init__(self, target: Any, reports: Reports) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_reports", reports)

    def __setattr__(self, name: str, value: Any) -> None:  # e.g. a test shortening the store's timeouts
        setattr(self._target, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._target, name)

    def __repr__(self) -> str:
        return f"observed({self._target!r})"

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name in EMBED_KINDS:
            return _timed_embed(value, EMBED_KINDS[name], self._reports)
        if name in MILVUS_OPERATIONS:
            return _timed_call(value, name, self._reports)
        return value


def _timed_embed(method: Callable[..., Any], kind: str, reports: Reports) -> Callable[..., Any]:
    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        observer = reports.observer
        if observer is None:
            return method(*args, **kwargs)
        started, texts = time.perf_counter(), 0
        try:
            vectors = method(*args, **kwargs)
            texts = len(vectors)  # one vector per text, whatever the signature
            return vectors
        finally:
            observer.embedded(kind, texts, time.perf_counter() - started)

    return timed


def _timed_call(method: Callable[..., Any], operation: str, reports: Reports) -> Callable[..., Any]:
    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        observer = reports.observer
        if observer is None:
            return method(*args, **kwargs)
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            observer.milvus_call(operation, time.perf_counter() - started)

    return timed
