"""Engine metrics: time in the model, time in Milvus, and what ingest did, as Prometheus collectors.

`EngineMetrics` is an engine observer (`semsearch.observe`): `instrument(engine)` attaches it to the engine, whose
proxies then report every embed and Milvus call here, so the engine's own code stays free of metrics and every
caller (search, context, ingest, embeddings) is measured the same way. Nothing is copied: the engine keeps its one
query batcher. Each `EngineMetrics` has its own `CollectorRegistry`: an app, or one ingest run, counts only its own
work.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from semsearch.engine import Engine

#: Seconds; from a cached 1-chunk query (~5 ms) to a large ingest batch (a minute).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


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

    def instrument(self, engine: Engine) -> Engine:
        """Attach to `engine` (in place; it reports to one observer at a time) and return that same engine."""
        engine.observer = self
        return engine

    def embedded(self, kind: str, texts: int, seconds: float) -> None:
        self.embed_seconds.labels(kind).observe(seconds)
        self.embedded_texts.labels(kind).inc(texts)

    def milvus_call(self, operation: str, seconds: float) -> None:
        self.milvus_seconds.labels(operation).observe(seconds)

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


def _value(metric: Counter | Histogram, suffix: str) -> float:
    """Sum of a metric's samples with this suffix over all its labels."""
    return sum(s.value for family in metric.collect() for s in family.samples if s.name.endswith(suffix))
