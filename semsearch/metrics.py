"""Engine metrics: time in the model, time in Milvus, and what ingest did, as Prometheus collectors.

Timing wraps the engine's embedder and store in thin proxies (`EngineMetrics.instrument`), so the engine's own code
stays free of metrics and every caller (search, context, ingest, embeddings) is measured the same way. Each
`EngineMetrics` has its own `CollectorRegistry`: an app, or one ingest run, counts only its own work.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from semsearch.engine import Engine

#: Seconds; from a cached 1-chunk query (~5 ms) to a large ingest batch (a minute).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

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
        "delete_ids",
        "delete_documents",
    }
)
EMBED_KINDS = {"embed_documents": "document", "embed_queries": "query"}


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        reg = self.registry
        self.embed_seconds = Histogram(
            "semsearch_embed_seconds", "Model time per embed call.", ["kind"], registry=reg, buckets=BUCKETS
        )
        self.embedded_texts = Counter("semsearch_embedded_texts", "Texts embedded.", ["kind"], registry=reg)
        self.milvus_seconds = Histogram(
            "semsearch_milvus_seconds", "Milvus time per call.", ["operation"], registry=reg, buckets=BUCKETS
        )
        self.documents = Counter("semsearch_ingested_documents", "Documents ingested.", registry=reg)
        self.chunks = Counter("semsearch_ingested_chunks", "Chunks of the ingested documents.", registry=reg)
        self.failures = Counter(
            "semsearch_ingest_failures", "Inputs not ingested: files, or documents sent to the API.", registry=reg
        )
        self._instrumented: tuple[Engine, Engine] | None = None

    def instrument(self, engine: Engine) -> Engine:
        """The same engine with a timed embedder and store; the same object back for the same engine."""
        if self._instrumented is None or self._instrumented[0] is not engine:
            timed = dataclasses.replace(
                engine,
                embedder=_Timed(engine.embedder, self._embed_timer),
                store=_Timed(engine.store, self._milvus_timer),
            )
            self._instrumented = (engine, timed)
        return self._instrumented[1]

    def record_ingest(self, documents: int = 0, chunks: int = 0, failures: int = 0) -> None:
        self.documents.inc(documents)
        self.chunks.inc(chunks)
        self.failures.inc(failures)

    def summary(self) -> dict[str, float]:
        """The counters as one flat dict (what the ingest CLI prints), times in seconds."""
        return {
            "documents": _value(self.documents, "_total"),
            "chunks": _value(self.chunks, "_total"),
            "failures": _value(self.failures, "_total"),
            "embedded_texts": _value(self.embedded_texts, "_total"),
            "embed_seconds": round(_value(self.embed_seconds, "_sum"), 3),
            "milvus_calls": _value(self.milvus_seconds, "_count"),
            "milvus_seconds": round(_value(self.milvus_seconds, "_sum"), 3),
        }

    def _embed_timer(self, name: str, method: Callable[..., Any]) -> Callable[..., Any] | None:
        kind = EMBED_KINDS.get(name)
        if kind is None:
            return None

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.embed_seconds.labels(kind).time():
                vectors = method(*args, **kwargs)
            self.embedded_texts.labels(kind).inc(len(vectors))  # one vector per text, whatever the signature
            return vectors

        return timed

    def _milvus_timer(self, name: str, method: Callable[..., Any]) -> Callable[..., Any] | None:
        if name not in MILVUS_OPERATIONS:
            return None
        histogram = self.milvus_seconds.labels(name)

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        return timed


class _Timed:
    """Passes every attribute through to `target`; methods the `timer` picks come back wrapped."""

    def __init__(self, target: Any, timer: Callable[[str, Callable[..., Any]], Callable[..., Any] | None]) -> None:
        self._target = target
        self._timer = timer

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value) and not name.startswith("_"):
            return self._timer(name, value) or value
        return value


def _value(metric: Counter | Histogram, suffix: str) -> float:
    """Sum of a metric's samples with this suffix over all its labels."""
    return sum(s.value for family in metric.collect() for s in family.samples if s.name.endswith(suffix))
