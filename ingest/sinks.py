"""Where loaded documents go: straight into Milvus through the engine, or to a running API's `POST /documents`.

The API sink exists because a Milvus Lite `.db` can be opened by one process only: while `semsearch serve` holds
it, `semsearch ingest --api URL` sends the documents to that process instead.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable, DocumentRejected
from semsearch.indexer import Document, IndexPlan, IndexStats


class Sink(Protocol):
    """Three steps the ingest pipeline runs in separate threads: `prepare` (chunk, compare; no writes, may raise
    DocumentRejected), `embed` (the model, several prepared batches at once) and `write` (may raise
    DocumentRejected too, e.g. when an API refuses the batch)."""

    def prepare(self, docs: list[Document]) -> Any: ...

    def embed(self, batches: list[Any]) -> None: ...

    def write(self, batch: Any) -> IndexStats: ...

    def prune_source(self, source: str, keep: set[str]) -> int:
        """Delete the documents of `source` that are not in `keep` (rows removed from a table)."""
        ...


class EngineSink:
    def __init__(self, engine: Engine) -> None:
        self.indexer = engine.indexer
        self.store = engine.store

    def prepare(self, docs: list[Document]) -> IndexPlan:
        return self.indexer.plan(docs)

    def embed(self, batches: list[IndexPlan]) -> None:
        self.indexer.embed(batches)

    def write(self, batch: IndexPlan) -> IndexStats:
        return self.indexer.write(batch)

    def prune_source(self, source: str, keep: set[str]) -> int:
        gone = self.store.doc_ids_for_source(source) - keep
        return self.store.delete_documents(sorted(gone)) if gone else 0


class ApiSink:
    def __init__(self, base_url: str, timeout: float = 300.0, api_key: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers)

    def prepare(self, docs: list[Document]) -> list[Document]:
        return docs  # the server chunks and compares

    def embed(self, batches: list[list[Document]]) -> None:
        pass  # the server embeds

    def write(self, docs: list[Document]) -> IndexStats:
        payload = {
            "documents": [{"id": d.id, "text": d.text, "source": d.source, "metadata": d.metadata} for d in docs]
        }
        try:
            response = self.http.post("/documents", json=payload)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"cannot reach the API at {self.http.base_url}: {exc}") from exc
        if response.status_code in (400, 413, 422):
            raise DocumentRejected(f"the API refused the batch: {response.text[:500]}")
        if response.status_code != 200:
            raise BackendUnavailable(f"the API answered {response.status_code}: {response.text[:500]}")
        body = response.json()
        return IndexStats(**{k: body[k] for k in ("documents", "chunks", "embedded", "unchanged", "deleted")})

    def prune_source(self, source: str, keep: set[str]) -> int:
        return 0  # the API has no per-source listing yet; rows removed from a table stay until deleted by id

    def close(self) -> None:
        self.http.close()
